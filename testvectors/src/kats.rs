//! Vector files whose checks reach openmls's internals, run through the known-answer-test
//! runners the vendored openmls exposes behind its `kat` feature (`openmls::kats`): the
//! code that runs is the code Conclave ships, not a copy of it.

use std::path::Path;

use openmls::kats::{TreeMathTestVector, check_tree_math};

use crate::{FileReport, read};

/// `tree-math.json`: one case per tree size (root, and every node's left and right child,
/// parent and sibling).
pub fn check_tree_math_file(path: &Path, report: &mut FileReport) -> Result<(), String> {
    let cases: Vec<TreeMathTestVector> = read(path)?;
    for (i, case) in cases.into_iter().enumerate() {
        report.record(
            format!("case {i}"),
            check_tree_math(case).map_err(|e| format!("{e:?}")),
        );
    }
    Ok(())
}
