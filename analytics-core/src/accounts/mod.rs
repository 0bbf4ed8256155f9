//! People and their access: passwords and tokens, login throttling, invitations and site
//! membership, a site's settings, and the snippet a site's owner pastes.

pub mod auth;
pub mod login;
pub mod membership;
pub mod site_settings;
pub mod snippet;
pub mod users;
