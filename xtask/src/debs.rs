//! Debian packages unpacked into a private prefix, for the programs the suite and the
//! tests run.

use std::path::Path;
use std::process::Command;

use crate::run;

/// Downloads `packages` from Debian's `suite` with a private apt configuration (its own
/// sources list, state and cache under `home/apt`) and unpacks them into `home/prefix`
/// with `dpkg -x`: nothing is installed, nothing outside `home` is touched, no root needed.
pub(crate) fn unpack(home: &Path, suite: &str, packages: &[&str]) -> Result<(), String> {
    let apt = home.join("apt");
    for dir in [
        "etc/apt/sources.list.d",
        "etc/apt/preferences.d",
        "state/lists/partial",
        "cache/archives/partial",
    ] {
        std::fs::create_dir_all(apt.join(dir)).map_err(|e| e.to_string())?;
    }
    std::fs::write(
        apt.join("etc/apt/sources.list"),
        format!(
            "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian {suite} main\n"
        ),
    )
    .map_err(|e| e.to_string())?;
    std::fs::write(apt.join("state/status"), "").map_err(|e| e.to_string())?;
    let user = Command::new("id").arg("-un").output().ok().and_then(|o| {
        o.status
            .success()
            .then(|| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    });
    let mut options: Vec<String> = vec![
        format!("Dir::Etc={}", apt.join("etc/apt").display()),
        format!("Dir::State={}", apt.join("state").display()),
        format!("Dir::State::status={}", apt.join("state/status").display()),
        format!("Dir::Cache={}", apt.join("cache").display()),
        "Debug::NoLocking=1".into(),
    ];
    if let Some(user) = user {
        options.push(format!("APT::Sandbox::User={user}"));
    }
    let apt_get = |args: &[&str], dir: &Path| {
        let mut command = Command::new("apt-get");
        command.arg("-q");
        for option in &options {
            command.arg("-o").arg(option);
        }
        command.args(args).current_dir(dir);
        command
    };
    run(&mut apt_get(&["update"], home))?;
    let debs = home.join("debs");
    std::fs::create_dir_all(&debs).map_err(|e| e.to_string())?;
    let mut download = vec!["download"];
    download.extend_from_slice(packages);
    run(&mut apt_get(&download, &debs))?;
    let prefix = home.join("prefix");
    for entry in std::fs::read_dir(&debs).map_err(|e| e.to_string())? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().is_some_and(|e| e == "deb") {
            run(Command::new("dpkg").arg("-x").arg(&path).arg(&prefix))?;
        }
    }
    Ok(())
}
