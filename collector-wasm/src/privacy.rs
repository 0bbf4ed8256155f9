//! Whether this page view may be collected at all.

use wasm_bindgen::JsValue;

/// Do Not Track / Global Privacy Control are honoured unless the site owner set
/// `data-respect-dnt="false"`; `localStorage.vigia_ignore = "true"` opts a browser out;
/// localhost and `file:` pages are skipped unless `data-allow-localhost` is present.
pub fn may_collect(window: &web_sys::Window, allow_localhost: bool, respect_dnt: bool) -> bool {
    let location = window.location();
    let protocol = location.protocol().unwrap_or_default();
    let hostname = location.hostname().unwrap_or_default();
    if protocol == "file:" && !allow_localhost {
        return false;
    }
    if is_local_host(&hostname) && !allow_localhost {
        return false;
    }
    if respect_dnt && signals_opt_out(window) {
        return false;
    }
    let opted_out = window
        .local_storage()
        .ok()
        .flatten()
        .and_then(|s| s.get_item("vigia_ignore").ok().flatten())
        .is_some_and(|v| v == "true");
    !opted_out
}

pub fn is_local_host(hostname: &str) -> bool {
    hostname == "localhost"
        || hostname.ends_with(".localhost")
        || hostname.starts_with("127.")
        || hostname == "[::1]"
        || hostname.is_empty()
}

fn signals_opt_out(window: &web_sys::Window) -> bool {
    let navigator: JsValue = window.navigator().into();
    let dnt = js_sys_get(&navigator, "doNotTrack");
    let gpc = js_sys_get(&navigator, "globalPrivacyControl");
    dnt.as_string().is_some_and(|v| v == "1") || gpc.as_bool() == Some(true)
}

fn js_sys_get(target: &JsValue, key: &str) -> JsValue {
    web_sys::js_sys::Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

#[cfg(test)]
mod tests {
    #[test]
    fn local_hosts() {
        assert!(super::is_local_host("localhost"));
        assert!(super::is_local_host("127.0.0.1"));
        assert!(super::is_local_host("app.localhost"));
        assert!(!super::is_local_host("example.com"));
    }
}
