//! Engaged time and scroll depth of the current page.
//!
//! Engaged time counts only while the page is visible and the window focused, never wall time.
//! Scroll depth is the deepest point of the page that was on screen (in pixels), turned into a
//! percentage of the page's height *when the engagement is sent*: content that loads late, lazy
//! images and infinite scroll make the page taller, so a percentage taken while scrolling would
//! read 100% on a page mostly unseen. A page never scrolled reports the share of it that was on
//! screen.

/// Less new engagement than this is not worth a request, unless the visitor has seen more of
/// the page than was last reported (the first report of a page always has).
pub const MIN_ENGAGEMENT_MS: f64 = 1000.0;

#[derive(Default)]
pub struct Engagement {
    /// When the current active stretch began; `None` while hidden or unfocused.
    active_since: Option<f64>,
    /// Active milliseconds not yet reported.
    unreported_ms: f64,
    /// The page has been visible and focused at some point: pages opened in a background tab
    /// and closed unseen report nothing.
    shown: bool,
    /// Deepest bottom edge of the viewport on this page, in CSS pixels from the top.
    deepest_px: f64,
    /// The page's height as last measured.
    height_px: f64,
    /// The scroll depth last reported for this page (`None`: nothing reported yet).
    reported_scroll: Option<u8>,
}

impl Engagement {
    pub const fn new() -> Self {
        Self {
            active_since: None,
            unreported_ms: 0.0,
            shown: false,
            deepest_px: 0.0,
            height_px: 0.0,
            reported_scroll: None,
        }
    }

    pub fn set_active(&mut self, active: bool, now: f64) {
        match (self.active_since, active) {
            (None, true) => {
                self.active_since = Some(now);
                self.shown = true;
            }
            (Some(since), false) => {
                self.unreported_ms += (now - since).max(0.0);
                self.active_since = None;
            }
            _ => {}
        }
    }

    /// The viewport's bottom edge is at `bottom_px` of a page `height_px` tall.
    pub fn viewed(&mut self, bottom_px: f64, height_px: f64) {
        if bottom_px > self.deepest_px {
            self.deepest_px = bottom_px;
        }
        if height_px > 0.0 {
            self.height_px = height_px;
        }
    }

    /// The scroll depth now, in percent of the page's current height.
    pub fn scroll_percent(&self) -> u8 {
        scroll_percent(self.deepest_px, self.height_px)
    }

    /// Reports the engagement gathered so far — engaged milliseconds and scroll depth — when it
    /// is worth a request: at least [`MIN_ENGAGEMENT_MS`] of new engaged time, or more of the
    /// page seen than last reported. Nothing for a page never shown. The active stretch goes on
    /// from `now`.
    pub fn take(&mut self, now: f64) -> Option<(u32, u8)> {
        if let Some(since) = self.active_since {
            self.unreported_ms += (now - since).max(0.0);
            self.active_since = Some(now);
        }
        let scroll = self.scroll_percent();
        let deeper = self.reported_scroll.is_none_or(|r| scroll > r);
        if !self.shown || (self.unreported_ms < MIN_ENGAGEMENT_MS && !deeper) {
            return None;
        }
        let ms = self.unreported_ms;
        self.unreported_ms = 0.0;
        self.reported_scroll = Some(scroll);
        let max = ingest_limits::MAX_ENGAGED_MS as f64;
        Some((ms.min(max) as u32, scroll))
    }

    /// A new page starts with the viewport's bottom at `bottom_px` of a page `height_px` tall:
    /// what was not reported belongs to the old page and is dropped.
    pub fn new_page(&mut self, now: f64, bottom_px: f64, height_px: f64) {
        let active = self.active_since.is_some();
        *self = Self::new();
        if active {
            self.active_since = Some(now);
            self.shown = true;
        }
        self.viewed(bottom_px, height_px);
    }
}

/// How much of a page `height_px` tall has been seen when the viewport's bottom edge reached
/// `bottom_px`, in percent.
pub fn scroll_percent(bottom_px: f64, height_px: f64) -> u8 {
    if height_px <= 0.0 {
        return 0;
    }
    (bottom_px / height_px * 100.0).clamp(0.0, 100.0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown_page() -> Engagement {
        let mut e = Engagement::default();
        e.new_page(0.0, 800.0, 1600.0);
        e.set_active(true, 0.0);
        e
    }

    #[test]
    fn counts_only_active_time() {
        let mut e = shown_page();
        e.set_active(false, 3000.0); // hidden for 10 s
        e.set_active(true, 13000.0);
        assert_eq!(e.take(15000.0), Some((5000, 50)));
        assert_eq!(e.take(15500.0), None, "half a second, nothing new seen");
        assert_eq!(
            e.take(16200.0),
            Some((1200, 50)),
            "it adds up until worth sending"
        );
    }

    #[test]
    fn a_page_left_quickly_still_reports_what_was_seen() {
        let mut e = shown_page();
        assert_eq!(e.take(400.0), Some((400, 50)), "the first report of a page");
        assert_eq!(e.take(600.0), None);
        e.viewed(1200.0, 1600.0);
        assert_eq!(e.take(700.0), Some((300, 75)), "more of the page seen");
    }

    #[test]
    fn a_page_never_shown_reports_nothing() {
        let mut e = Engagement::default();
        e.new_page(0.0, 800.0, 1600.0); // opened in a background tab
        assert_eq!(e.take(60_000.0), None);
    }

    #[test]
    fn depth_is_measured_against_the_height_when_sent() {
        let mut e = shown_page();
        e.viewed(1600.0, 1600.0); // at the bottom of the first screenful of results
        e.viewed(1600.0, 6400.0); // infinite scroll appended three more
        assert_eq!(e.take(2000.0), Some((2000, 25)));
    }

    #[test]
    fn a_new_page_starts_fresh_from_what_is_on_screen() {
        let mut e = shown_page();
        e.viewed(1600.0, 1600.0);
        e.new_page(999.0, 700.0, 2800.0);
        assert_eq!(e.scroll_percent(), 25);
        assert_eq!(
            e.take(1500.0),
            Some((501, 25)),
            "still active on the new page"
        );
    }

    #[test]
    fn scroll_depth() {
        assert_eq!(scroll_percent(800.0, 1600.0), 50);
        assert_eq!(scroll_percent(1600.0, 1600.0), 100);
        assert_eq!(scroll_percent(5800.0, 1600.0), 100);
        assert_eq!(scroll_percent(800.0, 0.0), 0);
    }
}
