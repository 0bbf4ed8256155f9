//! Engaged time: only while the page is visible and the window focused, never wall time.

/// Less new engagement than this is not worth a request.
pub const MIN_ENGAGEMENT_MS: f64 = 1000.0;

#[derive(Default)]
pub struct Engagement {
    /// When the current active stretch began; `None` while hidden or unfocused.
    active_since: Option<f64>,
    /// Active milliseconds not yet reported.
    unreported_ms: f64,
    /// Deepest scroll on this page, in percent.
    pub max_scroll: u8,
}

impl Engagement {
    pub const fn new() -> Self {
        Self {
            active_since: None,
            unreported_ms: 0.0,
            max_scroll: 0,
        }
    }

    pub fn set_active(&mut self, active: bool, now: f64) {
        match (self.active_since, active) {
            (None, true) => self.active_since = Some(now),
            (Some(since), false) => {
                self.unreported_ms += (now - since).max(0.0);
                self.active_since = None;
            }
            _ => {}
        }
    }

    pub fn scrolled(&mut self, percent: u8) {
        self.max_scroll = self.max_scroll.max(percent.min(100));
    }

    /// Reports the engagement gathered so far, if there is at least a second of it; the active
    /// stretch goes on from `now`.
    pub fn take(&mut self, now: f64) -> Option<u32> {
        if let Some(since) = self.active_since {
            self.unreported_ms += (now - since).max(0.0);
            self.active_since = Some(now);
        }
        if self.unreported_ms < MIN_ENGAGEMENT_MS {
            return None;
        }
        let ms = self.unreported_ms;
        self.unreported_ms = 0.0;
        Some(ms.min(u32::MAX as f64) as u32)
    }

    /// A new page starts: what was not reported belongs to the old one and is dropped.
    pub fn new_page(&mut self, now: f64) {
        self.unreported_ms = 0.0;
        self.max_scroll = 0;
        if self.active_since.is_some() {
            self.active_since = Some(now);
        }
    }
}

/// Scroll depth in percent from the page's geometry.
pub fn scroll_percent(scroll_top: f64, viewport: f64, document_height: f64) -> u8 {
    if document_height <= 0.0 {
        return 0;
    }
    let seen = (scroll_top + viewport) / document_height * 100.0;
    seen.clamp(0.0, 100.0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_only_active_time() {
        let mut e = Engagement::default();
        e.set_active(true, 0.0);
        e.set_active(false, 3000.0); // hidden for 10 s
        e.set_active(true, 13000.0);
        assert_eq!(e.take(15000.0), Some(5000));
        assert_eq!(e.take(15500.0), None, "half a second is not reported");
        assert_eq!(
            e.take(16200.0),
            Some(1200),
            "it adds up until it is worth sending"
        );
    }

    #[test]
    fn under_a_second_is_not_sent_and_a_new_page_starts_fresh() {
        let mut e = Engagement::default();
        e.set_active(true, 0.0);
        assert_eq!(e.take(999.0), None);
        e.scrolled(80);
        e.new_page(999.0);
        assert_eq!(e.max_scroll, 0);
        assert_eq!(e.take(1500.0), None);
    }

    #[test]
    fn scroll_depth() {
        assert_eq!(scroll_percent(0.0, 800.0, 1600.0), 50);
        assert_eq!(scroll_percent(800.0, 800.0, 1600.0), 100);
        assert_eq!(scroll_percent(5000.0, 800.0, 1600.0), 100);
        assert_eq!(scroll_percent(0.0, 800.0, 0.0), 0);
    }
}
