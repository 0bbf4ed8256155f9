//! The stats and admin API's bodies, one type per request and response, shared by the Worker
//! (which answers with them) and the dashboard (which reads them): a field renamed here is
//! renamed for both, and the compiler finds every use. Serde only — no rule lives here (rules
//! are in `analytics-core`, which re-exports the enums below where it uses them).
//!
//! Closed sets are enums whose serde names are the text on the wire and in the database.

pub mod account;
pub mod activity;
pub mod alerts;
pub mod apps;
pub mod audit;
pub mod goals;
pub mod reports;
pub mod sites;
pub mod stats;
pub mod storage;
pub mod users;

/// Declares a closed set: the enum, `ALL` (every variant, in order), `as_str` (the text on the
/// wire and in the database), `parse` and `Display`, with serde reading and writing the same
/// text. Each variant and its text are written once, so `ALL`, `as_str`, `parse` and serde
/// cannot disagree: a variant added here is in all of them.
///
/// ```
/// api_types::closed_set! {
///     /// A colour.
///     #[derive(Default)]
///     pub enum Colour { #[default] Red = "red", Green = "green" }
/// }
/// assert_eq!(Colour::parse("green"), Some(Colour::Green));
/// assert_eq!(Colour::ALL.len(), 2);
/// ```
#[macro_export]
macro_rules! closed_set {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize)]
        $vis enum $name {
            $( $(#[$variant_meta])* #[serde(rename = $text)] $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: [$name; [$($text),+].len()] = [$($name::$variant),+];

            /// Every value's text, in declaration order (for API descriptions).
            pub const NAMES: [&'static str; [$($text),+].len()] = [$($text),+];

            /// The text on the wire and in the database.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text ),+
                }
            }

            /// The value whose text this is.
            pub fn parse(text: &str) -> Option<$name> {
                $name::ALL.into_iter().find(|v| v.as_str() == text)
            }
        }

        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

crate::closed_set! {
    /// A member's role on a site, weakest first: each role may do what the ones before it may.
    #[derive(PartialOrd, Ord)]
    pub enum Role {
        Viewer = "viewer",
        Auditor = "auditor",
        Admin = "admin",
        Owner = "owner",
    }
}

/// Tests that a closed set's values read back from their text and their JSON: what every
/// `closed_set!` promises, checked for each set the crates declare (and an unknown text refused).
#[cfg(any(test, feature = "testing"))]
pub fn check_closed_set<T>(all: &[T], as_str: fn(T) -> &'static str, parse: fn(&str) -> Option<T>)
where
    T: Copy + PartialEq + std::fmt::Debug + serde::Serialize + serde::de::DeserializeOwned,
{
    for &value in all {
        let text = as_str(value);
        assert_eq!(parse(text), Some(value), "{text}");
        let json = serde_json::to_string(&value).expect("serialises");
        assert_eq!(json, format!("\"{text}\""));
        assert_eq!(serde_json::from_str::<T>(&json).expect("reads"), value);
    }
    assert_eq!(parse("no such value"), None);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_closed_set_reads_back_from_its_text_and_its_json() {
        macro_rules! check {
            ($($set:ty),+) => { $( check_closed_set(&<$set>::ALL, <$set>::as_str, <$set>::parse); )+ };
        }
        check!(
            Role,
            audit::AuditAction,
            activity::ActivityType,
            activity::Outcome,
            alerts::AlertRule,
            apps::SiteKind,
            apps::AppRecordKind,
            apps::AppOs,
            apps::MeterSource,
            goals::GoalKind,
            reports::ReportKind,
            reports::SendStatus,
            stats::Dimension
        );
    }

    #[test]
    fn roles_rank_weakest_first() {
        assert!(
            Role::Viewer < Role::Auditor
                && Role::Auditor < Role::Admin
                && Role::Admin < Role::Owner
        );
    }
}
