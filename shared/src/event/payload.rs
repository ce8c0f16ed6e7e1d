#![doc = include_str!("../docs/payload.md")]

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Longest accepted URL (`url`, `referrer`), bytes.
pub const MAX_URL_BYTES: usize = 2048;
/// Most keys in `properties`.
pub const MAX_PROPERTIES: usize = 50;
/// Deepest nesting inside `properties` (an object or array inside an object inside …).
pub const MAX_PROPERTY_DEPTH: usize = 3;
/// Largest `digitalData` object, bytes of JSON.
pub const MAX_DIGITAL_DATA_BYTES: usize = 8 * 1024;
/// Deepest nesting inside `digitalData`.
pub const MAX_DIGITAL_DATA_DEPTH: usize = 8;
/// Most keys in `components`.
pub const MAX_COMPONENTS: usize = 48;
/// Longest `messageId`, characters.
pub const MAX_MESSAGE_ID: usize = 64;
/// Longest forwarded `userAgent`, characters.
pub const MAX_FORWARDED_USER_AGENT: usize = 512;
/// Longest forwarded `acceptLanguage`, characters.
pub const MAX_FORWARDED_ACCEPT_LANGUAGE: usize = 256;
/// The event name used when a client names none.
pub const DEFAULT_EVENT_NAME: &str = "page_view";

/// A field that failed validation: which one and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct FieldError {
    /// The field's name as the client sends it (e.g. `organizationId`), or the path of the
    /// value inside it (e.g. `properties.items[2].price`).
    pub field: std::borrow::Cow<'static, str>,
    /// What is wrong with it.
    pub reason: String,
}

impl FieldError {
    /// A field error.
    pub fn new(field: impl Into<std::borrow::Cow<'static, str>>, reason: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Earliest accepted `timestamp`: 2000-01-01T00:00:00Z, ms.
pub const MIN_CLIENT_TS_MS: u64 = 946_684_800_000;
/// Latest accepted `timestamp`: 2100-01-01T00:00:00Z, ms (far beyond any clock skew, and
/// within int64 for every consumer).
pub const MAX_CLIENT_TS_MS: u64 = 4_102_444_800_000;

/// The JSON event posted to `/t` by the collector script.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrackPayload {
    pub organization_id: Option<String>,
    pub event: Option<String>,
    pub url: Option<String>,
    pub referrer: Option<String>,
    pub title: Option<String>,
    pub fingerprint: Option<String>,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    #[serde(default, deserialize_with = "super::json::strict_object")]
    pub properties: Option<Map<String, Value>>,
    pub timestamp: Option<u64>,
    /// The domainprint, when the script could not use cookies (the cookie wins).
    pub domainprint: Option<String>,
    /// The behavioral signature from `/h-pro.js`.
    pub behavioral_signature: Option<String>,
    /// Automation and WebRTC signals the collector gathered.
    pub signals: Option<crate::fraud::ClientSignals>,
    /// The collector token the generated script carries.
    pub token: Option<String>,
    /// The fingerprint components the collector measured (canvas, WebGL, audio, fonts,
    /// screen, time zone, …), kept with the event.
    #[serde(default, deserialize_with = "super::json::strict_object")]
    pub components: Option<Map<String, Value>>,
    /// The page's W3C CEDDL `window.digitalData` (starter plan and up).
    #[serde(default, deserialize_with = "super::json::strict_object")]
    pub digital_data: Option<Map<String, Value>>,
    /// The end user's request as the organization's server saw it: required on server-side
    /// calls, refused on any other (a browser must not claim an address).
    pub forwarded: Option<ForwardedPayload>,
    /// The sender's id of this message, the same on every retry (the collector draws one
    /// per event): a repeat within the dedupe window is answered, not stored again.
    pub message_id: Option<String>,
    /// The visitor's consent as the page gave it (`impressio.consent({…})`); absent when the
    /// page manages consent itself.
    pub consent: Option<Consent>,
}

/// The visitor's consent, as the page told the collector (`impressio.consent({analytics,
/// fraud, adUserData, adPersonalization})`), stored on the event.
///
/// - `fraud` false: the collector sends nothing that identifies (no fingerprint, components,
///   domainprint, behavioral signature, user or GA4 client id, WebRTC candidates, no cookies),
///   and the edge identifies no one: the event gets a visitor id of its own, linked to
///   nothing, and no domainprint cookie;
/// - `analytics` false: the processor does not forward the event to GA4;
/// - `ad_user_data` / `ad_personalization`, when given, are forwarded to GA4 as its
///   Measurement Protocol `consent` fields (`GRANTED` / `DENIED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Consent {
    pub analytics: bool,
    pub fraud: bool,
    #[serde(default, alias = "adUserData", skip_serializing_if = "Option::is_none")]
    pub ad_user_data: Option<bool>,
    #[serde(default, alias = "adPersonalization", skip_serializing_if = "Option::is_none")]
    pub ad_personalization: Option<bool>,
}

impl Consent {
    /// Whether the event may identify its visitor (no consent given: the page's own choice).
    pub fn allows_identification(consent: Option<&Consent>) -> bool {
        consent.is_none_or(|c| c.fraud)
    }
}

/// `forwarded` as a server-side call sends it (validated into [`Forwarded`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ForwardedPayload {
    /// The end user's IP address, e.g. `203.0.113.7` or `2001:db8::7`.
    pub ip: Option<String>,
    /// The end user's `User-Agent` header.
    pub user_agent: Option<String>,
    /// The end user's `Accept-Language` header.
    pub accept_language: Option<String>,
}

/// The end user of a server-side event, validated: what the edge uses in place of the
/// request's own address and headers, which describe the organization's server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forwarded {
    /// The end user's address (an IPv4-mapped IPv6 address is given as IPv4).
    pub ip: std::net::IpAddr,
    /// The end user's `User-Agent`, 1–512 characters.
    pub user_agent: String,
    /// The end user's `Accept-Language`, at most 256 characters.
    pub accept_language: Option<String>,
}

impl ForwardedPayload {
    /// Validates the three fields (rules in the module documentation).
    ///
    /// # Errors
    /// [`FieldError`] naming `forwarded.ip`, `forwarded.userAgent` or
    /// `forwarded.acceptLanguage`.
    pub fn validate(self) -> Result<Forwarded, FieldError> {
        let ip = self
            .ip
            .filter(|s| !s.is_empty())
            .ok_or_else(|| FieldError::new("forwarded.ip", "is required"))?;
        let ip: std::net::IpAddr = ip.parse().map_err(|_| {
            FieldError::new(
                "forwarded.ip",
                "must be an IPv4 address (203.0.113.7) or an IPv6 address (2001:db8::7), without port or brackets",
            )
        })?;
        let ip = ip.to_canonical();
        let unusable =
            ip.is_unspecified() || ip.is_multicast() || matches!(ip, std::net::IpAddr::V4(v4) if v4.is_broadcast());
        if unusable {
            return Err(FieldError::new(
                "forwarded.ip",
                "must be the address of a host (not unspecified, multicast or broadcast)",
            ));
        }
        let user_agent = opt_text("forwarded.userAgent", self.user_agent, MAX_FORWARDED_USER_AGENT)?
            .ok_or_else(|| FieldError::new("forwarded.userAgent", "is required"))?;
        let accept_language = match self.accept_language.filter(|s| !s.is_empty()) {
            Some(l) if l.len() > MAX_FORWARDED_ACCEPT_LANGUAGE || !l.bytes().all(|b| (b' '..=b'~').contains(&b)) => {
                return Err(FieldError::new(
                    "forwarded.acceptLanguage",
                    format!("must be at most {MAX_FORWARDED_ACCEPT_LANGUAGE} visible ASCII characters"),
                ))
            }
            l => l,
        };
        Ok(Forwarded {
            ip,
            user_agent,
            accept_language,
        })
    }
}

/// A [`TrackPayload`] whose every field passed validation.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidEvent {
    pub organization_id: String,
    pub event_name: String,
    pub url: Option<url::Url>,
    pub referrer: Option<url::Url>,
    pub title: Option<String>,
    pub fingerprint: Option<String>,
    pub user_id: Option<String>,
    pub ga4_client_id: Option<String>,
    pub properties: Option<Map<String, Value>>,
    pub client_ts: Option<u64>,
    /// Identity inputs checked by `identity::inputs` (format rules there).
    pub domainprint: Option<String>,
    pub behavioral_signature: Option<String>,
    /// The collector's signals for the fraud layers (sizes checked).
    pub signals: Option<crate::fraud::ClientSignals>,
    /// The collector token (at most 256 characters; checked by the behavioral layers).
    pub token: Option<String>,
    /// Fingerprint components (shape checked).
    pub components: Option<Map<String, Value>>,
    /// The page's data layer (size and depth checked; the plan is checked by the route).
    pub digital_data: Option<Map<String, Value>>,
    /// The end user of a server-side event (checked; whether the call may carry it is the
    /// route's decision).
    pub forwarded: Option<Forwarded>,
    /// The sender's message id (format checked), by which retries are recognized.
    pub message_id: Option<String>,
    /// The visitor's consent, when the page gave it.
    pub consent: Option<Consent>,
}

impl TrackPayload {
    /// Validates every field (rules in the module documentation).
    ///
    /// # Errors
    /// The first [`FieldError`] found, in field order.
    pub fn validate(self) -> Result<ValidEvent, FieldError> {
        Ok(ValidEvent {
            organization_id: organization_id(self.organization_id)?,
            event_name: event_name(self.event)?,
            url: opt_url("url", self.url)?,
            referrer: opt_url("referrer", self.referrer)?,
            title: opt_text("title", self.title, 512)?,
            fingerprint: opt_token("fingerprint", self.fingerprint, 128)?,
            user_id: opt_text("userId", self.user_id, 256)?,
            ga4_client_id: opt_client_id(self.client_id)?,
            properties: properties(self.properties)?,
            client_ts: client_ts(self.timestamp)?,
            domainprint: domainprint(self.domainprint)?,
            behavioral_signature: behavioral_signature(self.behavioral_signature)?,
            token: match self.token.filter(|t| !t.is_empty()) {
                Some(t) if t.len() > 256 || !t.is_ascii() => {
                    return Err(FieldError::new("token", "must be at most 256 ASCII characters"))
                }
                t => t,
            },
            signals: match self.signals {
                Some(s) => {
                    s.check().map_err(|reason| FieldError::new("signals", reason))?;
                    Some(s)
                }
                None => None,
            },
            components: components(self.components)?,
            digital_data: digital_data(self.digital_data)?,
            forwarded: self.forwarded.map(ForwardedPayload::validate).transpose()?,
            message_id: opt_token("messageId", self.message_id, MAX_MESSAGE_ID)?,
            consent: self.consent,
        })
    }
}

impl ValidEvent {
    /// Drops every field that identifies the visitor (what the collector leaves out without
    /// fraud consent; an event that carries them anyway is not trusted to have asked).
    pub fn without_identifiers(mut self) -> Self {
        self.fingerprint = None;
        self.components = None;
        self.domainprint = None;
        self.behavioral_signature = None;
        self.user_id = None;
        self.ga4_client_id = None;
        if let Some(s) = self.signals.as_mut() {
            s.webrtc_candidates = None;
        }
        self
    }
}

/// The campaign document posted to `/c`: page and referrer plus any UTM parameters and click
/// ids the page saw (as flat fields named like the URL parameters, e.g. `utm_source`,
/// `gclid`). Values given here win over the same parameters found in `url`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CampaignPayload {
    #[serde(rename = "organizationId")]
    pub organization_id: Option<String>,
    pub url: Option<String>,
    pub referrer: Option<String>,
    pub fingerprint: Option<String>,
    #[serde(rename = "userId")]
    pub user_id: Option<String>,
    #[serde(rename = "clientId")]
    pub client_id: Option<String>,
    pub timestamp: Option<u64>,
    /// The sender's id of this message, as on `/t`.
    #[serde(rename = "messageId")]
    pub message_id: Option<String>,
    /// UTM parameters and click ids, checked against the known names.
    #[serde(flatten, deserialize_with = "super::json::strict_flat_map")]
    pub params: std::collections::BTreeMap<String, Value>,
}

impl CampaignPayload {
    /// Validates the common fields and returns them as an event named `campaign`, with the
    /// campaign parameters (names already checked, values as strings of at most 256 bytes).
    ///
    /// # Errors
    /// [`FieldError`] for a bad common field, an unknown parameter name or a bad value.
    pub fn validate(self) -> Result<(ValidEvent, Vec<(String, String)>), FieldError> {
        let mut params = Vec::with_capacity(self.params.len());
        for (name, value) in self.params {
            let Some(field) = super::attribution::known_param(&name) else {
                return Err(FieldError::new(
                    "params",
                    format!("unknown field `{name}`: expected a UTM parameter or a click id"),
                ));
            };
            let text = match value {
                Value::String(s) => s,
                Value::Number(n) => n.to_string(),
                Value::Null => continue,
                _ => return Err(FieldError::new(field, "must be a string")),
            };
            if let Some(text) = opt_text(field, Some(text), 256)? {
                params.push((name, text));
            }
        }
        let event = TrackPayload {
            organization_id: self.organization_id,
            event: Some("campaign".into()),
            url: self.url,
            referrer: self.referrer,
            fingerprint: self.fingerprint,
            user_id: self.user_id,
            client_id: self.client_id,
            timestamp: self.timestamp,
            message_id: self.message_id,
            ..TrackPayload::default()
        }
        .validate()?;
        Ok((event, params))
    }
}

/// The tracking pixel's query parameters: the same names as the `/t` JSON fields
/// (`organizationId`, `event`, `url`, `referrer`, `title`, `fingerprint`, `userId`,
/// `clientId`, `messageId`, `timestamp`); any other parameter becomes a string property.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PixelParams(pub Vec<(String, String)>);

impl PixelParams {
    /// Validates the parameters as a [`TrackPayload`].
    ///
    /// # Errors
    /// [`FieldError`] for the first bad field (e.g. a `timestamp` that is not a number).
    pub fn validate(self) -> Result<ValidEvent, FieldError> {
        let mut p = TrackPayload::default();
        let mut props = Map::new();
        for (k, v) in self.0 {
            let v_opt = Some(v.clone()).filter(|s| !s.is_empty());
            match k.as_str() {
                "organizationId" => p.organization_id = v_opt,
                "event" => p.event = v_opt,
                "url" => p.url = v_opt,
                "referrer" => p.referrer = v_opt,
                "title" => p.title = v_opt,
                "fingerprint" => p.fingerprint = v_opt,
                "userId" => p.user_id = v_opt,
                "clientId" => p.client_id = v_opt,
                "messageId" => p.message_id = v_opt,
                "timestamp" => {
                    p.timestamp = match v_opt {
                        None => None,
                        Some(t) => Some(t.parse().map_err(|_| {
                            FieldError::new("timestamp", "must be whole milliseconds since the Unix epoch")
                        })?),
                    }
                }
                _ => {
                    props.insert(k, Value::String(v));
                }
            }
        }
        if !props.is_empty() {
            p.properties = Some(props);
        }
        p.validate()
    }
}

fn client_ts(v: Option<u64>) -> Result<Option<u64>, FieldError> {
    match v {
        Some(t) if !(MIN_CLIENT_TS_MS..=MAX_CLIENT_TS_MS).contains(&t) => Err(FieldError::new(
            "timestamp",
            format!("must be ms since the Unix epoch between {MIN_CLIENT_TS_MS} (2000-01-01) and {MAX_CLIENT_TS_MS} (2100-01-01)"),
        )),
        t => Ok(t),
    }
}

/// Refuses the first number or key of a free-form value that cannot be stored as sent (see
/// [`super::json`]), naming its path under `field`.
fn storable(field: &'static str, map: &Map<String, Value>) -> Result<(), FieldError> {
    let value = Value::Object(map.clone());
    if let Some((path, why)) = super::json::check_numbers(field, &value) {
        return Err(FieldError::new(path, why));
    }
    if let Some((path, why)) = super::json::check_keys(field, &value) {
        return Err(FieldError::new(path, why));
    }
    Ok(())
}

fn organization_id(v: Option<String>) -> Result<String, FieldError> {
    let v = v
        .filter(|s| !s.is_empty())
        .ok_or_else(|| FieldError::new("organizationId", "is required"))?;
    if v.len() > 64 || !v.bytes().all(is_token_byte) {
        return Err(FieldError::new(
            "organizationId",
            "must be 1-64 characters of letters, digits, '_' or '-'",
        ));
    }
    Ok(v)
}

fn event_name(v: Option<String>) -> Result<String, FieldError> {
    let Some(v) = v.filter(|s| !s.is_empty()) else {
        return Ok(DEFAULT_EVENT_NAME.to_string());
    };
    let b = v.as_bytes();
    let ok = b.len() <= 40 && b[0].is_ascii_alphabetic() && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_');
    if !ok {
        return Err(FieldError::new(
            "event",
            "must start with a letter and use only letters, digits and '_' (at most 40)",
        ));
    }
    Ok(v)
}

fn opt_url(field: &'static str, v: Option<String>) -> Result<Option<url::Url>, FieldError> {
    let Some(v) = v.filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if v.len() > MAX_URL_BYTES {
        return Err(FieldError::new(field, format!("longer than {MAX_URL_BYTES} bytes")));
    }
    let u = url::Url::parse(&v).map_err(|e| FieldError::new(field, format!("not an absolute URL: {e}")))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(FieldError::new(field, "must be an http or https URL"));
    }
    Ok(Some(u))
}

fn opt_text(field: &'static str, v: Option<String>, max_chars: usize) -> Result<Option<String>, FieldError> {
    let Some(v) = v.filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if v.chars().count() > max_chars {
        return Err(FieldError::new(field, format!("longer than {max_chars} characters")));
    }
    if v.chars().any(char::is_control) {
        return Err(FieldError::new(field, "must not contain control characters"));
    }
    Ok(Some(v))
}

fn opt_token(field: &'static str, v: Option<String>, max: usize) -> Result<Option<String>, FieldError> {
    let Some(v) = v.filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if v.len() > max || !v.bytes().all(is_token_byte) {
        return Err(FieldError::new(
            field,
            format!("must be 1-{max} characters of letters, digits, '_' or '-'"),
        ));
    }
    Ok(Some(v))
}

fn opt_client_id(v: Option<String>) -> Result<Option<String>, FieldError> {
    let Some(v) = v.filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let ok = v.len() <= 64
        && v.split_once('.').is_some_and(|(a, b)| {
            !a.is_empty()
                && !b.is_empty()
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.bytes().all(|c| c.is_ascii_digit())
        });
    if !ok {
        return Err(FieldError::new(
            "clientId",
            "must be a GA4 client id: <digits>.<digits>",
        ));
    }
    Ok(Some(v))
}

/// The collector's copy of the domainprint: 1–128 of `A–Z a–z 0–9 _ . -` (whether it is ours
/// is the identity resolver's question).
fn domainprint(v: Option<String>) -> Result<Option<String>, FieldError> {
    match v.filter(|s| !s.is_empty()) {
        Some(d) if !crate::identity::inputs::plausible_domainprint(&d) => Err(FieldError::new(
            "domainprint",
            "must be 1-128 characters of letters, digits, '_', '.' or '-'",
        )),
        v => Ok(v),
    }
}

/// `/h-pro.js`'s signature: 8–128 of `A–Z a–z 0–9 _ . -`.
fn behavioral_signature(v: Option<String>) -> Result<Option<String>, FieldError> {
    match v.filter(|s| !s.is_empty()) {
        Some(b)
            if !((8..=128).contains(&b.len())
                && b.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))) =>
        {
            Err(FieldError::new(
                "behavioralSignature",
                "must be 8-128 characters of letters, digits, '_', '.' or '-'",
            ))
        }
        v => Ok(v),
    }
}

fn properties(v: Option<Map<String, Value>>) -> Result<Option<Map<String, Value>>, FieldError> {
    let Some(map) = v else { return Ok(None) };
    if map.len() > MAX_PROPERTIES {
        return Err(FieldError::new(
            "properties",
            format!("more than {MAX_PROPERTIES} keys"),
        ));
    }
    for (k, v) in &map {
        if depth(v) > MAX_PROPERTY_DEPTH {
            return Err(FieldError::new(
                "properties",
                format!(
                    "`{}` is nested deeper than {MAX_PROPERTY_DEPTH} levels",
                    k.escape_debug()
                ),
            ));
        }
    }
    storable("properties", &map)?;
    Ok(if map.is_empty() { None } else { Some(map) })
}

fn digital_data(v: Option<Map<String, Value>>) -> Result<Option<Map<String, Value>>, FieldError> {
    let Some(map) = v else { return Ok(None) };
    let bytes = serde_json::to_vec(&map).map(|b| b.len()).unwrap_or(usize::MAX);
    if bytes > MAX_DIGITAL_DATA_BYTES {
        return Err(FieldError::new(
            "digitalData",
            format!("{bytes} bytes of JSON; at most {MAX_DIGITAL_DATA_BYTES}"),
        ));
    }
    if map.values().any(|v| depth(v) >= MAX_DIGITAL_DATA_DEPTH) {
        return Err(FieldError::new(
            "digitalData",
            format!("nested deeper than {MAX_DIGITAL_DATA_DEPTH} levels"),
        ));
    }
    storable("digitalData", &map)?;
    Ok(if map.is_empty() { None } else { Some(map) })
}

fn components(v: Option<Map<String, Value>>) -> Result<Option<Map<String, Value>>, FieldError> {
    let Some(map) = v else { return Ok(None) };
    let err = |reason: String| FieldError::new("components", reason);
    if map.len() > MAX_COMPONENTS {
        return Err(err(format!("more than {MAX_COMPONENTS} keys")));
    }
    let scalar = |v: &Value, max: usize| match v {
        Value::Null | Value::Bool(_) | Value::Number(_) => true,
        Value::String(s) => s.chars().count() <= max,
        _ => false,
    };
    for (k, v) in &map {
        if k.is_empty() || k.len() > 40 || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(err(format!("`{k}` is not a key of 1-40 letters, digits or _")));
        }
        let ok = match v {
            Value::Array(items) => items.len() <= 64 && items.iter().all(|i| scalar(i, 128)),
            other => scalar(other, 512),
        };
        if !ok {
            return Err(err(format!(
                "`{k}` must be a scalar (strings up to 512 characters) or up to 64 scalars (strings up to 128)"
            )));
        }
    }
    storable("components", &map)?;
    Ok(if map.is_empty() { None } else { Some(map) })
}

fn depth(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn track(v: Value) -> Result<ValidEvent, FieldError> {
        serde_json::from_value::<TrackPayload>(v).unwrap().validate()
    }

    #[test]
    fn fingerprint_components_are_kept() {
        let e = track(json!({"organizationId": "o", "components": {
            "canvas": "a1b2", "screen": [1920, 1080, 24], "touch": false, "deviceMemory": null,
            "fonts": ["Arial", "DejaVu Sans"]}}))
        .unwrap();
        let c = e.components.unwrap();
        assert_eq!(c["screen"], json!([1920, 1080, 24]));
        assert_eq!(c.len(), 5);
    }

    #[test]
    fn minimal_event_defaults_to_page_view() {
        let e = track(json!({"organizationId": "org_1"})).unwrap();
        assert_eq!(e.event_name, "page_view");
        assert_eq!(e.organization_id, "org_1");
    }

    #[test]
    fn each_field_rule_is_enforced() {
        let bad = [
            (json!({}), "organizationId"),
            (json!({"organizationId": "a b"}), "organizationId"),
            (json!({"organizationId": "o", "event": "1st"}), "event"),
            (json!({"organizationId": "o", "event": "a".repeat(41)}), "event"),
            (json!({"organizationId": "o", "url": "/relative"}), "url"),
            (json!({"organizationId": "o", "url": "javascript:alert(1)"}), "url"),
            (
                json!({"organizationId": "o", "url": format!("https://a.b/{}", "x".repeat(2048))}),
                "url",
            ),
            (json!({"organizationId": "o", "referrer": "ftp://x"}), "referrer"),
            (json!({"organizationId": "o", "userId": "a\u{0}b"}), "userId"),
            (json!({"organizationId": "o", "fingerprint": "f/p"}), "fingerprint"),
            (json!({"organizationId": "o", "messageId": "a b"}), "messageId"),
            (json!({"organizationId": "o", "messageId": "m".repeat(65)}), "messageId"),
            (
                json!({"organizationId": "o", "components": {"bad key": 1}}),
                "components",
            ),
            (
                json!({"organizationId": "o", "components": {"canvas": {"nested": 1}}}),
                "components",
            ),
            (
                json!({"organizationId": "o", "components": {"fonts": vec!["x"; 65]}}),
                "components",
            ),
            (
                json!({"organizationId": "o", "components": {"webgl": "x".repeat(513)}}),
                "components",
            ),
            (json!({"organizationId": "o", "clientId": "GA1.1.12.34"}), "clientId"),
            (
                json!({"organizationId": "o", "properties": {"a": [[[[1]]]]}}),
                "properties",
            ),
        ];
        for (payload, field) in bad {
            assert_eq!(track(payload.clone()).unwrap_err().field, field, "{payload}");
        }
        let many: Map<String, Value> = (0..51).map(|i| (format!("k{i}"), json!(i))).collect();
        assert_eq!(
            track(json!({"organizationId": "o", "properties": many}))
                .unwrap_err()
                .field,
            "properties"
        );
    }

    #[test]
    fn forwarded_end_users_are_validated() {
        let e = track(json!({"organizationId": "o", "forwarded": {"ip": "::ffff:203.0.113.7",
            "userAgent": "Mozilla/5.0 (X11; Linux x86_64) Caf\u{e9}", "acceptLanguage": "fr-FR,fr;q=0.9"}}))
        .unwrap();
        let f = e.forwarded.unwrap();
        assert_eq!(
            f.ip,
            "203.0.113.7".parse::<std::net::IpAddr>().unwrap(),
            "IPv4-mapped is IPv4"
        );
        assert_eq!(f.user_agent, "Mozilla/5.0 (X11; Linux x86_64) Caf\u{e9}");
        assert_eq!(f.accept_language.as_deref(), Some("fr-FR,fr;q=0.9"));
        let v6 = track(json!({"organizationId": "o", "forwarded": {"ip": "2001:db8::7", "userAgent": "curl/8"}}));
        assert_eq!(v6.unwrap().forwarded.unwrap().accept_language, None);
        assert!(track(json!({"organizationId": "o"})).unwrap().forwarded.is_none());

        let fwd = |f: Value| json!({"organizationId": "o", "forwarded": f});
        let ua = "Mozilla/5.0";
        let bad = [
            (fwd(json!({"userAgent": ua})), "forwarded.ip"),
            (fwd(json!({"ip": "", "userAgent": ua})), "forwarded.ip"),
            (fwd(json!({"ip": "203.0.113.999", "userAgent": ua})), "forwarded.ip"),
            (fwd(json!({"ip": "203.0.113.7:443", "userAgent": ua})), "forwarded.ip"),
            (fwd(json!({"ip": "[2001:db8::7]", "userAgent": ua})), "forwarded.ip"),
            (fwd(json!({"ip": "example.com", "userAgent": ua})), "forwarded.ip"),
            (fwd(json!({"ip": "0.0.0.0", "userAgent": ua})), "forwarded.ip"),
            (fwd(json!({"ip": "::", "userAgent": ua})), "forwarded.ip"),
            (fwd(json!({"ip": "224.0.0.1", "userAgent": ua})), "forwarded.ip"),
            (fwd(json!({"ip": "255.255.255.255", "userAgent": ua})), "forwarded.ip"),
            (fwd(json!({"ip": "203.0.113.7"})), "forwarded.userAgent"),
            (
                fwd(json!({"ip": "203.0.113.7", "userAgent": ""})),
                "forwarded.userAgent",
            ),
            (
                fwd(json!({"ip": "203.0.113.7", "userAgent": "x".repeat(513)})),
                "forwarded.userAgent",
            ),
            (
                fwd(json!({"ip": "203.0.113.7", "userAgent": "a\nb"})),
                "forwarded.userAgent",
            ),
            (
                fwd(json!({"ip": "203.0.113.7", "userAgent": ua, "acceptLanguage": "x".repeat(257)})),
                "forwarded.acceptLanguage",
            ),
            (
                fwd(json!({"ip": "203.0.113.7", "userAgent": ua, "acceptLanguage": "fr\u{e9}"})),
                "forwarded.acceptLanguage",
            ),
        ];
        for (payload, field) in bad {
            assert_eq!(track(payload.clone()).unwrap_err().field, field, "{payload}");
        }
        // Exactly at the limits is fine.
        let edge = fwd(json!({"ip": "192.0.2.1", "userAgent": "x".repeat(512), "acceptLanguage": "a".repeat(256)}));
        assert!(track(edge).is_ok());
        // Unknown keys inside `forwarded` are refused like any other.
        let extra = fwd(json!({"ip": "192.0.2.1", "userAgent": ua, "cookie": "a=b"}));
        assert!(serde_json::from_value::<TrackPayload>(extra).is_err());
    }

    #[test]
    fn empty_strings_mean_absent() {
        let e = track(json!({"organizationId": "o", "referrer": "", "url": "https://shop.example/a"})).unwrap();
        assert_eq!(e.referrer, None);
        assert_eq!(e.url.unwrap().host_str(), Some("shop.example"));
    }

    #[test]
    fn unknown_fields_are_refused_by_serde() {
        assert!(serde_json::from_value::<TrackPayload>(json!({"organizationId": "o", "evil": 1})).is_err());
    }

    #[test]
    fn pixel_params_map_to_fields_and_properties() {
        let p = PixelParams(vec![
            ("organizationId".into(), "o1".into()),
            ("event".into(), "email_open".into()),
            ("campaign".into(), "nov".into()),
            ("messageId".into(), "open-42".into()),
        ]);
        let e = p.validate().unwrap();
        assert_eq!(e.event_name, "email_open");
        assert_eq!(e.message_id.as_deref(), Some("open-42"));
        let props = e.properties.unwrap();
        assert_eq!(props["campaign"], json!("nov"));
        assert!(!props.contains_key("messageId"), "the message id is not a property");
        let bad = PixelParams(vec![
            ("organizationId".into(), "o1".into()),
            ("timestamp".into(), "x".into()),
        ]);
        assert_eq!(bad.validate().unwrap_err().field, "timestamp");
    }

    #[test]
    fn campaign_params_are_checked_by_name() {
        let c: CampaignPayload = serde_json::from_value(
            json!({"organizationId": "o", "utm_source": "news", "gclid": "abc", "messageId": "m-1"}),
        )
        .unwrap();
        let (e, params) = c.validate().unwrap();
        assert_eq!(e.event_name, "campaign");
        assert_eq!(
            e.message_id.as_deref(),
            Some("m-1"),
            "not taken for a campaign parameter"
        );
        assert_eq!(params.len(), 2);
        let c: CampaignPayload = serde_json::from_value(json!({"organizationId": "o", "utm_sauce": "x"})).unwrap();
        assert!(c.validate().unwrap_err().reason.contains("utm_sauce"));
    }
}
