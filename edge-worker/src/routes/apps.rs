//! The app routes (docs/apps.md): an install's upload, its user's email registration and
//! confirmation, erasure, and the app key.

use worker::{Env, Request};

use crate::http::RouteResult;
use crate::session::Caller;

/// Not built yet (issue #17).
pub async fn batch(_req: Request, _env: &Env, _request_id: &str) -> RouteResult {
    Err(analytics_core::error::ApiError::new(501, "not_implemented", "batch: not built yet").into())
}

/// Not built yet (issue #17).
pub async fn email(_req: Request, _env: &Env) -> RouteResult {
    Err(analytics_core::error::ApiError::new(501, "not_implemented", "email: not built yet").into())
}

/// Not built yet (issue #17).
pub async fn erase(_req: Request, _env: &Env) -> RouteResult {
    Err(analytics_core::error::ApiError::new(501, "not_implemented", "erase: not built yet").into())
}

/// Not built yet (issue #17).
pub async fn confirm_page(_req: Request, _env: &Env) -> RouteResult {
    Err(
        analytics_core::error::ApiError::new(501, "not_implemented", "confirm_page: not built yet")
            .into(),
    )
}

/// Not built yet (issue #17).
pub async fn confirm(_req: Request, _env: &Env) -> RouteResult {
    Err(
        analytics_core::error::ApiError::new(501, "not_implemented", "confirm: not built yet")
            .into(),
    )
}

/// Not built yet (issue #17).
pub async fn rotate_key(_env: &Env, _c: &Caller) -> RouteResult {
    Err(
        analytics_core::error::ApiError::new(501, "not_implemented", "rotate_key: not built yet")
            .into(),
    )
}

/// Not built yet (issue #17).
pub async fn erase_user(_env: &Env, _c: &Caller) -> RouteResult {
    Err(
        analytics_core::error::ApiError::new(501, "not_implemented", "erase_user: not built yet")
            .into(),
    )
}
