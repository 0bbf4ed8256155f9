//! People and their access: passwords and tokens, login throttling, invitations and site
//! membership, and the snippet a site's owner pastes.

pub mod auth;
pub mod login;
pub mod membership;
pub mod snippet;
