//! Just enough URL handling for the collector: split an absolute http(s) URL, clean it (the
//! query string goes, except UTM parameters and the site's allow-list; the fragment goes unless
//! the site routes with it), and read a path's file extension.

use crate::buf::{head, tail};

pub struct Parts<'a> {
    /// `scheme://authority`
    pub origin: &'a [u8],
    /// Host without port or credentials, as written (browsers lower-case it already).
    pub host: &'a [u8],
    pub path: &'a [u8],
    pub query: &'a [u8],
    pub fragment: &'a [u8],
}

fn find(hay: &[u8], needle: u8) -> Option<usize> {
    hay.iter().position(|&b| b == needle)
}

#[inline(never)]
pub fn split(url: &[u8]) -> Option<Parts<'_>> {
    let after_scheme = if url.starts_with(b"https://") {
        8
    } else if url.starts_with(b"http://") {
        7
    } else {
        return None;
    };
    let rest = tail(url, after_scheme);
    let authority_end = rest
        .iter()
        .position(|&b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let authority = head(rest, authority_end);
    let host_start = find(authority, b'@').map(|i| i + 1).unwrap_or(0);
    let host_port = tail(authority, host_start);
    let host = if host_port.first() == Some(&b'[') {
        head(
            host_port,
            find(host_port, b']')
                .map(|i| i + 1)
                .unwrap_or(host_port.len()),
        )
    } else {
        head(host_port, find(host_port, b':').unwrap_or(host_port.len()))
    };
    if host.is_empty() {
        return None;
    }
    let rest_of_url = tail(rest, authority_end);
    let (before_fragment, fragment) = match find(rest_of_url, b'#') {
        Some(i) => (head(rest_of_url, i), tail(rest_of_url, i + 1)),
        None => (rest_of_url, &b""[..]),
    };
    let (path, query) = match find(before_fragment, b'?') {
        Some(i) => (head(before_fragment, i), tail(before_fragment, i + 1)),
        None => (before_fragment, &b""[..]),
    };
    Some(Parts {
        origin: head(url, after_scheme + authority_end),
        host,
        path,
        query,
        fragment,
    })
}

const UTM: [&[u8]; 5] = [
    b"utm_source",
    b"utm_medium",
    b"utm_campaign",
    b"utm_term",
    b"utm_content",
];

/// Whether `name` is in a comma-separated `list`.
#[inline(never)]
pub fn in_list(list: &[u8], name: &[u8]) -> bool {
    !name.is_empty()
        && list
            .split(|&b| b == b',')
            .any(|item| item.eq_ignore_ascii_case(name))
}

/// Writes the cleaned URL into `out`. Returns false when `url` is not an http(s) URL.
#[inline(never)]
pub fn clean<const N: usize>(
    url: &[u8],
    allow: &[u8],
    keep_fragment: bool,
    out: &mut crate::buf::Buf<N>,
) -> bool {
    let Some(p) = split(url) else { return false };
    out.clear();
    let mut ok = out.push(p.origin) && out.push(if p.path.is_empty() { b"/" } else { p.path });
    let mut first = true;
    for pair in p.query.split(|&b| b == b'&') {
        let name = head(pair, find(pair, b'=').unwrap_or(pair.len()));
        if UTM.contains(&name) || in_list(allow, name) {
            ok &= out.push(if first { b"?" } else { b"&" }) && out.push(pair);
            first = false;
        }
    }
    if keep_fragment && !p.fragment.is_empty() {
        ok &= out.push(b"#") && out.push(p.fragment);
    }
    ok
}

/// The extension of the path's last segment, without the dot ("" when none).
pub fn extension(path: &[u8]) -> &[u8] {
    let segment = tail(
        path,
        path.iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1),
    );
    match segment.iter().rposition(|&b| b == b'.') {
        Some(i) => tail(segment, i + 1),
        None => b"",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buf::Buf;

    fn cleaned(url: &str, allow: &str, hash: bool) -> String {
        let mut out = Buf::<256>::new();
        assert!(clean(url.as_bytes(), allow.as_bytes(), hash, &mut out));
        String::from_utf8(out.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn splits_urls() {
        let p = split(b"https://user:pw@Example.com:8443/a/b.pdf?x=1#top").unwrap();
        assert_eq!(p.origin, b"https://user:pw@Example.com:8443");
        assert_eq!(p.host, b"Example.com");
        assert_eq!(p.path, b"/a/b.pdf");
        assert_eq!((p.query, p.fragment), (&b"x=1"[..], &b"top"[..]));
        assert_eq!(split(b"http://[::1]:8080/").unwrap().host, b"[::1]");
        assert!(split(b"mailto:a@b.c").is_none());
        assert!(split(b"javascript:alert(1)").is_none());
        assert!(split(b"https:///nohost").is_none());
    }

    #[test]
    fn cleaning_keeps_only_utm_and_the_allow_list() {
        assert_eq!(
            cleaned(
                "https://e.com/p?token=s3cret&utm_source=nl&q=shoes#frag",
                "",
                false
            ),
            "https://e.com/p?utm_source=nl"
        );
        assert_eq!(
            cleaned("https://e.com/p?token=s3cret&q=shoes", "q,page", false),
            "https://e.com/p?q=shoes"
        );
        assert_eq!(cleaned("https://e.com", "", false), "https://e.com/");
        assert_eq!(
            cleaned("https://e.com/app#/settings", "", true),
            "https://e.com/app#/settings"
        );
        assert_eq!(
            cleaned("https://e.com/app#/settings", "", false),
            "https://e.com/app"
        );
    }

    #[test]
    fn extensions() {
        assert_eq!(extension(b"/files/report.final.PDF"), b"PDF");
        assert_eq!(extension(b"/v1.2/readme"), b"");
        assert_eq!(extension(b""), b"");
        assert!(in_list(b"pdf,zip", b"PDF"));
        assert!(!in_list(b"pdf,zip", b""));
    }
}
