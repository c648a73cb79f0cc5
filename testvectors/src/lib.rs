//! # conclave-testvectors
//!
//! Runs the IETF MLS working group's interop test vectors through Conclave's own code, and
//! generates vectors of Conclave's that other implementations can check.
//!
//! The official vectors are read from the directory named by `MLS_TEST_VECTORS`, else
//! `../shared/testvectors` beside the repository (they come from the public
//! `mls-implementations` repository of the MLS working group, folder `test-vectors`).
//!
//! ```no_run
//! let dir = conclave_testvectors::official_dir().expect("vectors present");
//! let report = conclave_testvectors::check_dir(&dir);
//! println!("{}", report.table());
//! assert_eq!(report.failed(), 0);
//! ```
//!
//! Every file gets a row: cases, passed, failed, and not run, each "not run" with its reason
//! (an unsupported ciphersuite, or a structure openmls does not expose). Nothing is skipped
//! silently.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod codec;
pub mod content;
pub mod crypto;
pub mod generate;
pub mod internals;
pub mod kats;
pub mod passive;
pub mod tree;
pub mod welcome;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use conclave_protocol::CipherSuite;

/// The environment variable naming the official vectors' directory.
pub const VECTORS_ENV: &str = "MLS_TEST_VECTORS";

/// Where the official vectors are: `$MLS_TEST_VECTORS`, else `../shared/testvectors` relative
/// to the workspace root. `None` if that directory does not exist.
pub fn official_dir() -> Option<PathBuf> {
    let dir = std::env::var_os(VECTORS_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/testvectors"));
    dir.is_dir().then_some(dir)
}

/// The directory of Conclave's own generated vectors (`testvectors/conclave`).
pub fn conclave_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("conclave")
}

/// The outcome of one vector file.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FileReport {
    /// Cases checked or listed.
    pub cases: usize,
    /// Cases that passed.
    pub passed: usize,
    /// What failed, one line each.
    pub failures: Vec<String>,
    /// Cases not run, counted by reason.
    pub not_run: BTreeMap<String, usize>,
}

impl FileReport {
    /// Records a check's result.
    pub fn record(&mut self, case: impl std::fmt::Display, result: Result<(), String>) {
        self.cases += 1;
        match result {
            Ok(()) => self.passed += 1,
            Err(e) => self.failures.push(format!("{case}: {e}")),
        }
    }

    /// Records a case that is not run, and why.
    pub fn skip(&mut self, reason: impl Into<String>) {
        self.cases += 1;
        *self.not_run.entry(reason.into()).or_default() += 1;
    }

    /// Records `count` cases not run for one reason.
    pub fn skip_many(&mut self, count: usize, reason: impl Into<String>) {
        if count > 0 {
            self.cases += count;
            *self.not_run.entry(reason.into()).or_default() += count;
        }
    }

    /// Failed cases.
    pub fn failed(&self) -> usize {
        self.failures.len()
    }

    /// Cases not run.
    pub fn not_run_count(&self) -> usize {
        self.not_run.values().sum()
    }
}

/// The outcome of a directory of vectors: one row per file.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// By file name.
    pub files: BTreeMap<String, FileReport>,
}

impl Report {
    /// Total failures.
    pub fn failed(&self) -> usize {
        self.files.values().map(FileReport::failed).sum()
    }

    /// Total passes.
    pub fn passed(&self) -> usize {
        self.files.values().map(|f| f.passed).sum()
    }

    /// The table `check` prints: one row per file, then every failure and every reason.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "| file | cases | passed | failed | not run |");
        let _ = writeln!(out, "|---|---:|---:|---:|---:|");
        for (name, f) in &self.files {
            let _ = writeln!(
                out,
                "| {name} | {} | {} | {} | {} |",
                f.cases,
                f.passed,
                f.failed(),
                f.not_run_count()
            );
        }
        for (name, f) in &self.files {
            for (reason, count) in &f.not_run {
                let _ = writeln!(out, "not run: {name}: {count} x {reason}");
            }
        }
        for (name, f) in &self.files {
            for failure in &f.failures {
                let _ = writeln!(out, "FAILED: {name}: {failure}");
            }
        }
        let (cases, not_run): (usize, usize) = self
            .files
            .values()
            .fold((0, 0), |(c, n), f| (c + f.cases, n + f.not_run_count()));
        let _ = writeln!(
            out,
            "total: {cases} cases, {} passed, {} failed, {not_run} not run",
            self.passed(),
            self.failed()
        );
        out
    }
}

/// The ciphersuite of a vector, or why it is not run.
pub fn suite(code_point: u16) -> Result<CipherSuite, String> {
    CipherSuite::from_code_point(code_point)
        .map_err(|_| format!("ciphersuite 0x{code_point:04x} not supported by Conclave's crypto"))
}

/// Reads a JSON vector file.
pub fn read<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Checks every known vector file in `dir`. Files not present are not reported; files
/// present that no check knows are reported with one "not run" case, so nothing is silent.
pub fn check_dir(dir: &Path) -> Report {
    let mut report = Report::default();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    entries.sort();
    for path in entries {
        let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
            continue;
        };
        if !name.ends_with(".json") {
            continue;
        }
        let file = check_file(&path, &name);
        report.files.insert(name, file);
    }
    report
}

/// Checks one file, chosen by its name (Conclave's generated files carry a `conclave-`
/// prefix before the official name).
pub fn check_file(path: &Path, name: &str) -> FileReport {
    let kind = name.strip_prefix("conclave-").unwrap_or(name);
    let kind = kind.split_once("-suite").map_or(kind, |(k, _)| k);
    let kind = kind.trim_end_matches(".json");
    let mut report = FileReport::default();
    let result = match kind {
        "passive-client-welcome" | "passive-client-handling-commit" | "passive-client-random" => {
            passive::check(path, &mut report)
        }
        "crypto-basics" => crypto::check(path, &mut report),
        "messages" => codec::check_messages(path, &mut report),
        "deserialization" => codec::check_deserialization(path, &mut report),
        "welcome" => welcome::check(path, &mut report),
        "tree-validation" => tree::check(path, &mut report),
        "tree-math" => kats::check_tree_math_file(path, &mut report),
        "psk_secret" => kats::check_psk_secret_file(path, &mut report),
        "secret-tree" => kats::check_secret_tree_file(path, &mut report),
        "key-schedule" => kats::check_key_schedule_file(path, &mut report),
        "transcript-hashes" => kats::check_transcript_hashes_file(path, &mut report),
        "message-protection" => kats::check_message_protection_file(path, &mut report),
        "tree-operations" => kats::check_tree_operations_file(path, &mut report),
        "treekem" => kats::check_treekem_file(path, &mut report),
        "mimi-content" => content::check(path, &mut report),
        _ => {
            report.skip("no check knows this file");
            Ok(())
        }
    };
    if let Err(e) = result {
        report.failures.push(format!("file: {e}"));
    }
    report
}
