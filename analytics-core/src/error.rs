//! The one error shape every rejection takes: `{ "error": code, "message": text }` with a 4xx status.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiError {
    #[serde(skip)]
    pub status: u16,
    /// Stable machine-readable code, e.g. `payload_too_large`.
    pub error: &'static str,
    /// A sentence a person can act on.
    pub message: String,
    /// Seconds to wait before trying again, sent as `Retry-After` (rate limits).
    #[serde(skip)]
    pub retry_after_s: Option<u32>,
}

impl ApiError {
    pub fn new(status: u16, error: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            error,
            message: message.into(),
            retry_after_s: None,
        }
    }
    /// A 429 `rate_limited` answer that says when to retry.
    pub fn rate_limited(message: impl Into<String>, retry_after_s: u32) -> Self {
        Self {
            retry_after_s: Some(retry_after_s),
            ..Self::new(429, "rate_limited", message)
        }
    }
    pub fn bad_request(error: &'static str, message: impl Into<String>) -> Self {
        Self::new(400, error, message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(401, "unauthorized", message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, "forbidden", message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, "not_found", message)
    }
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| {
            r#"{"error":"internal","message":"error could not be encoded"}"#.to_string()
        })
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.error, self.status, self.message)
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_without_status() {
        let e = ApiError::bad_request("bad_json", "body is not JSON");
        assert_eq!(
            e.to_json(),
            r#"{"error":"bad_json","message":"body is not JSON"}"#
        );
        assert_eq!(e.status, 400);
        let limited = ApiError::rate_limited("slow down", 7);
        assert_eq!((limited.status, limited.retry_after_s), (429, Some(7)));
        assert_eq!(
            limited.to_json(),
            r#"{"error":"rate_limited","message":"slow down"}"#
        );
    }
}
