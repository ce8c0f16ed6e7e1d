//! Backtesting a fraud configuration against the labels an organization gave its events
//! (`POST /v1/events/{requestId}/feedback`): each labeled event is scored again from what its
//! record kept ([`scoring_input_of`]) under the configuration, and the decisions are
//! compared with the labels — `fraud` is the positive class — at two operating points: the
//! `block` action, and `captcha` or `block` (the event was challenged). The decisions stored
//! with the events (the configuration deployed when they arrived) are compared the same way,
//! so the report says whether the candidate does better than what ran.

use serde::Serialize;
use serde_json::Value;

use crate::event::EventRecord;
use crate::fraud::ja4::Ja4;
use crate::fraud::ua::UserAgent;
use crate::fraud::{assess, Action, FraudConfig, ScoringInput};

/// The input of a stored event, for backtesting a configuration on labeled events (the
/// `score` CLI): what the event's server context kept of its request — User-Agent,
/// language, address, CloudFront's JA4, TLS, HTTP version, header order and count, ASN —
/// with the script's signals and the event name. Fetch metadata and client hints are read
/// from the header order (the headers themselves are not stored). The login count is not
/// stored: the credential-stuffing layer is off, as in `score` without `--state`.
pub fn scoring_input_of(record: &EventRecord) -> ScoringInput {
    let c = &record.context;
    let client_ip = c.ip.as_deref().and_then(|ip| ip.parse().ok());
    let event_name = Some(record.event_name.clone());
    if record.server_side {
        return ScoringInput::end_user(
            c.user_agent.clone(),
            c.accept_language.clone(),
            client_ip,
            record.signals.clone(),
            event_name,
        );
    }
    let v = &c.viewer;
    let header_order: Vec<String> = v.header_order.iter().map(|h| h.to_ascii_lowercase()).collect();
    let has_named = |prefix: &str| header_order.iter().any(|h| h.starts_with(prefix));
    ScoringInput {
        ua: c.user_agent.as_deref().map(UserAgent::parse),
        user_agent: c.user_agent.clone(),
        ja4: v.ja4.as_deref().map(Ja4::parse),
        ja4_raw: v.ja4.clone(),
        tls_version: v.tls.as_ref().map(|t| t.version.clone()),
        http_version: v.http_version.clone(),
        has_fetch_metadata: has_named("sec-fetch-"),
        has_client_hints: has_named("sec-ch-ua"),
        header_count: v.header_count.map(|n| n as usize).unwrap_or(header_order.len()),
        header_order,
        accept_language: c.accept_language.clone(),
        asn: v.asn,
        client_ip,
        signals: record.signals.clone(),
        event_name,
        login_count: None,
        server_side: false,
    }
}

/// A confusion matrix and what follows from it; `precision` / `recall` are `None` when
/// undefined (no event flagged / no fraud labeled).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Confusion {
    /// Fraud flagged.
    pub true_positives: u64,
    /// Legitimate flagged.
    pub false_positives: u64,
    /// Fraud not flagged.
    pub false_negatives: u64,
    /// Legitimate not flagged.
    pub true_negatives: u64,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
}

impl Confusion {
    fn add(&mut self, fraud: bool, flagged: bool) {
        match (fraud, flagged) {
            (true, true) => self.true_positives += 1,
            (false, true) => self.false_positives += 1,
            (true, false) => self.false_negatives += 1,
            (false, false) => self.true_negatives += 1,
        }
        let ratio = |a: u64, b: u64| (a + b > 0).then(|| a as f64 / (a + b) as f64);
        self.precision = ratio(self.true_positives, self.false_positives);
        self.recall = ratio(self.true_positives, self.false_negatives);
    }
}

/// The two operating points of one set of decisions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Decisions {
    /// Flagged = `block`.
    pub block: Confusion,
    /// Flagged = `captcha` or `block`.
    pub challenge_or_block: Confusion,
}

impl Decisions {
    fn add(&mut self, fraud: bool, action: Action) {
        self.block.add(fraud, action == Action::Block);
        self.challenge_or_block
            .add(fraud, matches!(action, Action::Captcha | Action::Block));
    }
}

/// A backtest's report.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BacktestReport {
    /// Labeled events scored.
    pub events: u64,
    pub fraud: u64,
    pub legitimate: u64,
    /// Corpus lines that could not be read (line number and why).
    pub unreadable: Vec<(usize, String)>,
    /// The configuration under test.
    pub config: Decisions,
    /// The decisions stored with the events (events stored without one are left out of it).
    pub stored: Decisions,
}

/// One corpus line's label and event: `{"label": "fraud" | "legitimate", "event": <stored
/// event record>}` (the lines `score export-labels` writes).
fn read_line(line: &str) -> Result<(bool, EventRecord), String> {
    let v: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let fraud = match v.get("label").and_then(Value::as_str) {
        Some("fraud") => true,
        Some("legitimate") => false,
        other => return Err(format!("label {other:?} is neither fraud nor legitimate")),
    };
    let event =
        serde_json::from_value(v.get("event").cloned().unwrap_or(Value::Null)).map_err(|e| format!("event: {e}"))?;
    Ok((fraud, event))
}

/// Scores every labeled event of `lines` (blank lines skipped) under `config` and compares.
pub fn backtest<'a>(lines: impl IntoIterator<Item = &'a str>, config: &FraudConfig) -> BacktestReport {
    let mut report = BacktestReport::default();
    for (i, line) in lines.into_iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let (fraud, event) = match read_line(line) {
            Ok(x) => x,
            Err(e) => {
                report.unreadable.push((i + 1, e));
                continue;
            }
        };
        report.events += 1;
        if fraud {
            report.fraud += 1;
        } else {
            report.legitimate += 1;
        }
        let assessment = assess(&scoring_input_of(&event), config);
        report.config.add(fraud, assessment.action);
        if let Some(r) = &event.risk {
            report.stored.add(fraud, r.action);
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{EventRecord, Route, ServerContext, TrackPayload};

    /// A stored event from `user_agent` on a browser's or a tool's transport.
    fn event(user_agent: &str, ja4: Option<&str>, stored: Option<Action>) -> EventRecord {
        let valid = TrackPayload {
            organization_id: Some("org_1".into()),
            ..Default::default()
        }
        .validate()
        .unwrap();
        let mut context = ServerContext {
            ip: Some("203.0.113.5".into()),
            user_agent: Some(user_agent.into()),
            accept_language: Some("en-US,en;q=0.9".into()),
            ..Default::default()
        };
        context.viewer.ja4 = ja4.map(str::to_string);
        let mut r = EventRecord::new("rid", Route::Track, valid, None, context, 1_790_000_000_000, 30);
        if let Some(action) = stored {
            let mut risk = assess(&scoring_input_of(&r), &FraudConfig::default());
            risk.action = action;
            r.risk = Some(risk);
        }
        r
    }

    fn line(label: &str, e: &EventRecord) -> String {
        serde_json::json!({"label": label, "event": e}).to_string()
    }

    #[test]
    fn a_configuration_is_compared_with_the_labels_and_with_what_ran() {
        let bot = event(
            "python-requests/2.32.3",
            Some("t13d181000_85036bcba153_d41ae481755e"),
            Some(Action::Allow),
        );
        let chrome = event(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            None,
            Some(Action::Allow),
        );
        let config = FraudConfig::default();
        let bot_action = assess(&scoring_input_of(&bot), &config).action;
        assert_eq!(
            bot_action,
            Action::Block,
            "a scripted client's stored context scores as it did live"
        );
        let corpus = [
            line("fraud", &bot),
            line("legitimate", &chrome),
            "".into(),
            "{\"label\":\"spam\"}".into(),
        ];
        let report = backtest(corpus.iter().map(String::as_str), &config);
        assert_eq!((report.events, report.fraud, report.legitimate), (2, 1, 1));
        assert_eq!(report.unreadable.len(), 1);
        assert_eq!(report.unreadable[0].0, 4);
        let b = report.config.block;
        assert_eq!(
            (b.true_positives, b.false_positives, b.false_negatives, b.true_negatives),
            (1, 0, 0, 1)
        );
        assert_eq!((b.precision, b.recall), (Some(1.0), Some(1.0)));
        // What ran allowed both: nothing flagged, recall 0, precision undefined.
        let s = report.stored.block;
        assert_eq!((s.precision, s.recall, s.false_negatives), (None, Some(0.0), 1));
    }
}
