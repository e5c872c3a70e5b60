//! Autobahn results: reading `index.json`, the committed baseline, and the difference between
//! them. Pure: strings in, values and strings out; no files or processes.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use serde_json::Value;

/// A case id such as `6.4.1`, ordered by its numbers (`1.1.2` before `1.1.10`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CaseId(String);

impl CaseId {
    fn numbers(&self) -> impl Iterator<Item = u64> + '_ {
        self.0.split('.').map(|n| n.parse().unwrap_or(u64::MAX))
    }

    /// The case group: the first number.
    pub(crate) fn group(&self) -> u64 {
        self.numbers().next().unwrap_or(u64::MAX)
    }
}

impl Ord for CaseId {
    fn cmp(&self, other: &Self) -> Ordering {
        self.numbers()
            .cmp(other.numbers())
            .then_with(|| self.0.cmp(&other.0))
    }
}

impl PartialOrd for CaseId {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the suite judged of one case; everything else in a report (duration, file name) is
/// dropped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub(crate) behavior: String,
    pub(crate) behavior_close: String,
    pub(crate) remote_close_code: Option<u64>,
}

impl Outcome {
    fn is_ok(&self) -> bool {
        self.behavior == "OK" && self.behavior_close == "OK"
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} / close {} / code ",
            self.behavior, self.behavior_close
        )?;
        match self.remote_close_code {
            Some(code) => write!(f, "{code}"),
            None => f.write_str("none"),
        }
    }
}

/// Outcomes per agent, per case.
pub(crate) type Results = BTreeMap<String, BTreeMap<CaseId, Outcome>>;

/// A baseline entry: the expected outcome and, for anything not OK, why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Expected {
    pub(crate) outcome: Outcome,
    pub(crate) reason: Option<String>,
}

/// The committed baseline: expected outcomes per agent, per case.
pub(crate) type Baseline = BTreeMap<String, BTreeMap<CaseId, Expected>>;

fn outcome(case: &str, v: &Value) -> Result<Outcome, String> {
    let text = |key: &str| {
        v.get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("case {case}: no \"{key}\""))
    };
    Ok(Outcome {
        behavior: text("behavior")?,
        behavior_close: text("behaviorClose")?,
        remote_close_code: v.get("remoteCloseCode").and_then(Value::as_u64),
    })
}

fn agents(json: &str) -> Result<serde_json::Map<String, Value>, String> {
    match serde_json::from_str(json).map_err(|e| e.to_string())? {
        Value::Object(map) => Ok(map),
        _ => Err("expected an object of agents".into()),
    }
}

fn cases<'a>(agent: &str, value: &'a Value) -> Result<&'a serde_json::Map<String, Value>, String> {
    value
        .as_object()
        .ok_or_else(|| format!("agent {agent}: expected an object of cases"))
}

/// Reads a report's `index.json`.
pub(crate) fn parse_index(json: &str) -> Result<Results, String> {
    let mut results = Results::new();
    for (agent, value) in agents(json)? {
        let mut by_case = BTreeMap::new();
        for (case, v) in cases(&agent, &value)? {
            by_case.insert(CaseId(case.clone()), outcome(case, v)?);
        }
        results.insert(agent, by_case);
    }
    Ok(results)
}

/// Reads a baseline file.
pub(crate) fn parse_baseline(json: &str) -> Result<Baseline, String> {
    let mut baseline = Baseline::new();
    for (agent, value) in agents(json)? {
        let mut by_case = BTreeMap::new();
        for (case, v) in cases(&agent, &value)? {
            let reason = v.get("reason").and_then(Value::as_str).map(str::to_owned);
            by_case.insert(
                CaseId(case.clone()),
                Expected {
                    outcome: outcome(case, v)?,
                    reason,
                },
            );
        }
        baseline.insert(agent, by_case);
    }
    Ok(baseline)
}

/// Baseline entries that are not OK and say no reason why.
pub(crate) fn missing_reasons(baseline: &Baseline) -> Vec<String> {
    let mut out = Vec::new();
    for (agent, by_case) in baseline {
        for (case, expected) in by_case {
            let explained = expected
                .reason
                .as_deref()
                .is_some_and(|r| !r.trim().is_empty());
            if !expected.outcome.is_ok() && !explained {
                out.push(format!(
                    "{agent} {case}: {} has no \"reason\"",
                    expected.outcome
                ));
            }
        }
    }
    out
}

/// One way results and baseline disagree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Difference {
    Changed {
        agent: String,
        case: CaseId,
        expected: Outcome,
        got: Outcome,
    },
    Missing {
        agent: String,
        case: CaseId,
    },
    Unexpected {
        agent: String,
        case: CaseId,
        got: Outcome,
    },
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Changed {
                agent,
                case,
                expected,
                got,
            } => write!(f, "{agent} {case}: expected {expected}, got {got}"),
            Self::Missing { agent, case } => write!(f, "{agent} {case}: in the baseline, not run"),
            Self::Unexpected { agent, case, got } => {
                write!(f, "{agent} {case}: got {got}, not in the baseline")
            }
        }
    }
}

/// Every difference between `baseline` and `got`, improvements included. With `partial` (a
/// subset of cases was run) cases absent from the results are not differences.
pub(crate) fn diff(baseline: &Baseline, got: &Results, partial: bool) -> Vec<Difference> {
    let mut out = Vec::new();
    let empty = BTreeMap::new();
    let agents: std::collections::BTreeSet<&String> = baseline.keys().chain(got.keys()).collect();
    for agent in agents {
        let expected = baseline.get(agent).unwrap_or(&empty);
        let results = got.get(agent);
        if results.is_none() && partial {
            continue;
        }
        let results_empty = BTreeMap::new();
        let results = results.unwrap_or(&results_empty);
        for (case, e) in expected {
            match results.get(case) {
                Some(g) if *g == e.outcome => {}
                Some(g) => out.push(Difference::Changed {
                    agent: agent.clone(),
                    case: case.clone(),
                    expected: e.outcome.clone(),
                    got: g.clone(),
                }),
                None if partial => {}
                None => out.push(Difference::Missing {
                    agent: agent.clone(),
                    case: case.clone(),
                }),
            }
        }
        for (case, g) in results {
            if !expected.contains_key(case) {
                out.push(Difference::Unexpected {
                    agent: agent.clone(),
                    case: case.clone(),
                    got: g.clone(),
                });
            }
        }
    }
    out
}

/// A reason for outcomes the suite itself calls out, so that a bless can explain them.
fn standard_reason(case: &CaseId, outcome: &Outcome) -> Option<String> {
    if outcome.behavior == "UNIMPLEMENTED" && matches!(case.group(), 12 | 13) {
        return Some("permessage-deflate is not negotiated by this agent".into());
    }
    if outcome.behavior == "INFORMATIONAL" {
        return Some("the suite only informs on this case; it has no pass or fail".into());
    }
    None
}

/// The baseline rewritten from `got`: reasons kept where the outcome did not change, the
/// suite's standard reasons for INFORMATIONAL and UNIMPLEMENTED, and none otherwise (which
/// [`missing_reasons`] then reports). With `partial`, cases not run keep their old entry.
pub(crate) fn bless(old: &Baseline, got: &Results, partial: bool) -> Baseline {
    let mut new = if partial {
        old.clone()
    } else {
        Baseline::new()
    };
    for (agent, results) in got {
        let previous = old.get(agent);
        let entries = new.entry(agent.clone()).or_default();
        for (case, outcome) in results {
            let kept = previous
                .and_then(|p| p.get(case))
                .filter(|e| e.outcome == *outcome)
                .and_then(|e| e.reason.clone());
            let reason = if outcome.is_ok() {
                None
            } else {
                kept.or_else(|| standard_reason(case, outcome))
            };
            entries.insert(
                case.clone(),
                Expected {
                    outcome: outcome.clone(),
                    reason,
                },
            );
        }
    }
    new
}

/// The baseline as JSON, one case a line, cases in numeric order.
pub(crate) fn render_baseline(baseline: &Baseline) -> String {
    let quote = |s: &str| Value::String(s.to_owned()).to_string();
    let mut out = String::from("{\n");
    for (i, (agent, by_case)) in baseline.iter().enumerate() {
        let _ = writeln!(out, "  {}: {{", quote(agent));
        for (j, (case, e)) in by_case.iter().enumerate() {
            let code = e
                .outcome
                .remote_close_code
                .map_or("null".to_owned(), |c| c.to_string());
            let _ = write!(
                out,
                "    {}: {{ \"behavior\": {}, \"behaviorClose\": {}, \"remoteCloseCode\": {}",
                quote(&case.0),
                quote(&e.outcome.behavior),
                quote(&e.outcome.behavior_close),
                code
            );
            if let Some(reason) = &e.reason {
                let _ = write!(out, ", \"reason\": {}", quote(reason));
            }
            out.push_str(if j + 1 < by_case.len() {
                " },\n"
            } else {
                " }\n"
            });
        }
        out.push_str(if i + 1 < baseline.len() {
            "  },\n"
        } else {
            "  }\n"
        });
    }
    out.push_str("}\n");
    out
}

/// The behaviors counted in the summary, in column order; anything else counts as "other".
const COLUMNS: [&str; 5] = [
    "OK",
    "NON-STRICT",
    "INFORMATIONAL",
    "UNIMPLEMENTED",
    "FAILED",
];

/// Counts per case group (1-13) of each behavior, one table per agent.
pub(crate) fn summary(title: &str, got: &Results) -> String {
    let mut out = String::new();
    for (agent, results) in got {
        let _ = writeln!(out, "{title}, agent {agent}: {} cases", results.len());
        let _ = writeln!(
            out,
            "  {:>5} {:>6} {:>10} {:>13} {:>13} {:>6} {:>6}",
            "group", "OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED", "other"
        );
        let mut groups: BTreeMap<u64, [usize; 6]> = BTreeMap::new();
        for (case, outcome) in results {
            let counts = groups.entry(case.group()).or_default();
            let column = COLUMNS
                .iter()
                .position(|c| *c == outcome.behavior)
                .unwrap_or(COLUMNS.len());
            counts[column] += 1;
        }
        for (group, c) in groups {
            let _ = writeln!(
                out,
                "  {group:>5} {:>6} {:>10} {:>13} {:>13} {:>6} {:>6}",
                c[0], c[1], c[2], c[3], c[4], c[5]
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const INDEX: &str = r#"{
      "swell": {
        "1.1.10": {"behavior": "OK", "behaviorClose": "OK", "duration": 2, "remoteCloseCode": 1000, "reportfile": "a.json"},
        "1.1.2": {"behavior": "OK", "behaviorClose": "OK", "duration": 1, "remoteCloseCode": 1000, "reportfile": "b.json"},
        "6.4.1": {"behavior": "NON-STRICT", "behaviorClose": "OK", "duration": 9, "remoteCloseCode": 1007, "reportfile": "c.json"},
        "7.1.6": {"behavior": "INFORMATIONAL", "behaviorClose": "INFORMATIONAL", "duration": 3, "remoteCloseCode": 1000, "reportfile": "d.json"},
        "12.1.1": {"behavior": "UNIMPLEMENTED", "behaviorClose": "UNIMPLEMENTED", "duration": 0, "remoteCloseCode": null, "reportfile": "e.json"}
      }
    }"#;

    fn results() -> Results {
        parse_index(INDEX).unwrap()
    }

    #[test]
    fn cases_sort_by_their_numbers() {
        let cases: Vec<String> = results()["swell"].keys().map(ToString::to_string).collect();
        assert_eq!(cases, ["1.1.2", "1.1.10", "6.4.1", "7.1.6", "12.1.1"]);
    }

    #[test]
    fn a_blessed_baseline_matches_and_survives_a_round_trip() {
        let got = results();
        let baseline = bless(&Baseline::new(), &got, false);
        assert!(diff(&baseline, &got, false).is_empty());
        let reparsed = parse_baseline(&render_baseline(&baseline)).unwrap();
        assert_eq!(reparsed, baseline);
        // 6.4.1 is NON-STRICT, which no standard reason covers: the bless leaves it
        // unexplained and the check says so.
        assert_eq!(
            missing_reasons(&baseline),
            ["swell 6.4.1: NON-STRICT / close OK / code 1007 has no \"reason\""]
        );
        assert!(baseline["swell"][&CaseId("12.1.1".into())].reason.is_some());
        assert!(baseline["swell"][&CaseId("7.1.6".into())].reason.is_some());
    }

    #[test]
    fn changes_both_ways_are_differences() {
        let got = results();
        let mut baseline = bless(&Baseline::new(), &got, false);
        // An improvement is a difference too: the baseline must be blessed.
        let entry = baseline
            .get_mut("swell")
            .unwrap()
            .get_mut(&CaseId("6.4.1".into()))
            .unwrap();
        entry.outcome.behavior = "FAILED".into();
        let differences = diff(&baseline, &got, false);
        assert_eq!(differences.len(), 1);
        assert_eq!(
            differences[0].to_string(),
            "swell 6.4.1: expected FAILED / close OK / code 1007, got NON-STRICT / close OK / code 1007"
        );
    }

    #[test]
    fn missing_and_unexpected_cases_are_differences_unless_partial() {
        let got = results();
        let mut baseline = bless(&Baseline::new(), &got, false);
        let agent = baseline.get_mut("swell").unwrap();
        let removed = agent.remove(&CaseId("1.1.2".into())).unwrap();
        agent.insert(CaseId("2.1".into()), removed);
        let differences = diff(&baseline, &got, false);
        assert_eq!(differences.len(), 2, "{differences:?}");
        assert!(matches!(&differences[0], Difference::Missing { case, .. } if case.0 == "2.1"));
        assert!(
            matches!(&differences[1], Difference::Unexpected { case, .. } if case.0 == "1.1.2")
        );
        // A subset run does not miss what it did not run, but still reports the unexpected.
        assert_eq!(diff(&baseline, &got, true).len(), 1);
    }

    #[test]
    fn a_partial_bless_keeps_the_rest_and_the_reasons() {
        let got = results();
        let mut baseline = bless(&Baseline::new(), &got, false);
        let entry = baseline
            .get_mut("swell")
            .unwrap()
            .get_mut(&CaseId("6.4.1".into()))
            .unwrap();
        entry.reason = Some("explained".into());
        let mut subset = Results::new();
        let one: BTreeMap<_, _> = got["swell"]
            .iter()
            .filter(|(c, _)| c.0 == "6.4.1")
            .map(|(c, o)| (c.clone(), o.clone()))
            .collect();
        subset.insert("swell".into(), one);
        let reblessed = bless(&baseline, &subset, true);
        assert_eq!(reblessed, baseline);
    }

    #[test]
    fn summary_counts_per_group() {
        let text = summary("servers", &results());
        assert!(text.contains("servers, agent swell: 5 cases"), "{text}");
        let line = |group: &str| {
            text.lines()
                .find(|l| l.split_whitespace().next() == Some(group))
                .unwrap()
                .split_whitespace()
                .skip(1)
                .map(|n| n.parse::<usize>().unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(line("1"), [2, 0, 0, 0, 0, 0]);
        assert_eq!(line("6"), [0, 1, 0, 0, 0, 0]);
        assert_eq!(line("7"), [0, 0, 1, 0, 0, 0]);
        assert_eq!(line("12"), [0, 0, 0, 1, 0, 0]);
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        assert!(parse_index("[]").is_err());
        assert!(parse_index("{\"a\": {\"1.1\": {}}}").is_err());
        assert!(parse_baseline("not json").is_err());
    }
}
