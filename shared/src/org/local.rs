//! Organizations from a JSON file, for the local stack: used when `SUPABASE_URL` is unset.
//!
//! The default is `infra/organizations/local.json`, compiled in (one sample organization per
//! plan); `ORGANIZATIONS_FILE` names another file of the same shape (a JSON array of
//! [`Organization`]).

use std::collections::HashMap;

use super::{DirectoryError, Organization, OrganizationSource};

/// The sample organizations compiled into the binary.
pub const EMBEDDED: &str = include_str!("../../../infra/organizations/local.json");

/// An in-memory directory read from JSON.
#[derive(Debug, Clone, Default)]
pub struct LocalDirectory {
    orgs: HashMap<String, Organization>,
}

impl LocalDirectory {
    /// Parses a JSON array of organizations.
    ///
    /// # Errors
    /// The parse error, a duplicate id, or a webhook secret that is not a Standard Webhooks
    /// secret (refused here, at start, rather than at the first delivery).
    pub fn from_json(json: &str) -> Result<Self, String> {
        let list: Vec<Organization> = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let mut orgs = HashMap::with_capacity(list.len());
        for o in list {
            let id = o.id.clone();
            if let Some(i) = &o.integrations {
                i.check_secrets().map_err(|e| format!("organization {id}: {e}"))?;
            }
            if orgs.insert(id.clone(), o).is_some() {
                return Err(format!("organization {id} appears twice"));
            }
        }
        Ok(LocalDirectory { orgs })
    }

    /// The compiled-in sample organizations.
    ///
    /// # Panics
    /// Never for the committed file (a unit test parses it).
    pub fn embedded() -> Self {
        Self::from_json(EMBEDDED).expect("infra/organizations/local.json parses")
    }

    /// Every organization, in no particular order.
    pub fn all(&self) -> impl Iterator<Item = &Organization> {
        self.orgs.values()
    }
}

impl OrganizationSource for LocalDirectory {
    fn name(&self) -> &'static str {
        "local"
    }

    async fn fetch(&self, id: &str) -> Result<Option<Organization>, DirectoryError> {
        Ok(self.orgs.get(id).cloned())
    }

    async fn fetch_many(&self, ids: &[&str]) -> Result<Vec<Organization>, DirectoryError> {
        Ok(ids.iter().filter_map(|id| self.orgs.get(*id).cloned()).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::org::Plan;

    #[test]
    fn embedded_file_has_one_organization_per_plan() {
        let d = LocalDirectory::embedded();
        for plan in Plan::ALL {
            assert!(d.all().any(|o| o.plan == plan), "no {plan:?} organization");
        }
        assert!(LocalDirectory::from_json(r#"[{"id":"a","plan":"free"},{"id":"a","plan":"pro"}]"#).is_err());
        let raw = r#"[{"id":"a","plan":"pro","integrations":{"webhook_url":"https://h.example/x","webhook_secret":"raw-text-secret"}}]"#;
        let e = LocalDirectory::from_json(raw).unwrap_err();
        assert!(
            e.contains("organization a: webhook_secret") && e.contains("whsec_"),
            "{e}"
        );
        assert!(!e.contains("raw-text-secret"), "the secret is never quoted: {e}");
    }
}
