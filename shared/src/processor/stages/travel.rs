//! The travel stage: impossible travel: the distance between a user's two consecutive events by the haversine formula
//! (R = 6371 km), skipped under 50 km; a speed over 900 km/h is impossible, with risk
//! `50 + (speed − 900) / 200 × 10`, capped at 90.

use serde::{Deserialize, Serialize};

use crate::event::EventRecord;
use crate::processor::history::History;
use crate::processor::stage::{StageOutcome, StageStatus};

/// Earth radius, km (the mean radius, rounded: the International
/// Union of Geodesy and Geophysics' mean radius is 6371.0088 km).
pub const EARTH_RADIUS_KM: f64 = 6371.0;

/// The longest great-circle distance on that sphere (π × 6371 km), km.
const HALF_CIRCUMFERENCE_KM: f64 = std::f64::consts::PI * EARTH_RADIUS_KM;

/// How far back an earlier event can still make impossible travel, ms: the time the longest
/// great-circle distance takes at `max_speed_kmh` (older events are reachable at any speed).
pub fn lookback_ms(c: &TravelConfig) -> i64 {
    let ms = (HALF_CIRCUMFERENCE_KM / c.max_speed_kmh * 3_600_000.0).ceil();
    // A float-to-int cast saturates; a zero or negative speed is refused by the configuration.
    ms as i64
}

/// Runs the stage for `event` against the user's `history`, at `now` (ms since the Unix
/// epoch): judged against the latest earlier event (the same millisecond counts, the event
/// itself does not); skipped without a location on either side, a user or an earlier event;
/// retryable when the history could not be read.
pub fn run(event: &EventRecord, history: History<'_>, c: &TravelConfig, now: i64) -> TravelResult {
    let skipped = |why: &str| TravelResult {
        outcome: StageOutcome::new(StageStatus::Skipped, None, Some(why.into()), 0, now),
        previous_event_id: None,
        travel: None,
    };
    let viewer = &event.context.viewer;
    let (Some(lat), Some(lon)) = (viewer.latitude, viewer.longitude) else {
        return skipped("the event has no location");
    };
    let no_user = "the event has no user or visitor id";
    let earlier = match history.earlier(&event.event_id, event.ts, no_user, now) {
        Ok(earlier) => earlier,
        Err(outcome) => {
            return TravelResult {
                outcome,
                previous_event_id: None,
                travel: None,
            }
        }
    };
    let Some(previous) = earlier.max_by_key(|e| e.ts) else {
        return skipped("no earlier event of this user");
    };
    let (Some(plat), Some(plon)) = (previous.latitude, previous.longitude) else {
        return TravelResult {
            previous_event_id: Some(previous.event_id.clone()),
            ..skipped("the previous event has no location")
        };
    };
    let t = judge(
        &Sighting {
            latitude: plat,
            longitude: plon,
            ts: previous.ts,
        },
        &Sighting {
            latitude: lat,
            longitude: lon,
            ts: event.ts,
        },
        c,
    );
    let detail = t.is_none().then(|| format!("under {} km", c.min_distance_km));
    TravelResult {
        outcome: StageOutcome::new(StageStatus::Done, None, detail, 0, now),
        previous_event_id: Some(previous.event_id.clone()),
        travel: t,
    }
}

/// The impossible-travel result with the event it was measured against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TravelResult {
    pub outcome: StageOutcome,
    /// The previous event of the same user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_event_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub travel: Option<Travel>,
}

/// The thresholds and their defaults.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TravelConfig {
    /// Distances below this are ignored, km (seed: 50).
    pub min_distance_km: f64,
    /// Speeds above this are impossible, km/h (seed: 900).
    pub max_speed_kmh: f64,
    /// Risk at `max_speed_kmh` (seed: 50).
    pub base_risk: f64,
    /// Risk added per `risk_step_kmh` above it (seed: 10 per 200 km/h).
    pub risk_per_step: f64,
    pub risk_step_kmh: f64,
    /// Highest risk (seed: 90).
    pub max_risk: f64,
}

impl Default for TravelConfig {
    fn default() -> Self {
        TravelConfig {
            min_distance_km: 50.0,
            max_speed_kmh: 900.0,
            base_risk: 50.0,
            risk_per_step: 10.0,
            risk_step_kmh: 200.0,
            max_risk: 90.0,
        }
    }
}

/// A located, timed sighting of a user.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sighting {
    /// Degrees.
    pub latitude: f64,
    /// Degrees.
    pub longitude: f64,
    /// ms since the Unix epoch.
    pub ts: i64,
}

/// The verdict on two consecutive sightings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Travel {
    pub distance_km: f64,
    /// km/h; the time between the sightings counts as at least one second, so the speed stays
    /// finite (and storable) when both have the same time.
    pub speed_kmh: f64,
    pub impossible: bool,
    /// 0 when possible; `50 … 90` when impossible.
    pub risk: f64,
}

/// Great-circle distance between two points given as (latitude, longitude) in degrees, km,
/// on a sphere of radius [`EARTH_RADIUS_KM`]: the haversine formula (R. W. Sinnott, "Virtues
/// of the Haversine", Sky and Telescope 68(2), 1984),
/// `d = 2R · asin(√(sin²(Δφ/2) + cos φ₁ · cos φ₂ · sin²(Δλ/2)))`.
pub fn haversine_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    haversine_on(EARTH_RADIUS_KM, a, b)
}

/// [`haversine_km`] on a sphere of `radius_km`. The term under the root is clamped to 0…1:
/// rounding can push it past 1 for antipodal points.
fn haversine_on(radius_km: f64, (lat1, lon1): (f64, f64), (lat2, lon2): (f64, f64)) -> f64 {
    let (phi1, phi2) = (lat1.to_radians(), lat2.to_radians());
    let d_phi = (lat2 - lat1).to_radians();
    let d_lambda = (lon2 - lon1).to_radians();
    let h = (d_phi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (d_lambda / 2.0).sin().powi(2);
    2.0 * radius_km * h.clamp(0.0, 1.0).sqrt().asin()
}

/// Judges the travel from `previous` to `current`; `None` under the minimum distance.
pub fn judge(previous: &Sighting, current: &Sighting, c: &TravelConfig) -> Option<Travel> {
    let distance_km = haversine_km(
        (previous.latitude, previous.longitude),
        (current.latitude, current.longitude),
    );
    if distance_km < c.min_distance_km {
        return None;
    }
    let hours = current.ts.abs_diff(previous.ts).max(1000) as f64 / 3_600_000.0;
    let speed_kmh = distance_km / hours;
    let impossible = speed_kmh > c.max_speed_kmh;
    let risk = if impossible {
        (c.base_risk + (speed_kmh - c.max_speed_kmh) / c.risk_step_kmh * c.risk_per_step).min(c.max_risk)
    } else {
        0.0
    };
    Some(Travel {
        distance_km,
        speed_kmh,
        impossible,
        risk,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lookback_is_half_the_earth_at_the_speed_limit() {
        // π × 6371 km = 20 015 km at 900 km/h: 22.24 h, rounded up to the ms.
        let ms = lookback_ms(&TravelConfig::default());
        assert_eq!(ms, 80_060_348);
        let faster = TravelConfig {
            max_speed_kmh: 1800.0,
            ..TravelConfig::default()
        };
        assert_eq!(lookback_ms(&faster), 40_030_174);
    }

    const PARIS: (f64, f64) = (48.8566, 2.3522);
    const NEW_YORK: (f64, f64) = (40.7128, -74.0060);
    const VERSAILLES: (f64, f64) = (48.8049, 2.1204);

    fn at(p: (f64, f64), minutes: i64) -> Sighting {
        Sighting {
            latitude: p.0,
            longitude: p.1,
            ts: minutes * 60_000,
        }
    }

    #[test]
    fn haversine_with_the_seeds_radius() {
        let d = haversine_km(PARIS, NEW_YORK);
        assert!((d - 5837.0).abs() < 5.0, "{d}");
    }

    #[test]
    fn haversine_matches_published_distances() {
        // Rosetta Code, "Haversine formula": Nashville International Airport (BNA, 36.12° N,
        // 86.67° W) to Los Angeles International Airport (LAX, 33.94° N, 118.40° W) is
        // 2887.2599506071106 km on a sphere of 6372.8 km.
        let bna = (36.12, -86.67);
        let lax = (33.94, -118.40);
        assert!((haversine_on(6372.8, bna, lax) - 2_887.259_950_607_110_6).abs() < 1e-9);
        // The same on the design's sphere: scaled by 6371 / 6372.8.
        assert!((haversine_km(bna, lax) - 2_887.259_950_607_110_6 * 6371.0 / 6372.8).abs() < 1e-9);
        // A quarter of a meridian, pole to equator, and half the equator.
        let quarter = std::f64::consts::FRAC_PI_2 * EARTH_RADIUS_KM;
        assert!((haversine_km((90.0, 0.0), (0.0, 0.0)) - quarter).abs() < 1e-6);
        assert!((haversine_km((0.0, 0.0), (0.0, 180.0)) - 2.0 * quarter).abs() < 1e-6);
        // Antipodes, where rounding pushes the term past 1, and a point to itself.
        assert!((haversine_km((45.0, 10.0), (-45.0, -170.0)) - 2.0 * quarter).abs() < 1e-6);
        assert_eq!(haversine_km(PARIS, PARIS), 0.0);
        // Symmetric.
        assert_eq!(haversine_km(PARIS, NEW_YORK), haversine_km(NEW_YORK, PARIS));
    }

    #[test]
    fn the_seeds_numbers() {
        let c = TravelConfig::default();
        assert_eq!(
            judge(&at(PARIS, 0), &at(VERSAILLES, 1), &c),
            None,
            "under 50 km is skipped"
        );
        // Paris → New York in 7 h: ~834 km/h, possible.
        let t = judge(&at(PARIS, 0), &at(NEW_YORK, 7 * 60), &c).unwrap();
        assert!(!t.impossible && t.risk == 0.0);
        // In 5 h: ~1167 km/h → 50 + 267 / 200 × 10 ≈ 63.4.
        let t = judge(&at(PARIS, 0), &at(NEW_YORK, 5 * 60), &c).unwrap();
        let expected = 50.0 + (t.speed_kmh - 900.0) / 200.0 * 10.0;
        assert!(
            t.impossible && (t.risk - expected).abs() < 1e-9 && (63.0..64.0).contains(&t.risk),
            "{t:?}"
        );
        // In 30 minutes: capped at 90.
        let t = judge(&at(PARIS, 0), &at(NEW_YORK, 30), &c).unwrap();
        assert_eq!(t.risk, 90.0);
        // The same minute: the highest speed, still capped.
        assert_eq!(judge(&at(PARIS, 0), &at(NEW_YORK, 0), &c).unwrap().risk, 90.0);
    }
}
