//! Plans, their features and limits.
//!
//! | feature                 | free | starter | pro  | enterprise |
//! |-------------------------|------|---------|------|------------|
//! | identity, anti-bot      | yes  | yes     | yes  | yes        |
//! | campaigns (`/c`), digitalData | no | yes | yes  | yes        |
//! | behavioral bundle (`/h-pro.js`) | no | no | yes | yes        |
//! | service worker          | no   | no      | yes  | yes        |
//! | SSR                     | no   | no      | no   | yes        |
//! | events / month          | 10K  | 50K     | 200K | 1M         |
//! | domains                 | 1    | 3       | 10   | unlimited  |
//! | longest retention, days | 90   | 90      | 395  | 730        |
//!
//! The limits are configuration: [`PlanCatalog::default`] holds the documented numbers (docs/organizations.md) and
//! `PLAN_LIMITS` (JSON, partial) overrides them. The retention ceilings follow the ephemeral-id
//! design's retention tiers ("Recommended Retention Policy": 90 days of hot storage, two years
//! before permanent deletion), with 395 days (13 months, the events' default) for pro.

use serde::{Deserialize, Serialize};

/// A subscription plan, from the lowest to the highest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Plan {
    Free,
    Starter,
    Pro,
    Enterprise,
}

impl Plan {
    /// Every plan, lowest first.
    pub const ALL: [Plan; 4] = [Plan::Free, Plan::Starter, Plan::Pro, Plan::Enterprise];

    /// The plan's name as stored (`free`, `starter`, `pro`, `enterprise`).
    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Starter => "starter",
            Plan::Pro => "pro",
            Plan::Enterprise => "enterprise",
        }
    }

    /// The next plan up, if any.
    pub fn next(self) -> Option<Plan> {
        Plan::ALL.into_iter().find(|p| *p > self)
    }
}

/// A plan-gated capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    /// Campaign attribution, `POST /c`.
    Campaigns,
    /// The page's `window.digitalData` sent with events.
    DigitalData,
    /// The behavioral bundle, `GET /h-pro.js`.
    Behavioral,
    /// The first-party service worker that queues events offline.
    ServiceWorker,
    /// Server-side events from the organization's own servers.
    Ssr,
}

impl Feature {
    /// The feature's name as used in error bodies.
    pub fn as_str(self) -> &'static str {
        match self {
            Feature::Campaigns => "campaigns",
            Feature::DigitalData => "digital_data",
            Feature::Behavioral => "behavioral",
            Feature::ServiceWorker => "service_worker",
            Feature::Ssr => "ssr",
        }
    }

    /// The lowest plan that has the feature.
    pub fn minimum_plan(self) -> Plan {
        match self {
            Feature::Campaigns | Feature::DigitalData => Plan::Starter,
            Feature::Behavioral | Feature::ServiceWorker => Plan::Pro,
            Feature::Ssr => Plan::Enterprise,
        }
    }
}

/// The limits of one plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanLimits {
    /// Events accepted per calendar month (UTC).
    pub events_per_month: u64,
    /// Domains honored; `None` is unlimited.
    pub domains: Option<u32>,
    /// The longest an organization of the plan may keep its data, days: its `retention_days`
    /// is capped to it.
    pub max_retention_days: u32,
}

/// The limits of every plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanCatalog {
    pub free: PlanLimits,
    pub starter: PlanLimits,
    pub pro: PlanLimits,
    pub enterprise: PlanLimits,
}

impl Default for PlanCatalog {
    fn default() -> Self {
        let l = |events_per_month, domains, max_retention_days| PlanLimits {
            events_per_month,
            domains,
            max_retention_days,
        };
        PlanCatalog {
            free: l(10_000, Some(1), 90),
            starter: l(50_000, Some(3), 90),
            pro: l(200_000, Some(10), 395),
            enterprise: l(1_000_000, None, 730),
        }
    }
}

impl PlanCatalog {
    /// The limits of `plan`.
    pub fn limits(&self, plan: Plan) -> PlanLimits {
        match plan {
            Plan::Free => self.free,
            Plan::Starter => self.starter,
            Plan::Pro => self.pro,
            Plan::Enterprise => self.enterprise,
        }
    }

    /// Whether `plan` has `feature`.
    pub fn has(&self, plan: Plan, feature: Feature) -> bool {
        plan >= feature.minimum_plan()
    }

    /// The lowest plan above `plan` whose monthly quota is larger, if any.
    pub fn upgrade_for_quota(&self, plan: Plan) -> Option<Plan> {
        let current = self.limits(plan).events_per_month;
        Plan::ALL
            .into_iter()
            .find(|p| *p > plan && self.limits(*p).events_per_month > current)
    }

    /// The default catalog with a partial JSON override applied, e.g.
    /// `{"free": {"events_per_month": 20000}}`.
    ///
    /// # Errors
    /// A message naming the unknown plan, field or bad value.
    pub fn with_override(json: &str) -> Result<Self, String> {
        let mut base = serde_json::to_value(PlanCatalog::default()).map_err(|e| e.to_string())?;
        let patch: serde_json::Value = serde_json::from_str(json).map_err(|e| format!("not JSON: {e}"))?;
        crate::env::merge_json(&mut base, &patch)?;
        let catalog: PlanCatalog = serde_json::from_value(base).map_err(|e| e.to_string())?;
        for plan in Plan::ALL {
            if catalog.limits(plan).events_per_month == 0 {
                return Err(format!("{}: events_per_month must be above 0", plan.as_str()));
            }
            if !(1..=3650).contains(&catalog.limits(plan).max_retention_days) {
                return Err(format!("{}: max_retention_days must be 1 to 3650", plan.as_str()));
            }
        }
        Ok(catalog)
    }

    /// The longest retention of any plan, days.
    pub fn longest_retention_days(&self) -> u32 {
        Plan::ALL
            .into_iter()
            .map(|p| self.limits(p).max_retention_days)
            .max()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_table() {
        let c = PlanCatalog::default();
        assert_eq!(c.limits(Plan::Free).events_per_month, 10_000);
        assert_eq!(c.limits(Plan::Starter).events_per_month, 50_000);
        assert_eq!(c.limits(Plan::Pro).events_per_month, 200_000);
        assert_eq!(c.limits(Plan::Enterprise).events_per_month, 1_000_000);
        assert_eq!(c.limits(Plan::Free).domains, Some(1));
        assert_eq!(c.limits(Plan::Starter).domains, Some(3));
        assert_eq!(c.limits(Plan::Pro).domains, Some(10));
        assert_eq!(c.limits(Plan::Enterprise).domains, None);
        let days: Vec<u32> = Plan::ALL.iter().map(|p| c.limits(*p).max_retention_days).collect();
        assert_eq!(days, [90, 90, 395, 730]);
        assert_eq!(c.longest_retention_days(), 730);
        assert!(!c.has(Plan::Free, Feature::Campaigns));
        assert!(c.has(Plan::Starter, Feature::Campaigns));
        assert!(c.has(Plan::Starter, Feature::DigitalData));
        assert!(!c.has(Plan::Starter, Feature::ServiceWorker));
        assert!(c.has(Plan::Pro, Feature::Behavioral));
        assert!(!c.has(Plan::Pro, Feature::Ssr));
        assert!(c.has(Plan::Enterprise, Feature::Ssr));
        assert_eq!(c.upgrade_for_quota(Plan::Free), Some(Plan::Starter));
        assert_eq!(c.upgrade_for_quota(Plan::Enterprise), None);
    }

    #[test]
    fn partial_override_and_its_errors() {
        let c = PlanCatalog::with_override(r#"{"free": {"events_per_month": 20000}}"#).unwrap();
        assert_eq!(c.free.events_per_month, 20_000);
        assert_eq!(c.free.domains, Some(1));
        assert!(PlanCatalog::with_override(r#"{"gold": {}}"#)
            .unwrap_err()
            .contains("gold"));
        assert!(PlanCatalog::with_override(r#"{"free": {"events": 1}}"#)
            .unwrap_err()
            .contains("events"));
        assert!(PlanCatalog::with_override(r#"{"free": {"events_per_month": -1}}"#).is_err());
        assert!(PlanCatalog::with_override(r#"{"free": {"events_per_month": 0}}"#).is_err());
        assert!(PlanCatalog::with_override(r#"{"pro": {"max_retention_days": 0}}"#).is_err());
        assert_eq!(
            PlanCatalog::with_override(r#"{"pro": {"max_retention_days": 30}}"#)
                .unwrap()
                .pro
                .max_retention_days,
            30
        );
    }
}
