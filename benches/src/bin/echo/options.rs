//! The command line: which servers, cells and rounds a run measures.

use std::time::Duration;

use crate::load::Load;
use crate::servers;
use crate::{BASELINE, BASELINE_EXE};

pub(crate) struct Options {
    pub(crate) rounds: usize,
    pub(crate) window: Duration,
    pub(crate) servers: Vec<&'static str>,
    pub(crate) idle: usize,
    pub(crate) quick: bool,
    pub(crate) only: Option<(usize, usize, usize)>,
    pub(crate) sizes: Option<Vec<usize>>,
    pub(crate) markdown: Option<String>,
}

pub(crate) fn options(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        rounds: 9,
        window: Duration::from_millis(250),
        servers: servers::SERVERS.to_vec(),
        idle: 10_000,
        quick: false,
        only: None,
        sizes: None,
        markdown: None,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value")).cloned();
        match arg.as_str() {
            "--rounds" => options.rounds = value()?.parse().map_err(|e| format!("{e}"))?,
            "--window" => {
                options.window =
                    Duration::from_millis(value()?.parse().map_err(|e| format!("{e}"))?)
            }
            "--idle" => options.idle = value()?.parse().map_err(|e| format!("{e}"))?,
            "--markdown" => options.markdown = Some(value()?),
            "--baseline" => {
                let exe = value()?;
                if !std::path::Path::new(&exe).is_file() {
                    return Err(format!("--baseline {exe}: no such file"));
                }
                // Set once: options are read once, before any server starts.
                let _ = BASELINE_EXE.set(exe);
            }
            "--only" => {
                let wanted = value()?;
                let parts: Vec<usize> = wanted
                    .split('/')
                    .map(|p| p.parse().map_err(|e| format!("--only {wanted}: {e}")))
                    .collect::<Result<_, _>>()?;
                let [in_flight, size, conns] = parts[..] else {
                    return Err(format!("--only {wanted}: want IN_FLIGHT/BYTES/CONNS"));
                };
                options.only = Some((in_flight, size, conns));
            }
            "--sizes" => {
                let wanted = value()?;
                let sizes = wanted
                    .split(',')
                    .map(|p| p.parse().map_err(|e| format!("--sizes {wanted}: {e}")))
                    .collect::<Result<_, _>>()?;
                options.sizes = Some(sizes);
            }
            "--servers" => {
                let wanted = value()?;
                options.servers = wanted
                    .split(',')
                    .map(|w| {
                        servers::SERVERS
                            .iter()
                            .chain(servers::REFERENCE_SERVERS)
                            .chain(servers::DEFLATE_SERVERS)
                            .find(|s| **s == w)
                            .copied()
                            .ok_or(format!("unknown server {w}"))
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--quick" => {
                options.quick = true;
                options.rounds = 1;
                options.idle = options.idle.min(1000);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if !options.servers.contains(&"swell") {
        options.servers.insert(0, "swell");
    }
    if BASELINE_EXE.get().is_some() && !options.servers.contains(&BASELINE) {
        options.servers.insert(1, BASELINE);
    }
    Ok(options)
}

/// One cell of the table.
#[derive(Clone, Copy)]
pub(crate) struct Cell {
    pub(crate) conns: usize,
    pub(crate) load: Load,
}

pub(crate) fn cells(options: &Options) -> Vec<Cell> {
    let (quick, only) = (options.quick, options.only);
    let mut cells = Vec::new();
    let sizes: &[usize] = match &options.sizes {
        Some(sizes) => sizes,
        None if quick => &[16, 16 * 1024],
        None => &[16, 1024, 16 * 1024, 1 << 20],
    };
    for &in_flight in &[1, 16] {
        for &size in sizes {
            for text in [false, true] {
                if quick && text {
                    continue;
                }
                for &conns in &[1, 16, 256] {
                    // A MiB in flight per connection is memory, not messaging: 1 and 16
                    // connections, one message each.
                    if size >= 1 << 20 && (in_flight > 1 || conns > 16) {
                        continue;
                    }
                    if quick && conns == 256 {
                        continue;
                    }
                    if only.is_some_and(|o| o != (in_flight, size, conns)) {
                        continue;
                    }
                    cells.push(Cell {
                        conns,
                        load: Load {
                            size,
                            text,
                            in_flight,
                        },
                    });
                }
            }
        }
    }
    cells
}
