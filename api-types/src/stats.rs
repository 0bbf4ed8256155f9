//! Bodies of the stats routes.
