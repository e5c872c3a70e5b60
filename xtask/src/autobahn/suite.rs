//! Running the suite: agents and `wstest` as processes, under Docker or a local install.

use std::collections::HashMap;
use std::fs::File;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::install::Wstest;

/// The Docker image the suite is published as.
const IMAGE: &str = "crossbario/autobahn-testsuite";

/// How long one role's run may take before it is stopped.
const RUN_LIMIT: Duration = Duration::from_secs(45 * 60);

/// Where `wstest` comes from.
pub(crate) enum Runner {
    Docker,
    Local(Wstest),
}

impl Runner {
    /// A `wstest` command with `args`; `name` names the Docker container. Paths in `args`
    /// are those inside `reports` as the runner sees it (see [`Runner::reports_path`]).
    fn wstest(&self, reports: &Path, name: &str, args: &[&str]) -> Command {
        match self {
            Self::Docker => {
                let mut command = Command::new("docker");
                command
                    .args(["run", "--rm", "--network", "host", "--name", name, "-v"])
                    .arg(format!("{}:/reports", reports.display()))
                    .args([IMAGE, "wstest"])
                    .args(args);
                command
            }
            Self::Local(wstest) => {
                let mut command = wstest.command();
                command.args(args);
                command
            }
        }
    }

    /// `file` inside the reports directory, as `wstest` sees it.
    fn reports_path(&self, reports: &Path, file: &str) -> String {
        match self {
            Self::Docker => format!("/reports/{file}"),
            Self::Local(_) => reports.join(file).display().to_string(),
        }
    }

    fn stop(&self, name: &str) {
        if let Self::Docker = self {
            let _ = Command::new("docker")
                .args(["rm", "-f", name])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// Whether a Docker engine answers (not just a client binary).
pub(crate) fn docker_available() -> bool {
    let Ok(mut child) = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    else {
        return false;
    };
    matches!(wait(&mut child, Duration::from_secs(15)), Ok(status) if status.success())
}

/// A child process that is stopped when dropped.
struct Guard<'a> {
    child: Child,
    runner: Option<(&'a Runner, String)>,
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        if let Some((runner, name)) = &self.runner {
            runner.stop(name);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(command: &mut Command, log: &Path) -> Result<Child, String> {
    let out = File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    command
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("starting {command:?}: {e}"))
}

/// Waits for `child`, killing it after `limit`.
fn wait(child: &mut Child, limit: Duration) -> Result<ExitStatus, String> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Ok(status);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "still running after {} s; stopped",
                limit.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn wait_for_port(port: u16, limit: Duration) -> Result<(), String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let start = Instant::now();
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if start.elapsed() > limit {
            return Err(format!(
                "nothing listens on port {port} after {} s",
                limit.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

fn port_is_free(port: u16) -> Result<(), String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
        Ok(_) => Err(format!(
            "port {port} is already in use; stop whatever listens there"
        )),
        Err(_) => Ok(()),
    }
}

fn port_of(url: &str) -> Result<u16, String> {
    url.rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse().ok())
        .ok_or_else(|| format!("no port in {url}"))
}

/// A suite spec from `autobahn/`, with the output directory and the cases for this run.
fn spec(
    transport: &Transport,
    file: &str,
    runner: &Runner,
    reports: &Path,
    outdir: &str,
    cases: Option<&str>,
) -> Result<(Value, String), String> {
    let path = transport.specs.join(file);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut spec: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    spec["outdir"] = Value::String(runner.reports_path(reports, outdir));
    if let Some(certs) = &transport.certs {
        // The fuzzing server's own certificate (the fuzzing client ignores these).
        spec["cert"] = Value::String(runner.reports_path(reports, &certs.cert_file));
        spec["key"] = Value::String(runner.reports_path(reports, &certs.key_file));
    }
    if let Some(cases) = cases {
        spec["cases"] = cases
            .split(',')
            .map(|c| Value::String(c.trim().to_owned()))
            .collect();
    }
    std::fs::write(
        reports.join(file),
        serde_json::to_string_pretty(&spec).expect("a value"),
    )
    .map_err(|e| e.to_string())?;
    Ok((spec, runner.reports_path(reports, file)))
}

/// The agents: which example binary plays each agent named in the specs.
pub(crate) struct Agents {
    /// Example binaries by name, where cargo built them.
    pub(crate) examples: HashMap<String, PathBuf>,
    pub(crate) servers: &'static [(&'static str, &'static str)],
    pub(crate) client: (&'static str, &'static str),
}

/// TCP or TLS: where a run's specs and reports live, and for TLS the certificate files
/// (in the reports directory, which the Docker runner mounts).
pub(crate) struct Transport {
    /// `autobahn/` or `autobahn/tls/`: the spec files.
    pub(crate) specs: PathBuf,
    /// `reports/` or `reports/tls/`.
    pub(crate) reports: PathBuf,
    /// The certificates, for TLS.
    pub(crate) certs: Option<Certs>,
}

/// A CA's certificate and a certificate it issued for 127.0.0.1, with its key: file names
/// in the transport's reports directory.
pub(crate) struct Certs {
    pub(crate) ca_file: String,
    pub(crate) cert_file: String,
    pub(crate) key_file: String,
}

impl Agents {
    fn executable(&self, example: &str) -> Result<&Path, String> {
        self.examples
            .get(example)
            .map(PathBuf::as_path)
            .ok_or_else(|| format!("cargo built no example named {example}"))
    }
}

/// Runs the fuzzing client against our server agents; returns the report directory.
pub(crate) fn run_servers(
    transport: &Transport,
    runner: &Runner,
    agents: &Agents,
    cases: Option<&str>,
) -> Result<PathBuf, String> {
    let reports = transport.reports.clone();
    let (spec, spec_path) = spec(
        transport,
        "fuzzingclient.json",
        runner,
        &reports,
        "servers",
        cases,
    )?;
    let mut guards = Vec::new();
    for server in spec["servers"]
        .as_array()
        .ok_or("fuzzingclient.json: no servers")?
    {
        let agent = server["agent"]
            .as_str()
            .ok_or("a server without an agent")?;
        let url = server["url"].as_str().ok_or("a server without a url")?;
        let port = port_of(url)?;
        let example = agents
            .servers
            .iter()
            .find(|(name, _)| *name == agent)
            .map(|(_, example)| *example)
            .ok_or_else(|| format!("no example plays server agent {agent}"))?;
        port_is_free(port)?;
        let mut command = Command::new(agents.executable(example)?);
        command.arg(format!("127.0.0.1:{port}"));
        if let Some(certs) = &transport.certs {
            command
                .arg("--cert")
                .arg(reports.join(&certs.cert_file))
                .arg("--key")
                .arg(reports.join(&certs.key_file));
        }
        let child = spawn(&mut command, &reports.join(format!("agent-{agent}.log")))?;
        guards.push(Guard {
            child,
            runner: None,
        });
        wait_for_port(port, Duration::from_secs(30))?;
    }
    let name = "swell-autobahn-servers";
    let mut command = runner.wstest(&reports, name, &["-m", "fuzzingclient", "-s", &spec_path]);
    let child = spawn(&mut command, &reports.join("wstest-servers.log"))?;
    let mut guard = Guard {
        child,
        runner: Some((runner, name.to_owned())),
    };
    let status =
        wait(&mut guard.child, RUN_LIMIT).map_err(|e| format!("wstest fuzzingclient: {e}"))?;
    if !status.success() {
        return Err(format!(
            "wstest fuzzingclient failed ({status}); see reports/wstest-servers.log"
        ));
    }
    drop(guards);
    Ok(reports.join("servers"))
}

/// Runs our client agent against the fuzzing server; returns the report directory.
pub(crate) fn run_clients(
    transport: &Transport,
    runner: &Runner,
    agents: &Agents,
    cases: Option<&str>,
) -> Result<PathBuf, String> {
    let reports = transport.reports.clone();
    let (spec, spec_path) = spec(
        transport,
        "fuzzingserver.json",
        runner,
        &reports,
        "clients",
        cases,
    )?;
    let url = spec["url"]
        .as_str()
        .ok_or("fuzzingserver.json: no url")?
        .to_owned();
    let port = port_of(&url)?;
    port_is_free(port)?;
    let name = "swell-autobahn-clients";
    let mut command = runner.wstest(&reports, name, &["-m", "fuzzingserver", "-s", &spec_path]);
    let child = spawn(&mut command, &reports.join("wstest-clients.log"))?;
    let _server = Guard {
        child,
        runner: Some((runner, name.to_owned())),
    };
    wait_for_port(port, Duration::from_secs(120))?;
    let (agent, example) = agents.client;
    let mut command = Command::new(agents.executable(example)?);
    command.arg(url.trim_end_matches('/')).arg(agent);
    if let Some(certs) = &transport.certs {
        // The client trusts what the platform trusts; here, the run's own CA.
        command.env("SSL_CERT_FILE", reports.join(&certs.ca_file));
    }
    let mut child = spawn(
        &mut command,
        &reports.join(format!("agent-{agent}-client.log")),
    )?;
    let status = wait(&mut child, RUN_LIMIT).map_err(|e| format!("client agent: {e}"))?;
    if !status.success() {
        return Err(format!(
            "the client agent failed ({status}); see reports/agent-{agent}-client.log"
        ));
    }
    Ok(reports.join("clients"))
}
