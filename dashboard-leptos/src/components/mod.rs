pub mod app;
pub mod chart;
pub mod login;
pub mod overview;
