//! TOTP (RFC 6238): secrets, codes and enrollment (the `otpauth://` URI
//! that authenticator apps read, as a QR code). SHA-1, 6 digits, 30 s
//! steps, one step of clock skew either way: what every authenticator app
//! supports. Owns: code checking that returns the matched time step, so
//! the account can refuse a step it already accepted (replay). Must not:
//! store anything (the account does).

use totp_rs::{Algorithm, Builder, Secret as TotpSecret, Totp};

use crate::secret::Secret;

/// Seconds per step.
pub const STEP: u64 = 30;

/// A fresh 160-bit secret, base32 as apps expect it.
pub fn new_secret() -> Secret {
    let bytes = crate::secret::random_bytes(20);
    Secret::new(TotpSecret::from(bytes).to_base32())
}

fn totp(secret_base32: &str, account: &str, issuer: &str) -> Result<Totp, String> {
    let secret = TotpSecret::try_from_base32(secret_base32)
        .map_err(|_| "the TOTP secret is not valid base32".to_string())?;
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(STEP)
        .with_secret(secret)
        .with_account_name(account.replace(':', "_"))
        .with_issuer(Some(issuer.replace(':', "_")))
        .build()
        .map_err(|e| format!("TOTP: {e}"))
}

/// The step a `code` is valid for at unix time `now` (±1 step), if any.
pub fn matched_step(secret_base32: &str, code: &str, now: u64) -> Option<u64> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    totp(secret_base32, "x", "x").ok()?.check(code, now)
}

/// The code for unix time `t` (tests and `rampart users` use it to show
/// what an app would show).
pub fn code_at(secret_base32: &str, t: u64) -> Result<String, String> {
    Ok(totp(secret_base32, "x", "x")?.generate(t).to_string())
}

/// The `otpauth://totp/ISSUER:ACCOUNT?secret=…` enrollment URI.
pub fn otpauth_uri(secret_base32: &str, account: &str, issuer: &str) -> Result<String, String> {
    totp(secret_base32, account, issuer)?
        .to_url()
        .map_err(|e| format!("TOTP URI: {e}"))
}

/// The URI as an SVG QR code, for the browser.
pub fn qr_svg(uri: &str) -> Result<String, String> {
    let code = qrcode::QrCode::new(uri.as_bytes()).map_err(|e| format!("QR code: {e}"))?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build())
}

/// The URI as a QR code in block characters, for a terminal.
pub fn qr_text(uri: &str) -> Result<String, String> {
    let code = qrcode::QrCode::new(uri.as_bytes()).map_err(|e| format!("QR code: {e}"))?;
    Ok(code
        .render::<char>()
        .dark_color('█')
        .light_color(' ')
        .module_dimensions(2, 1)
        .quiet_zone(true)
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 secret "12345678901234567890".
    #[test]
    fn rfc6238_vectors() {
        let secret = TotpSecret::from(b"12345678901234567890".to_vec()).to_base32();
        // The RFC lists 8 digits; the last six are the 6-digit code.
        for (t, code) in [
            (59, "287082"),
            (1111111109, "081804"),
            (1234567890, "005924"),
        ] {
            assert_eq!(code_at(&secret, t).unwrap(), code);
            assert_eq!(matched_step(&secret, code, t), Some(t / STEP));
        }
        // One step late is still accepted (skew), two are not.
        assert_eq!(matched_step(&secret, "287082", 59 + 30), Some(1));
        assert_eq!(matched_step(&secret, "287082", 59 + 61), None);
        assert_eq!(matched_step(&secret, "28708", 59), None);
        assert_eq!(matched_step(&secret, "abcdef", 59), None);
    }

    #[test]
    fn enrollment_uri_and_qr() {
        let s = new_secret();
        let uri = otpauth_uri(s.expose(), "alice", "Rampart shop").unwrap();
        assert!(
            uri.starts_with("otpauth://totp/Rampart%20shop:alice?"),
            "{uri}"
        );
        assert!(uri.contains(&format!("secret={}", s.expose())), "{uri}");
        assert!(qr_svg(&uri).unwrap().contains("<svg"));
        assert!(qr_text(&uri).unwrap().contains('█'));
    }
}
