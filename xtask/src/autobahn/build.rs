//! Building the agents and finding the binaries cargo built, from its own JSON messages
//! rather than a guessed `target/` path (which `CARGO_TARGET_DIR` or a build
//! configuration's `target-dir` would make wrong, or stale).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Builds the example binaries of `packages` in release mode; returns each example's name
/// with the path of the executable cargo reports for it.
pub(crate) fn examples(root: &Path, packages: &[&str]) -> Result<HashMap<String, PathBuf>, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(root)
        .args(["build", "--release", "--examples"])
        .arg("--message-format=json-render-diagnostics")
        .stdout(Stdio::piped());
    for package in packages {
        command.args(["-p", package]);
    }
    let output = command
        .spawn()
        .and_then(|child| child.wait_with_output())
        .map_err(|e| format!("running {command:?}: {e}"))?;
    if !output.status.success() {
        return Err(format!("{command:?} failed: {}", output.status));
    }
    Ok(executables(&String::from_utf8_lossy(&output.stdout)))
}

/// The example executables named in cargo's `--message-format=json` output.
fn executables(messages: &str) -> HashMap<String, PathBuf> {
    let mut found = HashMap::new();
    for line in messages.lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if message["reason"] != "compiler-artifact" {
            continue;
        }
        let is_example = message["target"]["kind"]
            .as_array()
            .is_some_and(|kinds| kinds.iter().any(|k| k == "example"));
        let (Some(name), Some(executable)) = (
            message["target"]["name"].as_str(),
            message["executable"].as_str(),
        ) else {
            continue;
        };
        if is_example {
            found.insert(name.to_owned(), PathBuf::from(executable));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_example_executables_wherever_cargo_put_them() {
        let messages = r#"{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"swell"},"executable":null}
{"reason":"compiler-artifact","target":{"kind":["example"],"name":"echo_server"},"executable":"/elsewhere/release/examples/echo_server"}
{"reason":"compiler-message","message":{}}
not json at all
{"reason":"compiler-artifact","target":{"kind":["bin"],"name":"tool"},"executable":"/elsewhere/release/tool"}
{"reason":"build-finished","success":true}"#;
        let found = executables(messages);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            found["echo_server"],
            Path::new("/elsewhere/release/examples/echo_server")
        );
    }
}
