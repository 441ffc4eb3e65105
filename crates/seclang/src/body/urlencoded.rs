//! `application/x-www-form-urlencoded` and query strings: pairs split on
//! the argument separator (`&` unless `SecArgumentSeparator` says
//! otherwise) and the first `=`, then percent-decoded leniently: `+` is a
//! space, a valid `%XX` is its byte, an invalid `%` sequence stays as
//! written and sets `URLENCODED_ERROR`. Empty pairs are skipped.

/// Pairs decoded from `input`, and whether any escape was invalid.
pub fn parse(input: &[u8], separator: u8) -> (super::Pairs, bool) {
    let mut out = Vec::new();
    let mut invalid = false;
    for piece in input.split(|b| *b == separator) {
        if piece.is_empty() {
            continue;
        }
        let (k, v) = match piece.iter().position(|b| *b == b'=') {
            Some(i) => (&piece[..i], &piece[i + 1..]),
            None => (piece, &piece[piece.len()..]),
        };
        let (k, bad_k) = decode(k);
        let (v, bad_v) = decode(v);
        invalid |= bad_k | bad_v;
        out.push((k, v));
    }
    (out, invalid)
}

/// Lenient form decoding (`+` → space); returns whether an escape was bad.
pub fn decode(input: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::with_capacity(input.len());
    let mut invalid = false;
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                if i + 2 < input.len() {
                    if let (Some(h), Some(l)) = (hex(input[i + 1]), hex(input[i + 2])) {
                        out.push(h << 4 | l);
                        i += 3;
                        continue;
                    }
                }
                invalid = true;
                out.push(b'%');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    (out, invalid)
}

/// Percent-decoding of a URI (no `+` rule), as ModSecurity decodes the
/// request URI for `REQUEST_URI` and `REQUEST_FILENAME`.
pub fn decode_uri(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'%' && i + 2 < input.len() {
            if let (Some(h), Some(l)) = (hex(input[i + 1]), hex(input[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(input[i]);
        i += 1;
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_decodes() {
        let (pairs, bad) = parse(b"a=1&b=x+y%21&&c&d=%zz&=e", b'&');
        assert_eq!(
            pairs,
            vec![
                (b"a".to_vec(), b"1".to_vec()),
                (b"b".to_vec(), b"x y!".to_vec()),
                (b"c".to_vec(), b"".to_vec()),
                (b"d".to_vec(), b"%zz".to_vec()),
                (b"".to_vec(), b"e".to_vec()),
            ]
        );
        assert!(bad);
        assert!(!parse(b"a=%41", b'&').1);
        assert_eq!(parse(b"a=%4", b'&').0[0].1, b"%4");
        assert_eq!(decode_uri(b"/a%20b+c%2"), b"/a b+c%2");
    }
}
