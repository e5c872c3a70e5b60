//! `cargo xtask autobahn`: the Autobahn|Testsuite against our server and client agents,
//! diffed with the baseline in `autobahn/expected/`.

pub(crate) mod build;
mod certs;
mod install;
mod report;
mod suite;

use std::path::{Path, PathBuf};
use std::time::Instant;

use suite::{Agents, Runner, Transport};

const USAGE: &str = "\
usage: cargo xtask autobahn [server|client|all] [--transport tcp|tls|both] [--runner docker|local]
                            [--cases PATTERN] [--bless]
       cargo xtask autobahn install [--force]

  server|client|all   which role to test (default: all; the two run at the same time)
  --transport         tcp: every case over ws:// (baselines autobahn/expected/{server,client}.json);
                      tls: groups 1-10 over wss:// (autobahn/tls/*.json, baselines
                      autobahn/expected/tls-{server,client}.json); both (default): tcp, then tls
  --runner            docker: the crossbario/autobahn-testsuite image; local: a wstest
                      installed by `cargo xtask autobahn install` (default: docker when a
                      Docker engine answers, else local)
  --cases PATTERN     comma-separated case patterns, e.g. '6.4.*,7.*' (default: all)
  --bless             rewrite autobahn/expected/*.json from this run's results
";

/// Example binaries that play the agents named in `autobahn/*.json`.
const SERVER_AGENTS: &[(&str, &str)] = &[
    ("swell", "echo_server"),
    ("swell-hyper", "hyper_echo_server"),
];
const CLIENT_AGENT: (&str, &str) = ("swell", "autobahn_client");
/// The agents behind TLS, named in `autobahn/tls/fuzzingclient.json`; the client agent is
/// the same binary, given a `wss://` URL.
const TLS_SERVER_AGENTS: &[(&str, &str)] = &[
    ("swell", "wss_echo_server"),
    ("swell-hyper", "hyper_wss_server"),
];

struct Options {
    server: bool,
    client: bool,
    runner: Option<String>,
    cases: Option<String>,
    bless: bool,
    tcp: bool,
    tls: bool,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        server: true,
        client: true,
        runner: None,
        cases: None,
        bless: false,
        tcp: true,
        tls: true,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "all" => (options.server, options.client) = (true, true),
            "server" => (options.server, options.client) = (true, false),
            "client" => (options.server, options.client) = (false, true),
            "--runner" => {
                options.runner = Some(args.next().ok_or("--runner needs a value")?.clone())
            }
            "--cases" => options.cases = Some(args.next().ok_or("--cases needs a value")?.clone()),
            "--bless" => options.bless = true,
            "--transport" => {
                (options.tcp, options.tls) =
                    match args.next().ok_or("--transport needs a value")?.as_str() {
                        "tcp" => (true, false),
                        "tls" => (false, true),
                        "both" => (true, true),
                        other => return Err(format!("unknown transport {other:?}")),
                    }
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(options)
}

/// Runs a command with inherited output; fails on a non-zero exit.
pub(crate) fn main(root: &Path, args: &[String]) -> Result<(), String> {
    if args.first().map(String::as_str) == Some("install") {
        let force = args.iter().any(|a| a == "--force");
        return install::ensure(root, force).map(drop);
    }
    let options = match parse(args) {
        Ok(options) => options,
        Err(e) if e.is_empty() => {
            print!("{USAGE}");
            return Ok(());
        }
        Err(e) => return Err(format!("{e}\n{USAGE}")),
    };
    let started = Instant::now();
    let runner = match options.runner.as_deref() {
        Some("docker") => Runner::Docker,
        Some("local") => Runner::Local(install::ensure(root, false)?),
        Some(other) => return Err(format!("unknown runner {other:?}; use docker or local")),
        None if suite::docker_available() => {
            eprintln!("autobahn: runner docker (a Docker engine answered)");
            Runner::Docker
        }
        None => {
            eprintln!("autobahn: runner local (no Docker engine answered)");
            Runner::Local(install::ensure(root, false)?)
        }
    };
    eprintln!("autobahn: building the agents");
    let examples = build::examples(root, &["swell", "swell-hyper"])?;
    let mut failed = false;
    if options.tcp {
        let transport = Transport {
            specs: root.join("autobahn"),
            reports: root.join("reports"),
            certs: None,
        };
        let agents = Agents {
            examples: examples.clone(),
            servers: SERVER_AGENTS,
            client: CLIENT_AGENT,
        };
        failed |= !run(root, &options, &runner, &transport, &agents, "")?;
    }
    if options.tls {
        let reports = root.join("reports/tls");
        std::fs::create_dir_all(&reports).map_err(|e| e.to_string())?;
        let transport = Transport {
            specs: root.join("autobahn/tls"),
            certs: Some(certs::write(&reports)?),
            reports,
        };
        let agents = Agents {
            examples,
            servers: TLS_SERVER_AGENTS,
            client: CLIENT_AGENT,
        };
        failed |= !run(root, &options, &runner, &transport, &agents, "tls-")?;
    }
    eprintln!("autobahn: done in {} s", started.elapsed().as_secs());
    if failed {
        Err("autobahn: results differ from the baseline (or the run failed)".into())
    } else {
        Ok(())
    }
}

/// Runs the roles `options` asks for over `transport`, both at once, and compares each
/// with its baseline (`autobahn/expected/{prefix}{role}.json`). Whether all matched.
fn run(
    root: &Path,
    options: &Options,
    runner: &Runner,
    transport: &Transport,
    agents: &Agents,
    prefix: &str,
) -> Result<bool, String> {
    let started = Instant::now();
    std::fs::create_dir_all(&transport.reports).map_err(|e| e.to_string())?;
    let cases = options.cases.as_deref();
    let (servers, clients) = std::thread::scope(|s| {
        let servers = options.server.then(|| {
            let _ = std::fs::remove_dir_all(transport.reports.join("servers"));
            s.spawn(|| suite::run_servers(transport, runner, agents, cases))
        });
        let clients = options.client.then(|| {
            let _ = std::fs::remove_dir_all(transport.reports.join("clients"));
            s.spawn(|| suite::run_clients(transport, runner, agents, cases))
        });
        let join = |h: std::thread::ScopedJoinHandle<'_, Result<PathBuf, String>>| {
            h.join().unwrap_or_else(|_| Err("the run panicked".into()))
        };
        (servers.map(join), clients.map(join))
    });
    let over = if transport.certs.is_some() {
        "TLS"
    } else {
        "TCP"
    };
    eprintln!(
        "autobahn: suite ran over {over} in {} s",
        started.elapsed().as_secs()
    );
    let mut matched = true;
    for (role, result) in [("server", servers), ("client", clients)] {
        let Some(result) = result else { continue };
        let baseline = format!("{prefix}{role}");
        let outcome =
            result.and_then(|dir| compare(root, &baseline, &dir, cases.is_some(), options.bless));
        if let Err(e) = outcome {
            eprintln!("autobahn: {baseline}: {e}");
            matched = false;
        }
    }
    Ok(matched)
}

/// Prints the summary for one role, then diffs against (or, with `bless`, rewrites) its
/// baseline.
fn compare(root: &Path, role: &str, dir: &Path, partial: bool, bless: bool) -> Result<(), String> {
    let index = dir.join("index.json");
    let text = std::fs::read_to_string(&index).map_err(|e| format!("{}: {e}", index.display()))?;
    let got = report::parse_index(&text)?;
    println!("{}", report::summary(&format!("{role}s"), &got));
    let path = root.join(format!("autobahn/expected/{role}.json"));
    let baseline = match std::fs::read_to_string(&path) {
        Ok(text) => {
            report::parse_baseline(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        Err(_) if bless => report::Baseline::new(),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    if bless {
        let blessed = report::bless(&baseline, &got, partial);
        std::fs::write(&path, report::render_baseline(&blessed)).map_err(|e| e.to_string())?;
        println!("{role}: baseline written to {}", path.display());
        let unexplained = report::missing_reasons(&blessed);
        for line in &unexplained {
            println!("  needs a reason: {line}");
        }
        return if unexplained.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{} non-OK cases need a \"reason\" in {}",
                unexplained.len(),
                path.display()
            ))
        };
    }
    let unexplained = report::missing_reasons(&baseline);
    let differences = report::diff(&baseline, &got, partial);
    for line in &unexplained {
        println!("  baseline without a reason: {line}");
    }
    for difference in &differences {
        println!("  differs: {difference}");
    }
    if differences.is_empty() && unexplained.is_empty() {
        println!("{role}: matches the baseline");
        Ok(())
    } else {
        Err(format!(
            "{} cases differ from {}{}",
            differences.len(),
            path.display(),
            if unexplained.is_empty() {
                ""
            } else {
                ", and some lack a reason"
            }
        ))
    }
}
