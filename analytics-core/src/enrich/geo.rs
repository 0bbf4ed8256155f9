//! Geo from the edge (`request.cf`). Absent (as under `wrangler dev` offline) means "unknown".

pub const UNKNOWN: &str = "unknown";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Geo {
    pub country: String,
    pub region: String,
    pub city: String,
}

pub fn from_edge(country: Option<&str>, region: Option<&str>, city: Option<&str>) -> Geo {
    // Cloudflare uses XX for "no country" and T1 for Tor exits.
    let country = country
        .map(str::trim)
        .filter(|c| c.len() == 2 && c.chars().all(|ch| ch.is_ascii_alphabetic()))
        .filter(|c| !c.eq_ignore_ascii_case("XX") && !c.eq_ignore_ascii_case("T1"))
        .map(str::to_ascii_uppercase);
    Geo {
        country: country.unwrap_or_else(|| UNKNOWN.into()),
        region: clean(region),
        city: clean(city),
    }
}

fn clean(value: Option<&str>) -> String {
    match value.map(str::trim) {
        Some(v) if !v.is_empty() => v.chars().take(80).collect(),
        _ => UNKNOWN.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_known_places() {
        let g = from_edge(Some("pt"), Some("Lisbon"), Some("Lisbon"));
        assert_eq!(g.country, "PT");
        assert_eq!(g.city, "Lisbon");
    }

    #[test]
    fn absent_or_placeholder_is_unknown() {
        let g = from_edge(None, None, Some(" "));
        assert_eq!(
            (g.country.as_str(), g.region.as_str(), g.city.as_str()),
            (UNKNOWN, UNKNOWN, UNKNOWN)
        );
        assert_eq!(from_edge(Some("XX"), None, None).country, UNKNOWN);
        assert_eq!(from_edge(Some("T1"), None, None).country, UNKNOWN);
        assert_eq!(from_edge(Some("<script>"), None, None).country, UNKNOWN);
    }
}
