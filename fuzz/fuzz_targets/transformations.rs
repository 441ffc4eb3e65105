//! Every registered transformation over arbitrary bytes: the first byte
//! picks one from `seclang::transformations::REGISTRY`, the rest is the
//! input. Besides "no panic", checks the registry's contract (borrowed
//! exactly when unchanged) and invariants that hold for every input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use seclang::transformations::{lookup, REGISTRY};
use std::borrow::Cow;

fn apply<'a>(name: &str, input: &'a [u8]) -> Cow<'a, [u8]> {
    (lookup(name).expect("registered").apply)(input)
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, input)) = data.split_first() else {
        return;
    };
    let t = REGISTRY[usize::from(selector) % REGISTRY.len()];
    let out = (t.apply)(input);

    // Contract (transformations/mod.rs): Borrowed(input) exactly when the
    // output is byte-identical to the input.
    match &out {
        Cow::Borrowed(b) => {
            assert_eq!(
                b.as_ptr(),
                input.as_ptr(),
                "t:{} borrowed something else",
                t.name
            );
            assert_eq!(b.len(), input.len(), "t:{} borrowed a slice", t.name);
        }
        Cow::Owned(o) => assert_ne!(o.as_slice(), input, "t:{} owned but unchanged", t.name),
    }

    let out: &[u8] = &out;
    match t.name {
        "lowercase" => assert_eq!(out, input.to_ascii_lowercase().as_slice()),
        "uppercase" => assert_eq!(out, input.to_ascii_uppercase().as_slice()),
        "length" => {
            assert!(!out.is_empty() && out.iter().all(u8::is_ascii_digit));
            assert_eq!(std::str::from_utf8(out).unwrap(), input.len().to_string());
        }
        "md5" => assert_eq!(out.len(), 16),
        "sha1" => assert_eq!(out.len(), 20),
        "removeNulls" => {
            assert!(!out.contains(&0));
            assert_eq!(out.len(), input.iter().filter(|&&b| b != 0).count());
        }
        "replaceNulls" => {
            assert!(!out.contains(&0));
            assert_eq!(out.len(), input.len());
        }
        "parityZero7bit" => {
            assert!(out.iter().all(|&b| b < 0x80));
            assert_eq!(out.len(), input.len());
        }
        "hexEncode" => {
            assert_eq!(out.len(), input.len() * 2);
            assert!(out
                .iter()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b)));
            assert_eq!(
                &*apply("hexDecode", out),
                input,
                "hexDecode(hexEncode(x)) != x"
            );
        }
        "base64Encode" => {
            assert_eq!(out.len(), input.len().div_ceil(3) * 4);
            assert_eq!(
                &*apply("base64Decode", out),
                input,
                "base64Decode(base64Encode(x)) != x"
            );
        }
        _ => {}
    }
    // Idempotent ones: applying them again changes nothing.
    if matches!(
        t.name,
        "trim"
            | "trimLeft"
            | "trimRight"
            | "compressWhitespace"
            | "removeWhitespace"
            | "removeNulls"
            | "lowercase"
            | "uppercase"
    ) {
        assert_eq!(&*(t.apply)(out), out, "t:{} is not idempotent", t.name);
    }
});
