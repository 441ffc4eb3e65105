//! `t:base64Encode`: standard Base64 (RFC 4648 alphabet, `=` padding),
//! as mbed TLS's `mbedtls_base64_encode`.
//!
//! Every byte is encoded, NULs included; the empty value stays empty.
//!
//! ```text
//! SecRule ARGS:data "@streq PHNjcmlwdD4=" "id:102,phase:2,t:base64Encode,deny"
//! ```
//!
//! Must not: wrap lines or omit padding.

use std::borrow::Cow;

use super::rewrite::owned_if_changed;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub(crate) fn base64_encode(input: &[u8]) -> Cow<'_, [u8]> {
    if input.is_empty() {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len().div_ceil(3) * 4);
    let sym = |v: u32| ALPHABET[(v & 0x3f) as usize];
    let mut chunks = input.chunks_exact(3);
    for c in &mut chunks {
        let v = u32::from(c[0]) << 16 | u32::from(c[1]) << 8 | u32::from(c[2]);
        out.extend_from_slice(&[sym(v >> 18), sym(v >> 12), sym(v >> 6), sym(v)]);
    }
    match *chunks.remainder() {
        [a] => {
            let v = u32::from(a) << 16;
            out.extend_from_slice(&[sym(v >> 18), sym(v >> 12), b'=', b'=']);
        }
        [a, b] => {
            let v = u32::from(a) << 16 | u32::from(b) << 8;
            out.extend_from_slice(&[sym(v >> 18), sym(v >> 12), sym(v >> 6), b'=']);
        }
        _ => {}
    }
    owned_if_changed(input, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_with_padding() {
        assert_eq!(&*base64_encode(b"TestCase"), b"VGVzdENhc2U=");
        assert_eq!(&*base64_encode(b"TestCase1"), b"VGVzdENhc2Ux");
        assert_eq!(&*base64_encode(b"TestCase12"), b"VGVzdENhc2UxMg==");
        assert_eq!(&*base64_encode(&[0xff, 0xfe]), b"//4=");
    }
}
