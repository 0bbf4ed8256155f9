//! Visitor hash = HMAC-SHA256(daily salt, site ‖ IP ‖ user agent), truncated to 128 bits.
//! The salt is secret and rotates daily, so the same person gets a new id every day and the
//! id cannot be reversed to an IP without the salt.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::net::IpAddr;

pub fn visitor_hash(salt: &[u8], site_id: &str, ip: Option<IpAddr>, user_agent: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(salt).expect("HMAC takes a key of any length");
    mac.update(site_id.as_bytes());
    mac.update(&[0]);
    mac.update(ip.map(|i| i.to_string()).unwrap_or_default().as_bytes());
    mac.update(&[0]);
    mac.update(user_agent.as_bytes());
    let digest = mac.finalize().into_bytes();
    crate::util::hex::encode(&digest[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_inputs_same_hash_and_every_input_matters() {
        let ip: IpAddr = "203.0.113.5".parse().unwrap();
        let base = visitor_hash(b"salt-1", "demo", Some(ip), "UA");
        assert_eq!(base.len(), 32);
        assert_eq!(base, visitor_hash(b"salt-1", "demo", Some(ip), "UA"));
        assert_ne!(base, visitor_hash(b"salt-2", "demo", Some(ip), "UA"));
        assert_ne!(base, visitor_hash(b"salt-1", "other", Some(ip), "UA"));
        assert_ne!(base, visitor_hash(b"salt-1", "demo", None, "UA"));
        assert_ne!(base, visitor_hash(b"salt-1", "demo", Some(ip), "UA2"));
        assert!(!base.contains("203"));
    }
}
