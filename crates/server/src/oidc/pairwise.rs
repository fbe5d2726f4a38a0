//! Pairwise subject identifiers: `sub` = base64url(HMAC-SHA-256(pairwise secret, sector ‖
//! 0x00 ‖ personal ID)). Clients of different sectors cannot correlate a citizen; the
//! personal ID itself is released only under the `personal_id` scope.

use base64::Engine;
use dancu_domain::PersonalId;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The subject identifier of `id` for clients of `sector`.
pub fn subject(secret: &[u8; 32], sector: &str, id: &PersonalId) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("any key length");
    mac.update(sector.as_bytes());
    mac.update(&[0]);
    mac.update(id.as_str().as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_differ_by_sector_and_are_stable() {
        let id: PersonalId = "001085001234".parse().unwrap();
        let k = [7u8; 32];
        assert_eq!(subject(&k, "dvc.gov.vn", &id), subject(&k, "dvc.gov.vn", &id));
        assert_ne!(subject(&k, "dvc.gov.vn", &id), subject(&k, "thue.gov.vn", &id));
        assert!(!subject(&k, "dvc.gov.vn", &id).contains("001085001234"));
        assert_eq!(subject(&k, "dvc.gov.vn", &id).len(), 43);
    }
}
