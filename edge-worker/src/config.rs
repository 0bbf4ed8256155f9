//! The deployment's settings: `[vars]` in wrangler.toml and secrets.

use worker::Env;

/// A variable or secret, empty counting as unset.
pub fn setting(env: &Env, name: &str) -> Option<String> {
    env.var(name)
        .map(|v| v.to_string())
        .or_else(|_| env.secret(name).map(|v| v.to_string()))
        .ok()
        .filter(|v| !v.trim().is_empty())
}

/// A limit the deployment may lower or raise with a `[vars]` entry; the named constant otherwise
/// (and when the entry is not a positive number).
pub fn limit(env: &Env, name: &str, default: i64) -> i64 {
    setting(env, name)
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|v| *v > 0)
        .unwrap_or(default)
}
