//! Small shared pieces with no rule of their own: hex, CSV cells, outgoing mail.

pub mod csv;
pub mod email;
pub mod hex;
