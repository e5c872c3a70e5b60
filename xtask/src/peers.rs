//! `cargo xtask test`: the workspace's tests, with the real programs they talk to
//! installed first.
//!
//! The proxies of swell's proxy tests (tinyproxy for HTTP `CONNECT`, microsocks for
//! SOCKS5) are unpacked from the machine's Debian suite into `~/.cache/swell/peers` (no
//! root, no service started, nothing outside the cache touched) and put first on the
//! tests' `PATH`. The browser test's Chromium and certutil have too many libraries to
//! unpack beside the system's: they are installed with apt-get when missing (as root, or
//! through `sudo -n`). `SWELL_REQUIRE_PEERS=1` makes a test whose program is missing fail
//! instead of skipping.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::run;

/// Debian packages whose programs the tests start.
const PACKAGES: &[&str] = &["tinyproxy-bin", "microsocks"];
/// The programs, as the tests look them up on `PATH`.
const PROGRAMS: &[&str] = &["tinyproxy", "microsocks"];

/// Programs installed system-wide when missing, with the Debian package of each.
const SYSTEM: &[(&str, &str)] = &[("chromium", "chromium"), ("certutil", "libnss3-tools")];

/// Bumped when the recipe changes in a way the package list does not show.
const RECIPE_VERSION: &str = "1";

/// The machine's Debian suite (bookworm when it cannot be read).
fn suite() -> String {
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|release| {
            release
                .lines()
                .find_map(|l| l.strip_prefix("VERSION_CODENAME="))
                .map(|s| s.trim_matches('"').to_owned())
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "bookworm".into())
}

/// The directory holding the programs, installing them unless the cached install matches
/// the recipe.
pub(crate) fn ensure() -> Result<PathBuf, String> {
    let home = crate::cache_dir("peers");
    let suite = suite();
    let stamp = format!(
        "recipe {RECIPE_VERSION}\nsuite {suite}\npackages {}\n",
        PACKAGES.join(" ")
    );
    let bin = home.join("prefix/usr/bin");
    let present = |bin: &Path| PROGRAMS.iter().all(|p| bin.join(p).is_file());
    if std::fs::read_to_string(home.join("installed"))
        .ok()
        .as_deref()
        == Some(&stamp)
        && present(&bin)
    {
        return Ok(bin);
    }
    eprintln!(
        "test: installing {} from Debian {suite} into {}",
        PACKAGES.join(", "),
        home.display()
    );
    let _ = std::fs::remove_file(home.join("installed"));
    for dir in ["prefix", "apt", "debs"] {
        let _ = std::fs::remove_dir_all(home.join(dir));
    }
    std::fs::create_dir_all(&home).map_err(|e| e.to_string())?;
    crate::debs::unpack(&home, &suite, PACKAGES)?;
    if !present(&bin) {
        return Err(format!(
            "{} lacks one of {PROGRAMS:?} after the install",
            bin.display()
        ));
    }
    std::fs::write(home.join("installed"), stamp).map_err(|e| e.to_string())?;
    Ok(bin)
}

/// Installs with apt-get the packages of the [`SYSTEM`] programs missing from `PATH`.
fn ensure_system() -> Result<(), String> {
    let on_path = |name: &str| {
        std::env::var_os("PATH")
            .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(name).is_file()))
    };
    let missing: Vec<&str> = SYSTEM
        .iter()
        .filter(|(program, _)| !on_path(program))
        .map(|(_, package)| *package)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("test: installing {} with apt-get", missing.join(", "));
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let apt_get = |args: &[&str]| {
        let mut command = if root {
            Command::new("apt-get")
        } else {
            let mut sudo = Command::new("sudo");
            sudo.args(["-n", "apt-get"]);
            sudo
        };
        command
            .args(["-q", "-y"])
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive");
        command
    };
    let mut install = vec!["install", "--no-install-recommends"];
    install.extend_from_slice(&missing);
    if run(&mut apt_get(&install)).is_ok() {
        return Ok(());
    }
    // A machine whose package lists were never fetched.
    run(&mut apt_get(&["update"]))?;
    run(&mut apt_get(&install))
}

/// Installs the peers, then runs `cargo test --all-features` with `args` (`--workspace`
/// unless `args` name packages).
pub(crate) fn test(root: &Path, args: &[String]) -> Result<(), String> {
    let bin = ensure()?;
    ensure_system()?;
    let path = std::env::var_os("PATH").unwrap_or_default();
    let path = std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(&path)))
        .map_err(|e| e.to_string())?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    // Every feature: the axum extractor's tests, the webpki roots.
    command.args(["test", "--all-features"]);
    if !args.iter().any(|a| a == "-p" || a.starts_with("--package")) {
        command.arg("--workspace");
    }
    run(command
        .args(args)
        .current_dir(root)
        .env("PATH", path)
        .env("SWELL_REQUIRE_PEERS", "1"))
}
