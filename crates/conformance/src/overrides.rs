//! The overrides file: tests whose expectation differs for Rampart for an
//! HTTP-layer reason, each with that reason (the format of the CRS
//! project's `*-overrides.yaml`).

use std::path::Path;

use serde::Deserialize;

use crate::ftw::Output;

#[derive(Debug, Clone, Deserialize)]
pub struct OverridesFile {
    #[serde(default)]
    pub test_overrides: Vec<Override>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Override {
    pub rule_id: u32,
    pub test_ids: Vec<u32>,
    pub reason: String,
    /// The expectation that replaces the test's; absent → the test is skipped.
    #[serde(default)]
    pub output: Option<Output>,
}

impl OverridesFile {
    pub fn load(path: &Path) -> Result<OverridesFile, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_yaml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The override for a test, if any.
    pub fn find(&self, rule_id: u32, test_id: u32) -> Option<&Override> {
        self.test_overrides
            .iter()
            .find(|o| o.rule_id == rule_id && o.test_ids.contains(&test_id))
    }

    /// How many tests are overridden.
    pub fn count(&self) -> usize {
        self.test_overrides.iter().map(|o| o.test_ids.len()).sum()
    }
}
