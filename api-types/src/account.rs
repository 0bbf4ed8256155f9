//! Bodies of the account routes.
