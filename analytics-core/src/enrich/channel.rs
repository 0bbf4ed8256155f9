//! Marketing channels: the closed set a visit's channel is stored as, and the UTM medium rules
//! (in the spirit of GA4's default channel grouping; docs/channels.md has the table).

use serde::{Deserialize, Serialize};

/// The channel a visit came through. Stored as its snake_case name in `events.channel`.
/// Events stored before issue #14 keep their old values ("search", "social", "paid"); the
/// dashboard labels any snake_case value generically, so they still read sensibly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// No referrer, or the page's own host.
    Direct,
    /// Another of the site's hostnames, or a subdomain of one.
    Internal,
    OrganicSearch,
    PaidSearch,
    OrganicSocial,
    PaidSocial,
    Email,
    /// Chat assistants (ChatGPT, Perplexity, Claude, Gemini, Copilot …).
    AiAssistant,
    /// Any other site.
    Referral,
    /// `utm_medium` display/banner/cpm …, and ad servers in the referrer data.
    Display,
    Affiliate,
    Sms,
    Audio,
    /// Paid (cpc, ppc, paid…) from a source that is neither a search engine nor a social
    /// network.
    PaidOther,
}

/// Every channel, in the order docs/channels.md lists them.
pub const CHANNELS: [Channel; 14] = [
    Channel::Direct,
    Channel::Internal,
    Channel::OrganicSearch,
    Channel::PaidSearch,
    Channel::OrganicSocial,
    Channel::PaidSocial,
    Channel::Email,
    Channel::AiAssistant,
    Channel::Referral,
    Channel::Display,
    Channel::Affiliate,
    Channel::Sms,
    Channel::Audio,
    Channel::PaidOther,
];

impl Channel {
    /// The stored text (the serde name).
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Direct => "direct",
            Channel::Internal => "internal",
            Channel::OrganicSearch => "organic_search",
            Channel::PaidSearch => "paid_search",
            Channel::OrganicSocial => "organic_social",
            Channel::PaidSocial => "paid_social",
            Channel::Email => "email",
            Channel::AiAssistant => "ai_assistant",
            Channel::Referral => "referral",
            Channel::Display => "display",
            Channel::Affiliate => "affiliate",
            Channel::Sms => "sms",
            Channel::Audio => "audio",
            Channel::PaidOther => "paid_other",
        }
    }
}

/// What kind of place a source is, from the referrer data (by referrer host or by
/// `utm_source`): the paid rule needs it to tell paid search from paid social.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    Search,
    Social,
    Email,
    AiAssistant,
    /// An ad server (referers.yml's `paid` section): its clicks are display ads.
    Ads,
    /// Known or not, nothing said about its medium.
    Other,
}

impl SourceKind {
    /// The channel of a visit from this kind of source when no UTM medium says otherwise.
    pub fn organic_channel(self) -> Channel {
        match self {
            SourceKind::Search => Channel::OrganicSearch,
            SourceKind::Social => Channel::OrganicSocial,
            SourceKind::Email => Channel::Email,
            SourceKind::AiAssistant => Channel::AiAssistant,
            SourceKind::Ads => Channel::Display,
            SourceKind::Other => Channel::Referral,
        }
    }
}

/// The UTM medium rules, first match wins (docs/channels.md, "UTM rules"). `kind` is what the
/// source is known as (from `utm_source`, else the referrer). `None`: the medium names no
/// channel (empty or unknown), so the referrer decides.
pub fn from_utm(medium: &str, utm_source: &str, kind: SourceKind) -> Option<Channel> {
    let medium = medium.trim().to_ascii_lowercase();
    let source = utm_source.trim().to_ascii_lowercase();
    let is_email = |s: &str| matches!(s, "email" | "e-mail" | "e_mail" | "e mail" | "newsletter");
    if medium.is_empty() {
        // GA4 also reads an email source without a medium as email.
        return is_email(&source).then_some(Channel::Email);
    }
    let channel = match medium.as_str() {
        "display" | "banner" | "expandable" | "interstitial" | "cpm" => Channel::Display,
        m if m == "ppc" || m == "retargeting" || m.contains("cp") || m.starts_with("paid") => {
            match kind {
                SourceKind::Search => Channel::PaidSearch,
                SourceKind::Social => Channel::PaidSocial,
                _ => Channel::PaidOther,
            }
        }
        m if is_email(m) => Channel::Email,
        "social" | "social-network" | "social-media" | "social_network" | "social_media"
        | "social network" | "social media" | "sm" => Channel::OrganicSocial,
        "affiliate" | "affiliates" => Channel::Affiliate,
        "sms" => Channel::Sms,
        "audio" | "podcast" => Channel::Audio,
        "organic" => Channel::OrganicSearch,
        "referral" | "link" => Channel::Referral,
        "ai" | "chatbot" | "ai-assistant" | "ai_assistant" => Channel::AiAssistant,
        _ if is_email(&source) => Channel::Email,
        _ => return None,
    };
    Some(channel)
}

#[cfg(test)]
mod tests {
    use super::*;
    use SourceKind::*;

    #[test]
    fn stored_text_is_the_serde_name() {
        for c in CHANNELS {
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
        assert_eq!(Channel::AiAssistant.as_str(), "ai_assistant");
    }

    #[test]
    fn paid_mediums_split_by_source_kind() {
        for m in [
            "cpc",
            "CPC",
            "ppc",
            "retargeting",
            "paid",
            "paidsearch",
            "paid_social",
            "cpa",
            "cpv",
        ] {
            assert_eq!(
                from_utm(m, "google", Search),
                Some(Channel::PaidSearch),
                "{m}"
            );
            assert_eq!(
                from_utm(m, "facebook", Social),
                Some(Channel::PaidSocial),
                "{m}"
            );
            assert_eq!(
                from_utm(m, "partner", Other),
                Some(Channel::PaidOther),
                "{m}"
            );
        }
    }

    #[test]
    fn display_mediums_come_before_the_paid_rule() {
        for m in ["display", "banner", "expandable", "interstitial", "cpm"] {
            assert_eq!(from_utm(m, "google", Search), Some(Channel::Display), "{m}");
        }
    }

    #[test]
    fn email_by_medium_or_by_source() {
        for m in ["email", "e-mail", "e_mail", "e mail", "newsletter"] {
            assert_eq!(from_utm(m, "", Other), Some(Channel::Email), "{m}");
        }
        assert_eq!(from_utm("", "newsletter", Other), Some(Channel::Email));
        assert_eq!(from_utm("weekly", "email", Other), Some(Channel::Email));
    }

    #[test]
    fn the_other_named_mediums() {
        for m in [
            "social",
            "social-network",
            "social-media",
            "sm",
            "social network",
        ] {
            assert_eq!(from_utm(m, "", Other), Some(Channel::OrganicSocial), "{m}");
        }
        assert_eq!(from_utm("affiliate", "", Other), Some(Channel::Affiliate));
        assert_eq!(from_utm("sms", "", Other), Some(Channel::Sms));
        assert_eq!(from_utm("audio", "", Other), Some(Channel::Audio));
        assert_eq!(from_utm("organic", "", Other), Some(Channel::OrganicSearch));
        assert_eq!(from_utm("referral", "", Search), Some(Channel::Referral));
        assert_eq!(from_utm("ai", "", Other), Some(Channel::AiAssistant));
    }

    #[test]
    fn no_or_unknown_medium_leaves_it_to_the_referrer() {
        assert_eq!(from_utm("", "", Search), None);
        assert_eq!(from_utm("qr", "poster", Other), None);
    }

    #[test]
    fn organic_channel_per_kind() {
        assert_eq!(Search.organic_channel(), Channel::OrganicSearch);
        assert_eq!(Social.organic_channel(), Channel::OrganicSocial);
        assert_eq!(Email.organic_channel(), Channel::Email);
        assert_eq!(AiAssistant.organic_channel(), Channel::AiAssistant);
        assert_eq!(Ads.organic_channel(), Channel::Display);
        assert_eq!(Other.organic_channel(), Channel::Referral);
    }
}
