//! Bodies of the alerts routes.
