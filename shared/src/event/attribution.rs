//! Campaign attribution for `/c`: UTM parameters, ad click ids, the referrer, and a channel
//! derived from them.
//!
//! Parameters are read from the page URL's query string first; the same names given
//! explicitly in the `/c` body win. The channel rule is applied in this order, first match
//! wins (a simplification of GA4's default channel grouping, documented in the README):
//! 1. a paid-search click id (`gclid`, `gbraid`, `wbraid`, `msclkid`, `yclid`) → paid search;
//!    `dclid` → display; a paid-social click id (`ttclid`, `twclid`, `li_fat_id`, `epik`,
//!    `ScCid`, `rdt_cid`) → paid social;
//! 2. `utm_medium`: `cpc`/`ppc`/`paidsearch`/`paid_search`/`sem` → paid search (paid social
//!    when the source is a social network); `paid_social`/`paidsocial`/`social_paid` → paid
//!    social; `display`/`banner`/`cpm` → display; `email`/`e-mail`/`newsletter` → email;
//!    `affiliate(s)` → affiliates; `social`/`social-network`/`social-media`/`sm` → organic
//!    social; `organic` → organic search; `referral` → referral; anything else → unassigned;
//! 3. `utm_source` alone: a search engine → organic search, a social network → organic
//!    social, `email`/`newsletter` → email, else unassigned;
//! 4. `fbclid` alone → organic social (Meta adds it to organic links too);
//! 5. the referrer: a search engine → organic search, a social network → organic social, the
//!    page's own host → internal, any other host → referral;
//! 6. nothing → direct.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// UTM parameters (Google Analytics campaign URL builder names).
pub const UTM_PARAMS: [&str; 9] = [
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "utm_id",
    "utm_source_platform",
    "utm_creative_format",
    "utm_marketing_tactic",
];

/// Ad click ids and the network that sets each.
pub const CLICK_IDS: [(&str, &str); 15] = [
    ("gclid", "google_ads"),
    ("gbraid", "google_ads"),
    ("wbraid", "google_ads"),
    ("dclid", "google_display"),
    ("msclkid", "microsoft_ads"),
    ("yclid", "yandex_direct"),
    ("fbclid", "meta"),
    ("ttclid", "tiktok_ads"),
    ("twclid", "x_ads"),
    ("li_fat_id", "linkedin_ads"),
    ("epik", "pinterest_ads"),
    ("ScCid", "snapchat_ads"),
    ("rdt_cid", "reddit_ads"),
    ("irclickid", "impact"),
    ("mc_cid", "mailchimp"),
];

const PAID_SEARCH_CLICK_IDS: [&str; 5] = ["gclid", "gbraid", "wbraid", "msclkid", "yclid"];
const PAID_SOCIAL_CLICK_IDS: [&str; 6] = ["ttclid", "twclid", "li_fat_id", "epik", "ScCid", "rdt_cid"];

/// Search engines: a bare name matches any label of the host, a dotted name a host suffix.
const SEARCH_ENGINES: [&str; 13] = [
    "google",
    "bing",
    "duckduckgo",
    "search.yahoo.com",
    "yahoo.co.jp",
    "yandex",
    "baidu.com",
    "ecosia.org",
    "search.brave.com",
    "startpage.com",
    "qwant.com",
    "naver.com",
    "seznam.cz",
];
/// Social networks, matched like [`SEARCH_ENGINES`].
const SOCIAL_NETWORKS: [&str; 18] = [
    "facebook",
    "fb.com",
    "instagram",
    "t.co",
    "twitter.com",
    "x.com",
    "linkedin",
    "lnkd.in",
    "reddit.com",
    "pinterest",
    "youtube.com",
    "tiktok.com",
    "threads.net",
    "snapchat.com",
    "vk.com",
    "weibo.com",
    "bsky.app",
    "mastodon.social",
];

/// The marketing channel an arrival is attributed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Direct,
    OrganicSearch,
    PaidSearch,
    OrganicSocial,
    PaidSocial,
    Email,
    Affiliates,
    Display,
    Referral,
    Internal,
    Unassigned,
}

/// Attribution of one arrival.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribution {
    /// UTM parameters by their URL name (`utm_source`, …).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub utm: BTreeMap<String, String>,
    /// Click ids by their URL name (`gclid`, …).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub click_ids: BTreeMap<String, String>,
    /// Ad networks named by the click ids, e.g. `google_ads`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ad_networks: Vec<String>,
    /// The referrer's host, lowercase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer_host: Option<String>,
    /// The derived channel.
    pub channel: Channel,
}

/// The canonical name of a campaign parameter (UTM or click id), or `None` if unknown.
pub fn known_param(name: &str) -> Option<&'static str> {
    UTM_PARAMS
        .iter()
        .copied()
        .chain(CLICK_IDS.iter().map(|(n, _)| *n))
        .find(|n| *n == name)
}

impl Attribution {
    /// Attribution from the page URL, the referrer and explicit parameters (which win).
    pub fn derive(page: Option<&url::Url>, referrer: Option<&url::Url>, explicit: &[(String, String)]) -> Self {
        let mut utm = BTreeMap::new();
        let mut click_ids = BTreeMap::new();
        let from_page = page
            .into_iter()
            .flat_map(|u| u.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())));
        for (k, v) in from_page.chain(explicit.iter().cloned()) {
            if v.is_empty() {
                continue;
            }
            if UTM_PARAMS.contains(&k.as_str()) {
                utm.insert(k, v.chars().take(256).collect());
            } else if CLICK_IDS.iter().any(|(n, _)| *n == k) {
                click_ids.insert(k, v.chars().take(256).collect());
            }
        }
        let mut ad_networks: Vec<String> = CLICK_IDS
            .iter()
            .filter(|(n, _)| click_ids.contains_key(*n))
            .map(|(_, net)| net.to_string())
            .collect();
        ad_networks.dedup();
        let referrer_host = referrer.and_then(|r| r.host_str()).map(str::to_ascii_lowercase);
        let page_host = page.and_then(|p| p.host_str()).map(str::to_ascii_lowercase);
        let channel = channel(&utm, &click_ids, referrer_host.as_deref(), page_host.as_deref());
        Attribution {
            utm,
            click_ids,
            ad_networks,
            referrer_host,
            channel,
        }
    }
}

fn channel(
    utm: &BTreeMap<String, String>,
    click_ids: &BTreeMap<String, String>,
    referrer_host: Option<&str>,
    page_host: Option<&str>,
) -> Channel {
    if PAID_SEARCH_CLICK_IDS.iter().any(|c| click_ids.contains_key(*c)) {
        return Channel::PaidSearch;
    }
    if click_ids.contains_key("dclid") {
        return Channel::Display;
    }
    if PAID_SOCIAL_CLICK_IDS.iter().any(|c| click_ids.contains_key(*c)) {
        return Channel::PaidSocial;
    }
    let source = utm.get("utm_source").map(|s| s.to_ascii_lowercase());
    let source_is = |list: &[&str]| source.as_deref().is_some_and(|s| names_match(s, list));
    if let Some(medium) = utm.get("utm_medium").map(|m| m.to_ascii_lowercase()) {
        return match medium.as_str() {
            "cpc" | "ppc" | "paidsearch" | "paid_search" | "paid-search" | "sem" => {
                if source_is(&SOCIAL_NETWORKS) {
                    Channel::PaidSocial
                } else {
                    Channel::PaidSearch
                }
            }
            "paid_social" | "paidsocial" | "paid-social" | "social_paid" | "social-paid" => Channel::PaidSocial,
            "display" | "banner" | "cpm" | "interstitial" => Channel::Display,
            "email" | "e-mail" | "e_mail" | "newsletter" => Channel::Email,
            "affiliate" | "affiliates" => Channel::Affiliates,
            "social" | "social-network" | "social-media" | "social_media" | "sm" => Channel::OrganicSocial,
            "organic" => Channel::OrganicSearch,
            "referral" => Channel::Referral,
            _ => Channel::Unassigned,
        };
    }
    if source.is_some() {
        return if source_is(&SEARCH_ENGINES) {
            Channel::OrganicSearch
        } else if source_is(&SOCIAL_NETWORKS) {
            Channel::OrganicSocial
        } else if matches!(source.as_deref(), Some("email" | "newsletter")) {
            Channel::Email
        } else {
            Channel::Unassigned
        };
    }
    if click_ids.contains_key("fbclid") {
        return Channel::OrganicSocial;
    }
    match referrer_host {
        None => Channel::Direct,
        Some(r) if names_match(r, &SEARCH_ENGINES) => Channel::OrganicSearch,
        Some(r) if names_match(r, &SOCIAL_NETWORKS) => Channel::OrganicSocial,
        Some(r) if page_host.is_some_and(|p| strip_www(p) == strip_www(r)) => Channel::Internal,
        Some(_) => Channel::Referral,
    }
}

/// A bare name matches a whole label of `host` (`google` ↔ `www.google.co.uk`); a dotted
/// name matches the host or a host suffix (`t.co` ↔ `t.co`, not `bat.com`). A UTM source
/// like `facebook` is matched the same way.
fn names_match(host: &str, names: &[&str]) -> bool {
    names.iter().any(|n| {
        if n.contains('.') {
            host == *n || host.ends_with(&format!(".{n}"))
        } else {
            host.split('.').any(|label| label == *n)
        }
    })
}

fn strip_www(h: &str) -> &str {
    h.strip_prefix("www.").unwrap_or(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn derive(page: &str, referrer: Option<&str>, explicit: &[(&str, &str)]) -> Attribution {
        let page = url::Url::parse(page).unwrap();
        let referrer = referrer.map(|r| url::Url::parse(r).unwrap());
        let explicit: Vec<(String, String)> = explicit.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        Attribution::derive(Some(&page), referrer.as_ref(), &explicit)
    }

    #[test]
    fn utm_from_url_and_body_override() {
        let a = derive(
            "https://shop.example/p?utm_source=news&utm_medium=email&utm_campaign=nov",
            None,
            &[("utm_campaign", "black-friday")],
        );
        assert_eq!(a.utm["utm_source"], "news");
        assert_eq!(a.utm["utm_campaign"], "black-friday");
        assert_eq!(a.channel, Channel::Email);
    }

    #[test]
    fn channels() {
        let cases = [
            ("https://s.example/?gclid=abc", None, Channel::PaidSearch),
            ("https://s.example/?dclid=abc", None, Channel::Display),
            ("https://s.example/?ttclid=abc", None, Channel::PaidSocial),
            (
                "https://s.example/?utm_source=facebook&utm_medium=cpc",
                None,
                Channel::PaidSocial,
            ),
            (
                "https://s.example/?utm_source=google&utm_medium=cpc",
                None,
                Channel::PaidSearch,
            ),
            ("https://s.example/?utm_medium=banner", None, Channel::Display),
            ("https://s.example/?utm_medium=affiliate", None, Channel::Affiliates),
            ("https://s.example/?utm_medium=podcast", None, Channel::Unassigned),
            ("https://s.example/?utm_source=bing", None, Channel::OrganicSearch),
            ("https://s.example/?fbclid=x", None, Channel::OrganicSocial),
            (
                "https://s.example/",
                Some("https://www.google.co.uk/"),
                Channel::OrganicSearch,
            ),
            ("https://s.example/", Some("https://t.co/abc"), Channel::OrganicSocial),
            ("https://s.example/", Some("https://bat.com/"), Channel::Referral),
            (
                "https://s.example/",
                Some("https://www.s.example/cart"),
                Channel::Internal,
            ),
            ("https://s.example/", None, Channel::Direct),
        ];
        for (page, referrer, expected) in cases {
            assert_eq!(derive(page, referrer, &[]).channel, expected, "{page} {referrer:?}");
        }
    }

    #[test]
    fn click_ids_name_their_network() {
        let a = derive("https://s.example/?gclid=1&msclkid=2", None, &[]);
        assert_eq!(a.ad_networks, vec!["google_ads", "microsoft_ads"]);
        assert_eq!(known_param("utm_term"), Some("utm_term"));
        assert_eq!(known_param("utm_x"), None);
    }
}
