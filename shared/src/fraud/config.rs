//! The fraud configuration: every threshold, weight and list in one typed value with the
//! seeds' defaults, overridden by `FRAUD_CONFIG` (JSON, deep merge of partial overrides;
//! unknown keys and out-of-range values are refused at start).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use super::browsers::BrowsersConfig;

/// Enforcing or observing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Critical requests are refused.
    Enforce,
    /// Everything is scored and recorded; nothing is refused (seed `002_…`).
    Observe,
}

/// Score thresholds of the levels (seed `002_…`: block threshold 70).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskConfig {
    /// At or above: medium (monitor).
    pub medium: f64,
    /// At or above: high (captcha).
    pub high: f64,
    /// At or above: critical (block); the block triggers' floors are relative to it.
    pub block_threshold: f64,
}

/// Component weights; each in 0–1, together at most 1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Weights {
    pub ja4_tls: f64,
    pub ja4_context: f64,
    pub ja4_structure: f64,
    pub headless: f64,
    pub datacenter: f64,
    pub http2: f64,
    pub webrtc: f64,
    pub credential_stuffing: f64,
    pub bot_user_agent: f64,
    pub ip_rate: f64,
    pub ja4_session_hopping: f64,
    pub visitor_velocity: f64,
    pub collector_token: f64,
    pub domainprint: f64,
}

/// Score floors of the block triggers, as offsets from `risk.block_threshold` (seed `002_…`:
/// "recompute the score with a floor tied to the configured block threshold").
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerFloors {
    pub bot_user_agent: f64,
    pub missing_user_agent: f64,
    pub ja4_mismatch: f64,
    pub headless_browser: f64,
    pub automation: f64,
    pub credential_stuffing: f64,
    pub legacy_tls: f64,
    /// A User-Agent naming no browser engine: this is a browser tracker, so a client that is
    /// no browser is treated as an automated one (high, not critical: some are native apps).
    pub not_a_browser: f64,
    pub ja4_session_hopping: f64,
    pub visitor_velocity: f64,
    pub ip_diversity: f64,
    pub repeat_offender: f64,
    /// A domainprint altered or forged under one of our keys.
    pub forged_domainprint: f64,
    /// A request contradicting the browser family its User-Agent claims, without a decisive
    /// contradiction (see [`super::browsers`]).
    pub browser_contradiction: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ja4TlsConfig {
    pub missing_ja4: f64,
    pub legacy_tls: f64,
}

/// Points of the JA4 ↔ context component's contradictions between a request and the browser
/// family its User-Agent claims (the families' profiles are [`FraudConfig::browsers`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ja4ContextConfig {
    /// A decisive contradiction: another client's TLS version, ALPN or TLS stack.
    pub decisive_points: f64,
    /// Any other: HTTP/1.x, a missing browser header, User-Agent first, the extension count.
    pub contradiction_points: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ja4StructureConfig {
    pub malformed: f64,
    pub outdated_tls: f64,
    pub no_sni: f64,
    pub few_ciphers: f64,
    pub min_ciphers: u8,
    pub few_extensions: f64,
    pub min_extensions: u8,
    pub no_alpn: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadlessConfig {
    pub headless_user_agent: f64,
    /// No `Sec-CH-UA` where the claimed family sends it ([`BrowsersConfig`]).
    pub missing_client_hints: f64,
    /// `Accept-Language: *`: no browser asks for any language (a missing header is a
    /// contradiction of the JA4 ↔ context component).
    pub generic_language: f64,
    pub webdriver: f64,
    pub no_plugins: f64,
    pub no_languages: f64,
    pub platform_mismatch: f64,
    /// What the behavioral bundle's interaction evidence may add.
    pub interaction: InteractionConfig,
}

/// Scores and thresholds for the human-interaction evidence of `/h-pro.js` (layer 4). Not
/// from the seeds (seed `004_…` lists mouse movement, typing patterns and form timing as
/// future work); the defaults stay below a block on their own and name what they saw.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InteractionConfig {
    /// Input events the page dispatched itself (`isTrusted` false).
    pub synthetic_input: f64,
    /// Keystrokes at a machine's even rhythm: at least `uniform_keys_min` keystrokes whose
    /// intervals vary by at most `uniform_keys_max_sd_ms` (people vary by tens of ms).
    pub uniform_keystrokes: f64,
    pub uniform_keys_min: u32,
    pub uniform_keys_max_sd_ms: f64,
    /// A pointer path of at least `linear_pointer_min_moves` moves with a straightness of at
    /// least `linear_pointer_min_straightness` (0–1).
    pub linear_pointer: f64,
    pub linear_pointer_min_moves: u32,
    pub linear_pointer_min_straightness: f64,
    /// A login or submission event (`behavior.velocity.submission_events`) sent by the
    /// behavioral bundle without any pointer, key, scroll or touch input before it.
    pub no_interaction_submission: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatacenterConfig {
    pub score: f64,
    /// ASNs added to the vendored X4BNet list (seed `000_…`: Cloudflare, AWS, Google Cloud,
    /// Azure, DigitalOcean, Equinix).
    pub extra_asns: Vec<u32>,
    /// ASNs of privacy relays (iCloud Private Relay's Akamai egress): reported as relays.
    pub privacy_relay_asns: Vec<u32>,
    /// ASNs that also carry iCloud Private Relay egress: an Apple device from them is
    /// reported as a relay rather than a datacenter.
    pub apple_relay_asns: Vec<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Http2Config {
    pub minimal_headers: f64,
    pub min_browser_headers: u32,
    pub alpn_version_mismatch: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebRtcConfig {
    pub public_host: f64,
    pub several_public_ips: f64,
    pub ipv6_leak: f64,
    pub relay_only: f64,
    pub ip_mismatch: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialStuffingConfig {
    /// More than this many `login` events per window per key → the score (seed: 20).
    pub max_logins: u64,
    /// Window, seconds (seed: 1 hour).
    pub window_secs: u64,
    pub score: f64,
    /// Count per JA4 only (the seed), or per JA4 and IP (/64) so that every user of one
    /// popular browser does not share a counter (the default).
    pub per_ip: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BotUserAgentConfig {
    pub known_bot: f64,
    pub missing_user_agent: f64,
    pub not_a_browser: f64,
}

/// Settings of the eight layers and the bot User-Agent check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerConfig {
    pub ja4_tls: Ja4TlsConfig,
    pub ja4_context: Ja4ContextConfig,
    pub ja4_structure: Ja4StructureConfig,
    pub headless: HeadlessConfig,
    pub datacenter: DatacenterConfig,
    pub http2: Http2Config,
    pub webrtc: WebRtcConfig,
    pub credential_stuffing: CredentialStuffingConfig,
    pub bot_user_agent: BotUserAgentConfig,
}

/// How repeat-offender memory treats a recent block (seed `002_…`, layer 3.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreMode {
    /// A recent block of the same detection type raises the score above the threshold.
    Holistic,
    /// Scores only add up; no memory.
    Additive,
}

/// JA4 session hopping (seed `002_…` layers 4a–4c, seed `004_…`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionHoppingConfig {
    /// 4a: distinct visitors with the same JA4 from the same IP (IPv6 /64) in `cluster_window_secs`.
    pub cluster_min_visitors: u64,
    pub cluster_window_secs: u64,
    /// 4b: distinct visitors with the same JA4 across the organization in `rapid_window_secs`.
    pub rapid_global_min_visitors: u64,
    pub rapid_window_secs: u64,
    /// 4c: distinct visitors with the same JA4 across the organization in `extended_window_secs`.
    pub extended_global_min_visitors: u64,
    pub extended_window_secs: u64,
    /// Velocity: a cluster spanning less than this many minutes.
    pub velocity_threshold_minutes: u64,
    pub clustering_points: f64,
    pub velocity_points: f64,
    /// Both global signals.
    pub global_both_points: f64,
    /// One global signal.
    pub global_one_points: f64,
    /// The raw points are scaled to 0–100 by this maximum (seed: 0–230).
    pub raw_max: f64,
}

/// Visitor velocity (seed `002_…` layer 2), over the "submission" events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VelocityConfig {
    /// Events that count as submissions (a page view is not one).
    pub submission_events: Vec<String>,
    /// 2a: submissions per visitor in 24 h at or above this → block.
    pub max_submissions_24h: u64,
    /// 2b: submission attempts per visitor in 1 h: at or above `attempts_block` → block,
    /// at `attempts_warn` → `attempts_warn_score`.
    pub attempts_block: u64,
    pub attempts_warn: u64,
    pub attempts_warn_score: f64,
    /// 2c: distinct IPs of a visitor's submissions in 24 h at or above this → block.
    pub max_ips_24h: u64,
}

/// The collector token.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// Lifetime of a token, seconds.
    pub ttl_secs: u64,
    /// Uses of one token beyond which it is a replay.
    pub max_uses: u64,
    /// Score of an event without a token, or with an expired one (no trigger).
    pub missing_score: f64,
}

/// Points of a presented domainprint that was refused (not from the seeds: the seeds' cookie
/// was not signed). A refused value is ignored whatever these say; they are how much its
/// presence says about the sender.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainprintConfig {
    /// Not in the signed format: made up, or a cookie of a release before signing.
    pub unsigned: f64,
    /// Signed with a key id we do not hold: a retired key, or made up.
    pub unknown_key: f64,
    /// Signed format under one of our keys with a tag that does not verify.
    pub forged: f64,
}

/// Blacklist and progressive timeouts (seed `002_…`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlacklistConfig {
    /// Timeouts by offense count in the last 24 h, seconds (seed: 1 h, 4 h, 8 h, 12 h, 24 h).
    pub timeouts_secs: Vec<u64>,
    /// Window offenses are counted in, seconds.
    pub offense_window_secs: u64,
    /// Repeat-offender memory, seconds (seed: 30 min).
    pub memory_secs: u64,
}

/// The behavioral layers' settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BehaviorConfig {
    pub score_mode: ScoreMode,
    /// IP rate (layer 0.5): scores by events per IP in `ip_rate_window_secs`, indexed by the
    /// count including this one (seed: 1 → 0, 2 → 25, 3 → 50, 4 → 75, 5+ → 100).
    pub ip_rate_scores: Vec<f64>,
    pub ip_rate_window_secs: u64,
    pub session_hopping: SessionHoppingConfig,
    pub velocity: VelocityConfig,
    pub token: TokenConfig,
    pub domainprint: DomainprintConfig,
    pub blacklist: BlacklistConfig,
}

/// The whole fraud configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FraudConfig {
    pub mode: Mode,
    pub risk: RiskConfig,
    pub weights: Weights,
    pub triggers: TriggerFloors,
    pub layers: LayerConfig,
    /// What each browser family shows on the wire (see [`super::browsers`]): read by the
    /// JA4 ↔ context component (transport and headers) and the headless one (client hints).
    pub browsers: BrowsersConfig,
    pub behavior: BehaviorConfig,
    /// JA4 → client of known non-browser tools (default: the non-browser rows of the
    /// vendored FoxIO sample): named as evidence in the JA4 ↔ context breakdown, worth no
    /// points; the family profiles decide.
    pub tool_ja4: BTreeMap<String, String>,
}

/// The vendored FoxIO sample (`shared/data/ja4/sample-ja4.csv`).
const SAMPLE_JA4: &str = include_str!("../../data/ja4/sample-ja4.csv");

/// Per-layer maximum scores of seed `000_…` ("8-Layer Fraud Detection": JA4 TLS 80, JA4 ↔
/// context 60+, structure 100, headless 100, VPN / datacenter 40, HTTP/2 100, WebRTC 100,
/// credential stuffing 70); the bot User-Agent check is capped at 100.
pub mod max {
    pub const JA4_TLS: f64 = 80.0;
    pub const JA4_CONTEXT: f64 = 60.0;
    pub const JA4_STRUCTURE: f64 = 100.0;
    pub const HEADLESS: f64 = 100.0;
    pub const DATACENTER: f64 = 40.0;
    pub const HTTP2: f64 = 100.0;
    pub const WEBRTC: f64 = 100.0;
    pub const CREDENTIAL_STUFFING: f64 = 70.0;
    pub const BOT_USER_AGENT: f64 = 100.0;
}

impl Default for FraudConfig {
    fn default() -> Self {
        let mut tool_ja4 = BTreeMap::new();
        for line in SAMPLE_JA4.lines().skip(1) {
            let cols: Vec<&str> = line.split(',').collect();
            if let [client, kind, ja4] = cols[..] {
                if kind != "browser" {
                    tool_ja4
                        .entry(ja4.trim().to_string())
                        .and_modify(|c: &mut String| {
                            c.push_str(" / ");
                            c.push_str(client)
                        })
                        .or_insert_with(|| client.to_string());
                }
            }
        }
        FraudConfig {
            mode: Mode::Enforce,
            risk: RiskConfig {
                medium: 30.0,
                high: 50.0,
                block_threshold: 70.0,
            },
            // The eight layers and the bot UA take 0.75; the behavioral layers 0.25, in the
            // proportions of seed 002 (IP rate 7 %, JA4 hopping 6 %, device velocity, token).
            weights: Weights {
                ja4_tls: 0.10,
                ja4_context: 0.11,
                ja4_structure: 0.06,
                headless: 0.11,
                datacenter: 0.06,
                http2: 0.07,
                webrtc: 0.06,
                credential_stuffing: 0.06,
                bot_user_agent: 0.12,
                ip_rate: 0.07,
                ja4_session_hopping: 0.06,
                visitor_velocity: 0.08,
                // The collector token's 0.04 is shared with the domainprint: both judge a
                // value we signed and the client returns.
                collector_token: 0.02,
                domainprint: 0.02,
            },
            triggers: TriggerFloors {
                bot_user_agent: 10.0,
                missing_user_agent: 5.0,
                // The TLS stack of another client under a browser User-Agent: critical.
                ja4_mismatch: 5.0,
                headless_browser: 5.0,
                automation: 5.0,
                credential_stuffing: 0.0,
                legacy_tls: -10.0,
                not_a_browser: -20.0,
                // Seed 002: ja4_session_hopping +5, ephemeral-id fraud / validation frequency 0,
                // ip_diversity +10; a token replay always forces 100.
                ja4_session_hopping: 5.0,
                visitor_velocity: 0.0,
                ip_diversity: 10.0,
                repeat_offender: 0.0,
                // High (captcha), not critical: the forged value is ignored.
                forged_domainprint: -20.0,
                // High: no browser of the family sends this, but nothing proves another client.
                browser_contradiction: -20.0,
            },
            layers: LayerConfig {
                ja4_tls: Ja4TlsConfig {
                    missing_ja4: 50.0,
                    legacy_tls: 80.0,
                },
                // The component's maximum is 60 (seed `000_…`): one decisive contradiction
                // reaches it; two others do.
                ja4_context: Ja4ContextConfig {
                    decisive_points: 60.0,
                    contradiction_points: 30.0,
                },
                ja4_structure: Ja4StructureConfig {
                    malformed: 60.0,
                    outdated_tls: 50.0,
                    no_sni: 40.0,
                    few_ciphers: 30.0,
                    min_ciphers: 6,
                    few_extensions: 30.0,
                    min_extensions: 8,
                    no_alpn: 20.0,
                },
                headless: HeadlessConfig {
                    headless_user_agent: 100.0,
                    missing_client_hints: 40.0,
                    generic_language: 15.0,
                    webdriver: 100.0,
                    no_plugins: 20.0,
                    no_languages: 20.0,
                    platform_mismatch: 30.0,
                    interaction: InteractionConfig {
                        synthetic_input: 60.0,
                        uniform_keystrokes: 50.0,
                        uniform_keys_min: 10,
                        uniform_keys_max_sd_ms: 3.0,
                        linear_pointer: 40.0,
                        linear_pointer_min_moves: 20,
                        linear_pointer_min_straightness: 0.99,
                        no_interaction_submission: 30.0,
                    },
                },
                datacenter: DatacenterConfig {
                    score: 40.0,
                    // Cloudflare, AWS (two), Google Cloud (two), Azure, DigitalOcean, Equinix Metal.
                    extra_asns: vec![13335, 16509, 14618, 15169, 396982, 8075, 14061, 54825],
                    privacy_relay_asns: vec![36183],
                    apple_relay_asns: vec![13335, 54113],
                },
                http2: Http2Config {
                    minimal_headers: 40.0,
                    min_browser_headers: 5,
                    alpn_version_mismatch: 30.0,
                },
                webrtc: WebRtcConfig {
                    public_host: 40.0,
                    several_public_ips: 30.0,
                    ipv6_leak: 20.0,
                    relay_only: 30.0,
                    ip_mismatch: 40.0,
                },
                credential_stuffing: CredentialStuffingConfig {
                    max_logins: 20,
                    window_secs: 3600,
                    score: 70.0,
                    per_ip: true,
                },
                bot_user_agent: BotUserAgentConfig {
                    known_bot: 100.0,
                    missing_user_agent: 80.0,
                    not_a_browser: 60.0,
                },
            },
            browsers: BrowsersConfig::default(),
            behavior: BehaviorConfig {
                score_mode: ScoreMode::Holistic,
                ip_rate_scores: vec![0.0, 25.0, 50.0, 75.0, 100.0],
                ip_rate_window_secs: 3600,
                session_hopping: SessionHoppingConfig {
                    cluster_min_visitors: 2,
                    cluster_window_secs: 3600,
                    rapid_global_min_visitors: 3,
                    rapid_window_secs: 300,
                    extended_global_min_visitors: 5,
                    extended_window_secs: 3600,
                    velocity_threshold_minutes: 10,
                    clustering_points: 80.0,
                    velocity_points: 60.0,
                    global_both_points: 50.0,
                    global_one_points: 40.0,
                    raw_max: 230.0,
                },
                velocity: VelocityConfig {
                    submission_events: vec!["signup".into(), "form_submit".into()],
                    max_submissions_24h: 2,
                    attempts_block: 3,
                    attempts_warn: 2,
                    attempts_warn_score: 60.0,
                    max_ips_24h: 2,
                },
                token: TokenConfig {
                    ttl_secs: 4 * 3600,
                    max_uses: 200,
                    missing_score: 30.0,
                },
                domainprint: DomainprintConfig {
                    unsigned: 30.0,
                    unknown_key: 20.0,
                    forged: 100.0,
                },
                blacklist: BlacklistConfig {
                    timeouts_secs: vec![3600, 14_400, 28_800, 43_200, 86_400],
                    offense_window_secs: 86_400,
                    memory_secs: 1800,
                },
            },
            tool_ja4,
        }
    }
}

impl FraudConfig {
    /// The defaults with a partial JSON override (`FRAUD_CONFIG`) applied and checked.
    ///
    /// # Errors
    /// A message naming an unknown key, a value of the wrong type or out of range.
    pub fn with_override(json: &str) -> Result<Self, String> {
        let mut base = serde_json::to_value(FraudConfig::default()).map_err(|e| e.to_string())?;
        let patch: serde_json::Value = serde_json::from_str(json).map_err(|e| format!("not JSON: {e}"))?;
        // The tool map may gain new entries; everything else must exist.
        let mut strict = patch.clone();
        for key in ["tool_ja4"] {
            if let Some(extra) = strict.as_object_mut().and_then(|o| o.remove(key)) {
                let map = extra.as_object().ok_or(format!("{key} must be an object"))?;
                for (k, v) in map {
                    base[key][k] = v.clone();
                }
            }
        }
        crate::conf::merge_json(&mut base, &strict)?;
        let c: FraudConfig = serde_json::from_value(base).map_err(|e| e.to_string())?;
        c.check()?;
        Ok(c)
    }

    /// Checks ranges: weights in 0–1 summing to at most 1, increasing level thresholds in
    /// 0–100, layer scores within the seed's per-layer maxima, floors within ±50.
    ///
    /// # Errors
    /// A message naming the first value out of range.
    pub fn check(&self) -> Result<(), String> {
        let w = &self.weights;
        let weights = [
            ("weights.ja4_tls", w.ja4_tls),
            ("weights.ja4_context", w.ja4_context),
            ("weights.ja4_structure", w.ja4_structure),
            ("weights.headless", w.headless),
            ("weights.datacenter", w.datacenter),
            ("weights.http2", w.http2),
            ("weights.webrtc", w.webrtc),
            ("weights.credential_stuffing", w.credential_stuffing),
            ("weights.bot_user_agent", w.bot_user_agent),
            ("weights.ip_rate", w.ip_rate),
            ("weights.ja4_session_hopping", w.ja4_session_hopping),
            ("weights.visitor_velocity", w.visitor_velocity),
            ("weights.collector_token", w.collector_token),
            ("weights.domainprint", w.domainprint),
        ];
        for (name, v) in weights {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("{name} = {v} is outside 0..=1"));
            }
        }
        let sum: f64 = weights.iter().map(|(_, v)| v).sum();
        if sum > 1.0 + 1e-9 {
            return Err(format!("the weights add up to {sum:.3}; at most 1"));
        }
        let r = &self.risk;
        if !(0.0 < r.medium && r.medium < r.high && r.high < r.block_threshold && r.block_threshold <= 100.0) {
            return Err("risk thresholds must satisfy 0 < medium < high < block_threshold <= 100".into());
        }
        let l = &self.layers;
        let in_range = |name: &str, v: f64, max: f64| {
            if (0.0..=max).contains(&v) {
                Ok(())
            } else {
                Err(format!("layers.{name} = {v} is outside 0..={max}"))
            }
        };
        for (name, v) in [
            ("ja4_tls.missing_ja4", l.ja4_tls.missing_ja4),
            ("ja4_tls.legacy_tls", l.ja4_tls.legacy_tls),
        ] {
            in_range(name, v, max::JA4_TLS)?;
        }
        for (name, v) in [
            ("ja4_context.decisive_points", l.ja4_context.decisive_points),
            ("ja4_context.contradiction_points", l.ja4_context.contradiction_points),
        ] {
            in_range(name, v, max::JA4_CONTEXT)?;
        }
        self.browsers.check()?;
        in_range("datacenter.score", l.datacenter.score, max::DATACENTER)?;
        in_range(
            "credential_stuffing.score",
            l.credential_stuffing.score,
            max::CREDENTIAL_STUFFING,
        )?;
        for (name, v) in [
            ("ja4_structure.malformed", l.ja4_structure.malformed),
            ("ja4_structure.outdated_tls", l.ja4_structure.outdated_tls),
            ("ja4_structure.no_sni", l.ja4_structure.no_sni),
            ("ja4_structure.few_ciphers", l.ja4_structure.few_ciphers),
            ("ja4_structure.few_extensions", l.ja4_structure.few_extensions),
            ("ja4_structure.no_alpn", l.ja4_structure.no_alpn),
            ("headless.headless_user_agent", l.headless.headless_user_agent),
            ("headless.missing_client_hints", l.headless.missing_client_hints),
            ("headless.generic_language", l.headless.generic_language),
            ("headless.webdriver", l.headless.webdriver),
            ("headless.no_plugins", l.headless.no_plugins),
            ("headless.no_languages", l.headless.no_languages),
            ("headless.platform_mismatch", l.headless.platform_mismatch),
            (
                "headless.interaction.synthetic_input",
                l.headless.interaction.synthetic_input,
            ),
            (
                "headless.interaction.uniform_keystrokes",
                l.headless.interaction.uniform_keystrokes,
            ),
            (
                "headless.interaction.linear_pointer",
                l.headless.interaction.linear_pointer,
            ),
            (
                "headless.interaction.no_interaction_submission",
                l.headless.interaction.no_interaction_submission,
            ),
            ("http2.minimal_headers", l.http2.minimal_headers),
            ("http2.alpn_version_mismatch", l.http2.alpn_version_mismatch),
            ("webrtc.public_host", l.webrtc.public_host),
            ("webrtc.several_public_ips", l.webrtc.several_public_ips),
            ("webrtc.ipv6_leak", l.webrtc.ipv6_leak),
            ("webrtc.relay_only", l.webrtc.relay_only),
            ("webrtc.ip_mismatch", l.webrtc.ip_mismatch),
            ("bot_user_agent.known_bot", l.bot_user_agent.known_bot),
            ("bot_user_agent.missing_user_agent", l.bot_user_agent.missing_user_agent),
            ("bot_user_agent.not_a_browser", l.bot_user_agent.not_a_browser),
        ] {
            in_range(name, v, 100.0)?;
        }
        if l.credential_stuffing.window_secs == 0 {
            return Err("layers.credential_stuffing.window_secs must be above 0".into());
        }
        let i = &l.headless.interaction;
        if !(0.0..=1.0).contains(&i.linear_pointer_min_straightness)
            || !(0.0..=f64::MAX).contains(&i.uniform_keys_max_sd_ms)
        {
            return Err(
                "layers.headless.interaction: linear_pointer_min_straightness within 0..=1, uniform_keys_max_sd_ms at least 0"
                    .into(),
            );
        }
        if i.uniform_keys_min < 2 || i.linear_pointer_min_moves < 2 {
            return Err("layers.headless.interaction: uniform_keys_min and linear_pointer_min_moves at least 2".into());
        }
        let t = &self.triggers;
        for (name, v) in [
            ("bot_user_agent", t.bot_user_agent),
            ("missing_user_agent", t.missing_user_agent),
            ("ja4_mismatch", t.ja4_mismatch),
            ("headless_browser", t.headless_browser),
            ("automation", t.automation),
            ("credential_stuffing", t.credential_stuffing),
            ("legacy_tls", t.legacy_tls),
            ("not_a_browser", t.not_a_browser),
            ("ja4_session_hopping", t.ja4_session_hopping),
            ("visitor_velocity", t.visitor_velocity),
            ("ip_diversity", t.ip_diversity),
            ("repeat_offender", t.repeat_offender),
            ("forged_domainprint", t.forged_domainprint),
            ("browser_contradiction", t.browser_contradiction),
        ] {
            if !(-50.0..=50.0).contains(&v) {
                return Err(format!("triggers.{name} = {v} is outside -50..=50"));
            }
        }
        let b = &self.behavior;
        if b.ip_rate_scores.is_empty() || b.ip_rate_scores.iter().any(|v| !(0.0..=100.0).contains(v)) {
            return Err("behavior.ip_rate_scores: one or more scores within 0..=100".into());
        }
        if b.blacklist.timeouts_secs.is_empty() || b.blacklist.timeouts_secs.windows(2).any(|w| w[0] > w[1]) {
            return Err("behavior.blacklist.timeouts_secs: one or more, not decreasing".into());
        }
        let s = &b.session_hopping;
        for (name, v) in [
            ("cluster_window_secs", s.cluster_window_secs),
            ("rapid_window_secs", s.rapid_window_secs),
            ("extended_window_secs", s.extended_window_secs),
            ("cluster_min_visitors", s.cluster_min_visitors),
        ] {
            if v == 0 {
                return Err(format!("behavior.session_hopping.{name} must be above 0"));
            }
        }
        if s.extended_window_secs > 86_400 || s.cluster_window_secs > 86_400 || s.raw_max <= 0.0 {
            return Err("behavior.session_hopping: windows at most 86400 s, raw_max above 0".into());
        }
        let d = &b.domainprint;
        if [d.unsigned, d.unknown_key, d.forged]
            .iter()
            .any(|v| !(0.0..=100.0).contains(v))
        {
            return Err("behavior.domainprint: scores within 0..=100".into());
        }
        if b.token.ttl_secs == 0 || b.token.max_uses == 0 {
            return Err("behavior.token: ttl_secs and max_uses above 0".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_come_from_the_vendored_sample() {
        let c = FraudConfig::default();
        c.check().unwrap();
        assert_eq!(c.tool_ja4["t13d181000_85036bcba153_d41ae481755e"], "Python");
        assert_eq!(
            c.tool_ja4["t13d190900_9dc949149365_97f8aa674fd9"],
            "GoLang / Sliver Agent"
        );
        let sum = c.weights.ja4_tls
            + c.weights.ja4_context
            + c.weights.ja4_structure
            + c.weights.headless
            + c.weights.datacenter
            + c.weights.http2
            + c.weights.webrtc
            + c.weights.credential_stuffing
            + c.weights.bot_user_agent
            + c.weights.ip_rate
            + c.weights.ja4_session_hopping
            + c.weights.visitor_velocity
            + c.weights.collector_token
            + c.weights.domainprint;
        assert!((sum - 1.0).abs() < 1e-9);
    }

    #[test]
    fn overrides_merge_and_bad_values_are_refused() {
        let c = FraudConfig::with_override(r#"{"mode": "observe", "risk": {"block_threshold": 80}}"#).unwrap();
        assert_eq!(c.mode, Mode::Observe);
        assert_eq!(c.risk.block_threshold, 80.0);
        assert_eq!(c.risk.medium, 30.0);
        let c =
            FraudConfig::with_override(r#"{"tool_ja4": {"t13d0000h2_000000000000_000000000000": "MyBot"}}"#).unwrap();
        assert_eq!(c.tool_ja4.len(), 3);
        for (bad, needle) in [
            (r#"{"risk": {"blockThreshold": 80}}"#, "blockThreshold"),
            (r#"{"weights": {"ja4_tls": 1.5}}"#, "weights.ja4_tls"),
            (r#"{"weights": {"bot_user_agent": 0.9}}"#, "add up"),
            (r#"{"risk": {"medium": 60}}"#, "medium < high"),
            (r#"{"layers": {"datacenter": {"score": 50}}}"#, "datacenter.score"),
            (r#"{"mode": "panic"}"#, "variant"),
        ] {
            let e = FraudConfig::with_override(bad).unwrap_err();
            assert!(e.contains(needle), "{bad}: {e}");
        }
    }
}
