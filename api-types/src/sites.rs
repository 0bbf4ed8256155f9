//! Bodies of the sites routes.
