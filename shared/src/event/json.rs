//! Rules for the free-form JSON a client may send (`properties`, `components`,
//! `digitalData`): what DynamoDB can store exactly and every consumer can read back.
//!
//! - **Duplicate keys are refused** at every level ([`strict_object`]), as serde refuses a
//!   duplicate top-level field: a document means one thing.
//! - **Numbers** ([`check_numbers`]): zero, or a magnitude of at least 1e-130 (the smallest
//!   DynamoDB stores; DynamoDB Developer Guide, "Supported data types": numbers from 1E-130
//!   to 9.9999999999999999999999999999999999999E+125 in magnitude, 38 significant digits) and
//!   at most 2^53 − 1 = 9007199254740991. Beyond that an integer is no longer exact as a
//!   double, the only number JSON readers such as JavaScript and GA4 have, and JSON parsing
//!   already rounded a longer integer literal before it reached us: such values must be sent
//!   as strings. Every accepted number is within DynamoDB's range and has at most 17
//!   significant digits.
//! - **Keys** ([`check_keys`], at every level of every map): 1–64 characters, no control or
//!   bidirectional formatting characters.

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// The largest magnitude accepted: 2^53 − 1, the largest integer a double holds exactly.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;
/// The smallest non-zero magnitude accepted: DynamoDB's smallest number.
pub const MIN_MAGNITUDE: f64 = 1e-130;

/// Deserializes an optional JSON object, refusing a duplicate key at any level (for
/// `#[serde(default, deserialize_with = "…")]`).
///
/// # Errors
/// The deserializer's error for a duplicate key, a value that is not an object, or bad JSON.
pub fn strict_object<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Map<String, Value>>, D::Error> {
    match d.deserialize_any(StrictValue)? {
        Value::Null => Ok(None),
        Value::Object(m) => Ok(Some(m)),
        _ => Err(de::Error::custom("expected a JSON object")),
    }
}

/// Deserializes the rest of a document's fields (a `#[serde(flatten)]` map), refusing a
/// duplicate key at any level.
///
/// # Errors
/// As [`strict_object`].
pub fn strict_flat_map<'de, D: Deserializer<'de>>(d: D) -> Result<std::collections::BTreeMap<String, Value>, D::Error> {
    match d.deserialize_map(StrictValue)? {
        Value::Object(m) => Ok(m.into_iter().collect()),
        _ => Err(de::Error::custom("expected a JSON object")),
    }
}

struct StrictValue;

impl<'de> de::DeserializeSeed<'de> for StrictValue {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a number must be finite"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(StrictValue)? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "duplicate key `{}`",
                    key.escape_debug()
                )));
            }
            let value = map.next_value_seed(StrictValue)?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

/// Why a number cannot be accepted, if it cannot.
pub fn number_problem(n: &Number) -> Option<&'static str> {
    if let Some(u) = n.as_u64() {
        return (u > MAX_SAFE_INTEGER).then_some("is larger than 9007199254740991 (2^53 - 1); send it as a string");
    }
    if let Some(i) = n.as_i64() {
        return (i.unsigned_abs() > MAX_SAFE_INTEGER)
            .then_some("is smaller than -9007199254740991 (-(2^53 - 1)); send it as a string");
    }
    let f = n.as_f64()?.abs();
    if f > MAX_SAFE_INTEGER as f64 {
        Some("has a magnitude above 9007199254740991 (2^53 - 1), which cannot be kept exact; send it as a string")
    } else if f != 0.0 && f < MIN_MAGNITUDE {
        Some("has a magnitude below 1e-130, the smallest number DynamoDB stores")
    } else {
        None
    }
}

/// Finds the first number in `value` that [`number_problem`] refuses; `path` names `value`
/// (`properties.price`), and the answer names the number's own path (`properties.items[2].n`)
/// with the reason.
pub fn check_numbers(path: &str, value: &Value) -> Option<(String, &'static str)> {
    match value {
        Value::Number(n) => number_problem(n).map(|why| (path.to_string(), why)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| check_numbers(&format!("{path}[{i}]"), v)),
        Value::Object(map) => map.iter().find_map(|(k, v)| check_numbers(&format!("{path}.{k}"), v)),
        _ => None,
    }
}

/// One step of a JSON path.
enum Step {
    /// Inside an object: its current key, and whether the next string is a key.
    Object { key: Option<String>, expect_key: bool },
    /// Inside an array: the current index.
    Array(usize),
}

/// Finds the first number literal in JSON `text` (already parsed successfully) that is not
/// zero yet reads below [`MIN_MAGNITUDE`] — `1e-400` among them, which a double cannot hold
/// and JSON parsing reads as 0 without a word — and answers its path (`properties.a[2]`).
/// [`check_numbers`] sees parsed values, where such a literal is already 0; this reads the
/// text. One pass over the bytes, no allocation but the keys on the path.
pub fn underflowing_number(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let mut stack: Vec<Step> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'{' => stack.push(Step::Object {
                key: None,
                expect_key: true,
            }),
            b'[' => stack.push(Step::Array(0)),
            b'}' | b']' => {
                stack.pop();
            }
            b',' => match stack.last_mut() {
                Some(Step::Array(n)) => *n = n.saturating_add(1),
                Some(Step::Object { expect_key, .. }) => *expect_key = true,
                None => {}
            },
            b':' => {
                if let Some(Step::Object { expect_key, .. }) = stack.last_mut() {
                    *expect_key = false;
                }
            }
            b'"' => {
                let start = i;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                if let Some(Step::Object { key, expect_key: true }) = stack.last_mut() {
                    *key = text.get(start..=i).and_then(|k| serde_json::from_str(k).ok());
                }
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i + 1 < b.len() && matches!(b[i + 1], b'0'..=b'9' | b'+' | b'-' | b'.' | b'e' | b'E') {
                    i += 1;
                }
                let literal = text.get(start..=i).unwrap_or("0");
                let mantissa = literal.split(['e', 'E']).next().unwrap_or("");
                let nonzero = mantissa.bytes().any(|c| (b'1'..=b'9').contains(&c));
                if nonzero && literal.parse::<f64>().map_or(true, |v| v.abs() < MIN_MAGNITUDE) {
                    return Some(path_of(&stack));
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn path_of(stack: &[Step]) -> String {
    let mut path = String::new();
    for step in stack {
        match step {
            Step::Object { key: Some(k), .. } => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.extend(k.chars().take(MAX_KEY_CHARS).flat_map(char::escape_debug));
            }
            Step::Object { key: None, .. } => {}
            Step::Array(n) => path.push_str(&format!("[{n}]")),
        }
    }
    path
}

/// Longest key of a client's free-form map, characters.
pub const MAX_KEY_CHARS: usize = 64;

/// Whether `c` is a Unicode bidirectional formatting character (Unicode Standard Annex #9,
/// "Explicit Directional Formatting Characters": U+061C, U+200E, U+200F, U+202A–U+202E,
/// U+2066–U+2069), which can make a key display as another.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Why `key` breaks the one rule for every key of a map a client sends, if it does: 1 to
/// [`MAX_KEY_CHARS`] characters, none a control or bidirectional formatting character. An
/// empty key is one DynamoDB cannot store as an attribute name.
pub fn key_problem(key: &str) -> Option<&'static str> {
    if key.is_empty() {
        Some("keys must not be empty")
    } else if key.chars().count() > MAX_KEY_CHARS {
        Some("keys must be at most 64 characters")
    } else if key.chars().any(|c| c.is_control() || is_bidi_control(c)) {
        Some("keys must not contain control or bidirectional formatting characters")
    } else {
        None
    }
}

/// Finds the first key in `value` (at any level) that [`key_problem`] refuses; answers its
/// path (the key escaped, at most its first 64 characters) and why.
pub fn check_keys(path: &str, value: &Value) -> Option<(String, &'static str)> {
    match value {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| check_keys(&format!("{path}[{i}]"), v)),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            let shown: String = k.chars().take(MAX_KEY_CHARS).flat_map(char::escape_debug).collect();
            let here = format!("{path}.{shown}");
            match key_problem(k) {
                Some(why) => Some((here, why)),
                None => check_keys(&here, v),
            }
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(serde::Deserialize, Debug)]
    struct Doc {
        #[serde(default, deserialize_with = "strict_object")]
        p: Option<Map<String, Value>>,
    }

    fn doc(text: &str) -> Result<Doc, serde_json::Error> {
        serde_json::from_str(text)
    }

    #[derive(serde::Deserialize, Debug)]
    struct Flat {
        #[allow(dead_code)]
        a: Option<u8>,
        #[serde(flatten, deserialize_with = "strict_flat_map")]
        rest: std::collections::BTreeMap<String, Value>,
    }

    #[test]
    fn duplicate_keys_of_a_flattened_map_are_refused() {
        let f: Flat = serde_json::from_str(r#"{"a": 1, "x": "1", "y": {"z": 2}}"#).unwrap();
        assert_eq!(f.rest.len(), 2);
        let e = serde_json::from_str::<Flat>(r#"{"x": "1", "a": 1, "x": "2"}"#).unwrap_err();
        assert!(e.to_string().contains("duplicate key"), "{e}");
        assert!(serde_json::from_str::<Flat>(r#"{"y": {"z": 1, "z": 2}}"#).is_err());
    }

    #[test]
    fn duplicate_keys_are_refused_at_every_level() {
        assert!(doc(r#"{"p": {"a": 1, "b": {"c": [1, {"d": 2}]}}}"#).is_ok());
        for bad in [
            r#"{"p": {"a": 1, "a": 2}}"#,
            r#"{"p": {"a": {"b": 1, "b": 1}}}"#,
            r#"{"p": {"a": [{"x": 1, "x": 2}]}}"#,
        ] {
            let e = doc(bad).unwrap_err().to_string();
            assert!(e.contains("duplicate key"), "{bad}: {e}");
        }
        assert!(doc(r#"{"p": [1]}"#).is_err());
        assert!(doc(r#"{"p": null}"#).unwrap().p.is_none());
        assert!(doc(r#"{}"#).unwrap().p.is_none());
    }

    #[test]
    fn numbers_outside_what_is_kept_exact_are_named_by_path() {
        let ok = json!({"a": 0, "b": -0.0, "c": 9007199254740991u64, "d": -9007199254740991i64, "e": 1e-130,
            "f": 0.1, "g": [1.5, -2]});
        assert_eq!(check_numbers("properties", &ok), None);
        // As parsed from text (correctly rounded: serde_json's `float_roundtrip`), the edges
        // of the range are accepted.
        let parsed: Value =
            serde_json::from_str(r#"[1e-130, -1e-130, 9007199254740991, -9007199254740991, 0.1]"#).unwrap();
        assert_eq!(check_numbers("p", &parsed), None);
        let big: Value = serde_json::from_str(r#"{"x": {"y": [0, 99999999999999999999999999999999]}}"#).unwrap();
        let (path, why) = check_numbers("properties", &big).unwrap();
        assert_eq!(path, "properties.x.y[1]");
        assert!(why.contains("string"), "{why}");
        for text in [
            "1e200",
            "-1e300",
            "1e-131",
            "9007199254740992",
            "-9007199254740992",
            "18446744073709551615",
            "5e-324",
        ] {
            let v: Value = serde_json::from_str(text).unwrap();
            assert!(check_numbers("n", &v).is_some(), "{text}");
        }
    }

    #[test]
    fn a_number_that_underflows_to_zero_is_found_by_its_path() {
        for (text, path) in [
            (r#"{"properties": {"a": 1e-400}}"#, Some("properties.a")),
            (
                r#"{"properties": {"items": [1, {"p": -2.5E-500}]}}"#,
                Some("properties.items[1].p"),
            ),
            (r#"{"a": "1e-400", "b": 0, "c": 0.0, "d": 0e-999, "e": -0.0}"#, None),
            (r#"{"a\"b": [[1e-131]]}"#, Some("a\\\"b[0][0]")),
            (r#"{"a": 1e-130, "b": 12.5e3, "c": [true, null, false]}"#, None),
        ] {
            assert_eq!(underflowing_number(text).as_deref(), path, "{text}");
        }
        let zeros = format!(r#"{{"k": 0.{}1}}"#, "0".repeat(400));
        assert_eq!(underflowing_number(&zeros).as_deref(), Some("k"));
    }

    #[test]
    fn every_key_follows_one_rule_at_every_level() {
        let path = |v: Value| check_keys("p", &v).map(|(p, _)| p);
        assert_eq!(path(json!({"a": {"b": 1}})), None);
        assert_eq!(path(json!({"a": {"b\u{0}c": 1}})).as_deref(), Some("p.a.b\\0c"));
        assert_eq!(path(json!({"a\nb": 1})).as_deref(), Some("p.a\\nb"));
        assert_eq!(path(json!({"l": [{"\u{7f}": 1}]})).as_deref(), Some("p.l[0].\\u{7f}"));
        // Empty, too long, and bidirectional formatting characters, nested or not.
        assert_eq!(
            check_keys("p", &json!({"": 1})),
            Some(("p.".into(), "keys must not be empty"))
        );
        assert_eq!(
            check_keys("p", &json!({"a": [{"": 1}]})).map(|(p, _)| p).as_deref(),
            Some("p.a[0].")
        );
        let long = "k".repeat(65);
        let (p, why) = check_keys("p", &json!({"a": {long.clone(): 1}})).unwrap();
        assert_eq!((p.len(), why), (2 + 1 + 1 + 64, "keys must be at most 64 characters"));
        assert!(check_keys("p", &json!({"k".repeat(64): 1})).is_none());
        for bidi in ['\u{202E}', '\u{2066}', '\u{200F}', '\u{061C}'] {
            let (p, why) = check_keys("p", &json!({format!("ab{bidi}c"): 1})).unwrap();
            assert!(why.contains("bidirectional"), "{bidi:?}");
            assert!(!p.contains(bidi), "the path shows the character escaped: {p}");
        }
        assert!(check_keys("p", &json!({"prix (€)": 1, "名前": 2})).is_none());
    }
}
