//! Distinct visitors counted in bounded space: a HyperLogLog sketch (Flajolet, Fusy, Gandouet
//! and Meunier, "HyperLogLog: the analysis of a near-optimal cardinality estimation algorithm",
//! 2007) of [`REGISTERS`] registers, stored sparsely (a register that was never raised is not
//! stored).
//!
//! Why: the JA4 and JA4 + network aggregates used to keep every visitor id of a 5-minute bucket
//! in a string set, so one popular browser JA4 made one item grow with every visitor (past
//! DynamoDB's 400 KB item limit at about 11,000 visitors, and 1 write unit per KB on every
//! event long before). A sketch item holds at most [`REGISTERS`] small numbers (about 3.5 KB),
//! and an event writes only when it raises a register the first read round showed lower: the
//! first visitors of a bucket write, later ones rarely (about `m · ln(n / m)` raises for `n`
//! distinct visitors), so write units per event fall as traffic grows instead of rising.
//!
//! Accuracy: the standard error is `1.04 / √m` ≈ 4.6 % for large counts; small counts (the
//! session-hopping thresholds are 2, 3 and 5 visitors) use linear counting, exact unless two
//! visitors share a register (for 3 visitors about 0.6 % of the time, which counts them as 2).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Bits of the hash that choose the register: 9.
pub const PRECISION: u32 = 9;
/// Registers of a sketch: 2⁹ = 512.
pub const REGISTERS: u16 = 1 << PRECISION;

/// One register's raise: its index (0 … [`REGISTERS`] − 1) and rank (1 … 56).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Register {
    pub index: u16,
    pub rank: u8,
}

impl Register {
    /// The register a visitor id raises: the first 64 bits of its SHA-256 (stable across
    /// processes and versions, which a stored sketch needs), the top [`PRECISION`] bits
    /// choosing the register, the rank being one more than the leading zeros of the rest.
    pub fn of(visitor_id: &str) -> Self {
        let digest = Sha256::digest(visitor_id.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        let hash = u64::from_be_bytes(first);
        let index = (hash >> (64 - PRECISION)) as u16;
        let rest = hash << PRECISION;
        let rank = rest.leading_zeros().min(64 - PRECISION) + 1;
        Register {
            index,
            rank: rank as u8,
        }
    }

    /// The attribute a stored sketch keeps this register in: `r<index>`.
    pub fn attribute(self) -> String {
        format!("r{}", self.index)
    }
}

/// A register raise for the sketch of one aggregate bucket: the item's partition key, the
/// bucket's start (Unix seconds), the register's index and rank. An event carries the raises
/// the edge left to the stream processor (see `SessionHoppingConfig::edge_raise_after_secs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SketchRaise {
    pub pk: String,
    pub start: i64,
    pub index: u16,
    pub rank: u8,
}

impl SketchRaise {
    /// The register raised.
    pub fn register(&self) -> Register {
        Register {
            index: self.index,
            rank: self.rank,
        }
    }
}

/// The registers of `raises` by bucket (`pk`, start), each register at its highest rank.
pub fn by_bucket(raises: &[SketchRaise]) -> BTreeMap<(&str, i64), Sketch> {
    let mut buckets: BTreeMap<(&str, i64), Sketch> = BTreeMap::new();
    for r in raises {
        buckets.entry((r.pk.as_str(), r.start)).or_default().raise(r.register());
    }
    buckets
}

/// A HyperLogLog sketch: the raised registers by index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sketch {
    registers: BTreeMap<u16, u8>,
}

impl Sketch {
    /// An empty sketch (an estimate of 0).
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads a register from a stored attribute `r<index>` with its rank; anything else
    /// (another name, an index or rank out of range) is ignored and returns false.
    pub fn load(&mut self, attribute: &str, rank: i64) -> bool {
        let Some(index) = attribute.strip_prefix('r').and_then(|i| i.parse::<u16>().ok()) else {
            return false;
        };
        let Ok(rank) = u8::try_from(rank) else {
            return false;
        };
        if index >= REGISTERS || rank == 0 || u32::from(rank) > 64 - PRECISION + 1 {
            return false;
        }
        self.raise(Register { index, rank });
        true
    }

    /// The rank held by register `index` (0 when never raised).
    pub fn rank(&self, index: u16) -> u8 {
        self.registers.get(&index).copied().unwrap_or(0)
    }

    /// Whether `register` would raise this sketch (its rank is above the one held).
    pub fn would_raise(&self, register: Register) -> bool {
        register.rank > self.rank(register.index)
    }

    /// Raises `register` to its rank if that is higher.
    pub fn raise(&mut self, register: Register) {
        let held = self.registers.entry(register.index).or_insert(0);
        *held = (*held).max(register.rank);
    }

    /// Counts `visitor_id`.
    pub fn insert(&mut self, visitor_id: &str) {
        self.raise(Register::of(visitor_id));
    }

    /// The union with `other`: each register's higher rank.
    pub fn merge(&mut self, other: &Sketch) {
        for (&index, &rank) in &other.registers {
            self.raise(Register { index, rank });
        }
    }

    /// The raised registers, `(index, rank)`, by index.
    pub fn registers(&self) -> impl Iterator<Item = Register> + '_ {
        self.registers.iter().map(|(&index, &rank)| Register { index, rank })
    }

    /// Number of raised registers (at most [`REGISTERS`]).
    pub fn len(&self) -> usize {
        self.registers.len()
    }

    /// Whether no register was raised.
    pub fn is_empty(&self) -> bool {
        self.registers.is_empty()
    }

    /// The estimated number of distinct visitors counted: HyperLogLog's raw estimate, or
    /// linear counting (`m · ln(m / empty registers)`) while that is at most 2.5 m, rounded.
    pub fn estimate(&self) -> u64 {
        if self.registers.is_empty() {
            return 0;
        }
        let m = f64::from(REGISTERS);
        let empty = usize::from(REGISTERS) - self.registers.len();
        let sum: f64 = self.registers.values().map(|&r| 2f64.powi(-i32::from(r))).sum::<f64>() + empty as f64;
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let raw = alpha * m * m / sum;
        let estimate = if raw <= 2.5 * m && empty > 0 {
            m * (m / empty as f64).ln()
        } else {
            raw
        };
        estimate.round() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn visitors(n: usize, seed: &str) -> impl Iterator<Item = String> + '_ {
        (0..n).map(move |i| format!("01a2-{seed}-{i:08}"))
    }

    #[test]
    fn small_counts_are_exact_unless_registers_collide() {
        for n in [1, 2, 3, 5, 10] {
            let mut s = Sketch::new();
            for v in visitors(n, "small") {
                s.insert(&v);
                s.insert(&v);
            }
            assert_eq!(s.estimate(), n as u64, "{n} visitors, each twice");
        }
        assert_eq!(Sketch::new().estimate(), 0);
    }

    #[test]
    fn large_counts_are_within_three_standard_errors() {
        for n in [1_000usize, 20_000, 200_000] {
            let mut s = Sketch::new();
            visitors(n, "large").for_each(|v| s.insert(&v));
            let error = (s.estimate() as f64 - n as f64).abs() / n as f64;
            assert!(
                error < 3.0 * 1.04 / f64::from(REGISTERS).sqrt(),
                "{n}: estimate {}",
                s.estimate()
            );
            assert!(s.len() <= usize::from(REGISTERS));
        }
    }

    #[test]
    fn a_union_counts_each_visitor_once() {
        let (mut a, mut b) = (Sketch::new(), Sketch::new());
        visitors(300, "u").for_each(|v| a.insert(&v));
        visitors(300, "u").skip(100).for_each(|v| b.insert(&v));
        visitors(100, "other").for_each(|v| b.insert(&v));
        a.merge(&b);
        let error = (a.estimate() as f64 - 400.0).abs() / 400.0;
        assert!(error < 0.1, "{}", a.estimate());
    }

    /// Bytes of a stored sketch bucket by DynamoDB's item size rule (attribute name lengths
    /// plus values; a number is one byte plus one per two significant digits): the keys
    /// (`ORG#<org>#AGG#JA4#<36-character JA4>`, `B#<start>`), `item_type`, `expires_at`,
    /// `first_seen`, and `r<index>` = rank per raised register.
    fn sketch_item_bytes(sketch: &Sketch) -> usize {
        let number = |digits: usize| 1 + digits.div_ceil(2);
        let fixed = 2
            + "ORG#org_demo_pro#AGG#JA4#t13d1516h2_8daaf6152771_02713d6af862".len()
            + 2
            + "B#1800000000".len()
            + "item_type".len()
            + "aggregate".len()
            + "expires_at".len()
            + number(10)
            + "first_seen".len()
            + number(13);
        fixed
            + sketch
                .registers()
                .map(|r| r.attribute().len() + number(r.rank.to_string().len()))
                .sum::<usize>()
    }

    /// The same bucket as it was stored before sketches: `n`, and every visitor id (36-character
    /// UUIDs) in the string set `vs`.
    fn string_set_item_bytes(visitors: usize) -> usize {
        let fixed = sketch_item_bytes(&Sketch::new()) + "n".len() + 1 + 4;
        fixed + "vs".len() + visitors * 36
    }

    /// Write units of one write: DynamoDB charges 1 per KB (rounded up) of the larger of the
    /// item before and after.
    fn write_units(before: usize, after: usize) -> usize {
        before.max(after).div_ceil(1024).max(1)
    }

    /// The figures of the performance issue's "write units per event at 10, 1,000 and 100,000
    /// distinct visitors per window" (one JA4's 5-minute bucket, one event per visitor: the
    /// worst case), for the sketch (a write only when the event raises a register) and for the
    /// string set it replaced (a write per event, the item growing with every visitor).
    /// `cargo test -p impressio --lib sketch -- --nocapture` prints them (docs/performance.md).
    #[test]
    fn write_units_per_event_stay_bounded_as_visitors_grow() {
        println!("visitors  sketch: writes/event  WCU/event  item bytes | string set: WCU/event  item bytes");
        for n in [10usize, 1_000, 100_000] {
            let mut sketch = Sketch::new();
            let (mut writes, mut units) = (0usize, 0usize);
            let mut old_units = 0usize;
            for (i, v) in visitors(n, "cost").enumerate() {
                let register = Register::of(&v);
                if sketch.would_raise(register) {
                    let before = sketch_item_bytes(&sketch);
                    sketch.raise(register);
                    writes += 1;
                    units += write_units(before, sketch_item_bytes(&sketch));
                }
                old_units += write_units(string_set_item_bytes(i), string_set_item_bytes(i + 1));
            }
            let bytes = sketch_item_bytes(&sketch);
            println!(
                "{n:>8}  {:>20.3}  {:>9.3}  {bytes:>10} | {:>21.1}  {:>10}",
                writes as f64 / n as f64,
                units as f64 / n as f64,
                old_units as f64 / n as f64,
                string_set_item_bytes(n)
            );
            assert!(bytes < 4 * 1024, "{n}: the item stays under 4 KB ({bytes} bytes)");
            assert!(
                units as f64 / n as f64 <= 1.5,
                "{n}: write units per event stay bounded"
            );
            if n >= 100_000 {
                assert!(
                    units as f64 / (n as f64) < 0.1,
                    "{n}: write units fall as visitors grow"
                );
                assert!(
                    string_set_item_bytes(n) > 400 * 1024,
                    "the string set passed DynamoDB's item limit"
                );
            }
        }
    }

    /// Writes per second to one JA4's bucket when 5,000 events a second carry it (half of
    /// 10,000 events a second for one organization), each from a new visitor, every edge read
    /// seeing the bucket as it was 10 ms earlier (requests in flight together). In the bucket's
    /// first `edge_raise_after_secs` (10) the events carry their raises to the stream processor,
    /// which writes each batch's raises in one update (a batch every 100 ms, a second behind the
    /// events); after that the edge writes the raises itself, against a sketch that already
    /// holds the first seconds' visitors. Without the hand-over the first second took 1,190
    /// writes (`m · ln(n / m)` raises of an empty sketch), then 290, 139, 98, 86, 58.
    #[test]
    fn a_popular_ja4_s_bucket_is_written_a_few_hundred_times_a_second_at_most() {
        let (per_second, tick_ms, seconds) = (5_000usize, 10usize, 15usize);
        let (after_ms, batch_every_ms, lag_ms) = (10_000usize, 100usize, 1_000usize);
        let per_tick = per_second * tick_ms / 1000;
        let mut stored = Sketch::new();
        let mut truth = Sketch::new();
        let mut ids = visitors(per_second * seconds, "burst");
        let mut carried: Vec<(usize, Register)> = Vec::new();
        let mut writes_per_second = vec![0usize; seconds];
        for tick in 0..seconds * 1000 / tick_ms {
            let t = tick * tick_ms;
            let seen = stored.clone();
            for v in ids.by_ref().take(per_tick) {
                let register = Register::of(&v);
                truth.raise(register);
                if !seen.would_raise(register) {
                    continue;
                }
                if t < after_ms {
                    carried.push((t, register));
                } else {
                    writes_per_second[t / 1000] += 1;
                    stored.raise(register);
                }
            }
            if t % batch_every_ms == 0 {
                let due = carried.iter().take_while(|(at, _)| at + lag_ms <= t).count();
                let batch: Vec<Register> = carried.drain(..due).map(|(_, r)| r).collect();
                if batch.iter().any(|r| stored.would_raise(*r)) {
                    writes_per_second[t / 1000] += 1;
                    batch.iter().for_each(|r| stored.raise(*r));
                }
            }
        }
        println!("writes per second to the bucket, second by second: {writes_per_second:?}");
        assert!(writes_per_second.iter().all(|&w| w <= 300), "{writes_per_second:?}");
        // Nothing is lost: once the carried raises are written, the sketch is the one every
        // visitor would have made.
        for (_, r) in carried.drain(..) {
            stored.raise(r);
        }
        assert_eq!(stored, truth);
    }

    #[test]
    fn registers_are_stable_and_stored_ones_are_checked() {
        // The same id raises the same register in every process and version.
        assert_eq!(Register::of("v1"), Register::of("v1"));
        let r = Register::of("01a236ea-1201-71ac-8da3-793d7df0219a");
        assert!(r.index < REGISTERS && (1..=56).contains(&r.rank));
        let mut s = Sketch::new();
        assert!(s.load(&r.attribute(), i64::from(r.rank)));
        assert!(!s.would_raise(r));
        for (name, rank) in [("r512", 3), ("r1", 0), ("r1", 57), ("r1", -1), ("reason", 1), ("n", 2)] {
            assert!(!s.load(name, rank), "{name}={rank}");
        }
        assert_eq!(s.len(), 1);
    }
}
