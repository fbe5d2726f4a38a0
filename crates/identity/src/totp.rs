//! Time-based one-time passwords (RFC 6238 over RFC 4226 HOTP): HMAC-SHA-1, 6 digits, 30-second
//! steps, one step of clock skew accepted either way, and replay protection: a code is refused
//! when its step is not after the last step the account used.

use dancu_domain::Violation;
use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, KeyInit, Mac};
use rand::{CryptoRng, RngCore};
use sha1::Sha1;

/// Length of a new secret in bytes (160 bits, RFC 4226 §4's recommendation).
pub const SECRET_LEN: usize = 20;

/// Digits, step and tolerated clock skew of a TOTP scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TotpParams {
    digits: u32,
    step_seconds: u64,
    skew_steps: u64,
}

impl TotpParams {
    /// 6 digits, 30-second steps, ±1 step: what authenticator apps assume.
    pub const DEFAULT: TotpParams = TotpParams { digits: 6, step_seconds: 30, skew_steps: 1 };

    /// `digits` from 6 to 10 (RFC 4226 asks for at least 6; a 31-bit value has at most 10),
    /// `step_seconds` at least 1.
    pub fn new(digits: u32, step_seconds: u64, skew_steps: u64) -> Result<Self, Violation> {
        if !(6..=10).contains(&digits) || step_seconds == 0 {
            return Err(Violation::new(
                "totp",
                "totp.params",
                "Tham số TOTP không hợp lệ (6–10 chữ số, bước ≥ 1 giây)",
                "invalid TOTP parameters (6 to 10 digits, step of at least 1 second)",
            ));
        }
        Ok(TotpParams { digits, step_seconds, skew_steps })
    }

    pub fn digits(&self) -> u32 {
        self.digits
    }
    pub fn step_seconds(&self) -> u64 {
        self.step_seconds
    }

    /// The time step containing `unix` (seconds since 1970, T0 = 0).
    pub fn step_at(&self, unix: u64) -> u64 {
        unix / self.step_seconds
    }
}

impl Default for TotpParams {
    fn default() -> Self {
        TotpParams::DEFAULT
    }
}

/// RFC 4226 HOTP value of `counter`, zero-padded to `digits`.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> String {
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(&counter.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let offset = usize::from(hash[hash.len() - 1] & 0x0f);
    let bin = u32::from_be_bytes([hash[offset], hash[offset + 1], hash[offset + 2], hash[offset + 3]])
        & 0x7fff_ffff;
    let value = u64::from(bin) % 10u64.pow(digits);
    format!("{value:0width$}", width = digits as usize)
}

/// The code at `unix` with the default parameters.
pub fn generate(secret: &[u8], unix: u64) -> String {
    generate_with(&TotpParams::DEFAULT, secret, unix)
}

pub fn generate_with(params: &TotpParams, secret: &[u8], unix: u64) -> String {
    hotp(secret, params.step_at(unix), params.digits)
}

/// Compares without stopping at the first difference.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// How far back a code is recognised as merely expired (for a clearer error) rather than wrong.
const EXPIRED_LOOKBACK_STEPS: u64 = 10;

/// Checks `code` at `now_unix` with the default parameters; returns the step it belongs to,
/// which the caller stores as the account's new `last_used_step`.
///
/// Rule codes: `totp.format` (not 6 digits; spaces are ignored), `totp.replayed` (the step is
/// not after `last_used_step`), `totp.expired` (a code of the last few minutes, outside the
/// skew window), `totp.invalid`.
pub fn verify(
    secret: &[u8],
    code: &str,
    now_unix: u64,
    last_used_step: Option<u64>,
) -> Result<u64, Violation> {
    verify_with(&TotpParams::DEFAULT, secret, code, now_unix, last_used_step)
}

pub fn verify_with(
    params: &TotpParams,
    secret: &[u8],
    code: &str,
    now_unix: u64,
    last_used_step: Option<u64>,
) -> Result<u64, Violation> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != params.digits as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Violation::new(
            "code",
            "totp.format",
            format!("Mã xác thực phải gồm {} chữ số", params.digits),
            format!("the code must have {} digits", params.digits),
        ));
    }
    let now = params.step_at(now_unix);
    let matches = |step: u64| constant_time_eq(hotp(secret, step, params.digits).as_bytes(), code.as_bytes());
    let mut replayed = false;
    // Newest first, so a code valid for a fresh step wins over an old one.
    for step in (now.saturating_sub(params.skew_steps)..=now.saturating_add(params.skew_steps)).rev() {
        if matches(step) {
            if last_used_step.is_some_and(|last| step <= last) {
                replayed = true;
                continue;
            }
            return Ok(step);
        }
    }
    if replayed {
        return Err(Violation::new(
            "code",
            "totp.replayed",
            "Mã xác thực này đã được sử dụng; hãy chờ mã mới",
            "this code was already used; wait for the next one",
        ));
    }
    let window_start = now.saturating_sub(params.skew_steps);
    let old = window_start.saturating_sub(EXPIRED_LOOKBACK_STEPS)..window_start;
    if old.rev().any(matches) {
        return Err(Violation::new(
            "code",
            "totp.expired",
            "Mã xác thực đã hết hạn; hãy nhập mã đang hiển thị hoặc kiểm tra đồng hồ điện thoại",
            "the code has expired; enter the current one or check the phone's clock",
        ));
    }
    Err(Violation::new("code", "totp.invalid", "Mã xác thực không đúng", "the code is wrong"))
}

/// A new random secret of [`SECRET_LEN`] bytes from a cryptographic generator.
pub fn new_secret<R: RngCore + CryptoRng>(rng: &mut R) -> Vec<u8> {
    let mut s = vec![0u8; SECRET_LEN];
    rng.fill_bytes(&mut s);
    s
}

/// The secret as authenticator apps take it: base32 without padding.
pub fn secret_base32(secret: &[u8]) -> String {
    BASE32_NOPAD.encode(secret)
}

/// The secret back from [`secret_base32`]; `None` if the text is not base32.
pub fn secret_from_base32(s: &str) -> Option<Vec<u8>> {
    BASE32_NOPAD.decode(s.as_bytes()).ok()
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The `otpauth://` URI an authenticator app scans (Key Uri Format), default parameters.
pub fn provisioning_uri(secret: &[u8], account: &str, issuer: &str) -> String {
    provisioning_uri_with(&TotpParams::DEFAULT, secret, account, issuer)
}

pub fn provisioning_uri_with(params: &TotpParams, secret: &[u8], account: &str, issuer: &str) -> String {
    let issuer_nfc = dancu_domain::nfc(issuer);
    let account_nfc = dancu_domain::nfc(account);
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={}&period={}",
        percent_encode(&issuer_nfc),
        percent_encode(&account_nfc),
        secret_base32(secret),
        percent_encode(&issuer_nfc),
        params.digits,
        params.step_seconds
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;

    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn rfc4226_hotp_vectors() {
        let expected = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871",
            "520489",
        ];
        for (counter, want) in expected.iter().enumerate() {
            assert_eq!(hotp(RFC_SECRET, counter as u64, 6), *want, "counter {counter}");
        }
    }

    #[test]
    fn rfc6238_appendix_b_sha1_vectors() {
        let p = TotpParams::new(8, 30, 1).unwrap();
        for (t, want) in [
            (59u64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(generate_with(&p, RFC_SECRET, t), want, "T = {t}");
            assert_eq!(verify_with(&p, RFC_SECRET, want, t, None).unwrap(), t / 30);
        }
        // The 6-digit code is the last six digits of the 8-digit one.
        assert_eq!(generate(RFC_SECRET, 59), "287082");
    }

    #[test]
    fn accepts_one_step_of_skew_either_way() {
        let t = 1_700_000_000;
        let code = generate(RFC_SECRET, t);
        assert_eq!(verify(RFC_SECRET, &code, t + 30, None).unwrap(), t / 30);
        assert_eq!(verify(RFC_SECRET, &code, t - 30, None).unwrap(), t / 30);
        assert_eq!(verify(RFC_SECRET, &code, t + 60, None).unwrap_err().rule, "totp.expired");
        assert_eq!(verify(RFC_SECRET, &code, t + 30 * 20, None).unwrap_err().rule, "totp.invalid");
        assert_eq!(verify(RFC_SECRET, &code, t - 60, None).unwrap_err().rule, "totp.invalid");
    }

    #[test]
    fn refuses_replays() {
        let t = 1_700_000_000;
        let code = generate(RFC_SECRET, t);
        let step = verify(RFC_SECRET, &code, t, None).unwrap();
        let e = verify(RFC_SECRET, &code, t + 5, Some(step)).unwrap_err();
        assert_eq!((e.field.as_str(), e.rule), ("code", "totp.replayed"));
        // A code from an earlier step than the last one used is a replay too.
        let earlier = generate(RFC_SECRET, t - 30);
        assert_eq!(verify(RFC_SECRET, &earlier, t, Some(step)).unwrap_err().rule, "totp.replayed");
        // The next step's code is accepted.
        let next = generate(RFC_SECRET, t + 30);
        assert_eq!(verify(RFC_SECRET, &next, t + 30, Some(step)).unwrap(), step + 1);
    }

    #[test]
    fn checks_the_format() {
        for bad in ["", "12345", "1234567", "12a456", "１２３４５６"] {
            assert_eq!(verify(RFC_SECRET, bad, 59, None).unwrap_err().rule, "totp.format", "{bad:?}");
        }
        let code = generate(RFC_SECRET, 59);
        let spaced = format!(" {} {} ", &code[..3], &code[3..]);
        assert!(verify(RFC_SECRET, &spaced, 59, None).is_ok());
        assert_eq!(TotpParams::new(5, 30, 1).unwrap_err().rule, "totp.params");
        assert_eq!(TotpParams::new(6, 0, 1).unwrap_err().rule, "totp.params");
    }

    #[test]
    fn secrets_and_uris() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let a = new_secret(&mut rng);
        let b = new_secret(&mut rng);
        assert_eq!(a.len(), 20);
        assert_ne!(a, b);
        assert_eq!(secret_base32(RFC_SECRET), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let uri = provisioning_uri(RFC_SECRET, "001190001234", "Dân cư Hà Nội");
        assert_eq!(
            uri,
            "otpauth://totp/D%C3%A2n%20c%C6%B0%20H%C3%A0%20N%E1%BB%99i:001190001234?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=D%C3%A2n%20c%C6%B0%20H%C3%A0%20N%E1%BB%99i&algorithm=SHA1&digits=6&period=30"
        );
    }

    proptest! {
        #[test]
        fn generated_codes_verify_once(secret in proptest::collection::vec(any::<u8>(), 1..40), t in 30u64..4_000_000_000) {
            let code = generate(&secret, t);
            prop_assert_eq!(code.len(), 6);
            let step = verify(&secret, &code, t, None).unwrap();
            prop_assert_eq!(step, t / 30);
            prop_assert_eq!(verify(&secret, &code, t, Some(step)).unwrap_err().rule, "totp.replayed");
        }

        #[test]
        fn verify_never_panics(code in "\\PC{0,10}", t: u64, last: Option<u64>) {
            let _ = verify(b"k", &code, t, last);
        }
    }
}
