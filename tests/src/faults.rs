//! The faults suite's summary: each case records one row in
//! `test-output/faults/<case>.json`; `cargo xtask test` prints them as one
//! table and writes it to `test-output/faults.md`.

use serde::{Deserialize, Serialize};

use crate::toolchain::output_dir;

/// One case of the suite and what it measured.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    pub case: String,
    /// Messages or requests the case sent.
    pub attempts: u64,
    /// Messages acknowledged (or sent) that did not arrive where they belong.
    pub lost: u64,
    /// Messages shown or stored more than once.
    pub duplicated: u64,
    /// `claw_` tokens found where a browser or visitor could read them.
    pub leaked: u64,
    /// 5xx answers that were not the expected 502 of an unreachable upstream.
    pub server_errors: u64,
    /// Requests or waits that did not finish in time.
    pub hung: u64,
    /// How it was done, in a few words.
    pub note: String,
}

fn dir() -> std::path::PathBuf {
    output_dir().join("faults")
}

/// Records a case's row (one file per case, replaced on each run; a live
/// dialect run's rows are named as such).
pub fn record(row: &Row) {
    let dir = dir();
    let _ = std::fs::create_dir_all(&dir);
    let mut row = row.clone();
    row.case = crate::Dialect::of_run().label(&row.case);
    let name: String = row
        .case
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    if let Ok(json) = serde_json::to_string_pretty(&row) {
        let _ = std::fs::write(dir.join(format!("{name}.json")), json);
    }
}

/// A search of every byte one test's browsers received for `claw_`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeakScan {
    pub test: String,
    pub bytes: u64,
    pub found: u64,
}

/// Records a scan (one file per test).
pub fn record_scan(scan: &LeakScan) {
    let dir = dir().join("scans");
    let _ = std::fs::create_dir_all(&dir);
    if let Ok(json) = serde_json::to_string(scan) {
        let name = format!("{}-{}", scan.test, crate::Dialect::of_run().name());
        let _ = std::fs::write(dir.join(format!("{name}.json")), json);
    }
}

/// The suite-wide token search as one row: every test's scans summed.
pub fn scans_row() -> Option<Row> {
    let scans: Vec<LeakScan> = std::fs::read_dir(dir().join("scans"))
        .ok()?
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
        .filter_map(|t| serde_json::from_str(&t).ok())
        .collect();
    if scans.is_empty() {
        return None;
    }
    let bytes: u64 = scans.iter().map(|s| s.bytes).sum();
    Some(Row {
        case: "token leak: every byte the browsers received, whole suite".into(),
        attempts: scans.len() as u64,
        leaked: scans.iter().map(|s| s.found).sum(),
        note: format!(
            "{:.1} MB of answers, headers and pages (uncompressed) from {} browser tests, searched for `claw_`",
            bytes as f64 / 1e6,
            scans.len()
        ),
        ..Row::default()
    })
}

/// Every recorded row, by case name.
pub fn collect() -> Vec<Row> {
    let mut rows: Vec<Row> = std::fs::read_dir(dir())
        .map(|entries| {
            entries
                .filter_map(|e| {
                    let path = e.ok()?.path();
                    path.is_file().then_some(path)
                })
                .filter_map(|path| std::fs::read_to_string(path).ok())
                .filter_map(|text| serde_json::from_str(&text).ok())
                .collect()
        })
        .unwrap_or_default();
    rows.sort_by(|a, b| a.case.cmp(&b.case));
    rows.extend(scans_row());
    rows
}

/// Forgets the rows of an earlier run.
pub fn clear() {
    let _ = std::fs::remove_dir_all(dir());
}

/// The rows as a Markdown table.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| case | attempts | lost | duplicated | leaked | 5xx | hung | how |\n|---|---:|---:|---:|---:|---:|---:|---|\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
            r.case, r.attempts, r.lost, r.duplicated, r.leaked, r.server_errors, r.hung, r.note
        ));
    }
    out
}

/// Lost and duplicated items of `shown` against `expected` (ids, in order),
/// and whether the order held.
pub fn compare(expected: &[String], shown: &[String]) -> (u64, u64, bool) {
    use std::collections::HashSet;
    let seen: HashSet<&String> = shown.iter().collect();
    let lost = expected.iter().filter(|id| !seen.contains(id)).count() as u64;
    let duplicated = (shown.len() - seen.len()) as u64;
    let wanted: HashSet<&String> = expected.iter().collect();
    let in_order = shown
        .iter()
        .filter(|id| wanted.contains(id))
        .eq(expected.iter().filter(|id| seen.contains(id)));
    (lost, duplicated, in_order)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn compares_lost_duplicated_and_order() {
        let expected = ids(&["a", "b", "c"]);
        assert_eq!(compare(&expected, &ids(&["a", "b", "c"])), (0, 0, true));
        assert_eq!(compare(&expected, &ids(&["a", "c"])), (1, 0, true));
        assert_eq!(
            compare(&expected, &ids(&["a", "b", "b", "c"])),
            (0, 1, false)
        );
        assert_eq!(compare(&expected, &ids(&["b", "a", "c"])), (0, 0, false));
        assert_eq!(
            compare(&expected, &ids(&["x", "a", "b", "c"])),
            (0, 0, true)
        );
    }

    #[test]
    fn renders_a_table() {
        let t = table(&[Row {
            case: "x".into(),
            attempts: 3,
            ..Row::default()
        }]);
        assert!(t.contains("| x | 3 | 0 | 0 | 0 | 0 | 0 |  |"), "{t}");
    }
}
