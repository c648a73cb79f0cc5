//! Every fuzz target over its seeds, its committed corpus (`fuzz/corpus/<target>`) and the
//! inputs that once crashed it (`fuzz/regressions/<target>`): what the fuzzer found stays
//! fixed, in the ordinary test run.

use std::path::Path;

use conclave_fuzz::TARGETS;
use conclave_fuzz::edit::{Edited, Input};

fn inputs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            (
                p.display().to_string(),
                std::fs::read(&p).expect("readable"),
            )
        })
        .collect()
}

#[test]
fn the_seed_helpers_build_the_inputs_they_name() {
    assert!(matches!(
        Input::from_bytes(&conclave_fuzz::seeds::template(3)),
        Some(Input::Edited(Edited { template: 3, ref edits })) if edits.is_empty()
    ));
    assert!(matches!(
        Input::from_bytes(&conclave_fuzz::seeds::raw(b"abc")),
        Some(Input::Raw(ref bytes)) if bytes == b"abc"
    ));
}

#[test]
fn every_target_survives_its_seeds_corpus_and_regressions() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let seeds = conclave_fuzz::seeds::all();
    for (name, target) in TARGETS {
        let mut ran = 0;
        for (_, _, bytes) in seeds.iter().filter(|(t, _, _)| t == name) {
            target(bytes);
            ran += 1;
        }
        for folder in ["corpus", "regressions"] {
            for (_file, bytes) in inputs(&root.join(folder).join(name)) {
                target(&bytes);
                ran += 1;
            }
        }
        assert!(ran > 0, "{name} has no seeds");
    }
}
