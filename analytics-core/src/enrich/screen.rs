//! Screen width → a coarse class. The exact width is never stored (it would help fingerprinting).

pub fn class(width: Option<u32>) -> &'static str {
    match width {
        None | Some(0) => "unknown",
        Some(w) if w < 576 => "mobile",
        Some(w) if w < 992 => "tablet",
        Some(w) if w < 1440 => "laptop",
        Some(_) => "desktop",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn classes_by_width() {
        assert_eq!(super::class(Some(375)), "mobile");
        assert_eq!(super::class(Some(800)), "tablet");
        assert_eq!(super::class(Some(1280)), "laptop");
        assert_eq!(super::class(Some(2560)), "desktop");
        assert_eq!(super::class(None), "unknown");
    }
}
