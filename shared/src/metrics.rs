#![doc = include_str!("docs/metrics.md")]

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Number, Value};

use crate::env::ConfigError;

/// Namespace of the metrics when `METRICS_NAMESPACE` is unset or empty.
pub const DEFAULT_NAMESPACE: &str = "Impressio";
/// Values one metric may carry in one document (EMF limit).
pub const MAX_VALUES_PER_METRIC: usize = 100;
/// Metric definitions one directive may carry (EMF limit).
pub const MAX_METRICS_PER_DIRECTIVE: usize = 100;
/// Dimensions one dimension set may have (EMF limit).
pub const MAX_DIMENSIONS: usize = 30;
/// Longest namespace CloudWatch accepts, characters.
pub const MAX_NAMESPACE_CHARS: usize = 255;

/// The namespace from `METRICS_NAMESPACE` (read through `lookup`): [`DEFAULT_NAMESPACE`] when
/// unset or blank.
///
/// # Errors
/// [`ConfigError::Invalid`] when it is longer than [`MAX_NAMESPACE_CHARS`], has a character
/// CloudWatch does not allow in a namespace (allowed: ASCII letters and digits, space and
/// `. - _ / # :`), or starts with `AWS/` (reserved for AWS services).
pub fn namespace_from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<String, ConfigError> {
    let Some(ns) = lookup("METRICS_NAMESPACE")
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
    else {
        return Ok(DEFAULT_NAMESPACE.to_string());
    };
    let invalid = |message: String| ConfigError::Invalid {
        var: "METRICS_NAMESPACE",
        message,
    };
    if ns.chars().count() > MAX_NAMESPACE_CHARS {
        return Err(invalid(format!("longer than {MAX_NAMESPACE_CHARS} characters")));
    }
    if let Some(c) = ns
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || " ._-/#:".contains(*c)))
    {
        return Err(invalid(format!(
            "{c:?} is not allowed in a namespace (ASCII letters, digits, space and . - _ / # :)"
        )));
    }
    if ns.starts_with("AWS/") {
        return Err(invalid(
            "namespaces starting with AWS/ are reserved for AWS services".into(),
        ));
    }
    Ok(ns)
}

/// The unit of a metric (a CloudWatch `StandardUnit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A number of things (`Count`).
    Count,
    /// A duration in milliseconds (`Milliseconds`).
    Milliseconds,
}

impl Unit {
    /// The unit's name in a metric definition.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Metric {
    name: &'static str,
    unit: Unit,
    values: Vec<f64>,
}

/// Metrics that share one dimension set: each metric is recorded once per value, under these
/// dimension values.
///
/// Names are `&'static str` on purpose: metric and dimension names are part of the dashboards'
/// contract, and only dimension *values* vary (and must come from small, bounded sets).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricSet {
    dimensions: Vec<(&'static str, String)>,
    metrics: Vec<Metric>,
}

impl MetricSet {
    /// An empty set without dimensions (its metrics are aggregated over everything).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a dimension; a name given twice keeps its last value.
    pub fn dimension(mut self, name: &'static str, value: impl Into<String>) -> Self {
        let value = value.into();
        match self.dimensions.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.dimensions.push((name, value)),
        }
        self
    }

    /// Adds `n` to the count metric `name` (unit [`Unit::Count`]).
    pub fn count(self, name: &'static str, n: u64) -> Self {
        self.values(name, Unit::Count, [n as f64])
    }

    /// Adds values to the metric `name`. A metric named again keeps the unit it was first
    /// given. Values that are not finite (NaN, infinities) are dropped: CloudWatch rejects
    /// them. A metric left without values is not emitted.
    pub fn values(mut self, name: &'static str, unit: Unit, values: impl IntoIterator<Item = f64>) -> Self {
        let values = values.into_iter().filter(|v| v.is_finite());
        match self.metrics.iter_mut().find(|m| m.name == name) {
            Some(m) => m.values.extend(values),
            None => self.metrics.push(Metric {
                name,
                unit,
                values: values.collect(),
            }),
        }
        self
    }

    /// Whether the set has no value to emit.
    pub fn is_empty(&self) -> bool {
        self.metrics.iter().all(|m| m.values.is_empty())
    }
}

/// Why a document could not be built (a programming error in the metric sets; the documents
/// are then not written).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmfError {
    /// A dimension set has more dimensions than EMF allows.
    #[error("a dimension set has {0} dimensions; EMF allows {MAX_DIMENSIONS}")]
    TooManyDimensions(usize),
    /// A name is used as two of: dimension, metric, property, or is `_aws`.
    #[error("{0:?} is used as more than one of dimension, metric and property, or is reserved")]
    NameClash(String),
}

/// One directive of a document: its dimension names and its metric definitions.
struct Directive {
    dimensions: Vec<&'static str>,
    metrics: Vec<(&'static str, Unit)>,
}

/// A document being packed: its root members and its directives.
struct Packing {
    members: Map<String, Value>,
    directives: Vec<Directive>,
}

/// A part of a set small enough for one directive.
struct Piece<'a> {
    dimensions: &'a [(&'static str, String)],
    metrics: Vec<(&'static str, Unit, &'a [f64])>,
}

/// A metric value: a single number, or an array of them. Whole numbers are written as JSON
/// integers.
fn value_json(values: &[f64]) -> Value {
    let one = |v: f64| {
        if v.fract() == 0.0 && v.abs() < 9_007_199_254_740_992.0 {
            Value::from(v as i64)
        } else {
            Number::from_f64(v).map_or(Value::Null, Value::Number)
        }
    };
    match values {
        [v] => one(*v),
        vs => Value::Array(vs.iter().map(|v| one(*v)).collect()),
    }
}

/// The EMF documents of `sets` in namespace `namespace` at `timestamp_ms` (ms since the Unix
/// epoch), each carrying `properties`. Empty sets (and metrics without values) are left out;
/// no sets with values give no documents.
///
/// # Errors
/// [`EmfError`] when a set has more than [`MAX_DIMENSIONS`] dimensions, or a name is used both
/// as a dimension and a metric, as a property and anything else, or is `_aws`.
pub fn documents(
    namespace: &str,
    timestamp_ms: i64,
    sets: &[MetricSet],
    properties: &[(&'static str, Value)],
) -> Result<Vec<Value>, EmfError> {
    let mut dimension_names = std::collections::BTreeSet::new();
    let mut metric_names = std::collections::BTreeSet::new();
    for set in sets {
        if set.dimensions.len() > MAX_DIMENSIONS {
            return Err(EmfError::TooManyDimensions(set.dimensions.len()));
        }
        dimension_names.extend(set.dimensions.iter().map(|(n, _)| *n));
        metric_names.extend(set.metrics.iter().map(|m| m.name));
    }
    if let Some(clash) = dimension_names.intersection(&metric_names).next() {
        return Err(EmfError::NameClash(clash.to_string()));
    }
    for (name, _) in properties {
        if *name == "_aws" || dimension_names.contains(name) || metric_names.contains(name) {
            return Err(EmfError::NameClash(name.to_string()));
        }
    }
    if metric_names.contains("_aws") || dimension_names.contains("_aws") {
        return Err(EmfError::NameClash("_aws".into()));
    }

    // Split each set into pieces: at most MAX_VALUES_PER_METRIC values per metric and
    // MAX_METRICS_PER_DIRECTIVE metrics per piece.
    let mut pieces: Vec<Piece> = Vec::new();
    for set in sets {
        let rounds = set
            .metrics
            .iter()
            .map(|m| m.values.len().div_ceil(MAX_VALUES_PER_METRIC))
            .max()
            .unwrap_or(0);
        for round in 0..rounds {
            let metrics: Vec<(&'static str, Unit, &[f64])> = set
                .metrics
                .iter()
                .filter_map(|m| {
                    let chunk = m.values.chunks(MAX_VALUES_PER_METRIC).nth(round)?;
                    Some((m.name, m.unit, chunk))
                })
                .collect();
            for group in metrics.chunks(MAX_METRICS_PER_DIRECTIVE) {
                pieces.push(Piece {
                    dimensions: &set.dimensions,
                    metrics: group.to_vec(),
                });
            }
        }
    }

    // Pack the pieces: each into the first document whose members it does not contradict.
    let mut docs: Vec<Packing> = Vec::new();
    for piece in pieces {
        let fits = |doc: &Packing| {
            piece
                .dimensions
                .iter()
                .all(|(n, v)| doc.members.get(*n).is_none_or(|have| have.as_str() == Some(v.as_str())))
                && piece.metrics.iter().all(|(n, _, _)| !doc.members.contains_key(*n))
        };
        let index = match docs.iter().position(fits) {
            Some(i) => i,
            None => {
                docs.push(Packing {
                    members: Map::new(),
                    directives: Vec::new(),
                });
                docs.len() - 1
            }
        };
        let doc = &mut docs[index];
        for (n, v) in piece.dimensions {
            doc.members.insert(n.to_string(), Value::String(v.clone()));
        }
        for (n, _, values) in &piece.metrics {
            doc.members.insert(n.to_string(), value_json(values));
        }
        doc.directives.push(Directive {
            dimensions: piece.dimensions.iter().map(|(n, _)| *n).collect(),
            metrics: piece.metrics.iter().map(|(n, u, _)| (*n, *u)).collect(),
        });
    }

    Ok(docs
        .into_iter()
        .map(|doc| {
            let directives: Vec<Value> = doc
                .directives
                .into_iter()
                .map(|Directive { dimensions, metrics }| {
                    serde_json::json!({
                        "Namespace": namespace,
                        "Dimensions": [dimensions],
                        "Metrics": metrics
                            .into_iter()
                            .map(|(name, unit)| serde_json::json!({"Name": name, "Unit": unit.as_str()}))
                            .collect::<Vec<_>>(),
                    })
                })
                .collect();
            let mut root = Map::new();
            root.insert(
                "_aws".into(),
                serde_json::json!({"Timestamp": timestamp_ms, "CloudWatchMetrics": directives}),
            );
            root.extend(doc.members);
            for (name, value) in properties {
                root.insert(name.to_string(), value.clone());
            }
            Value::Object(root)
        })
        .collect())
}

/// Where metric lines go.
pub trait MetricSink: Send + Sync {
    /// Writes one document as one line (`line` has no newline; the sink ends it).
    ///
    /// # Errors
    /// The write's I/O error.
    fn write_line(&self, line: &str) -> std::io::Result<()>;
}

/// Standard output: one `write_all` per line under the stdout lock, so a metric line is never
/// interleaved with a log line.
#[derive(Debug, Clone, Copy, Default)]
pub struct StdoutSink;

impl MetricSink for StdoutSink {
    fn write_line(&self, line: &str) -> std::io::Result<()> {
        let mut buf = Vec::with_capacity(line.len() + 1);
        buf.extend_from_slice(line.as_bytes());
        buf.push(b'\n');
        std::io::stdout().lock().write_all(&buf)
    }
}

/// Keeps the lines in memory (tests read them back).
#[derive(Debug, Default)]
pub struct MemorySink {
    lines: Mutex<Vec<String>>,
}

impl MemorySink {
    /// The lines written so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The lines written so far, parsed.
    ///
    /// # Panics
    /// When a line is not JSON (the sink only ever receives JSON documents).
    pub fn documents(&self) -> Vec<Value> {
        self.lines()
            .iter()
            .map(|l| serde_json::from_str(l).expect("a metric line is JSON"))
            .collect()
    }

    /// The datapoints of every line written so far (see [`extract`]).
    pub fn datapoints(&self) -> Vec<Datapoints> {
        self.documents().iter().flat_map(extract).collect()
    }

    /// Forgets the lines written so far.
    pub fn clear(&self) {
        self.lines.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

impl MetricSink for MemorySink {
    fn write_line(&self, line: &str) -> std::io::Result<()> {
        self.lines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(line.to_string());
        Ok(())
    }
}

/// The metrics handle of a function: its namespace and sink. Cheap to clone (shared state).
#[derive(Clone)]
pub struct Metrics {
    namespace: Arc<str>,
    sink: Arc<dyn MetricSink>,
    failure_logged: Arc<AtomicBool>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").field("namespace", &self.namespace).finish()
    }
}

impl Metrics {
    /// Metrics in `namespace` written to `sink`.
    pub fn new(namespace: &str, sink: Arc<dyn MetricSink>) -> Self {
        Metrics {
            namespace: Arc::from(namespace),
            sink,
            failure_logged: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Metrics in `namespace` written to standard output (what Lambda sends to CloudWatch
    /// Logs).
    pub fn stdout(namespace: &str) -> Self {
        Self::new(namespace, Arc::new(StdoutSink))
    }

    /// Metrics in `namespace` kept in memory, with the sink to read them from.
    pub fn in_memory(namespace: &str) -> (Self, Arc<MemorySink>) {
        let sink = Arc::new(MemorySink::default());
        (Self::new(namespace, sink.clone()), sink)
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Writes `sets` with `properties` as EMF lines stamped `timestamp_ms` (ms since the Unix
    /// epoch; see [`documents`]). Never fails: a failure drops the lines, and the first
    /// failure of this handle (and its clones) is logged.
    pub fn emit(&self, timestamp_ms: i64, sets: &[MetricSet], properties: &[(&'static str, Value)]) {
        let docs = match documents(&self.namespace, timestamp_ms, sets, properties) {
            Ok(d) => d,
            Err(e) => return self.failed(&e),
        };
        for doc in docs {
            if let Err(e) = self.sink.write_line(&doc.to_string()) {
                return self.failed(&e);
            }
        }
    }

    fn failed(&self, error: &dyn std::fmt::Display) {
        if !self.failure_logged.swap(true, Ordering::Relaxed) {
            tracing::warn!(error = %error, "metrics not written; later failures are not logged");
        }
    }
}

/// The values one metric definition of a document records, with the dimensions it is
/// recorded under: what CloudWatch extracts from the document for one (directive, dimension
/// set, metric).
#[derive(Debug, Clone, PartialEq)]
pub struct Datapoints {
    pub namespace: String,
    pub name: String,
    /// `None` when the definition has no unit.
    pub unit: Option<String>,
    /// Dimension name → value.
    pub dimensions: BTreeMap<String, String>,
    pub values: Vec<f64>,
    /// Ms since the Unix epoch.
    pub timestamp_ms: i64,
}

/// Reads an EMF document back as CloudWatch would: for every directive, dimension set and
/// metric definition, the values of the metric's member under the dimension members' values.
/// A definition whose member is missing or not numeric, or a dimension whose member is not a
/// string, yields nothing (CloudWatch would reject the document).
pub fn extract(doc: &Value) -> Vec<Datapoints> {
    let mut out = Vec::new();
    let Some(aws) = doc.get("_aws") else { return out };
    let timestamp_ms = aws.get("Timestamp").and_then(Value::as_i64).unwrap_or_default();
    for directive in aws
        .get("CloudWatchMetrics")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let namespace = directive.get("Namespace").and_then(Value::as_str).unwrap_or_default();
        for set in directive
            .get("Dimensions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(dimensions) = set
                .as_array()
                .into_iter()
                .flatten()
                .map(|n| {
                    let n = n.as_str()?;
                    Some((n.to_string(), doc.get(n)?.as_str()?.to_string()))
                })
                .collect::<Option<BTreeMap<_, _>>>()
            else {
                continue;
            };
            for metric in directive.get("Metrics").and_then(Value::as_array).into_iter().flatten() {
                let Some(name) = metric.get("Name").and_then(Value::as_str) else {
                    continue;
                };
                let values = match doc.get(name) {
                    Some(Value::Number(n)) => n.as_f64().into_iter().collect(),
                    Some(Value::Array(vs)) => match vs.iter().map(Value::as_f64).collect::<Option<Vec<_>>>() {
                        Some(v) => v,
                        None => continue,
                    },
                    _ => continue,
                };
                out.push(Datapoints {
                    namespace: namespace.to_string(),
                    name: name.to_string(),
                    unit: metric.get("Unit").and_then(Value::as_str).map(String::from),
                    dimensions: dimensions.clone(),
                    values,
                    timestamp_ms,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TS: i64 = 1_795_000_000_000;

    #[test]
    fn one_set_is_one_document_in_the_emf_shape() {
        let set = MetricSet::new()
            .dimension("Route", "/t")
            .dimension("RiskLevel", "low")
            .count("Events", 1)
            .values("RequestLatency", Unit::Milliseconds, [12.5]);
        let docs = documents("Impressio", TS, &[set], &[("RequestId", json!("rid-1"))]).unwrap();
        assert_eq!(docs.len(), 1);
        let d = &docs[0];
        assert_eq!(d["_aws"]["Timestamp"], json!(TS));
        let directive = &d["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "Impressio");
        assert_eq!(directive["Dimensions"], json!([["Route", "RiskLevel"]]));
        assert_eq!(
            directive["Metrics"],
            json!([{"Name": "Events", "Unit": "Count"}, {"Name": "RequestLatency", "Unit": "Milliseconds"}])
        );
        assert_eq!(d["Route"], "/t");
        assert_eq!(d["RiskLevel"], "low");
        assert_eq!(d["Events"], json!(1), "whole numbers are integers");
        assert_eq!(d["RequestLatency"], json!(12.5));
        assert_eq!(d["RequestId"], "rid-1");
        assert_eq!(d.as_object().unwrap().len(), 6, "{d}");
    }

    #[test]
    fn sets_that_agree_share_a_document_and_conflicting_ones_do_not() {
        let latency = MetricSet::new()
            .dimension("Route", "/t")
            .values("RequestLatency", Unit::Milliseconds, [3.0]);
        let events = MetricSet::new()
            .dimension("Route", "/t")
            .dimension("Action", "block")
            .count("Events", 1);
        let blocks = MetricSet::new().dimension("Trigger", "ja4_mismatch").count("Blocks", 1);
        let docs = documents("Ns", TS, &[latency, events, blocks], &[]).unwrap();
        assert_eq!(docs.len(), 1, "{docs:?}");
        assert_eq!(docs[0]["_aws"]["CloudWatchMetrics"].as_array().unwrap().len(), 3);
        assert_eq!(
            docs[0]["_aws"]["CloudWatchMetrics"][2]["Dimensions"],
            json!([["Trigger"]])
        );

        // Two stages: `Stage` cannot have two values in one document, nor `StageOutcomes`.
        let a = MetricSet::new()
            .dimension("Stage", "ga4")
            .dimension("Outcome", "done")
            .count("StageOutcomes", 3);
        let b = MetricSet::new()
            .dimension("Stage", "webhook")
            .dimension("Outcome", "done")
            .count("StageOutcomes", 2);
        let total = MetricSet::new().count("BatchItemFailures", 0);
        let docs = documents("Ns", TS, &[a, b, total], &[]).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(
            (docs[0]["Stage"].as_str(), &docs[0]["StageOutcomes"]),
            (Some("ga4"), &json!(3))
        );
        assert_eq!(
            docs[0]["BatchItemFailures"],
            json!(0),
            "a set without dimensions fits anywhere"
        );
        assert_eq!(docs[0]["_aws"]["CloudWatchMetrics"][1]["Dimensions"], json!([[]]));
        assert_eq!(
            (docs[1]["Stage"].as_str(), &docs[1]["StageOutcomes"]),
            (Some("webhook"), &json!(2))
        );
    }

    #[test]
    fn more_than_100_values_are_split_across_documents() {
        let latencies: Vec<f64> = (0..250).map(|i| i as f64 + 0.5).collect();
        let set = MetricSet::new()
            .values("WebhookLatency", Unit::Milliseconds, latencies.clone())
            .count("BatchItemFailures", 2);
        let docs = documents("Ns", TS, &[set], &[]).unwrap();
        assert_eq!(docs.len(), 3);
        let sizes: Vec<usize> = docs
            .iter()
            .map(|d| d["WebhookLatency"].as_array().unwrap().len())
            .collect();
        assert_eq!(sizes, [100, 100, 50]);
        assert_eq!(docs[0]["BatchItemFailures"], json!(2));
        assert!(docs[1].get("BatchItemFailures").is_none(), "counted once");
        let back: Vec<f64> = docs
            .iter()
            .flat_map(extract)
            .filter(|p| p.name == "WebhookLatency")
            .flat_map(|p| p.values)
            .collect();
        assert_eq!(back, latencies);
    }

    #[test]
    fn empty_sets_and_non_finite_values_are_left_out() {
        let set = MetricSet::new().dimension("Route", "/t").values(
            "RequestLatency",
            Unit::Milliseconds,
            [f64::NAN, f64::INFINITY],
        );
        assert!(set.is_empty());
        assert!(documents("Ns", TS, &[set, MetricSet::new()], &[]).unwrap().is_empty());
        let set = MetricSet::new().values("BillingLatency", Unit::Milliseconds, [f64::NAN, 7.25]);
        let docs = documents("Ns", TS, &[set], &[]).unwrap();
        assert_eq!(docs[0]["BillingLatency"], json!(7.25));
    }

    #[test]
    fn names_used_twice_over_are_refused() {
        let set = MetricSet::new().dimension("Events", "x").count("Events", 1);
        assert_eq!(
            documents("Ns", TS, &[set], &[]),
            Err(EmfError::NameClash("Events".into()))
        );
        let set = MetricSet::new().count("Events", 1);
        assert_eq!(
            documents("Ns", TS, std::slice::from_ref(&set), &[("Events", json!(1))]),
            Err(EmfError::NameClash("Events".into()))
        );
        assert_eq!(
            documents("Ns", TS, &[set], &[("_aws", json!(1))]),
            Err(EmfError::NameClash("_aws".into()))
        );
        const NAMES: [&str; 31] = [
            "d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "d9", "d10", "d11", "d12", "d13", "d14", "d15",
            "d16", "d17", "d18", "d19", "d20", "d21", "d22", "d23", "d24", "d25", "d26", "d27", "d28", "d29", "d30",
        ];
        let wide = NAMES
            .iter()
            .fold(MetricSet::new(), |s, n| s.dimension(n, "v"))
            .count("Events", 1);
        assert_eq!(documents("Ns", TS, &[wide], &[]), Err(EmfError::TooManyDimensions(31)));
    }

    #[test]
    fn a_metric_named_again_accumulates_and_a_dimension_named_again_is_replaced() {
        let set = MetricSet::new()
            .dimension("Route", "/c")
            .dimension("Route", "/t")
            .values("RequestLatency", Unit::Milliseconds, [1.0])
            .values("RequestLatency", Unit::Count, [2.0, 3.0]);
        let docs = documents("Ns", TS, &[set], &[]).unwrap();
        assert_eq!(docs[0]["Route"], "/t");
        assert_eq!(docs[0]["RequestLatency"], json!([1, 2, 3]));
        assert_eq!(
            docs[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"],
            "Milliseconds"
        );
    }

    #[test]
    fn extract_reads_what_documents_write() {
        let sets = [
            MetricSet::new().dimension("Trigger", "blacklisted").count("Blocks", 1),
            MetricSet::new().values("BillingLatency", Unit::Milliseconds, [4.0, 5.5]),
        ];
        let docs = documents("Impressio", TS, &sets, &[("OrganizationId", json!("org_1"))]).unwrap();
        let points: Vec<Datapoints> = docs.iter().flat_map(extract).collect();
        assert_eq!(points.len(), 2);
        assert_eq!(points[0].name, "Blocks");
        assert_eq!(points[0].unit.as_deref(), Some("Count"));
        assert_eq!(
            points[0].dimensions,
            BTreeMap::from([("Trigger".to_string(), "blacklisted".to_string())])
        );
        assert_eq!((points[0].values.clone(), points[0].timestamp_ms), (vec![1.0], TS));
        assert_eq!(points[1].values, [4.0, 5.5]);
        assert!(points[1].dimensions.is_empty());
        // A document whose dimension member is missing yields nothing for that set.
        let mut broken = docs[0].clone();
        broken.as_object_mut().unwrap().remove("Trigger");
        assert!(extract(&broken).iter().all(|p| p.name != "Blocks"));
    }

    struct FailingSink;

    impl MetricSink for FailingSink {
        fn write_line(&self, _line: &str) -> std::io::Result<()> {
            Err(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "closed"))
        }
    }

    #[test]
    fn emit_writes_lines_and_swallows_failures() {
        let (metrics, sink) = Metrics::in_memory("Impressio");
        metrics.emit(TS, &[MetricSet::new().count("Events", 2)], &[("RequestId", json!("r"))]);
        let lines = sink.lines();
        assert_eq!(lines.len(), 1);
        assert!(!lines[0].contains('\n'));
        let points = sink.datapoints();
        assert_eq!(
            (points[0].namespace.as_str(), points[0].values.as_slice()),
            ("Impressio", &[2.0][..])
        );
        // A bad set writes nothing and does not panic; neither does a failing sink.
        metrics.emit(TS, &[MetricSet::new().dimension("Events", "x").count("Events", 1)], &[]);
        assert_eq!(sink.lines().len(), 1);
        let failing = Metrics::new("Impressio", Arc::new(FailingSink));
        failing.emit(TS, &[MetricSet::new().count("Events", 1)], &[]);
        failing.emit(TS, &[MetricSet::new().count("Events", 1)], &[]);
        assert!(failing.failure_logged.load(Ordering::Relaxed));
        sink.clear();
        assert!(sink.lines().is_empty());
    }

    #[test]
    fn the_namespace_comes_from_the_environment_or_defaults() {
        let ns = |v: Option<&str>| {
            let v = v.map(String::from);
            namespace_from_lookup(&move |k: &str| if k == "METRICS_NAMESPACE" { v.clone() } else { None })
        };
        assert_eq!(ns(None).unwrap(), DEFAULT_NAMESPACE);
        assert_eq!(ns(Some("  ")).unwrap(), DEFAULT_NAMESPACE);
        assert_eq!(ns(Some(" Impressio/Staging ")).unwrap(), "Impressio/Staging");
        for bad in ["AWS/Lambda", "tab\there", "é", &"x".repeat(256)] {
            let err = ns(Some(bad)).unwrap_err();
            assert!(err.to_string().contains("METRICS_NAMESPACE"), "{bad}: {err}");
        }
    }
}
