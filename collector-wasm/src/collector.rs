//! The collector's state and its decisions: whether to collect, what a page view, a click or an
//! engagement becomes, and what one flush sends. The loader reports what happened in the page.
//!
//! The collector applies the Worker's own limits (`ingest_limits`, compiled into both), so it
//! never sends what the Worker would refuse: a name the Worker would cut is cut here, and a
//! batch never exceeds its size or count. Properties and revenue arrive from the loader as a
//! JSON fragment it built within the same limits (generated from `ingest_limits` when the
//! loader is built): checking them here cost ~300 bytes of the snippet's 6,144.

use ingest_limits::{
    MAX_BODY_BYTES, MAX_EVENTS_PER_BATCH, MAX_EVENT_NAME_BYTES, MAX_SITE_ID_BYTES, MAX_URL_BYTES,
};

use crate::buf::{head, Buf};
use crate::engagement::Engagement;
use crate::url;

/// Most events one page load may queue: a runaway loop cannot flood the endpoint.
pub const MAX_EVENTS_PER_PAGE: u32 = 500;
/// Most events in one request: the Worker's batch limit.
pub const MAX_EVENTS_PER_REQUEST: u32 = MAX_EVENTS_PER_BATCH as u32;
/// Room a body needs around its events: `{"site":…,"events":[` + `]}`, the site id escaped at
/// worst six bytes a byte.
const ENVELOPE_BYTES: usize = 32 + 6 * MAX_SITE_ID_BYTES;
/// Queue bytes: a full queue still makes a body the Worker accepts.
pub const QUEUE_BYTES: usize = MAX_BODY_BYTES - ENVELOPE_BYTES;
/// Longest `,"props":{…},"revenue":{…}` fragment an event carries; the loader keeps within it
/// (the Worker's limits allow more, so nothing the collector sends is refused for it).
pub const EXTRA_BYTES: usize = 4096;
/// Largest event: its URL, a referrer or link URL, properties and revenue.
pub const EVENT_BYTES: usize = 2 * MAX_URL_BYTES + EXTRA_BYTES + 512;
const _: () = assert!(
    EVENT_BYTES < QUEUE_BYTES,
    "an event always fits an empty queue"
);
/// File extensions that make a link a download unless the site sets `data-downloads`.
pub const DEFAULT_DOWNLOADS: &[u8] =
    b"pdf,xlsx,xls,docx,doc,txt,rtf,csv,exe,key,pps,ppt,pptx,7z,pkg,rar,gz,tgz,zip,avi,mov,mp4,mpeg,wmv,midi,mp3,wav,wma,dmg,iso,msi,apk";

/// What the loader tells `configure` about the browser and the script tag.
pub mod flags {
    pub const DO_NOT_TRACK: u32 = 1;
    pub const GLOBAL_PRIVACY_CONTROL: u32 = 2;
    /// `data-respect-dnt="false"` was *not* set.
    pub const RESPECT_DNT: u32 = 4;
    pub const ALLOW_LOCALHOST: u32 = 8;
    /// `localStorage.vigia_ignore === "true"`
    pub const OPTED_OUT: u32 = 16;
    /// `data-hash`: the fragment is part of the page (hash routing).
    pub const HASH_ROUTING: u32 = 32;
    /// `data-404`: this is the site's not-found page.
    pub const NOT_FOUND_PAGE: u32 = 64;
    /// `data-outbound="false"`: links to other sites are not events.
    pub const NO_OUTBOUND: u32 = 128;
    /// `data-downloads="false"`: file downloads are not events.
    pub const NO_DOWNLOADS: u32 = 256;
}

/// What an event call did, as bits the loader reads.
pub mod outcome {
    /// The event was queued (not dropped).
    pub const QUEUED: u32 = 1;
    /// The loader should send now (a batch is full, or a click may leave the page).
    pub const SEND_NOW: u32 = 2;
}

/// Whether this page may be collected at all.
pub fn may_collect(flags: u32, page_url: &[u8]) -> bool {
    use flags::*;
    if flags & OPTED_OUT != 0 {
        return false;
    }
    if flags & RESPECT_DNT != 0 && flags & (DO_NOT_TRACK | GLOBAL_PRIVACY_CONTROL) != 0 {
        return false;
    }
    let local = match url::split(page_url) {
        Some(p) => is_local_host(p.host),
        None => true, // file:, data:, about: pages
    };
    !local || flags & ALLOW_LOCALHOST != 0
}

fn is_local_host(host: &[u8]) -> bool {
    host.eq_ignore_ascii_case(b"localhost")
        || host.ends_with(b".localhost")
        || host.starts_with(b"127.")
        || host == b"[::1]"
        || host == b"0.0.0.0"
}

fn strip_www(host: &[u8]) -> &[u8] {
    host.strip_prefix(b"www.").unwrap_or(host)
}

/// Whether a text holds a NUL, which the Worker refuses (a plain loop: `contains` would link
/// a word-at-a-time memchr the module does not need).
#[allow(clippy::manual_contains)] // on purpose: see above
fn has_nul(text: &[u8]) -> bool {
    text.iter().any(|&b| b == 0)
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
#[inline(never)]
pub fn truncate_utf8(text: &[u8], max: usize) -> &[u8] {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while end > 0 && text.get(end).is_some_and(|&b| b & 0xC0 == 0x80) {
        end -= 1;
    }
    head(text, end)
}

pub struct Collector {
    enabled: bool,
    flags: u32,
    site: Buf<MAX_SITE_ID_BYTES>,
    allow: Buf<256>,
    downloads: Buf<512>,
    /// The current page, cleaned; its host is what "outbound" is measured against.
    page: Buf<MAX_URL_BYTES>,
    /// The current page is excluded (`data-exclude`, decided by the loader): nothing on it is sent.
    page_excluded: bool,
    /// Page views sent by this page load (only the first carries the referrer and the 404).
    pageviews: u32,
    engagement: Engagement,
    queue: Buf<QUEUE_BYTES>,
    queued: u32,
    queued_on_page_load: u32,
    /// An event that did not fit the queue; it opens the next one.
    held: Buf<EVENT_BYTES>,
    scratch: Buf<EVENT_BYTES>,
    clean: Buf<MAX_URL_BYTES>,
}

impl Default for Collector {
    fn default() -> Self {
        Self::new()
    }
}

impl Collector {
    pub const fn new() -> Self {
        Self {
            enabled: false,
            flags: 0,
            site: Buf::new(),
            allow: Buf::new(),
            downloads: Buf::new(),
            page: Buf::new(),
            page_excluded: false,
            pageviews: 0,
            engagement: Engagement::new(),
            queue: Buf::new(),
            queued: 0,
            queued_on_page_load: 0,
            held: Buf::new(),
            scratch: Buf::new(),
            clean: Buf::new(),
        }
    }

    /// Sets the collector up; returns whether it collects on this page.
    pub fn configure(
        &mut self,
        flags: u32,
        site: &[u8],
        allow: &[u8],
        downloads: &[u8],
        page_url: &[u8],
    ) -> bool {
        self.flags = flags;
        self.enabled = !site.is_empty() && may_collect(flags, page_url) && self.site.set(site);
        self.allow.set(allow);
        if downloads.is_empty() || !self.downloads.set(downloads) {
            self.downloads.set(DEFAULT_DOWNLOADS);
        }
        self.enabled
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The page is (now) at `url`, its viewport's bottom edge at `bottom_px` of a page
    /// `height_px` tall: a page view when the cleaned URL changed (first load, SPA navigation;
    /// a hash change only with hash routing), or always when `forced` (`vigia('pageview')`).
    /// The previous page's engagement is queued first. `extra`: the page view's properties
    /// (see [`Collector::custom`]).
    #[allow(clippy::too_many_arguments)]
    pub fn page(
        &mut self,
        url: &[u8],
        referrer: &[u8],
        extra: &[u8],
        viewport_width: u32,
        now: f64,
        bottom_px: f64,
        height_px: f64,
        forced: bool,
        excluded: bool,
    ) -> u32 {
        let hash = self.flags & flags::HASH_ROUTING != 0;
        if !self.enabled || !url::clean(url, self.allow.as_bytes(), hash, &mut self.clean) {
            return 0;
        }
        if !forced && self.clean.as_bytes() == self.page.as_bytes() {
            return 0;
        }
        let mut outcome = 0;
        if !self.page.is_empty() {
            outcome |= self.queue_engagement(now) & outcome::SEND_NOW;
        }
        self.engagement.new_page(now, bottom_px, height_px);
        self.page.set(self.clean.as_bytes());
        self.page_excluded = excluded;
        // Only the first page view carries the document's referrer; SPA navigations are
        // same-site moves the server would drop as self-referrals anyway.
        let first = self.pageviews == 0;
        let mut clean_referrer = Buf::<MAX_URL_BYTES>::new();
        if !first || !url::clean(referrer, b"", false, &mut clean_referrer) {
            clean_referrer.clear();
        }
        let viewed = self.queue_event(
            b"pageview",
            b"",
            clean_referrer.as_bytes(),
            viewport_width,
            None,
            extra,
        );
        if viewed & outcome::QUEUED != 0 {
            // Sent at once: a page view is the one event a visit cannot do without.
            outcome |= outcome::SEND_NOW;
            self.pageviews += 1;
            if first && self.flags & flags::NOT_FOUND_PAGE != 0 {
                outcome |= self.queue_event(b"404", b"", b"", 0, None, b"") & outcome::SEND_NOW;
            }
        }
        outcome | viewed
    }

    pub fn set_active(&mut self, active: bool, now: f64) {
        self.engagement.set_active(active, now);
    }

    /// The viewport's bottom edge is at `bottom_px` of a page `height_px` tall.
    pub fn viewed(&mut self, bottom_px: f64, height_px: f64) {
        self.engagement.viewed(bottom_px, height_px);
    }

    /// A click on a link: a `download` when its file extension is in the list (this wins over
    /// outbound: a file on another host is still a download), `outbound` when it leaves the
    /// site's host; anything else is not an event. Either can be switched off.
    pub fn link_click(&mut self, href: &[u8]) -> u32 {
        let (Some(target), Some(page)) = (url::split(href), url::split(self.page.as_bytes()))
        else {
            return 0;
        };
        let ext = url::extension(target.path);
        let kind: &[u8] = if self.flags & flags::NO_DOWNLOADS == 0
            && url::in_list(self.downloads.as_bytes(), ext)
        {
            b"download"
        } else if self.flags & flags::NO_OUTBOUND == 0
            && !strip_www(target.host).eq_ignore_ascii_case(strip_www(page.host))
        {
            b"outbound"
        } else {
            return 0;
        };
        let mut name = Buf::<MAX_URL_BYTES>::new();
        if !url::clean(href, b"", false, &mut name) {
            return 0;
        }
        self.queue_event(kind, name.as_bytes(), b"", 0, None, b"") | outcome::SEND_NOW
    }

    /// `vigia('signup', {props, revenue})` or a tagged element. `extra` is the event's
    /// `,"props":{…}` and `,"revenue":{…}` as the loader wrote them (`JSON.stringify`, within
    /// the Worker's limits), or empty. A name longer than the limit is cut, as the Worker would.
    pub fn custom(&mut self, name: &[u8], extra: &[u8]) -> u32 {
        let name = truncate_utf8(name, MAX_EVENT_NAME_BYTES);
        if name.trim_ascii().is_empty() || has_nul(name) {
            return 0;
        }
        self.queue_event(b"custom", name, b"", 0, None, extra)
    }

    #[inline(never)]
    fn queue_engagement(&mut self, now: f64) -> u32 {
        match self.engagement.take(now) {
            Some(engaged) => self.queue_event(b"engagement", b"", b"", 0, Some(engaged), b""),
            None => 0,
        }
    }

    #[inline(never)]
    fn queue_event(
        &mut self,
        kind: &[u8],
        name: &[u8],
        referrer: &[u8],
        width: u32,
        engaged: Option<(u32, u8)>,
        extra: &[u8],
    ) -> u32 {
        if !self.enabled
            || self.page.is_empty()
            || self.page_excluded
            || self.queued_on_page_load >= MAX_EVENTS_PER_PAGE
        {
            return 0;
        }
        self.scratch.clear();
        let mut e = self.scratch.writer();
        e.raw(b"{\"kind\":")
            .string(kind)
            .raw(b",\"url\":")
            .string(self.page.as_bytes());
        if !name.is_empty() {
            e.raw(b",\"name\":").string(name);
        }
        if !referrer.is_empty() {
            e.raw(b",\"referrer\":").string(referrer);
        }
        if width > 0 {
            e.raw(b",\"screen_width\":").number(width);
        }
        if let Some((ms, scroll)) = engaged {
            e.raw(b",\"engaged_ms\":")
                .number(ms)
                .raw(b",\"scroll\":")
                .number(scroll as u32);
        }
        // Only what the loader builds: `,"…` fields, never a cut-off one.
        if extra.starts_with(b",\"") && extra.len() <= EXTRA_BYTES {
            e.raw(extra);
        }
        if !e.raw(b"}").ok() {
            return 0; // an event too big for the collector is dropped, never truncated into bad JSON
        }
        let separator: &[u8] = if self.queue.is_empty() { b"" } else { b"," };
        let fits = self.queue.len() + separator.len() + self.scratch.len() <= QUEUE_BYTES;
        if fits {
            self.queue.push(separator);
            self.queue.push(self.scratch.as_bytes());
            self.queued += 1;
        } else if !self.held.set(self.scratch.as_bytes()) {
            return 0;
        }
        self.queued_on_page_load += 1;
        let full = !fits || self.queued >= MAX_EVENTS_PER_REQUEST;
        outcome::QUEUED | if full { outcome::SEND_NOW } else { 0 }
    }

    /// Builds the body of one request into `out` and empties the queue; `closing` (the page is
    /// hiding or going away) first queues the engagement gathered so far. Returns the body
    /// length, 0 when there is nothing to send (no request is made then). The loader calls it
    /// until it returns 0: an event held back because the queue was full goes out next.
    pub fn flush<const N: usize>(&mut self, now: f64, closing: bool, out: &mut Buf<N>) -> usize {
        if closing && self.enabled {
            self.queue_engagement(now);
        }
        out.clear();
        self.take_held();
        if self.queue.is_empty() {
            return 0;
        }
        let ok = out
            .writer()
            .raw(b"{\"site\":")
            .string(self.site.as_bytes())
            .raw(b",\"events\":[")
            .raw(self.queue.as_bytes())
            .raw(b"]}")
            .ok();
        if !ok {
            return 0;
        }
        self.queue.clear();
        self.queued = 0;
        self.take_held();
        out.len()
    }

    /// Moves a held event into an empty queue.
    #[inline(never)]
    fn take_held(&mut self) {
        if self.queue.is_empty() && !self.held.is_empty() {
            self.queue.set(self.held.as_bytes());
            self.queued = 1;
            self.held.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(c: &mut Collector, now: f64, closing: bool) -> String {
        let mut out = Box::new(Buf::<{ MAX_BODY_BYTES }>::new());
        c.flush(now, closing, &mut out);
        String::from_utf8(out.as_bytes().to_vec()).unwrap()
    }

    fn configured(flags: u32, url: &[u8]) -> Box<Collector> {
        let mut c = Box::new(Collector::new());
        assert!(c.configure(flags, b"demo", b"q", b"", url));
        c
    }

    /// A page view on a freshly configured collector.
    fn on_page(flags: u32, url: &[u8]) -> Box<Collector> {
        let mut c = configured(flags, url);
        c.page(url, b"", b"", 0, 0.0, 0.0, 0.0, false, false);
        c
    }

    /// Parses a body as the Worker does.
    fn accepted(text: &str) -> analytics_core::ingest::wire::IncomingBatch {
        analytics_core::ingest::wire::parse_batch(text.as_bytes())
            .unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    #[test]
    fn the_worker_accepts_every_event_the_collector_builds() {
        let url = b"https://shop.example/a?q=1&t=2";
        let mut c = configured(flags::NOT_FOUND_PAGE, url);
        c.set_active(true, 0.0);
        let referrer = b"https://www.google.com/search?q=x";
        c.page(
            url,
            referrer,
            br#","props":{"section":"docs"}"#,
            1280,
            0.0,
            800.0,
            2000.0,
            false,
            false,
        );
        c.viewed(1000.0, 2000.0);
        c.link_click(b"https://other.example/x?y=1");
        c.link_click(b"https://shop.example/files/a.zip");
        let extra = br#","props":{"plan":"pro","seats":3,"ok":true},"revenue":{"amount":"12.50","currency":"EUR"}"#;
        c.custom(b"sign \"up\"", extra);
        c.page(
            b"https://shop.example/b",
            b"",
            b"",
            1280,
            5000.0,
            800.0,
            800.0,
            false,
            false,
        );
        let text = body(&mut c, 9000.0, true);
        let batch = accepted(&text);
        let kinds: Vec<&str> = batch.events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "pageview",
                "404",
                "outbound",
                "download",
                "custom",
                "engagement",
                "pageview",
                "engagement"
            ]
        );
        assert_eq!(batch.events[0].url, "https://shop.example/a?q=1");
        assert_eq!(
            batch.events[0].referrer.as_deref(),
            Some("https://www.google.com/search")
        );
        assert_eq!(batch.events[0].props.as_ref().unwrap()["section"], "docs");
        assert_eq!(batch.events[4].name.as_deref(), Some("sign \"up\""));
        assert_eq!(batch.events[5].engaged_ms, Some(5000));
        assert_eq!(batch.events[5].scroll, Some(50));
        assert_eq!(batch.events[7].engaged_ms, Some(4000));
        assert_eq!(batch.events[7].scroll, Some(100));
        let props = batch.events[4].props.as_ref().unwrap();
        assert_eq!(
            (props["plan"].as_str(), props["seats"].as_i64()),
            (Some("pro"), Some(3))
        );
        assert!(
            text.contains(r#""revenue":{"amount":"12.50","currency":"EUR"}"#),
            "{text}"
        );
    }

    #[test]
    fn names_are_cut_as_the_worker_would_and_foreign_fragments_are_ignored() {
        let mut c = on_page(0, b"https://shop.example/");
        let mut long_name = vec![b'n'; MAX_EVENT_NAME_BYTES - 1];
        long_name.extend_from_slice("é".as_bytes()); // two bytes across the limit
        assert_eq!(c.custom(&long_name, b""), outcome::QUEUED);
        assert_eq!(c.custom(b"  ", b""), 0, "a blank name is no event");
        assert_eq!(c.custom(b"a\0b", b""), 0, "the Worker refuses NUL");
        c.custom(b"second", br#"}],"site":"other"#);
        let text = body(&mut c, 1.0, false);
        let batch = accepted(&text);
        assert_eq!(batch.site, "demo");
        assert_eq!(
            batch.events[1].name.as_deref().map(str::len),
            Some(MAX_EVENT_NAME_BYTES - 1)
        );
        assert_eq!(batch.events.len(), 3);
    }

    #[test]
    fn downloads_win_over_outbound_and_both_can_be_switched_off() {
        let url = b"https://shop.example/";
        let kinds = |flags: u32| {
            let mut c = on_page(flags, url);
            c.link_click(b"https://cdn.other.example/report.pdf");
            c.link_click(b"https://other.example/");
            let text = body(&mut c, 1.0, false);
            accepted(&text)
                .events
                .into_iter()
                .skip(1)
                .map(|e| e.kind.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(kinds(0), ["download", "outbound"]);
        assert_eq!(kinds(flags::NO_DOWNLOADS), ["outbound", "outbound"]);
        assert_eq!(kinds(flags::NO_OUTBOUND), ["download"]);
        assert!(kinds(flags::NO_OUTBOUND | flags::NO_DOWNLOADS).is_empty());
    }

    #[test]
    fn excluded_pages_send_nothing() {
        let url = b"https://shop.example/admin/users";
        let mut c = configured(0, url);
        c.set_active(true, 0.0);
        assert_eq!(c.page(url, b"", b"", 0, 0.0, 0.0, 0.0, false, true), 0);
        assert_eq!(c.custom(b"e", b""), 0);
        assert_eq!(c.link_click(b"https://other.example/"), outcome::SEND_NOW);
        assert!(body(&mut c, 5000.0, true).is_empty());
        let sent = c.page(
            b"https://shop.example/blog",
            b"",
            b"",
            0,
            6000.0,
            0.0,
            0.0,
            false,
            false,
        );
        assert_eq!(sent, outcome::QUEUED | outcome::SEND_NOW);
    }

    #[test]
    fn forced_page_views_repeat_and_only_the_first_has_the_referrer() {
        let url = b"https://shop.example/app";
        let mut c = configured(0, url);
        c.page(
            url,
            b"https://ref.example/",
            b"",
            0,
            0.0,
            0.0,
            0.0,
            true,
            false,
        );
        c.page(
            url,
            b"https://ref.example/",
            b"",
            0,
            1.0,
            0.0,
            0.0,
            true,
            false,
        );
        c.page(url, b"", b"", 0, 2.0, 0.0, 0.0, false, false);
        let batch = accepted(&body(&mut c, 3.0, false));
        assert_eq!(batch.events.len(), 2);
        assert!(batch.events[0].referrer.is_some() && batch.events[1].referrer.is_none());
    }

    #[test]
    fn an_event_that_does_not_fit_goes_out_next() {
        let mut c = on_page(0, b"https://shop.example/");
        body(&mut c, 0.0, false);
        let extra = format!(r#","props":{{"k":"{}"}}"#, "v".repeat(EXTRA_BYTES - 20));
        let mut events = 0;
        loop {
            events += 1;
            if c.custom(b"big", extra.as_bytes()) & outcome::SEND_NOW != 0 {
                break;
            }
        }
        let mut sent = 0;
        loop {
            let text = body(&mut c, 1.0, false);
            if text.is_empty() {
                break;
            }
            assert!(text.len() <= MAX_BODY_BYTES);
            sent += accepted(&text).events.len();
        }
        assert_eq!(sent, events, "nothing lost when the queue filled up");
    }

    #[test]
    fn nothing_is_collected_where_privacy_says_no() {
        use flags::*;
        let url = b"https://shop.example/";
        assert!(may_collect(RESPECT_DNT, url));
        assert!(!may_collect(RESPECT_DNT | DO_NOT_TRACK, url));
        assert!(!may_collect(RESPECT_DNT | GLOBAL_PRIVACY_CONTROL, url));
        assert!(may_collect(DO_NOT_TRACK | GLOBAL_PRIVACY_CONTROL, url));
        assert!(!may_collect(OPTED_OUT, url));
        assert!(!may_collect(0, b"http://localhost:3000/"));
        assert!(may_collect(ALLOW_LOCALHOST, b"http://127.0.0.1:8787/"));
        assert!(!may_collect(0, b"file:///tmp/x.html"));
    }
}
