//! Bodies of the audit routes.
