//! Conclave's fuzz targets: every parser that reads bytes an attacker can choose, as a
//! function of those bytes. `fuzz_targets/` wraps each in libFuzzer (`cargo fuzz run NAME`,
//! see `fuzz/README.md`), and `tests/corpus.rs` runs each over its committed corpus and the
//! regressions, so a crash once found stays fixed.
//!
//! Who could send each input: an MLS message or a Welcome, another member or the server; a
//! key package, anyone with an account; a request, anyone on the network; a response or a
//! push frame, the server or the network; a stored row, whoever could write the profile; a
//! message's content, another member.

#![forbid(unsafe_code)]

pub mod content;
pub mod edit;
pub mod key_package;
pub mod mls_join;
pub mod mls_process;
pub mod seeds;
pub mod server_request;
pub mod server_response;
pub mod stored_rows;
mod world;

/// Makes the fuzzer's own thread rayon's only one (the protocol runs parts of a commit or a
/// join with `rayon::join`), before a target runs: libFuzzer counts the coverage of every
/// thread as the input's, and rayon's workers, spinning while they wait for work, would add
/// edges no input chose, so that the same input did not always give the same coverage. For
/// the libFuzzer binaries only: a test thread that made itself the pool's one worker would
/// leave it without one when it ends.
pub fn one_thread() {
    if let Err(e) = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .use_current_thread()
        .build_global()
    {
        panic!("rayon's pool was made before the fuzz target's: {e}");
    }
}

/// A target: the bytes an attacker chose, in; a panic on a bug.
pub type Target = fn(&[u8]);

/// Every target, by the name of its libFuzzer binary and corpus directory.
pub const TARGETS: &[(&str, Target)] = &[
    ("mls_process", mls_process::run),
    ("mls_join", mls_join::run),
    ("key_package", key_package::run),
    ("server_request", server_request::run),
    ("server_response", server_response::run),
    ("stored_rows", stored_rows::run),
    ("content", content::run),
];
