//! Project automation, run as `cargo xtask <command>`.
//!
//! - `autobahn`: the Autobahn|Testsuite against our agents, diffed with the baseline.

mod autobahn;

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf();
    let result = match args.first().map(String::as_str) {
        Some("autobahn") => autobahn::main(&root, &args[1..]),
        _ => Err("usage: cargo xtask autobahn [--help]".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
