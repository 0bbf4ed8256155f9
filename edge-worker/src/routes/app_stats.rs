//! The vendor's view of an app (`GET /api/sites/{site}/app/stats`) and the usage report's
//! unsubscribe link.

use worker::{Env, Request};

use crate::http::RouteResult;
use crate::session::Caller;

/// Not built yet (issue #17).
pub async fn stats(_req: Request, _env: &Env, _c: &Caller) -> RouteResult {
    Err(analytics_core::error::ApiError::new(501, "not_implemented", "stats: not built yet").into())
}

/// Not built yet (issue #17).
pub async fn unsubscribe_page(_req: Request, _env: &Env) -> RouteResult {
    Err(analytics_core::error::ApiError::new(
        501,
        "not_implemented",
        "unsubscribe_page: not built yet",
    )
    .into())
}

/// Not built yet (issue #17).
pub async fn unsubscribe(_req: Request, _env: &Env) -> RouteResult {
    Err(
        analytics_core::error::ApiError::new(501, "not_implemented", "unsubscribe: not built yet")
            .into(),
    )
}
