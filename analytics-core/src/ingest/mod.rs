//! The event's way in: the wire format and its checks, the pipeline that turns a beacon into
//! stored events, the rate limits, and what is dropped on purpose.

pub mod buffer;
pub mod bulk;
pub mod dropped;
pub mod event;
pub mod pipeline;
pub mod rate_limit;
pub mod wire;
