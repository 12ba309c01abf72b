//! Loading a binary's configuration: a TOML file, then `IOCFLOW_` environment overrides.
//!
//! An override names a key path with `__` between levels: `IOCFLOW_KAFKA__BOOTSTRAP_SERVERS`
//! sets `kafka.bootstrap_servers`. Values are read as TOML scalars when they parse as one
//! (`true`, `42`) and as strings otherwise. `IOCFLOW_CONFIG` (the file path) and `IOCFLOW_LOG`
//! (the log filter) are not overrides, and neither is any `IOCFLOW_SECRET_*` variable: that
//! prefix is where secrets live (API keys named by a spec's `auth.secret_env`, the platform token),
//! and a config file only ever names them. Config structs deny unknown fields, so a misspelt key in
//! the file or the environment stops start-up with the full key path in the message.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// Environment variables with this prefix override config keys.
pub const ENV_PREFIX: &str = "IOCFLOW_";
/// Variables with the prefix that are not config overrides.
const RESERVED: &[&str] = &["IOCFLOW_CONFIG", "IOCFLOW_LOG", "IOCFLOW_LOG_FORMAT"];
/// Environment variables holding secrets; never read as overrides.
pub const SECRET_PREFIX: &str = "IOCFLOW_SECRET_";

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {error}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The file is not TOML.
    #[error("config file {path} is not valid TOML: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// Parser message.
        message: String,
    },
    /// A key is unknown or has a value of the wrong type.
    #[error("config key `{key}`: {message}")]
    Key {
        /// Dotted path of the key.
        key: String,
        /// What is wrong.
        message: String,
    },
}

/// Reads `path` (if any), applies the environment overrides in `env`, and deserializes.
///
/// # Errors
/// [`ConfigError`] naming the file or the key that is wrong.
pub fn load<T: DeserializeOwned>(
    path: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<T, ConfigError> {
    let mut root = match path {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|error| ConfigError::Read {
                path: p.to_path_buf(),
                error,
            })?;
            text.parse::<toml::Table>()
                .map_err(|e| ConfigError::Syntax {
                    path: p.to_path_buf(),
                    message: e.to_string(),
                })?
        }
        None => toml::Table::new(),
    };

    let mut overrides: Vec<(String, String)> = env
        .into_iter()
        .filter(|(k, _)| {
            k.starts_with(ENV_PREFIX)
                && !k.starts_with(SECRET_PREFIX)
                && !RESERVED.contains(&k.as_str())
        })
        .collect();
    overrides.sort();
    for (name, value) in overrides {
        apply_override(&mut root, &name, &value)?;
    }

    let de = toml::Value::Table(root);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let key = e.path().to_string();
        ConfigError::Key {
            key: if key == "." {
                "(top level)".into()
            } else {
                key
            },
            message: e.into_inner().to_string(),
        }
    })
}

/// Loads with the process environment.
///
/// # Errors
/// As [`load`].
pub fn load_from_env<T: DeserializeOwned>(path: Option<&Path>) -> Result<T, ConfigError> {
    load(path, std::env::vars())
}

fn apply_override(root: &mut toml::Table, name: &str, value: &str) -> Result<(), ConfigError> {
    let path: Vec<String> = name[ENV_PREFIX.len()..]
        .split("__")
        .map(|s| s.to_ascii_lowercase())
        .collect();
    let dotted = path.join(".");
    if path.iter().any(String::is_empty) {
        return Err(ConfigError::Key {
            key: dotted,
            message: format!("environment variable {name} does not name a key"),
        });
    }

    let parsed = parse_scalar(value);
    let mut table = root;
    for (i, part) in path.iter().enumerate() {
        if i + 1 == path.len() {
            table.insert(part.clone(), parsed);
            return Ok(());
        }
        let entry = table
            .entry(part.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        table = match entry {
            toml::Value::Table(t) => t,
            _ => {
                return Err(ConfigError::Key {
                    key: dotted,
                    message: format!("{name} descends into `{part}`, which is not a table"),
                })
            }
        };
    }
    Ok(())
}

fn parse_scalar(value: &str) -> toml::Value {
    let doc = format!("v = {value}");
    match doc.parse::<toml::Table>() {
        Ok(mut t) => match t.remove("v") {
            Some(
                v @ (toml::Value::Boolean(_) | toml::Value::Integer(_) | toml::Value::Float(_)),
            ) => v,
            Some(v @ toml::Value::Array(_)) => v,
            _ => toml::Value::String(value.to_string()),
        },
        Err(_) => toml::Value::String(value.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Cfg {
        kafka: Kafka,
        #[serde(default)]
        batch_size: u32,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Kafka {
        bootstrap_servers: String,
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn environment_overrides_nested_keys_with_types() {
        let cfg: Cfg = load(
            None,
            env(&[
                ("IOCFLOW_KAFKA__BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
                ("IOCFLOW_BATCH_SIZE", "500"),
                ("IOCFLOW_CONFIG", "/ignored"),
                ("IOCFLOW_SECRET_URLHAUS_KEY", "not-an-override"),
                ("HOME", "/root"),
            ]),
        )
        .unwrap();
        assert_eq!(cfg.kafka.bootstrap_servers, "127.0.0.1:9092");
        assert_eq!(cfg.batch_size, 500);
    }

    #[test]
    fn unknown_key_from_file_is_named_with_its_path() {
        let dir = std::env::temp_dir().join(format!("iocflow-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("c.toml");
        std::fs::write(&file, "[kafka]\nbootstrap_servers = \"x\"\nboostrap = 1\n").unwrap();
        let err = load::<Cfg>(Some(&file), env(&[])).unwrap_err().to_string();
        assert!(
            err.contains("kafka.boostrap") || err.contains("boostrap"),
            "{err}"
        );
        assert!(err.starts_with("config key"), "{err}");
    }

    #[test]
    fn unknown_key_from_environment_is_named() {
        let err = load::<Cfg>(
            None,
            env(&[
                ("IOCFLOW_KAFKA__BOOTSTRAP_SERVERS", "x"),
                ("IOCFLOW_BACH_SIZE", "1"),
            ]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("bach_size"), "{err}");
    }

    #[test]
    fn wrong_type_is_named() {
        let err = load::<Cfg>(
            None,
            env(&[
                ("IOCFLOW_KAFKA__BOOTSTRAP_SERVERS", "x"),
                ("IOCFLOW_BATCH_SIZE", "lots"),
            ]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("batch_size"), "{err}");
    }
}
