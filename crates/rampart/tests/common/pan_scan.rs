//! Looks for card numbers in any form (plain, spaced, dashed, hex,
//! base64 at every alignment) in bytes and under a directory.

use std::path::Path;

use base64::Engine;

/// The forms a card number could take on disk.
pub fn forms(pan: &str) -> Vec<Vec<u8>> {
    let groups: Vec<&str> = pan
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let mut out = vec![
        pan.as_bytes().to_vec(),
        groups.join(" ").into_bytes(),
        groups.join("-").into_bytes(),
        pan.bytes()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
            .into_bytes(),
    ];
    for engine in [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::URL_SAFE,
    ] {
        for shift in 0..3 {
            let mut padded = vec![b'x'; shift];
            padded.extend_from_slice(pan.as_bytes());
            let enc = engine.encode(&padded);
            let start = (shift * 4).div_ceil(3) + 1;
            let end = enc.trim_end_matches('=').len().saturating_sub(2);
            out.push(enc.as_bytes()[start..end].to_vec());
        }
    }
    out
}

/// Fails if any of `pans` appears in `bytes` in any form.
pub fn assert_no_card(what: &str, bytes: &[u8], pans: &[String]) {
    for p in pans {
        for form in forms(p) {
            assert!(
                memchr::memmem::find(bytes, &form).is_none(),
                "{what} holds a card number as {:?}",
                String::from_utf8_lossy(&form)
            );
        }
    }
}

pub fn scan_dir(dir: &Path, pans: &[String]) -> usize {
    let mut files = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files += scan_dir(&path, pans);
        } else if let Ok(bytes) = std::fs::read(&path) {
            files += 1;
            assert_no_card(&path.display().to_string(), &bytes, pans);
        }
    }
    files
}
