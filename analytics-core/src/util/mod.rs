//! Small shared pieces with no rule of their own: hex, CSV cells, outgoing mail, small pages.

pub mod csv;
pub mod email;
pub mod hex;
pub mod html;
