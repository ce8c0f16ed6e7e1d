//! `repeat_offender` (behavioral model, layer 3.5, seed "Risk Scoring System": repeat-offender
//! memory): in the holistic score mode, a visitor released from a block less than
//! `behavior.blacklist.memory_secs` ago (seed: 30 min) whose blocking component scores again,
//! however mildly, fires the `repeat_offender` trigger and is lifted back over the block
//! threshold. Weight 0: it adds no points of its own. Every enforced block also blacklists the
//! visitor, so the memory runs from the block's end.

use crate::fraud::component::Component;
use crate::fraud::config::{FraudConfig, ScoreMode};
use crate::fraud::input::Memory;
use crate::fraud::trigger::Trigger;
use crate::fraud::ComponentResult;

/// Judges the visitor's last block against the components scored for this request
/// (`(component, weight, result)`); `now_ms` is the request's time, ms since the epoch.
/// `None` when the memory does not apply (additive mode, no block, released too long ago,
/// or the blocking component does not score now).
pub fn score(
    memory: Option<&Memory>,
    scored: &[(Component, f64, ComponentResult)],
    now_ms: i64,
    config: &FraudConfig,
) -> Option<ComponentResult> {
    if config.behavior.score_mode != ScoreMode::Holistic {
        return None;
    }
    let memory = memory?;
    let component = memory.blocked_for.component();
    let scored_now = scored.iter().any(|(c, _, r)| *c == component && r.score > 0.0);
    let window_ms = i64::try_from(config.behavior.blacklist.memory_secs)
        .unwrap_or(i64::MAX)
        .saturating_mul(1000);
    if !scored_now || now_ms.saturating_sub(memory.released_ms) > window_ms {
        return None;
    }
    let mut r = ComponentResult::default();
    r.add(
        "repeat_offender",
        0.0,
        format!(
            "blocked for {} in the last {} min",
            memory.blocked_for,
            config.behavior.blacklist.memory_secs / 60
        ),
    );
    r.triggers.push(Trigger::RepeatOffender);
    Some(r)
}
