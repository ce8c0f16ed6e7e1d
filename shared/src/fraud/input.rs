//! What the components look at: one request's claims and signals, gathered once
//! ([`ScoringInput`]), and for the edge's full assessment what the behavioral store knows
//! about its identifiers ([`Observations`]), together the [`Evidence`].

use std::collections::BTreeSet;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::ja4::{Ja4, Ja4Error};
use super::trigger::Trigger;
use super::ua::UserAgent;
use crate::http::EdgeRequest;
use crate::identity::domainprint::Presented;

/// Signals the collector script reports with an event (`signals` in the `/t` body).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientSignals {
    /// `navigator.webdriver`.
    pub webdriver: Option<bool>,
    /// `navigator.plugins.length`.
    pub plugins: Option<u32>,
    /// `navigator.languages`.
    pub languages: Option<Vec<String>>,
    /// `navigator.platform`.
    pub platform: Option<String>,
    /// WebRTC ICE candidates (`candidate:…` lines) gathered by the script.
    pub webrtc_candidates: Option<Vec<String>>,
    /// Whether first-party cookies persist on the tracker's host, from the script's
    /// `/cookie-test` round trip: `true` when the test cookie set on an earlier page came
    /// back, `false` when it did not, absent on the first page.
    pub first_party_cookies: Option<bool>,
    /// Human-interaction evidence from the behavioral bundle (`/h-pro.js`).
    pub interaction: Option<InteractionEvidence>,
}

/// What the behavioral bundle (`/h-pro.js`) saw of the page's user since it loaded: counts
/// and timings only, never which keys were pressed or where the pointer went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InteractionEvidence {
    /// `pointermove` events.
    #[serde(default)]
    pub pointer_moves: u32,
    /// Length of the pointer's path, px.
    #[serde(default)]
    pub pointer_distance_px: u32,
    /// Straight-line distance between the path's ends over its length, 0–1 (1: a ruler-straight
    /// path, which hands rarely draw over many moves).
    pub pointer_straightness: Option<f64>,
    /// Keystrokes (`keydown`).
    #[serde(default)]
    pub keystrokes: u32,
    /// Mean and standard deviation of the intervals between keystrokes, ms.
    pub key_interval_mean_ms: Option<f64>,
    pub key_interval_sd_ms: Option<f64>,
    /// Mean time a key is held down, ms.
    pub key_hold_mean_ms: Option<f64>,
    /// `scroll`, `touchstart` and focus / blur events.
    #[serde(default)]
    pub scrolls: u32,
    #[serde(default)]
    pub touches: u32,
    #[serde(default)]
    pub focus_changes: u32,
    /// Input events the page itself dispatched (`isTrusted` false): a script typing or
    /// clicking for the user.
    #[serde(default)]
    pub untrusted_events: u32,
    /// Time from the bundle's start to the first trusted interaction, ms.
    pub first_interaction_ms: Option<u64>,
    /// Time since the bundle started, ms.
    #[serde(default)]
    pub active_ms: u64,
}

impl InteractionEvidence {
    /// Whether any trusted interaction was seen at all.
    pub fn any_interaction(&self) -> bool {
        self.pointer_moves + self.keystrokes + self.scrolls + self.touches > 0
    }

    fn check(&self) -> Result<(), String> {
        let finite = |v: Option<f64>, lo: f64, hi: f64| v.is_none_or(|v| v.is_finite() && (lo..=hi).contains(&v));
        if !finite(self.pointer_straightness, 0.0, 1.0) {
            return Err("signals.interaction.pointerStraightness: a number within 0..=1".into());
        }
        for (name, v) in [
            ("keyIntervalMeanMs", self.key_interval_mean_ms),
            ("keyIntervalSdMs", self.key_interval_sd_ms),
            ("keyHoldMeanMs", self.key_hold_mean_ms),
        ] {
            if !finite(v, 0.0, 86_400_000.0) {
                return Err(format!(
                    "signals.interaction.{name}: a number of ms within 0..=86400000"
                ));
            }
        }
        Ok(())
    }
}

impl ClientSignals {
    /// Checks sizes: at most 20 languages and 32 candidates, each at most 256 characters.
    ///
    /// # Errors
    /// A message naming the field.
    pub fn check(&self) -> Result<(), String> {
        let long = |v: &Vec<String>| v.iter().any(|s| s.len() > 256);
        if self.languages.as_ref().is_some_and(|l| l.len() > 20 || long(l)) {
            return Err("signals.languages: at most 20 entries of 256 characters".into());
        }
        if self.webrtc_candidates.as_ref().is_some_and(|c| c.len() > 32 || long(c)) {
            return Err("signals.webrtcCandidates: at most 32 entries of 256 characters".into());
        }
        if self.platform.as_ref().is_some_and(|p| p.len() > 64) {
            return Err("signals.platform: at most 64 characters".into());
        }
        self.interaction.as_ref().map_or(Ok(()), InteractionEvidence::check)
    }
}

/// Everything the stateless layers read, plus the login count the caller looked up.
#[derive(Debug, Clone)]
pub struct ScoringInput {
    pub user_agent: Option<String>,
    pub ua: Option<UserAgent>,
    pub ja4_raw: Option<String>,
    pub ja4: Option<Result<Ja4, Ja4Error>>,
    /// `CloudFront-Viewer-TLS` version, e.g. `TLSv1.3`.
    pub tls_version: Option<String>,
    /// `CloudFront-Viewer-Http-Version`.
    pub http_version: Option<String>,
    /// Header names in the viewer's order, lowercase.
    pub header_order: Vec<String>,
    /// Number of headers the viewer sent.
    pub header_count: usize,
    pub accept_language: Option<String>,
    pub has_fetch_metadata: bool,
    pub has_client_hints: bool,
    pub asn: Option<u32>,
    pub client_ip: Option<IpAddr>,
    pub signals: Option<ClientSignals>,
    pub event_name: Option<String>,
    /// Logins counted for this request's key in the window (credential stuffing); `None`
    /// when not a login or the counter was unavailable.
    pub login_count: Option<u64>,
    /// A server-side event: the User-Agent, language and address are the end user's as the
    /// organization's server forwarded them, and there is no transport to judge (the TLS,
    /// HTTP, header and ASN facts of the request are the server's). The transport layers
    /// report themselves not applicable.
    pub server_side: bool,
}

/// Headers CloudFront or the platform add, which are not the viewer's.
fn added_by_infrastructure(name: &str) -> bool {
    name.starts_with("cloudfront-")
        || name.starts_with("x-amz-")
        || name.starts_with("x-forwarded-")
        || name == "via"
        || name == "x-amzn-trace-id"
}

impl ScoringInput {
    /// Gathers the input of a request, with the script's signals and the event name.
    pub fn from_request(req: &EdgeRequest, signals: Option<ClientSignals>, event_name: Option<&str>) -> Self {
        let user_agent = req.header_lossy("user-agent");
        let ja4_raw = req.viewer.ja4.clone();
        let header_order: Vec<String> = req.viewer.header_order.iter().map(|h| h.to_ascii_lowercase()).collect();
        let header_count = req.viewer.header_count.map(|c| c as usize).unwrap_or_else(|| {
            if header_order.is_empty() {
                req.headers
                    .keys()
                    .filter(|k| !added_by_infrastructure(k.as_str()))
                    .count()
            } else {
                header_order.len()
            }
        });
        let has_named = |prefix: &str| header_order.iter().any(|h| h.starts_with(prefix));
        let (has_fetch_metadata, has_client_hints) = (
            req.header("sec-fetch-mode").is_some() || req.header("sec-fetch-site").is_some() || has_named("sec-fetch-"),
            req.header("sec-ch-ua").is_some() || has_named("sec-ch-ua"),
        );
        ScoringInput {
            ua: user_agent.as_deref().map(UserAgent::parse),
            user_agent,
            ja4: ja4_raw.as_deref().map(Ja4::parse),
            ja4_raw,
            tls_version: req.viewer.tls.as_ref().map(|t| t.version.clone()),
            http_version: req.viewer.http_version.clone(),
            header_order,
            header_count,
            accept_language: req.header_lossy("accept-language"),
            // CloudFront forwards few of the viewer's headers; the header order names them all.
            has_fetch_metadata,
            has_client_hints,
            asn: req.viewer.asn,
            client_ip: req.client_ip,
            signals,
            event_name: event_name.map(str::to_string),
            login_count: None,
            server_side: false,
        }
    }

    /// The input of an end user a server forwarded (a server-side event): the end user's
    /// User-Agent, language and address; no JA4, TLS, HTTP version, header order or ASN (the
    /// calling server's are not the visitor's), and no client hints or fetch metadata (a
    /// server does not forward them).
    pub fn end_user(
        user_agent: Option<String>,
        accept_language: Option<String>,
        client_ip: Option<IpAddr>,
        signals: Option<ClientSignals>,
        event_name: Option<String>,
    ) -> Self {
        ScoringInput {
            ua: user_agent.as_deref().map(UserAgent::parse),
            user_agent,
            ja4_raw: None,
            ja4: None,
            tls_version: None,
            http_version: None,
            header_order: Vec::new(),
            header_count: 0,
            accept_language,
            has_fetch_metadata: false,
            has_client_hints: false,
            asn: None,
            client_ip,
            signals,
            event_name,
            login_count: None,
            server_side: true,
        }
    }

    /// The parsed JA4, if present and well-formed.
    pub fn ja4(&self) -> Option<&Ja4> {
        self.ja4.as_ref().and_then(|r| r.as_ref().ok())
    }

    /// True when the User-Agent claims a browser engine we know.
    pub fn claims_browser(&self) -> bool {
        self.ua
            .as_ref()
            .is_some_and(|u| u.bot.is_none() && u.engine != super::ua::Engine::Other)
    }
}

/// What the behavioral store knows about a request's identifiers, this request included.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observations {
    /// Distinct visitors seen with this JA4 from this IP (/64) in the cluster window, this one
    /// included (a sketch's estimate: [`crate::behavior::sketch`]).
    pub cluster_visitors: u64,
    /// First time the cluster was seen in its window, ms.
    pub cluster_first_ms: Option<i64>,
    /// Visitors with this JA4 across the organization in the rapid window, this one included.
    pub rapid_global_visitors: u64,
    /// The same in the extended window.
    pub extended_global_visitors: u64,
    /// Events from this IP in the IP-rate window, this one included.
    pub ip_events: u64,
    /// Whether this event is a submission.
    pub is_submission: bool,
    /// The visitor's submissions in 24 h, this one included.
    pub visitor_submissions_24h: u64,
    /// The visitor's submission attempts in 1 h, this one included.
    pub visitor_attempts_1h: u64,
    /// Distinct IPs of the visitor's submissions in 24 h, this one included.
    pub visitor_ips_24h: BTreeSet<String>,
    /// The collector token's check, if the route expects one.
    pub token: Option<TokenCheck>,
    /// Uses of the token so far, this one included.
    pub token_uses: Option<u64>,
}

/// What the verification of a presented collector token found ([`crate::behavior::token`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenCheck {
    /// Correctly signed for this organization, within its lifetime.
    Valid { issued_ms: i64, hash: String },
    /// Correctly signed but older than its lifetime.
    Expired { issued_ms: i64, hash: String },
    /// Not signed by us, malformed, or for another organization.
    Forged { reason: &'static str },
}

/// The visitor's last block, for repeat-offender memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    /// The trigger the visitor was blocked for.
    pub blocked_for: Trigger,
    /// When the block ended (or was recorded, if later), ms since the epoch.
    pub released_ms: i64,
}

/// What the behavioral components judge, beside the request.
#[derive(Debug, Clone, Copy)]
pub struct BehaviorEvidence<'a> {
    pub observations: &'a Observations,
    /// The request's time, ms since the epoch.
    pub now_ms: i64,
    /// The route expects a collector token and the request carried none.
    pub token_missing: bool,
    /// The domainprint the request presented, as verified.
    pub domainprint: &'a Presented,
    /// The identity kept the domainprint's visitor against a fingerprint another visitor
    /// shows (the identity's `conflict`).
    pub identity_conflict: bool,
    /// The request proves an established visitor (`behavior::rules::established`): the
    /// network-level components (session hopping) leave it to its own history.
    pub established: bool,
    /// The visitor's last block, if any (read by `repeat_offender`).
    pub memory: Option<Memory>,
}

/// Everything the components judge for one request: the request itself and, on the edge,
/// the behavioral store's observations (`None` elsewhere: the behavioral components are then
/// not scored and not listed in the breakdown).
#[derive(Debug, Clone, Copy)]
pub struct Evidence<'a> {
    pub request: &'a ScoringInput,
    pub behavior: Option<BehaviorEvidence<'a>>,
}

impl<'a> Evidence<'a> {
    /// The request alone (the stateless components).
    pub fn request(request: &'a ScoringInput) -> Self {
        Evidence {
            request,
            behavior: None,
        }
    }
}
