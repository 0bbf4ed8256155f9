//! Bodies of the email-report routes: the preview's figures, each member's choice, and what
//! was sent.

use serde::{Deserialize, Serialize};

crate::closed_set! {
    /// A report's kind; the text of `report_sends.kind`, of `?kind=` and of unsubscribe links.
    #[derive(Default)]
    pub enum ReportKind {
        #[default]
        Monthly = "monthly",
        Weekly = "weekly",
    }
}

crate::closed_set! {
    /// Where one send of a report stands (`report_sends.status`): claimed, then sent or failed
    /// (a failed one is claimed again by a later run, a bounded number of times).
    #[derive(Default)]
    pub enum SendStatus {
        #[default]
        Sending = "sending",
        Sent = "sent",
        Failed = "failed",
    }
}

/// `GET /api/sites/{site}/reports/preview?format=json`: the report's subject and figures
/// (`Range` and `Totals` as the stats API describes a period and its totals).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ReportPreview<Range, Totals> {
    pub subject: String,
    pub range: Range,
    pub previous: Range,
    pub totals: Totals,
    pub previous_totals: Totals,
}

/// `GET`/`PUT /api/sites/{site}/reports/subscription`: which reports the caller receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Subscription {
    pub monthly: bool,
    pub weekly: bool,
    /// Reports go to members; an instance admin who is not one receives none.
    pub member: bool,
}

/// `PUT /api/sites/{site}/reports/subscription`: a choice left out stays as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SubscriptionChoice {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weekly: Option<bool>,
}

/// One send of a report to one member, and how it went.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SentReport {
    /// None once the member's account is gone.
    pub email: Option<String>,
    pub kind: ReportKind,
    pub period_from: String,
    pub status: SendStatus,
    pub attempts: i64,
    pub provider: String,
    pub message_id: String,
    pub error: String,
    pub at: i64,
}

/// `GET /api/sites/{site}/reports/sent`: the last sends, newest first.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SentReports {
    pub sent: Vec<SentReport>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_choices_keep_their_wire_form() {
        assert_eq!(ReportKind::parse("daily"), None);
        let c: SubscriptionChoice = serde_json::from_str(r#"{"weekly":true}"#).unwrap();
        assert_eq!((c.monthly, c.weekly), (None, Some(true)));
        assert_eq!(
            serde_json::to_string(&Subscription {
                monthly: true,
                weekly: false,
                member: true
            })
            .unwrap(),
            r#"{"monthly":true,"weekly":false,"member":true}"#
        );
    }
}
