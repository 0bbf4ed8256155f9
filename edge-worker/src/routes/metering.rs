//! Metering: per site or app and UTC month, what was received, stored and refused.

use worker::{Env, Request};

use crate::http::RouteResult;
use crate::session::Caller;

/// Not built yet (issue #17).
pub async fn instance(_req: Request, _env: &Env) -> RouteResult {
    Err(
        analytics_core::error::ApiError::new(501, "not_implemented", "instance: not built yet")
            .into(),
    )
}

/// Not built yet (issue #17).
pub async fn site(_req: Request, _env: &Env, _c: &Caller) -> RouteResult {
    Err(analytics_core::error::ApiError::new(501, "not_implemented", "site: not built yet").into())
}
