//! Bodies of the reports routes.
