//! Bodies of the goals routes.
