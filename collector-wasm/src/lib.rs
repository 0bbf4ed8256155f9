//! Vigia's collector. The loader (`loader/v.js`) instantiates this module and forwards page
//! life-cycle hooks (`nav` on SPA navigation, `flush` when the page hides); every decision —
//! whether to record, what to record, when to send — is made here.
//!
//! No cookies, no storage writes, no ids: the server derives a daily visitor hash.

mod payload;
pub mod privacy;

use std::cell::RefCell;
use wasm_bindgen::prelude::*;

pub use payload::{batch_json, event_json, Event};

/// Most events one page load may queue: a runaway loop cannot flood the endpoint.
pub const MAX_EVENTS_PER_PAGE: u32 = 500;
/// Most events in one request (the Worker accepts at most 50).
pub const MAX_EVENTS_PER_REQUEST: usize = 50;

#[derive(Default)]
struct Collector {
    site: String,
    endpoint: String,
    enabled: bool,
    queue: Vec<String>,
    queued_total: u32,
    last_path: String,
}

thread_local! {
    static COLLECTOR: RefCell<Collector> = RefCell::new(Collector::default());
}

fn window() -> Option<web_sys::Window> {
    web_sys::window()
}

fn current_url() -> String {
    window()
        .and_then(|w| w.location().href().ok())
        .unwrap_or_default()
}

fn path_of(url: &str) -> &str {
    // Compare without query and fragment: those do not make a new page view.
    let end = url.find(['?', '#']).unwrap_or(url.len());
    &url[..end]
}

/// Starts collecting for `site`, sending to `endpoint`. `allow_localhost` and `respect_dnt`
/// come from the script tag's data attributes.
#[wasm_bindgen]
pub fn start(site: String, endpoint: String, allow_localhost: bool, respect_dnt: bool) -> bool {
    let enabled = window()
        .map(|w| privacy::may_collect(&w, allow_localhost, respect_dnt))
        .unwrap_or(false);
    COLLECTOR.with(|c| {
        let mut c = c.borrow_mut();
        c.site = site;
        c.endpoint = endpoint;
        c.enabled = enabled;
    });
    if enabled {
        record_pageview();
    }
    enabled
}

/// Called by the loader after `history.pushState` / `replaceState` / `popstate`.
#[wasm_bindgen]
pub fn nav() {
    record_pageview();
}

fn record_pageview() {
    let url = current_url();
    let is_new = COLLECTOR.with(|c| {
        let mut c = c.borrow_mut();
        let path = path_of(&url).to_string();
        if c.last_path == path {
            return false;
        }
        c.last_path = path;
        true
    });
    if !is_new {
        return;
    }
    let referrer = window()
        .and_then(|w| w.document())
        .map(|d| d.referrer())
        .unwrap_or_default();
    let screen_width = window()
        .and_then(|w| w.screen().ok())
        .and_then(|s| s.width().ok())
        .unwrap_or(0)
        .max(0) as u32;
    enqueue(event_json(&Event {
        kind: "pageview",
        url: &url,
        referrer: &referrer,
        name: "",
        screen_width,
    }));
}

/// A custom event: `vigia('signup')`.
#[wasm_bindgen]
pub fn track(name: String) {
    if name.is_empty() {
        return;
    }
    let url = current_url();
    enqueue(event_json(&Event {
        kind: "custom",
        url: &url,
        referrer: "",
        name: &name,
        screen_width: 0,
    }));
}

fn enqueue(event: String) {
    COLLECTOR.with(|c| {
        let mut c = c.borrow_mut();
        if !c.enabled || c.queued_total >= MAX_EVENTS_PER_PAGE {
            return;
        }
        c.queued_total += 1;
        c.queue.push(event);
    });
}

/// The body the next flush would send, without sending it (`None` when nothing is queued).
#[wasm_bindgen]
pub fn pending_body() -> Option<String> {
    COLLECTOR.with(|c| {
        let c = c.borrow();
        if c.queue.is_empty() {
            return None;
        }
        let n = c.queue.len().min(MAX_EVENTS_PER_REQUEST);
        Some(batch_json(&c.site, &c.queue[..n]))
    })
}

/// Sends what is queued: one request per `MAX_EVENTS_PER_REQUEST` events, none when nothing
/// happened. `sendBeacon` survives the page unloading; when the browser refuses it (size or
/// policy), the same body goes with `fetch(keepalive)`.
#[wasm_bindgen]
pub fn flush() {
    loop {
        let Some((endpoint, body, n)) = COLLECTOR.with(|c| {
            let c = c.borrow();
            let n = c.queue.len().min(MAX_EVENTS_PER_REQUEST);
            (n > 0).then(|| (c.endpoint.clone(), batch_json(&c.site, &c.queue[..n]), n))
        }) else {
            return;
        };
        if !send(&endpoint, &body) {
            // Keep the events for the next flush; never spin.
            return;
        }
        COLLECTOR.with(|c| {
            c.borrow_mut().queue.drain(..n);
        });
    }
}

fn send(endpoint: &str, body: &str) -> bool {
    let Some(w) = window() else { return false };
    // A string body goes as text/plain: no CORS preflight, so the beacon is never blocked.
    if w.navigator()
        .send_beacon_with_opt_str(endpoint, Some(body))
        .unwrap_or(false)
    {
        return true;
    }
    fetch_keepalive(endpoint, body);
    true
}

#[wasm_bindgen(
    inline_js = "export function fetch_keepalive(u, b) { try { fetch(u, { method: 'POST', body: b, keepalive: true, credentials: 'omit' }).catch(function () {}); } catch (e) {} }"
)]
extern "C" {
    fn fetch_keepalive(url: &str, body: &str);
}
