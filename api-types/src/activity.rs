//! Bodies of the activity routes.
