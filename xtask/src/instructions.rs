//! `cargo xtask instructions`: user-space instructions per echoed message, for swell's loops
//! and the peers', counted with callgrind on `benches/examples/echo_loop.rs`.
//!
//! Wall time on a shared VM moves by tens of percent between rounds; an instruction count
//! repeats to the instruction. Each server's loop runs over the same in-memory stream, so
//! what differs between columns is the server's own work per message: no system call, no
//! kernel time. Each figure is (instructions of a run of 2N reads - of N reads) / (N × the
//! messages per read), so start-up and the runtime's construction cancel out.

use std::path::Path;
use std::process::Command;

use crate::autobahn::build;

/// The servers `echo_loop` runs, in the table's order.
const SERVERS: &[&str] = &[
    "swell",
    "swell-send",
    "swell-send-no-keepalive",
    "fastwebsockets",
    "tokio-websockets",
    "tokio-tungstenite",
    "raw",
];

/// The cells: messages per read, payload bytes, `binary` or `text`.
const CELLS: &[(usize, usize, &str)] = &[
    (1, 16, "binary"),
    (1, 16, "text"),
    (1, 1024, "binary"),
    (16, 16, "binary"),
    (16, 16, "text"),
    (16, 1024, "binary"),
];

/// glibc copies and fills large buffers with `rep movsb` and `rep stosb`, which callgrind
/// counts once per byte, where the hardware moves tens of bytes a cycle: a server would be
/// charged by how it sizes its reads rather than for its work. Raised thresholds keep every
/// copy and fill on glibc's vector loops, whose instructions track the work done.
const GLIBC_TUNABLES: &str =
    "glibc.cpu.x86_rep_movsb_threshold=4294967295:glibc.cpu.x86_rep_stosb_threshold=4294967295";

/// Messages counted per cell and server (the difference between the two runs).
const MESSAGES: usize = 16_000;

pub(crate) fn main(root: &Path, args: &[String]) -> Result<(), String> {
    if let Some(arg) = args.first() {
        return Err(format!(
            "unknown argument {arg}\nusage: cargo xtask instructions (needs valgrind)"
        ));
    }
    if Command::new("valgrind").arg("--version").output().is_err() {
        return Err("valgrind was not found: install it (Debian: apt install valgrind)".into());
    }
    let examples = build::examples(root, &["swell-benches"])?;
    let exe = examples
        .get("echo_loop")
        .ok_or("cargo built no echo_loop example")?;
    let jobs: Vec<(usize, usize)> = (0..CELLS.len())
        .flat_map(|c| (0..SERVERS.len()).map(move |s| (c, s)))
        .collect();
    // Counts do not depend on timing, so the runs share the machine's cores.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(vec![vec![None; SERVERS.len()]; CELLS.len()]);
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(&(c, s)) = jobs.get(i) else { return };
                    let count = per_message(exe, CELLS[c], SERVERS[s]);
                    if let Err(e) = &count {
                        eprintln!("{e}");
                    }
                    results.lock().expect("no worker panics")[c][s] = count.ok();
                }
            });
        }
    });
    let results = results.into_inner().expect("no worker panics");
    println!("{}", table(&results));
    if results.iter().flatten().any(Option::is_none) {
        return Err("some counts failed (see above)".into());
    }
    Ok(())
}

/// Instructions per message for `server` in `cell`.
fn per_message(exe: &Path, cell: (usize, usize, &str), server: &str) -> Result<u64, String> {
    let (per_read, size, kind) = cell;
    let reads = MESSAGES / per_read;
    let short = collected(exe, &[reads, per_read], server, kind, size)?;
    let long = collected(exe, &[2 * reads, per_read], server, kind, size)?;
    let added = long
        .checked_sub(short)
        .ok_or_else(|| format!("{server}: the longer run counted fewer instructions"))?;
    Ok(added / MESSAGES as u64)
}

/// The instructions callgrind counted for one run of `echo_loop`.
fn collected(
    exe: &Path,
    counts: &[usize; 2],
    server: &str,
    kind: &str,
    size: usize,
) -> Result<u64, String> {
    let output = Command::new("valgrind")
        .env("GLIBC_TUNABLES", GLIBC_TUNABLES)
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(exe)
        .args(counts.map(|n| n.to_string()))
        .args([server, kind, &size.to_string()])
        .output()
        .map_err(|e| format!("running valgrind: {e}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!("echo_loop {server} failed: {stderr}"));
    }
    // "==PID== Collected : 123456"
    stderr
        .lines()
        .find_map(|line| line.split_once("Collected :").map(|(_, n)| n.trim()))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("no instruction count in callgrind's output: {stderr}"))
}

/// The counts as a Markdown table, with each cell's ratio to `swell-send` (the plain
/// `recv` + `send` loop, which the peers' loops are).
fn table(results: &[Vec<Option<u64>>]) -> String {
    let send = SERVERS
        .iter()
        .position(|s| *s == "swell-send")
        .expect("listed");
    let mut out = String::from("| per read | payload |");
    for server in SERVERS {
        out.push_str(&format!(" {server} |"));
    }
    out.push_str("\n| ---: | --- |");
    out.push_str(&" ---: |".repeat(SERVERS.len()));
    for (&(per_read, size, kind), row) in CELLS.iter().zip(results) {
        out.push_str(&format!("\n| {per_read} | {} {kind} |", bytes(size)));
        for count in row {
            out.push_str(&match (count, row[send]) {
                (Some(n), Some(base)) if base > 0 => {
                    format!(" {n} ({:.2}×) |", *n as f64 / base as f64)
                }
                (Some(n), _) => format!(" {n} |"),
                (None, _) => " failed |".into(),
            });
        }
    }
    out
}

fn bytes(size: usize) -> String {
    if size >= 1024 && size % 1024 == 0 {
        format!("{} KiB", size / 1024)
    } else {
        format!("{size} B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_gives_each_count_with_its_ratio_to_swell_send() {
        let mut results = vec![vec![Some(100); SERVERS.len()]; CELLS.len()];
        results[0][0] = Some(50);
        results[1][3] = None;
        let table = table(&results);
        let rows: Vec<&str> = table.lines().collect();
        assert_eq!(rows.len(), 2 + CELLS.len());
        assert!(rows[2].starts_with("| 1 | 16 B binary | 50 (0.50×) | 100 (1.00×) |"));
        assert!(rows[3].contains("| failed |"), "{}", rows[3]);
        assert!(rows[4].starts_with("| 1 | 1 KiB binary |"), "{}", rows[4]);
    }
}
