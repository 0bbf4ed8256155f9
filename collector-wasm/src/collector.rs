//! The collector's state and every decision it makes: whether to collect, what a page view,
//! a click or an engagement becomes, and what one flush sends. The loader only reports what
//! happened in the page; it decides nothing.

use crate::buf::Buf;
use crate::engagement::Engagement;
use crate::url;

/// Most events one page load may queue: a runaway loop cannot flood the endpoint.
pub const MAX_EVENTS_PER_PAGE: u32 = 500;
/// Most events in one request (the Worker's `MAX_EVENTS_PER_BATCH`).
pub const MAX_EVENTS_PER_REQUEST: u32 = 50;
/// Queue bytes; the Worker accepts bodies up to 32 KiB.
pub const QUEUE_BYTES: usize = 24 * 1024;
/// Longest URL, name or property text the collector keeps (the Worker's limits are the same or larger).
pub const MAX_TEXT_BYTES: usize = 2048;
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
    pub const HASH_ROUTING: u32 = 32;
    /// `data-404`: this is the site's not-found page.
    pub const NOT_FOUND_PAGE: u32 = 64;
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

pub struct Collector {
    enabled: bool,
    flags: u32,
    site: Buf<64>,
    allow: Buf<256>,
    downloads: Buf<512>,
    /// The current page, cleaned; its host is what "outbound" is measured against.
    page: Buf<MAX_TEXT_BYTES>,
    engagement: Engagement,
    queue: Buf<QUEUE_BYTES>,
    queued: u32,
    queued_on_page_load: u32,
    /// The events part of the last body sent, kept so a failed send is retried once.
    last_sent: Buf<QUEUE_BYTES>,
    last_sent_count: u32,
    /// A failed batch was put back; the next flush carries it.
    retry_pending: bool,
    /// The batch in flight is already a retry: if it fails too, it is dropped.
    in_flight_is_retry: bool,
    scratch: Buf<{ MAX_TEXT_BYTES * 3 }>,
    clean: Buf<MAX_TEXT_BYTES>,
}

impl Default for Collector {
    fn default() -> Self {
        Self::new()
    }
}

/// The outcome of an event call: whether the queue wants a flush now.
pub type FlushNow = bool;

impl Collector {
    pub const fn new() -> Self {
        Self {
            enabled: false,
            flags: 0,
            site: Buf::new(),
            allow: Buf::new(),
            downloads: Buf::new(),
            page: Buf::new(),
            engagement: Engagement::new(),
            queue: Buf::new(),
            queued: 0,
            queued_on_page_load: 0,
            last_sent: Buf::new(),
            last_sent_count: 0,
            retry_pending: false,
            in_flight_is_retry: false,
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

    /// The page is (now) at `url`: a page view when the cleaned URL changed (first load, SPA
    /// navigation; a hash change only with hash routing). The previous page's engagement is
    /// queued first.
    pub fn page(&mut self, url: &[u8], referrer: &[u8], viewport_width: u32, now: f64) -> FlushNow {
        if !self.enabled
            || !url::clean(
                url,
                self.allow.as_bytes(),
                self.flags & flags::HASH_ROUTING != 0,
                &mut self.clean,
            )
        {
            return false;
        }
        if self.clean.as_bytes() == self.page.as_bytes() {
            return false;
        }
        let first = self.page.is_empty();
        if !first {
            self.queue_engagement(now);
        }
        self.engagement.new_page(now);
        self.page.set(self.clean.as_bytes());
        // Only the first page view carries the document's referrer; SPA navigations are
        // same-site moves the server would drop as self-referrals anyway.
        let referrer = if first { referrer } else { b"" };
        let mut clean_referrer = Buf::<MAX_TEXT_BYTES>::new();
        if !url::clean(referrer, b"", false, &mut clean_referrer) {
            clean_referrer.clear();
        }
        let mut flush = self.queue_event(
            b"pageview",
            b"",
            clean_referrer.as_bytes(),
            viewport_width,
            None,
            b"",
        );
        if first && self.flags & flags::NOT_FOUND_PAGE != 0 {
            flush |= self.queue_event(b"404", b"", b"", 0, None, b"");
        }
        flush
    }

    pub fn set_active(&mut self, active: bool, now: f64) {
        self.engagement.set_active(active, now);
    }

    pub fn scrolled(&mut self, percent: u8) {
        self.engagement.scrolled(percent);
    }

    /// A click on a link: `outbound` when it leaves the site's host, `download` when its file
    /// extension is in the list; anything else is not an event.
    pub fn link_click(&mut self, href: &[u8]) -> FlushNow {
        let Some(target) = url::split(href) else {
            return false;
        };
        let Some(page) = url::split(self.page.as_bytes()) else {
            return false;
        };
        let ext = url::extension(target.path);
        let kind: &[u8] = if url::in_list(self.downloads.as_bytes(), ext) {
            b"download"
        } else if !strip_www(target.host).eq_ignore_ascii_case(strip_www(page.host)) {
            b"outbound"
        } else {
            return false;
        };
        let mut name = Buf::<MAX_TEXT_BYTES>::new();
        if !url::clean(href, b"", false, &mut name) {
            return false;
        }
        self.queue_event(kind, name.as_bytes(), b"", 0, None, b"")
    }

    /// `vigia('signup', {props: {plan: 'pro'}})` or a `data-vigia-event` element. `props_json`
    /// is the loader's `JSON.stringify` of a plain object (or empty).
    pub fn custom(&mut self, name: &[u8], props_json: &[u8]) -> FlushNow {
        if name.is_empty() || name.len() > 120 {
            return false;
        }
        let props = if props_json.starts_with(b"{")
            && props_json.ends_with(b"}")
            && props_json.len() <= MAX_TEXT_BYTES
        {
            props_json
        } else {
            b""
        };
        self.queue_event(b"custom", name, b"", 0, None, props)
    }

    fn queue_engagement(&mut self, now: f64) -> FlushNow {
        match self.engagement.take(now) {
            Some(ms) => {
                let scroll = self.engagement.max_scroll;
                self.queue_event(b"engagement", b"", b"", 0, Some((ms, scroll)), b"")
            }
            None => false,
        }
    }

    fn queue_event(
        &mut self,
        kind: &[u8],
        name: &[u8],
        referrer: &[u8],
        width: u32,
        engaged: Option<(u32, u8)>,
        props: &[u8],
    ) -> FlushNow {
        if !self.enabled || self.page.is_empty() || self.queued_on_page_load >= MAX_EVENTS_PER_PAGE
        {
            return false;
        }
        let e = &mut self.scratch;
        e.clear();
        let mut ok = e.push(b"{\"kind\":")
            && e.push_json_string(kind)
            && e.push(b",\"url\":")
            && e.push_json_string(self.page.as_bytes());
        if !name.is_empty() {
            ok &= e.push(b",\"name\":") && e.push_json_string(name);
        }
        if !referrer.is_empty() {
            ok &= e.push(b",\"referrer\":") && e.push_json_string(referrer);
        }
        if width > 0 {
            ok &= e.push(b",\"screen_width\":") && e.push_u32(width);
        }
        if let Some((ms, scroll)) = engaged {
            ok &= e.push(b",\"engaged_ms\":")
                && e.push_u32(ms)
                && e.push(b",\"scroll\":")
                && e.push_u32(scroll as u32);
        }
        if !props.is_empty() {
            ok &= e.push(b",\"props\":") && e.push(props);
        }
        ok &= e.push(b"}");
        if !ok {
            return false; // an event too big for the collector is dropped, never truncated into bad JSON
        }
        let separator: &[u8] = if self.queue.is_empty() { b"" } else { b"," };
        if self.queue.len() + separator.len() + self.scratch.len() > QUEUE_BYTES {
            return true; // flush first; the caller's next event goes into an empty queue
        }
        self.queue.push(separator);
        self.queue.push(self.scratch.as_bytes());
        self.queued += 1;
        self.queued_on_page_load += 1;
        self.queued >= MAX_EVENTS_PER_REQUEST
    }

    /// Builds the body of one request into `out` and empties the queue; `closing` (the page is
    /// hiding or going away) first queues the engagement gathered so far. Returns the body
    /// length, 0 when nothing happened (no request is made then).
    pub fn flush<const N: usize>(&mut self, now: f64, closing: bool, out: &mut Buf<N>) -> usize {
        if closing && self.enabled {
            self.queue_engagement(now);
        }
        out.clear();
        if self.queue.is_empty() {
            return 0;
        }
        let ok = out.push(b"{\"site\":")
            && out.push_json_string(self.site.as_bytes())
            && out.push(b",\"events\":[")
            && out.push(self.queue.as_bytes())
            && out.push(b"]}");
        if !ok {
            return 0;
        }
        self.last_sent.set(self.queue.as_bytes());
        self.last_sent_count = self.queued;
        self.in_flight_is_retry = self.retry_pending;
        self.retry_pending = false;
        self.queue.clear();
        self.queued = 0;
        out.len()
    }

    /// The last send failed: its events go back in front of the queue for the next flush,
    /// once. A batch that fails twice is dropped so a dead endpoint cannot grow the queue.
    pub fn send_failed(&mut self) {
        if self.last_sent.is_empty() || self.in_flight_is_retry {
            self.last_sent.clear();
            return;
        }
        let mut merged = Buf::<QUEUE_BYTES>::new();
        let ok = merged.push(self.last_sent.as_bytes())
            && (self.queue.is_empty() || (merged.push(b",") && merged.push(self.queue.as_bytes())));
        if ok {
            self.queue.set(merged.as_bytes());
            self.queued += self.last_sent_count;
            self.retry_pending = true;
        }
        self.last_sent.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(c: &mut Collector, now: f64, closing: bool) -> String {
        let mut out = Box::new(Buf::<{ 32 * 1024 }>::new());
        c.flush(now, closing, &mut out);
        String::from_utf8(out.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn the_worker_accepts_every_event_the_collector_builds() {
        let mut c = Box::new(Collector::new());
        assert!(c.configure(
            flags::NOT_FOUND_PAGE,
            b"demo",
            b"q",
            b"",
            b"https://shop.example/a?q=1&t=2"
        ));
        c.set_active(true, 0.0);
        c.page(
            b"https://shop.example/a?q=1&t=2",
            b"https://www.google.com/search?q=x",
            1280,
            0.0,
        );
        c.scrolled(40);
        c.link_click(b"https://other.example/x?y=1");
        c.link_click(b"https://shop.example/files/a.zip");
        c.custom(b"sign \"up\"", br#"{"plan":"pro","seats":3,"ok":true}"#);
        c.page(b"https://shop.example/b", b"", 1280, 5000.0);
        let text = body(&mut c, 9000.0, true);
        let batch = analytics_core::wire::parse_batch(text.as_bytes())
            .unwrap_or_else(|e| panic!("{e}: {text}"));
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
        assert_eq!(batch.events[5].engaged_ms, Some(5000));
        assert_eq!(batch.events[5].scroll, Some(40));
        assert_eq!(batch.events[7].engaged_ms, Some(4000));
        assert_eq!(batch.events[4].props.as_ref().unwrap()["seats"], 3);
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
