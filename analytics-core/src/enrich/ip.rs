//! Which address the visitor came from. Used only for the visitor hash (and later geo and
//! rate limits), then dropped: it is never stored.

use std::net::IpAddr;

/// The headers that may carry the client address, in order of trust.
#[derive(Debug, Default, Clone)]
pub struct IpHeaders<'a> {
    pub cf_connecting_ip: Option<&'a str>,
    pub x_forwarded_for: Option<&'a str>,
    pub x_real_ip: Option<&'a str>,
}

/// `CF-Connecting-IP`, then the first valid public hop of `X-Forwarded-For`, then `X-Real-IP`.
pub fn client_ip(headers: &IpHeaders) -> Option<IpAddr> {
    if let Some(ip) = headers.cf_connecting_ip.and_then(parse) {
        return Some(ip);
    }
    if let Some(xff) = headers.x_forwarded_for {
        let hops: Vec<IpAddr> = xff.split(',').filter_map(parse).collect();
        if let Some(public) = hops.iter().find(|ip| is_public(ip)) {
            return Some(*public);
        }
        if let Some(first) = hops.first() {
            return Some(*first);
        }
    }
    headers.x_real_ip.and_then(parse)
}

fn parse(text: &str) -> Option<IpAddr> {
    text.trim().parse().ok()
}

fn is_public(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            !(v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefers_cf_connecting_ip() {
        let h = IpHeaders {
            cf_connecting_ip: Some("203.0.113.9"),
            x_forwarded_for: Some("198.51.100.1"),
            x_real_ip: Some("198.51.100.2"),
        };
        assert_eq!(client_ip(&h).unwrap().to_string(), "203.0.113.9");
    }

    #[test]
    fn takes_the_first_public_forwarded_hop() {
        let h = IpHeaders {
            x_forwarded_for: Some("10.0.0.1, garbage, 198.51.100.7, 203.0.113.1"),
            ..Default::default()
        };
        assert_eq!(client_ip(&h).unwrap().to_string(), "198.51.100.7");
    }

    #[test]
    fn falls_back_to_x_real_ip_and_ignores_garbage() {
        let h = IpHeaders {
            cf_connecting_ip: Some("not an ip"),
            x_forwarded_for: Some(""),
            x_real_ip: Some(" 2001:db8::1 "),
        };
        assert_eq!(client_ip(&h).unwrap().to_string(), "2001:db8::1");
        assert_eq!(client_ip(&IpHeaders::default()), None);
    }
}
