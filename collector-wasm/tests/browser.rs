//! Runs in headless Chromium via wasm-bindgen-test (`./vigia test`).

use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn records_a_pageview_of_the_real_page_and_queues_custom_events() {
    // The test page is served from 127.0.0.1, so localhost must be allowed explicitly.
    assert!(collector_wasm::start(
        "demo".into(),
        "/api/event".into(),
        true,
        true
    ));
    let body = collector_wasm::pending_body().expect("a page view is queued on start");
    let href = web_sys::window().unwrap().location().href().unwrap();
    assert!(
        body.starts_with(r#"{"site":"demo","events":[{"kind":"pageview","url":""#),
        "{body}"
    );
    assert!(body.contains(&href), "{body} should carry {href}");

    // The same URL again is not a new page view.
    collector_wasm::nav();
    collector_wasm::track("signup".into());
    let body = collector_wasm::pending_body().unwrap();
    assert_eq!(body.matches(r#""kind":"pageview""#).count(), 1, "{body}");
    assert!(
        body.contains(r#""kind":"custom""#) && body.contains(r#""name":"signup""#),
        "{body}"
    );
}

#[wasm_bindgen_test]
fn skips_localhost_unless_allowed() {
    // Each wasm-bindgen-test runs in the same instance; start() resets the state it owns.
    assert!(!collector_wasm::start(
        "demo".into(),
        "/api/event".into(),
        false,
        true
    ));
}
