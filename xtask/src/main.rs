//! Project automation, run as `cargo xtask <command>`.
//!
//! - `autobahn`: the Autobahn|Testsuite against our agents, diffed with the baseline.
//! - `test`: the workspace's tests, with the programs they run (proxies) installed first.
//! - `instructions`: user-space instructions per echoed message, swell's loops and the
//!   peers', counted with callgrind.

mod autobahn;
mod debs;
mod instructions;
mod peers;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf();
    let result = match args.first().map(String::as_str) {
        Some("autobahn") => autobahn::main(&root, &args[1..]),
        Some("test") => peers::test(&root, &args[1..]),
        Some("instructions") => instructions::main(&root, &args[1..]),
        _ => Err(
            "usage: cargo xtask autobahn [--help] | cargo xtask test [cargo test's \
            arguments] | cargo xtask instructions"
                .into(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `command`, failing unless it succeeds.
pub(crate) fn run(command: &mut Command) -> Result<(), String> {
    let status = command
        .status()
        .map_err(|e| format!("running {command:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{command:?} failed: {status}"))
    }
}

/// `$XDG_CACHE_HOME/swell/NAME`, else `~/.cache/swell/NAME`.
pub(crate) fn cache_dir(name: &str) -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))
        .unwrap_or_else(|| std::env::temp_dir().join("swell-cache"));
    cache.join("swell").join(name)
}
