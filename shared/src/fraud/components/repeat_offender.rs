//! `repeat_offender`: the blacklist's progressive timeouts and repeat-offender memory. A block
//! lasts 1 h, 4 h, 8 h, 12 h, then 24 h by the offenses of the last 24 h; in the holistic score mode, a visitor released from a block less
//! than `memory_secs` ago (30 min) whose blocking component scores again, however mildly,
//! fires the `repeat_offender` trigger and is lifted back over the block threshold. It adds no
//! points of its own (weight 0). A proven visitor's block blacklists the visitor too, so the
//! memory runs from the block's end.

use serde::{Deserialize, Serialize};

use crate::fraud::component::{Component, ComponentSettings, Floors};
use crate::fraud::config::FraudConfig;
use crate::fraud::input::Memory;
use crate::fraud::trigger::Trigger;
use crate::fraud::ComponentResult;

/// Seconds in a day.
const DAY_SECS: u64 = 86_400;

/// How repeat-offender memory treats a recent block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreMode {
    /// A recent block of the same detection type raises the score above the threshold.
    Holistic,
    /// Scores only add up; no memory.
    Additive,
}

/// `FRAUD_CONFIG.components.repeat_offender`: the blacklist ladder and the memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepeatOffenderConfig {
    pub score_mode: ScoreMode,
    /// Block lengths by the offense count in `offense_window_secs`, seconds.
    pub timeouts_secs: Vec<u64>,
    /// The window offenses are counted in, seconds.
    pub offense_window_secs: u64,
    /// How long after a block's end a visitor is remembered, seconds.
    pub memory_secs: u64,
    /// Floors of its block trigger, as offsets from `risk.block_threshold`, within ±50.
    pub triggers: Floors,
}

impl Default for RepeatOffenderConfig {
    /// Timeouts of 1 h, 4 h, 8 h, 12 h and 24 h by offenses in 24 h; memory 30 min.
    fn default() -> Self {
        RepeatOffenderConfig {
            score_mode: ScoreMode::Holistic,
            timeouts_secs: vec![3600, 4 * 3600, 8 * 3600, 12 * 3600, DAY_SECS],
            offense_window_secs: DAY_SECS,
            memory_secs: 1800,
            triggers: Floors::from([(Trigger::RepeatOffender, 0.0)]),
        }
    }
}

impl ComponentSettings for RepeatOffenderConfig {
    /// 0: the component adds no points, only its trigger.
    fn weight(&self) -> f64 {
        0.0
    }

    fn floors(&self) -> Option<&Floors> {
        Some(&self.triggers)
    }

    /// The ladder (one or more timeouts, not decreasing) and the window (above 0).
    fn check(&self) -> Result<(), String> {
        if self.timeouts_secs.is_empty() || self.timeouts_secs.windows(2).any(|w| w[0] > w[1]) {
            return Err("components.repeat_offender.timeouts_secs: one or more, not decreasing".into());
        }
        if self.offense_window_secs == 0 {
            return Err("components.repeat_offender.offense_window_secs must be above 0".into());
        }
        Ok(())
    }
}

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
    let c = &config.components.repeat_offender;
    if c.score_mode != ScoreMode::Holistic {
        return None;
    }
    let memory = memory?;
    let component = memory.blocked_for.component();
    let scored_now = scored.iter().any(|(comp, _, r)| *comp == component && r.score > 0.0);
    let window_ms = i64::try_from(c.memory_secs).unwrap_or(i64::MAX).saturating_mul(1000);
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
            c.memory_secs / 60
        ),
    );
    r.triggers.push(Trigger::RepeatOffender);
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_000_000_000;

    #[test]
    fn a_recent_offender_scoring_again_is_remembered_in_the_holistic_mode_only() {
        let mut config = FraudConfig::default();
        let memory = Memory {
            blocked_for: Trigger::Ja4Mismatch,
            released_ms: NOW - 10 * 60_000,
        };
        let mild = ComponentResult {
            score: 10.0,
            reasons: vec![],
            triggers: vec![],
        };
        let scored = [(Component::Ja4Context, 0.11, mild)];
        let r = score(Some(&memory), &scored, NOW, &config).expect("remembered");
        assert_eq!(r.triggers, [Trigger::RepeatOffender]);
        // Released too long ago, or another component scoring: no memory.
        let old = Memory {
            released_ms: NOW - 31 * 60_000,
            ..memory
        };
        assert!(score(Some(&old), &scored, NOW, &config).is_none());
        assert!(score(Some(&memory), &[], NOW, &config).is_none());
        config.components.repeat_offender.score_mode = ScoreMode::Additive;
        assert!(score(Some(&memory), &scored, NOW, &config).is_none());
    }
}
