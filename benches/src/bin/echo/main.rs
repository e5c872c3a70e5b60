//! The echo benchmark: swell side by side with its peers and a raw TCP echo, in one run.
//!
//! ```text
//! cargo run --release -p swell-benches --bin echo              # everything (~17 min)
//! cargo run --release -p swell-benches --bin echo -- --quick   # a few cells, one round
//! ```
//!
//! Each server runs in its own process on one current-thread tokio runtime, pinned to the
//! first core; the load generator runs on one current-thread runtime pinned to the second.
//! Every cell (payload, text or binary, connections, messages in flight) is measured for
//! each server in turn, and the rounds repeat that interleaving, so that drift in the machine
//! hits every server alike. The table gives medians over rounds: messages per second,
//! messages per second of server CPU (the server's run time, from `/proc`), and each
//! server's ratio to swell, the median of its per-round ratios (which cancels drift that
//! spans the back-to-back runs of one cell). Many short rounds rather than a few long ones,
//! so that a slow spell of a shared machine falls in few of the rounds a median is taken
//! over. Then, with fresh server processes, the server's resident memory per connection with
//! 10,000 idle connections, before and after each has echoed one 16 KiB message.
//!
//! Options: `--rounds N` (default 9), `--window MS` (measured time per cell, default 250),
//! `--servers a,b,..` (also `swell-deflate-PRESET` for each preset of
//! `swell_benches::deflate_presets` and `yawc-deflate`, which negotiate permessage-deflate
//! and get every message compressed, and the references `raw-tcp-timer` and
//! `swell-send-no-keepalive`, which show what keepalive costs; not in the default run),
//! `--idle N` (connections for the memory part, default 10000; 0 skips it), `--quick`,
//! `--only IN_FLIGHT/BYTES/CONNS` (just the cells that match, e.g. `16/16/16`; for profiling
//! one case), `--sizes BYTES,..` (just these payload sizes, e.g. `16,1024`), `--markdown
//! FILE` (also write the tables as Markdown), `--baseline PATH` (also run the `swell` server
//! of another build's echo binary, as the column `swell-baseline`: build an older commit in
//! a worktree with its own `CARGO_TARGET_DIR` and pass its `target/release/echo`, to compare
//! two builds under one load generator).

mod load;
mod options;
mod servers;

use std::fmt::Write as _;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use load::Conn;
use options::{Cell, Options, cells, options};

/// The core server processes pin themselves to, if any.
static SERVER_CORE: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();

/// The echo binary of another build whose `swell` server runs as [`BASELINE`] (`--baseline`).
static BASELINE_EXE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// The name of the column for the baseline build's swell server.
const BASELINE: &str = "swell-baseline";

/// A server process and its address.
struct Server {
    name: &'static str,
    addr: String,
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CPU seconds the process has used: the sum of its threads' run time from
/// `/proc/PID/task/*/schedstat` (nanoseconds), or, where that is not available, user + system
/// time from `/proc/PID/stat` (clock ticks of 10 ms: ±4% of a 250 ms window).
pub(crate) fn cpu_seconds(pid: u32) -> f64 {
    scheduled_seconds(pid).unwrap_or_else(|| ticked_seconds(pid))
}

fn scheduled_seconds(pid: u32) -> Option<f64> {
    // A thread that ends between listing and reading is skipped.
    let nanos: u64 = std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .filter_map(|task| {
            let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
            stat.split_whitespace().next()?.parse::<u64>().ok()
        })
        .sum();
    // A kernel without schedstat support reports zero.
    (nanos > 0).then_some(nanos as f64 / 1e9)
}

fn ticked_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15; `rest` starts at field 3.
    // USER_HZ is 100 on every Linux architecture the benchmark runs on.
    (ticks(11) + ticks(12)) / 100.0
}

/// Resident memory of the process in bytes, from `/proc/PID/status`.
fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// The cores the servers and the load run on: the first two this process may use, or none
/// to pin to if there is just one.
fn cores() -> Option<(usize, usize)> {
    let ids = core_affinity::get_core_ids()?;
    Some((ids.first()?.id, ids.get(1)?.id))
}

fn pin_to(core: usize) {
    core_affinity::set_for_current(core_affinity::CoreId { id: core });
}

fn start(name: &'static str) -> std::io::Result<Server> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?.to_string();
    drop(listener);
    let core = SERVER_CORE.get().copied().flatten();
    let core = core.map_or_else(|| "none".to_owned(), |c| c.to_string());
    // Another build's server runs under this build's load: the two builds' figures come
    // from one load generator and interleaved rounds, so a difference is the server's.
    let (exe, kind) = match BASELINE_EXE.get() {
        Some(exe) if name == BASELINE => (exe.into(), "swell"),
        _ => (std::env::current_exe()?, name),
    };
    let child = Command::new(exe)
        .args(["serve", kind, &addr, &core])
        .stdin(Stdio::null())
        .spawn()?;
    for _ in 0..200 {
        if std::net::TcpStream::connect(&addr).is_ok() {
            return Ok(Server { name, addr, child });
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    Err(std::io::Error::other(format!("{name} did not start")))
}

fn size_name(size: usize) -> String {
    match size {
        s if s >= 1 << 20 => format!("{} MiB", s >> 20),
        s if s >= 1024 => format!("{} KiB", s >> 10),
        s => format!("{s} B"),
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("serve") {
        let (kind, addr) = (args[1].clone(), args[2].clone());
        if let Some(core) = args.get(3).and_then(|c| c.parse().ok()) {
            pin_to(core);
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
            servers::serve(&kind, listener).await.expect("serve");
        });
        return;
    }
    let options = match options(&args) {
        Ok(options) => options,
        Err(e) => {
            eprintln!("echo: {e}");
            std::process::exit(2);
        }
    };
    // Counted before pinning: afterwards this process may use only one core.
    let parallelism = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cores = cores();
    let _ = SERVER_CORE.set(cores.map(|(server, _)| server));
    if let Some((_, load)) = cores {
        pin_to(load);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut report = String::new();
    let _ = writeln!(
        report,
        "machine: {} cores ({}), {}; server on core {}, load on core {}; rounds {}, window {} ms",
        parallelism,
        cpu_model(),
        kernel(),
        cores.map_or("-".into(), |c| c.0.to_string()),
        cores.map_or("-".into(), |c| c.1.to_string()),
        options.rounds,
        options.window.as_millis()
    );
    let result = runtime.block_on(async {
        throughput(&options, &mut report).await?;
        if options.idle > 0 {
            memory(&options, &mut report).await?;
        }
        std::io::Result::Ok(())
    });
    println!("{report}");
    if let Some(path) = &options.markdown {
        std::fs::write(path, &report).expect("write the markdown file");
    }
    if let Err(e) = result {
        eprintln!("echo: {e}");
        std::process::exit(1);
    }
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn kernel() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|r| format!("Linux {}", r.trim()))
        .unwrap_or_default()
}

/// Connections per server and count, kept open across cells and rounds.
struct Pool {
    server: Server,
    conns: Vec<(usize, Vec<Conn>)>,
}

async fn throughput(options: &Options, report: &mut String) -> std::io::Result<()> {
    let cells = cells(options);
    let mut pools = Vec::new();
    for &name in &options.servers {
        let server = start(name)?;
        let kind = load::Kind::of(name);
        let mut conns = Vec::new();
        for n in [1, 16, 256] {
            conns.push((n, load::connect_many(&server.addr, kind, n).await?));
        }
        pools.push(Pool { server, conns });
    }
    // results[cell][server] = per-round (msgs/s, msgs per CPU-s)
    let mut results = vec![vec![Vec::new(); pools.len()]; cells.len()];
    for round in 0..options.rounds {
        eprintln!("round {} of {}", round + 1, options.rounds);
        for (c, cell) in cells.iter().enumerate() {
            // Rotate the order each round, so that no server always goes first.
            for k in 0..pools.len() {
                let s = (k + round) % pools.len();
                let pool = &mut pools[s];
                let pid = pool.server.child.id();
                let slot = pool
                    .conns
                    .iter_mut()
                    .find(|(n, _)| *n == cell.conns)
                    .expect("a pool per count");
                let conns = std::mem::take(&mut slot.1);
                let (conns, run) = load::run(
                    conns,
                    cell.load,
                    Duration::from_millis(100),
                    options.window,
                    pid,
                )
                .await
                .map_err(|e| std::io::Error::other(format!("{}: {e}", pool.server.name)))?;
                slot.1 = conns;
                let rate = run.messages as f64 / run.seconds;
                let per_cpu = if run.server_cpu > 0.0 {
                    run.messages as f64 / run.server_cpu
                } else {
                    f64::NAN
                };
                results[c][s].push((rate, per_cpu));
            }
        }
    }
    let names: Vec<&str> = pools.iter().map(|p| p.server.name).collect();
    let _ = writeln!(report, "\n### Messages per second (ratio to swell)\n");
    table(report, &cells, &names, &results, |r| r.0);
    let _ = writeln!(
        report,
        "\n### Messages per second of server CPU (ratio to swell)\n"
    );
    table(report, &cells, &names, &results, |r| r.1);
    if options.rounds > 1 {
        spread(report, &cells, &names, &results);
    }
    Ok(())
}

/// How much the rounds of one cell disagree: for each server and kind of cell, the median
/// over cells of (highest - lowest) / median, first of the messages per second, then of the
/// per-round ratio to swell that the tables give. Differences between servers smaller than
/// these are ties.
fn spread(report: &mut String, cells: &[Cell], names: &[&str], results: &[Vec<Vec<(f64, f64)>>]) {
    let _ = writeln!(
        report,
        "\n### Spread over rounds (median over cells of (max - min) / median)\n"
    );
    header_rows(report, &["in flight", "of"], names);
    for (what, ratio) in [("messages per second", false), ("ratio to swell", true)] {
        for in_flight in [1, 16] {
            let rows: Vec<&Vec<Vec<(f64, f64)>>> = cells
                .iter()
                .zip(results)
                .filter(|(cell, _)| cell.load.in_flight == in_flight)
                .map(|(_, servers)| servers)
                .collect();
            if rows.is_empty() {
                continue;
            }
            let _ = write!(report, "| {in_flight} | {what} |");
            for s in 0..names.len() {
                if ratio && s == 0 {
                    let _ = write!(report, " - |");
                    continue;
                }
                let mut spreads: Vec<f64> = rows
                    .iter()
                    .map(|servers| {
                        let mut values: Vec<f64> = if ratio {
                            round_ratios(&servers[s], &servers[0], |r| r.0)
                        } else {
                            servers[s].iter().map(|r| r.0).collect()
                        };
                        let low = values.iter().copied().fold(f64::INFINITY, f64::min);
                        let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                        (high - low) / median(&mut values)
                    })
                    .collect();
                let _ = write!(report, " {:.0}% |", median(&mut spreads) * 100.0);
            }
            let _ = writeln!(report);
        }
    }
}

/// A server's ratio to swell in each round of one cell, by `pick`; rounds where swell
/// measured nothing are left out.
fn round_ratios(
    rounds: &[(f64, f64)],
    swell: &[(f64, f64)],
    pick: impl Fn(&(f64, f64)) -> f64,
) -> Vec<f64> {
    rounds
        .iter()
        .zip(swell)
        .map(|(r, swell)| pick(r) / pick(swell))
        .filter(|ratio| ratio.is_finite())
        .collect()
}

fn table(
    report: &mut String,
    cells: &[Cell],
    names: &[&str],
    results: &[Vec<Vec<(f64, f64)>>],
    pick: impl Fn(&(f64, f64)) -> f64,
) {
    header_rows(report, &["in flight", "payload", "conns"], names);
    for (c, cell) in cells.iter().enumerate() {
        let medians: Vec<f64> = results[c]
            .iter()
            .map(|rounds| median(&mut rounds.iter().map(&pick).collect::<Vec<_>>()))
            .collect();
        // Each ratio is the median of the per-round ratios: the servers of one cell run
        // back to back within a round, so a slow spell of the machine that spans them
        // cancels out, where it would not between medians taken apart.
        let ratios: Vec<f64> = results[c]
            .iter()
            .map(|rounds| median(&mut round_ratios(rounds, &results[c][0], &pick)))
            .collect();
        let kind = if cell.load.text { "text" } else { "binary" };
        let _ = write!(
            report,
            "| {} | {} {} | {} |",
            cell.load.in_flight,
            size_name(cell.load.size),
            kind,
            cell.conns
        );
        for (m, ratio) in medians.iter().zip(&ratios) {
            let _ = write!(report, " {} ({ratio:.2}×) |", thousands(*m));
        }
        let _ = writeln!(report);
    }
}

/// A Markdown table's head: the `leading` columns, then one right-aligned column per server.
fn header_rows(report: &mut String, leading: &[&str], names: &[&str]) {
    let _ = write!(report, "|");
    for column in leading.iter().chain(names) {
        let _ = write!(report, " {column} |");
    }
    let _ = write!(report, "\n|");
    for _ in leading {
        let _ = write!(report, " --- |");
    }
    for _ in names {
        let _ = write!(report, " ---: |");
    }
    let _ = writeln!(report);
}

fn thousands(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    if v >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

async fn memory(options: &Options, report: &mut String) -> std::io::Result<()> {
    let n = options.idle;
    let _ = writeln!(
        report,
        "\n### Server memory per idle connection ({n} connections; RSS growth / connections)\n"
    );
    let _ = writeln!(
        report,
        "| server | after the handshake | after one 16 KiB echo each |\n| --- | ---: | ---: |"
    );
    for &name in &options.servers {
        let server = start(name)?;
        let pid = server.child.id();
        let kind = load::Kind::of(name);
        // One connection first, so that lazily allocated server state is not counted.
        let warm = load::connect_many(&server.addr, kind, 1).await?;
        let warm = load::echo_once(warm, 16 * 1024, 1).await?;
        drop(warm);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let before = rss_bytes(pid);
        let conns = load::connect_many(&server.addr, kind, n).await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let idle = rss_bytes(pid);
        let conns = load::echo_once(conns, 16 * 1024, 16).await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let after = rss_bytes(pid);
        drop(conns);
        let per = |rss: u64| rss.saturating_sub(before) as f64 / n as f64 / 1024.0;
        let _ = writeln!(
            report,
            "| {name} | {:.2} KiB | {:.2} KiB |",
            per(idle),
            per(after)
        );
        eprintln!("memory: {name} done");
    }
    Ok(())
}
