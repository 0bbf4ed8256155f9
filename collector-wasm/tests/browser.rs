//! The collector's decisions, compiled to wasm and run in headless Chromium against the real
//! page: its URL, history, geometry, links and storage (`./vigia test`). The loader wiring
//! around them is covered end to end in tests/e2e/collector.test.mjs.

use collector_wasm::buf::Buf;
use collector_wasm::collector::outcome;
use collector_wasm::collector::{MAX_EVENTS_PER_PAGE, MAX_EVENTS_PER_REQUEST};
use collector_wasm::{flags, Collector};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn window() -> web_sys::Window {
    web_sys::window().unwrap()
}

fn href() -> String {
    window().location().href().unwrap()
}

/// A collector configured for the test page (served from 127.0.0.1, so localhost is allowed).
fn collector(extra_flags: u32) -> Box<Collector> {
    let mut c = Box::new(Collector::new());
    assert!(c.configure(
        flags::ALLOW_LOCALHOST | flags::RESPECT_DNT | extra_flags,
        b"demo",
        b"",
        b"",
        href().as_bytes()
    ));
    c
}

/// Flushes and parses the body with the browser's own JSON parser; returns its events.
fn flush(c: &mut Collector, now: f64, closing: bool) -> Vec<serde_like::Event> {
    let mut out = Box::new(Buf::<{ 32 * 1024 }>::new());
    let len = c.flush(now, closing, &mut out);
    if len == 0 {
        return vec![];
    }
    let text = std::str::from_utf8(out.as_bytes()).unwrap();
    serde_like::parse(text)
}

/// Reads a batch body through `JSON.parse`, so malformed JSON fails the test.
mod serde_like {
    use wasm_bindgen::JsValue;

    #[derive(Debug, Clone)]
    pub struct Event {
        pub kind: String,
        pub url: String,
        pub name: Option<String>,
        pub referrer: Option<String>,
        pub screen_width: Option<f64>,
        pub engaged_ms: Option<f64>,
        pub scroll: Option<f64>,
        pub props: Option<String>,
    }

    fn get(v: &JsValue, key: &str) -> JsValue {
        js_sys::Reflect::get(v, &key.into()).unwrap()
    }

    pub fn parse(text: &str) -> Vec<Event> {
        let body = js_sys::JSON::parse(text).unwrap_or_else(|_| panic!("not JSON: {text}"));
        assert_eq!(get(&body, "site").as_string().as_deref(), Some("demo"));
        let events: js_sys::Array = get(&body, "events").into();
        events
            .iter()
            .map(|e| Event {
                kind: get(&e, "kind").as_string().unwrap(),
                url: get(&e, "url").as_string().unwrap(),
                name: get(&e, "name").as_string(),
                referrer: get(&e, "referrer").as_string(),
                screen_width: get(&e, "screen_width").as_f64(),
                engaged_ms: get(&e, "engaged_ms").as_f64(),
                scroll: get(&e, "scroll").as_f64(),
                props: Some(get(&e, "props"))
                    .filter(|p| !p.is_undefined())
                    .map(|p| js_sys::JSON::stringify(&p).unwrap().into()),
            })
            .collect()
    }
}

fn push_state(url: &str) {
    window()
        .history()
        .unwrap()
        .push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(url))
        .unwrap();
}

#[wasm_bindgen_test]
fn a_pageview_carries_the_page_url_and_viewport_width() {
    let mut c = collector(0);
    let width = window().inner_width().unwrap().as_f64().unwrap();
    let sent = c.page(
        href().as_bytes(),
        b"https://duckduckgo.com/?q=secret",
        b"",
        width as u32,
        0.0,
        0.0,
        0.0,
        false,
        false,
    );
    assert_eq!(
        sent,
        outcome::QUEUED | outcome::SEND_NOW,
        "a page view is sent at once"
    );
    let events = flush(&mut c, 1.0, false);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, "pageview");
    assert!(
        href().starts_with(&events[0].url),
        "{} vs {}",
        events[0].url,
        href()
    );
    assert_eq!(events[0].screen_width, Some(width));
    assert_eq!(
        events[0].referrer.as_deref(),
        Some("https://duckduckgo.com/"),
        "the referrer's query is dropped too"
    );
    assert!(
        flush(&mut c, 2.0, false).is_empty(),
        "no request when nothing happened"
    );
}

#[wasm_bindgen_test]
fn spa_navigations_are_pageviews_with_private_query_strings() {
    let original = href();
    let mut c = collector(0);
    c.page(href().as_bytes(), b"", b"", 0, 0.0, 0.0, 0.0, false, false);
    push_state("/spa/pricing?session=s3cret&utm_campaign=fall");
    c.page(
        href().as_bytes(),
        b"https://elsewhere.example/",
        b"",
        0,
        10.0,
        0.0,
        0.0,
        false,
        false,
    );
    push_state("/spa/pricing?session=other&utm_campaign=fall#section"); // the same page once cleaned
    c.page(href().as_bytes(), b"", b"", 0, 20.0, 0.0, 0.0, false, false);
    let events = flush(&mut c, 30.0, false);
    push_state(&original);
    assert_eq!(
        events.iter().filter(|e| e.kind == "pageview").count(),
        2,
        "{events:?}"
    );
    let spa = &events[1];
    assert!(
        spa.url.ends_with("/spa/pricing?utm_campaign=fall"),
        "{}",
        spa.url
    );
    assert!(!spa.url.contains("s3cret"));
    assert_eq!(spa.referrer, None, "SPA navigations carry no referrer");
}

#[wasm_bindgen_test]
fn hash_changes_count_only_with_hash_routing() {
    let original = href();
    for (hash_flag, expected) in [(0, 1), (flags::HASH_ROUTING, 2)] {
        let mut c = collector(hash_flag);
        c.page(href().as_bytes(), b"", b"", 0, 0.0, 0.0, 0.0, false, false);
        push_state("#/settings");
        c.page(href().as_bytes(), b"", b"", 0, 1.0, 0.0, 0.0, false, false);
        push_state(&original);
        let events = flush(&mut c, 2.0, false);
        assert_eq!(events.len(), expected, "hash flag {hash_flag}: {events:?}");
    }
}

#[wasm_bindgen_test]
fn engagement_counts_visible_and_focused_time_and_the_deepest_scroll() {
    let document = window().document().unwrap();
    let tall = document.create_element("div").unwrap();
    tall.set_attribute("style", "height: 4000px").unwrap();
    document.body().unwrap().append_child(&tall).unwrap();
    // What the loader reads from the real page: the viewport's bottom edge and the page height.
    let geometry = || {
        let bottom =
            window().scroll_y().unwrap() + window().inner_height().unwrap().as_f64().unwrap();
        (
            bottom,
            document.document_element().unwrap().scroll_height() as f64,
        )
    };
    let (top_bottom, height) = geometry();
    let mut c = collector(0);
    c.page(
        href().as_bytes(),
        b"",
        b"",
        0,
        0.0,
        top_bottom,
        height,
        false,
        false,
    );
    c.set_active(true, 0.0);
    window().scroll_to_with_x_and_y(0.0, 1000.0);
    let (bottom, height) = geometry();
    c.viewed(bottom, height);
    let percent = (bottom / height * 100.0) as u8;
    assert!(percent > 0 && percent < 100, "{percent}");
    c.set_active(false, 2500.0); // hidden or blurred from here
    let events = flush(&mut c, 60_000.0, true);
    let engagement = events
        .iter()
        .find(|e| e.kind == "engagement")
        .expect("an engagement event");
    assert_eq!(
        engagement.engaged_ms,
        Some(2500.0),
        "the hidden minute does not count"
    );
    assert_eq!(engagement.scroll, Some(percent as f64));

    // Under a second of new engagement and nothing more seen is not sent.
    c.set_active(true, 60_000.0);
    assert!(flush(&mut c, 60_900.0, true).is_empty());
    document.body().unwrap().remove_child(&tall).unwrap();
    window().scroll_to_with_x_and_y(0.0, 0.0);
}

#[wasm_bindgen_test]
fn an_spa_navigation_sends_the_old_pages_engagement_first() {
    let original = href();
    let mut c = collector(0);
    c.page(href().as_bytes(), b"", b"", 0, 0.0, 0.0, 0.0, false, false);
    c.set_active(true, 0.0);
    push_state("/spa/next");
    c.page(
        href().as_bytes(),
        b"",
        b"",
        0,
        4000.0,
        0.0,
        0.0,
        false,
        false,
    );
    push_state(&original);
    let kinds: Vec<String> = flush(&mut c, 4001.0, false)
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["pageview", "engagement", "pageview"]);
}

fn anchor(href: &str) -> String {
    let a: web_sys::HtmlAnchorElement = window()
        .document()
        .unwrap()
        .create_element("a")
        .unwrap()
        .dyn_into()
        .unwrap();
    a.set_href(href);
    a.href() // resolved by the browser, as the loader reads it
}

#[wasm_bindgen_test]
fn outbound_and_download_links() {
    let mut c = collector(0);
    c.page(href().as_bytes(), b"", b"", 0, 0.0, 0.0, 0.0, false, false);
    let sent = c.link_click(anchor("https://other.example/path?token=abc").as_bytes());
    assert_eq!(
        sent,
        outcome::QUEUED | outcome::SEND_NOW,
        "a click may leave the page: sent at once"
    );
    c.link_click(anchor("/files/annual-report.PDF?sig=xyz").as_bytes());
    c.link_click(anchor("/about").as_bytes()); // same host, not a download: no event
    c.link_click(anchor("mailto:someone@example.com").as_bytes());
    let events = flush(&mut c, 1.0, false);
    let clicks: Vec<(String, String)> = events
        .iter()
        .skip(1)
        .map(|e| (e.kind.clone(), e.name.clone().unwrap()))
        .collect();
    let origin = window().location().origin().unwrap();
    assert_eq!(
        clicks,
        [
            (
                "outbound".to_string(),
                "https://other.example/path".to_string()
            ),
            (
                "download".to_string(),
                format!("{origin}/files/annual-report.PDF")
            ),
        ]
    );
}

#[wasm_bindgen_test]
fn the_site_can_set_its_own_download_extensions() {
    let mut c = Box::new(Collector::new());
    c.configure(
        flags::ALLOW_LOCALHOST,
        b"demo",
        b"",
        b"epub,mobi",
        href().as_bytes(),
    );
    c.page(href().as_bytes(), b"", b"", 0, 0.0, 0.0, 0.0, false, false);
    c.link_click(anchor("/book.epub").as_bytes());
    c.link_click(anchor("/report.pdf").as_bytes());
    let names: Vec<String> = flush(&mut c, 1.0, false)
        .into_iter()
        .filter_map(|e| e.name)
        .collect();
    assert_eq!(names.len(), 1);
    assert!(names[0].ends_with("/book.epub"));
}

#[wasm_bindgen_test]
fn custom_events_carry_their_properties() {
    let props = js_sys::Object::new();
    js_sys::Reflect::set(&props, &"plan".into(), &"pro \"quoted\"".into()).unwrap();
    js_sys::Reflect::set(&props, &"seats".into(), &5.into()).unwrap();
    // The loader writes the fragment with the browser's JSON.stringify.
    let json: String = js_sys::JSON::stringify(&props).unwrap().into();
    let mut c = collector(0);
    c.page(href().as_bytes(), b"", b"", 0, 0.0, 0.0, 0.0, false, false);
    c.custom(b"signup", format!(r#","props":{json}"#).as_bytes());
    c.custom(b"", br#","props":{}"#); // nameless: ignored
    c.custom(b"bad-props", b"[1,2]"); // not a fragment of fields: sent without props
    let events = flush(&mut c, 1.0, false);
    assert_eq!(events.len(), 3);
    assert_eq!(events[1].name.as_deref(), Some("signup"));
    assert_eq!(
        events[1].props.as_deref(),
        Some(r#"{"plan":"pro \"quoted\"","seats":5}"#)
    );
    assert_eq!(
        (events[2].name.as_deref(), events[2].props.as_deref()),
        (Some("bad-props"), None)
    );
}

#[wasm_bindgen_test]
fn the_not_found_page_sends_a_404_event() {
    let mut c = collector(flags::NOT_FOUND_PAGE);
    c.page(href().as_bytes(), b"", b"", 0, 0.0, 0.0, 0.0, false, false);
    let kinds: Vec<String> = flush(&mut c, 1.0, false)
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["pageview", "404"]);
}

#[wasm_bindgen_test]
fn privacy_switches() {
    let url = href();
    let on = |flags: u32, url: &str| {
        Collector::new().configure(flags, b"demo", b"", b"", url.as_bytes())
    };
    let base = flags::ALLOW_LOCALHOST | flags::RESPECT_DNT;
    assert!(on(base, &url));
    assert!(!on(base | flags::DO_NOT_TRACK, &url), "Do Not Track");
    assert!(
        !on(base | flags::GLOBAL_PRIVACY_CONTROL, &url),
        "Global Privacy Control"
    );
    assert!(
        on(flags::ALLOW_LOCALHOST | flags::DO_NOT_TRACK, &url),
        "the owner may override DNT"
    );
    assert!(
        !on(flags::RESPECT_DNT, &url),
        "127.0.0.1 is skipped unless allowed"
    );
    assert!(
        !on(flags::RESPECT_DNT, "http://localhost:3000/"),
        "localhost is skipped unless allowed"
    );
    assert!(
        !on(flags::RESPECT_DNT, "file:///home/me/page.html"),
        "file: pages are skipped"
    );
    assert!(on(flags::RESPECT_DNT, "https://shop.example/"));

    // The opt-out flag is what the loader reads from the real localStorage.
    let storage = window().local_storage().unwrap().unwrap();
    storage.set_item("vigia_ignore", "true").unwrap();
    let opted_out = storage.get_item("vigia_ignore").unwrap().as_deref() == Some("true");
    storage.remove_item("vigia_ignore").unwrap();
    assert!(
        !on(base | if opted_out { flags::OPTED_OUT } else { 0 }, &url),
        "localStorage.vigia_ignore"
    );

    // A disabled collector queues nothing and sends nothing.
    let mut off = Box::new(Collector::new());
    off.configure(
        base | flags::DO_NOT_TRACK,
        b"demo",
        b"",
        b"",
        url.as_bytes(),
    );
    off.page(url.as_bytes(), b"", b"", 0, 0.0, 0.0, 0.0, false, false);
    off.custom(b"signup", b"");
    assert!(flush(&mut off, 1.0, true).is_empty());
    // The collector itself never touched cookies.
    let cookies = window()
        .document()
        .unwrap()
        .dyn_into::<web_sys::HtmlDocument>()
        .unwrap()
        .cookie()
        .unwrap();
    assert_eq!(cookies, "");
}

#[wasm_bindgen_test]
fn batches_are_bounded_and_a_runaway_loop_stops() {
    let mut c = collector(0);
    c.page(href().as_bytes(), b"", b"", 0, 0.0, 0.0, 0.0, false, false);
    let mut sent = 0;
    for _ in 0..2000 {
        if c.custom(b"loop", b"") & outcome::SEND_NOW != 0 {
            let n = flush(&mut c, 1.0, false).len();
            assert!(n > 0 && n <= MAX_EVENTS_PER_REQUEST as usize, "{n}");
            sent += n;
        }
    }
    sent += flush(&mut c, 2.0, false).len();
    assert_eq!(
        sent as u32, MAX_EVENTS_PER_PAGE,
        "the page view and the loop's events, capped per page"
    );
}
