//! The integration catalog as the normalizer needs it: every spec under `integrations_dir`,
//! looked up by integration name for each raw record.

use std::collections::HashMap;
use std::path::Path;

use iocflow_schemas::spec::{load_catalog, IntegrationSpec, SpecError};

/// The loaded catalog, spec by integration name.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    specs: HashMap<String, IntegrationSpec>,
}

impl Catalog {
    /// Loads every `*/spec.toml` under `dir`.
    ///
    /// # Errors
    /// The first spec that fails to load (names file and key), or a duplicate name.
    pub fn load(dir: &Path) -> Result<Catalog, SpecError> {
        let specs = load_catalog(dir)?;
        Ok(Catalog::from_specs(specs.into_iter().map(|(_, spec)| spec)))
    }

    /// A catalog of the given specs (later specs replace earlier ones of the same name).
    pub fn from_specs(specs: impl IntoIterator<Item = IntegrationSpec>) -> Catalog {
        Catalog {
            specs: specs.into_iter().map(|s| (s.name.clone(), s)).collect(),
        }
    }

    /// The spec of integration `name`.
    pub fn get(&self, name: &str) -> Option<&IntegrationSpec> {
        self.specs.get(name)
    }

    /// The spec of integration `name` with the name as stored (a bounded metric label).
    pub fn get_entry(&self, name: &str) -> Option<(&str, &IntegrationSpec)> {
        self.specs.get_key_value(name).map(|(k, v)| (k.as_str(), v))
    }

    /// Number of integrations.
    pub fn len(&self) -> usize {
        self.specs.len()
    }

    /// Whether the catalog is empty.
    pub fn is_empty(&self) -> bool {
        self.specs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_the_bundled_integrations() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fetchers/integrations");
        let catalog = Catalog::load(&dir).unwrap();
        for name in ["urlhaus", "feodotracker", "openphish"] {
            assert_eq!(catalog.get(name).unwrap().name, name);
        }
        assert!(catalog.get("nope").is_none());
    }

    #[test]
    fn missing_directory_is_an_error() {
        assert!(Catalog::load(Path::new("/nonexistent/iocflow")).is_err());
    }
}
