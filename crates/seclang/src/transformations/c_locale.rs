//! The C library's byte classes and hex arithmetic, as ModSecurity's
//! transformations use them.
//!
//! libmodsecurity runs in the "C" locale, so `isspace`, `isxdigit`,
//! `isdigit` and `isalnum` only ever recognise ASCII bytes. Its `x2c`
//! helper turns two characters into a byte *without* checking that they
//! are hex digits; some transformations (`hexDecode`) depend on that, so
//! the unchecked arithmetic is reproduced exactly here.
//!
//! This module owns those primitives only; it must not grow
//! transformation logic of its own.

/// C `isspace` in the "C" locale: space, `\t`, `\n`, `\v`, `\f`, `\r`.
#[inline]
pub(crate) const fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// ModSecurity's `VALID_HEX` (same as C `isxdigit`).
#[inline]
pub(crate) const fn is_hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}

/// ModSecurity's `ISODIGIT`: `0`..`7`.
#[inline]
pub(crate) const fn is_octal(b: u8) -> bool {
    matches!(b, b'0'..=b'7')
}

/// ModSecurity's `xsingle2c`: the value of one hex digit, computed with
/// wrapping byte arithmetic and no validation (a non-digit yields a
/// meaningless but deterministic value, as in C).
#[inline]
pub(crate) const fn hex_nibble(b: u8) -> u8 {
    if b >= b'A' {
        (b & 0xdf).wrapping_sub(b'A').wrapping_add(10)
    } else {
        b.wrapping_sub(b'0')
    }
}

/// ModSecurity's `x2c`: two hex digits to one byte, unchecked.
#[inline]
pub(crate) const fn hex_pair(hi: u8, lo: u8) -> u8 {
    hex_nibble(hi).wrapping_mul(16).wrapping_add(hex_nibble(lo))
}

/// Lower-case hex digits, as ModSecurity's `c2x` writes them.
pub(crate) const LOWER_HEX: &[u8; 16] = b"0123456789abcdef";

/// C `strtol(digits, NULL, radix)` reduced to a byte the way ModSecurity
/// casts it: the value saturates at `LONG_MAX` (64-bit) on overflow, and
/// only its low byte is kept. `digits` must hold only digits of `radix`.
pub(crate) fn strtol_low_byte(digits: &[u8], radix: u64) -> u8 {
    let mut value: u64 = 0;
    for &d in digits {
        value = value
            .saturating_mul(radix)
            .saturating_add(u64::from(hex_nibble(d)));
    }
    if value > i64::MAX as u64 {
        // strtol returned LONG_MAX, whose low byte is 0xff.
        0xff
    } else {
        (value & 0xff) as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_pair_matches_c_arithmetic_for_non_digits() {
        assert_eq!(hex_pair(b'4', b'1'), b'A');
        assert_eq!(hex_pair(b'f', b'F'), 0xff);
        // '0','z' -> 0*16 + ((0x7a & 0xdf) - 'A' + 10) = 35 = '#'
        assert_eq!(hex_pair(b'0', b'z'), b'#');
        // a NUL second digit: (0 - '0') wraps
        assert_eq!(
            hex_pair(b'a', 0),
            160u8.wrapping_add(0u8.wrapping_sub(b'0'))
        );
    }

    #[test]
    fn strtol_saturates_like_c() {
        assert_eq!(strtol_low_byte(b"123", 10), 123);
        assert_eq!(strtol_low_byte(b"256", 10), 0);
        assert_eq!(strtol_low_byte(b"0000000000000000000000000123", 10), 123);
        assert_eq!(strtol_low_byte(b"99999999999999999999999", 10), 0xff);
        assert_eq!(strtol_low_byte(b"7fffffffffffff41", 16), 0x41);
        assert_eq!(strtol_low_byte(b"ffffffffffffffffff", 16), 0xff);
    }
}
