//! Bodies of the users routes.
