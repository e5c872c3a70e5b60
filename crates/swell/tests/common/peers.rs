//! Real programs the tests run beside them (proxies from Debian's packages), and child
//! processes of the test binary for what a process reads once (the environment, the
//! platform's roots).

use std::net::TcpListener as StdListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

/// A program on `PATH`, or `None` when it is missing and the tests may skip it.
///
/// `cargo xtask test` (the README's test command, and CI) installs every program the tests
/// need and sets `SWELL_REQUIRE_PEERS=1`: there a missing program fails the test, so that no
/// test passes by not running. A plain `cargo test` on a machine without it skips, saying so.
pub fn program(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("SWELL_REQUIRE_PEERS").is_none(),
            "{name} is not installed; `cargo xtask test` installs it"
        );
        eprintln!("skipped: {name} is not installed (`cargo xtask test` installs it)");
    }
    found
}

/// A free port on loopback (free when asked; the daemon that takes it binds it at once).
pub fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A program started by a test, stopped when dropped.
pub struct Daemon {
    _child: Child,
    /// The loopback port it listens on.
    pub port: u16,
    dir: Option<PathBuf>,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Starts `command` (which listens on `port`), and waits until the port answers.
pub async fn start(mut command: Command, port: u16, dir: Option<PathBuf>) -> Daemon {
    let child = command
        .kill_on_drop(true)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{command:?} never listened"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Daemon {
        _child: child,
        port,
        dir,
    }
}

/// tinyproxy, an HTTP proxy, on loopback: with `BasicAuth user password` when
/// `credentials` are given, allowing `CONNECT` only to port 443 when `only_443`.
pub async fn tinyproxy(credentials: Option<(&str, &str)>, only_443: bool) -> Option<Daemon> {
    let program = program("tinyproxy")?;
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("swell-tinyproxy-{port}"));
    std::fs::create_dir_all(&dir).unwrap();
    let mut config = format!("Port {port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 20\n");
    if let Some((user, password)) = credentials {
        config.push_str(&format!("BasicAuth {user} {password}\n"));
    }
    if only_443 {
        config.push_str("ConnectPort 443\n");
    }
    let file = dir.join("tinyproxy.conf");
    std::fs::write(&file, config).unwrap();
    let mut command = Command::new(program);
    command.arg("-d").arg("-c").arg(&file);
    Some(start(command, port, Some(dir)).await)
}

/// microsocks, a SOCKS5 proxy, on loopback, wanting `user` and `password`.
pub async fn microsocks(user: &str, password: &str) -> Option<Daemon> {
    let program = program("microsocks")?;
    let port = free_port();
    let mut command = Command::new(program);
    command.args([
        "-i",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-u",
        user,
        "-P",
        password,
    ]);
    Some(start(command, port, None).await)
}

/// Runs the ignored test `name` of this test binary in a child process with `vars` set
/// (and `unset` removed), and returns what it printed; panics if it failed.
pub async fn run_child(name: &str, vars: &[(&str, &std::ffi::OsStr)], unset: &[&str]) -> String {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command.args([name, "--exact", "--ignored", "--nocapture"]);
    for var in unset {
        command.env_remove(var);
    }
    for (var, value) in vars {
        command.env(var, value);
    }
    let output = command.output().await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{name} with {vars:?}: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}
