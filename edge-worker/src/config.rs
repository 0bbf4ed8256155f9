//! The deployment's settings (`analytics_core::settings`), read from `[vars]` and secrets once
//! per isolate: they cannot change while it lives (a new value is a new deployment).

use analytics_core::settings::Settings;
use std::cell::OnceCell;
use std::rc::Rc;
use worker::Env;

thread_local! {
    static SETTINGS: OnceCell<Rc<Settings>> = const { OnceCell::new() };
}

/// The settings in force. The first call reads them and logs any value that failed its check
/// (that setting keeps its default).
pub fn settings(env: &Env) -> Rc<Settings> {
    SETTINGS.with(|cell| {
        cell.get_or_init(|| {
            let (settings, problems) = Settings::read(|name| {
                env.var(name)
                    .map(|v| v.to_string())
                    .or_else(|_| env.secret(name).map(|v| v.to_string()))
                    .ok()
            });
            for problem in problems {
                worker::console_error!("setting ignored: {problem}");
            }
            Rc::new(settings)
        })
        .clone()
    })
}
