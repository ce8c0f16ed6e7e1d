//! The JA4 sketch raises the edge leaves to the processor: an event in the first seconds of a
//! 5-minute aggregate bucket carries the raises of its visitor's register
//! ([`crate::behavior::rules::sketch_raises`]), and this step writes the batch's raises of one
//! bucket in one update ([`SketchWriter::raise_all`]), so that a popular JA4's new bucket,
//! whose empty sketch nearly every new visitor raises, takes a few writes a second from the
//! processor instead of one per event from the edge (docs/performance.md, "Behavioral
//! aggregates").
//!
//! Best effort, as the edge's own aggregate writes: a failure is logged and fails no record
//! (raising is a maximum, so a redelivered batch raises nothing twice).

use crate::behavior::sketch::SketchRaise;
use crate::behavior::store::SketchWriter;
use crate::event::EventRecord;

/// Writes the sketch raises `events` carry; returns the updates made (one per bucket), 0 when
/// none carried any or the write failed (logged).
pub async fn run<'a, B: SketchWriter>(
    store: &B,
    events: impl IntoIterator<Item = &'a EventRecord>,
    now_ms: i64,
) -> usize {
    let raises: Vec<SketchRaise> = events
        .into_iter()
        .flat_map(|e| e.sketch_raises.iter().cloned())
        .collect();
    if raises.is_empty() {
        return 0;
    }
    match store.raise_all(&raises, now_ms).await {
        Ok(updates) => updates,
        Err(e) => {
            tracing::warn!(error = %e, raises = raises.len(), "sketch raises not written");
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::behavior::keys::Identifiers;
    use crate::behavior::memory::MemoryBehaviorStore;
    use crate::event::{Route, ServerContext, TrackPayload};
    use crate::fraud::FraudConfig;

    const NOW: i64 = 1_795_000_201_000;

    fn event(raises: Vec<SketchRaise>) -> EventRecord {
        let valid = TrackPayload {
            organization_id: Some("o".into()),
            ..Default::default()
        }
        .validate()
        .unwrap();
        let mut e = EventRecord::new("r", Route::Track, valid, None, ServerContext::default(), NOW, 30);
        e.sketch_raises = raises;
        e
    }

    #[tokio::test]
    async fn a_batch_raises_each_bucket_once_with_every_register_it_carries() {
        let ids = Identifiers {
            organization_id: "o".into(),
            fingerprint: None,
            ip: Some("198.51.100.7".parse().unwrap()),
            ja4: Some("t13d1516h2_8daaf6152771_02713d6af862".into()),
            ja4_is_tool: false,
            visitor: None,
            address: None,
            retention_days: None,
        };
        let (ja4, ja4net) = (ids.ja4_key().unwrap(), ids.ja4net_key().unwrap());
        let start = crate::behavior::keys::bucket_start(NOW, 300);
        let raise = |pk: &str, index: u16, rank: u8| SketchRaise {
            pk: pk.into(),
            start,
            index,
            rank,
        };
        let store = MemoryBehaviorStore::new();
        let a = event(vec![raise(&ja4, 1, 3), raise(&ja4net, 1, 2)]);
        let b = event(vec![raise(&ja4, 7, 1), raise(&ja4, 1, 2)]);
        let c = event(vec![]);
        assert_eq!(run(&store, [&a, &b, &c], NOW).await, 2, "one update per bucket");
        assert_eq!(run(&store, [&c], NOW).await, 0, "nothing carried, nothing written");
        let first = crate::behavior::store::BehaviorStore::read_first(&store, &ids, NOW, &FraudConfig::default())
            .await
            .unwrap();
        let held = |buckets: &[crate::behavior::rules::Bucket], index: u16| {
            buckets
                .iter()
                .find(|b| b.start == start)
                .map_or(0, |b| b.visitors.rank(index))
        };
        assert_eq!(
            (held(&first.ja4, 1), held(&first.ja4, 7)),
            (3, 1),
            "the highest rank of each register"
        );
        assert_eq!(held(&first.ja4net, 1), 2);
    }
}
