//! Installs `wstest` without Docker: PyPy 2.7 from Debian bullseye unpacked into a private
//! prefix, pip bootstrapped from PyPI wheels, and the suite's pinned requirements.
//!
//! Nothing outside the install directory is touched: apt runs with its own sources list,
//! state and cache, and packages are unpacked with `dpkg -x`, not installed. The install is
//! cached and reused while its recipe (this file's package list and
//! `autobahn/requirements.txt`) is unchanged.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::run;

/// Debian bullseye packages: PyPy 2.7 (the interpreter the official Docker image uses), its
/// headers for building C extensions, and the libraries bookworm no longer has. libssl-dev
/// provides OpenSSL 1.1 headers for building cryptography 3.3.2, which has no PyPy wheel.
const PACKAGES: &[&str] = &[
    "pypy",
    "pypy-lib",
    "pypy-dev",
    "libffi7",
    "libssl1.1",
    "libssl-dev",
];

/// pip and setuptools that still run on Python 2.7, from PyPI.
const BOOTSTRAP: &[&str] = &["pip==20.3.4", "setuptools==44.1.1", "wheel==0.37.1"];

/// Bumped when the recipe changes in a way the package lists do not show.
const RECIPE_VERSION: &str = "1";

/// Starts wstest with a thread that collects garbage every second. The compression cases
/// make a zlib object per message; PyPy's GC does not see their C memory and frees it only
/// on a major collection, so without this wstest grows by about 100 MB a second (past
/// 18 GB over groups 12-13). With it, it stays near 600 MB at the same speed.
const LAUNCHER: &str = "\
import gc, sys, threading, time
def collect():
    while True:
        time.sleep(1.0)
        gc.collect()
thread = threading.Thread(target=collect)
thread.daemon = True
thread.start()
sys.argv = ['wstest'] + sys.argv[1:]
from autobahntestsuite.wstest import run
sys.exit(run())
";

/// An installed `wstest`.
pub(crate) struct Wstest {
    python: PathBuf,
    library_path: OsString,
}

impl Wstest {
    /// A command that runs `wstest` with `args`.
    pub(crate) fn command(&self) -> Command {
        let mut command = Command::new(&self.python);
        command
            .args(["-c", LAUNCHER])
            .env("LD_LIBRARY_PATH", &self.library_path);
        // wstest prints a deprecation warning per import; keep the logs readable.
        command.env("PYTHONWARNINGS", "ignore");
        command
    }

    fn works(&self) -> bool {
        self.command()
            .arg("--help")
            .output()
            .is_ok_and(|out| out.status.success())
    }
}

/// Where the install lives: `$SWELL_AUTOBAHN_HOME`, else `$XDG_CACHE_HOME/swell/autobahn`,
/// else `~/.cache/swell/autobahn`.
pub(crate) fn home() -> PathBuf {
    if let Some(dir) = std::env::var_os("SWELL_AUTOBAHN_HOME") {
        return dir.into();
    }
    crate::cache_dir("autobahn")
}

fn wstest_at(home: &Path) -> Wstest {
    let prefix = home.join("prefix");
    let library_path = std::env::join_paths([
        prefix.join("usr/lib"),
        prefix.join("usr/lib/x86_64-linux-gnu"),
    ])
    .expect("paths without separators");
    Wstest {
        python: prefix.join("usr/lib/pypy/bin/pypy-c"),
        library_path,
    }
}

/// Returns a working `wstest`, installing it first unless the cached install matches the
/// recipe (or `force`).
pub(crate) fn ensure(root: &Path, force: bool) -> Result<Wstest, String> {
    let home = home();
    let requirements = root.join("autobahn/requirements.txt");
    let pins = std::fs::read_to_string(&requirements)
        .map_err(|e| format!("reading {}: {e}", requirements.display()))?;
    let stamp = format!(
        "recipe {RECIPE_VERSION}\npackages {}\nbootstrap {}\n{pins}",
        PACKAGES.join(" "),
        BOOTSTRAP.join(" ")
    );
    let stamp_file = home.join("installed");
    let wstest = wstest_at(&home);
    if !force
        && std::fs::read_to_string(&stamp_file).ok().as_deref() == Some(&stamp)
        && wstest.works()
    {
        eprintln!("autobahn: wstest is installed in {}", home.display());
        return Ok(wstest);
    }
    eprintln!(
        "autobahn: installing wstest (PyPy 2.7 from Debian bullseye) into {}",
        home.display()
    );
    let _ = std::fs::remove_file(&stamp_file);
    for dir in ["prefix", "apt", "debs", "wheels"] {
        let _ = std::fs::remove_dir_all(home.join(dir));
    }
    crate::debs::unpack(&home, "bullseye", PACKAGES)?;
    install_python_packages(&home, &wstest, &requirements)?;
    if !wstest.works() {
        return Err("wstest was installed but does not run: see the output above".into());
    }
    std::fs::write(&stamp_file, stamp).map_err(|e| e.to_string())?;
    eprintln!("autobahn: wstest installed");
    Ok(wstest)
}

/// Bootstraps pip for PyPy from PyPI wheels and installs the pinned requirements.
fn install_python_packages(
    home: &Path,
    wstest: &Wstest,
    requirements: &Path,
) -> Result<(), String> {
    let wheels = home.join("wheels");
    // The host's Python 3 fetches the bootstrap wheels (they are py2.py3).
    let host_python = ["python3", "python"]
        .into_iter()
        .find(|p| {
            Command::new(p)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .ok_or("no python3 on this machine to download pip's wheels with")?;
    let mut download = Command::new(host_python);
    download
        .args(["-m", "pip", "download", "--isolated", "--no-deps", "-d"])
        .arg(&wheels)
        .args(BOOTSTRAP);
    run(&mut download)?;
    let pip_wheel = std::fs::read_dir(&wheels)
        .map_err(|e| e.to_string())?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("pip-"))
        })
        .ok_or("pip's wheel did not download")?;
    let pypy = |args: &[&str]| {
        let mut command = Command::new(&wstest.python);
        command.env("LD_LIBRARY_PATH", &wstest.library_path);
        command.args(args);
        command
    };
    let site = home.join("prefix/usr/lib/pypy/dist-packages");
    // pip runs straight from its wheel to install itself.
    let mut bootstrap = pypy(&[]);
    bootstrap
        .arg(pip_wheel.join("pip"))
        .args([
            "install",
            "--isolated",
            "--no-compile",
            "--no-index",
            "--find-links",
        ])
        .arg(&wheels)
        .arg("--target")
        .arg(&site)
        .args(["pip", "setuptools", "wheel"]);
    run(&mut bootstrap)?;
    let prefix = home.join("prefix");
    let cert = "/etc/ssl/certs/ca-certificates.crt";
    let pip_install = |extra: &[&str]| {
        let mut command = pypy(&[
            "-m",
            "pip",
            "install",
            "--isolated",
            "--no-cache-dir",
            "--no-compile",
            "--no-warn-script-location",
        ]);
        if Path::new(cert).exists() {
            command.args(["--cert", cert]);
        }
        command.args(extra);
        command
            .env(
                "CFLAGS",
                format!(
                    "-I{0}/usr/include -I{0}/usr/include/x86_64-linux-gnu",
                    prefix.display()
                ),
            )
            .env(
                "LDFLAGS",
                format!("-L{}/usr/lib/x86_64-linux-gnu", prefix.display()),
            );
        command
    };
    // Twisted's setup_requires would otherwise fetch an incremental that needs `typing`.
    run(&mut pip_install(&["incremental==16.10.1", "six==1.16.0"]))?;
    let requirements = requirements.to_string_lossy().into_owned();
    run(&mut pip_install(&[
        "--no-build-isolation",
        "-r",
        &requirements,
    ]))?;
    Ok(())
}
