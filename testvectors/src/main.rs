//! `conclave-testvectors check` runs the official MLS interop vectors and Conclave's own
//! through Conclave; `conclave-testvectors generate` writes Conclave's vectors.

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check the official vectors ($MLS_TEST_VECTORS, else ../shared/testvectors) and
    /// Conclave's own (testvectors/conclave). Exits non-zero on any failure.
    Check {
        /// Official vectors' directory (overrides $MLS_TEST_VECTORS).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Write Conclave's vectors: passive-client vectors for every supported ciphersuite (RFC
    /// 9420's seven and the draft X-Wing suite) and the MIMI content vectors. Another MLS
    /// implementation checks the passive-client files with its runner of the official
    /// passive-client vectors: import the key package and its private keys, join from the
    /// Welcome with the given ratchet tree, process each epoch's proposals and commit, and
    /// compare every epoch authenticator (testvectors/README.md, "How another implementation
    /// checks them").
    Generate {
        /// Output directory.
        #[arg(long, default_value_os_t = conclave_testvectors::conclave_dir())]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Check { dir } => {
            let official = dir.or_else(conclave_testvectors::official_dir);
            let mut failed = 0;
            match official {
                Some(dir) => {
                    println!("official vectors: {}", dir.display());
                    let report = conclave_testvectors::check_dir(&dir);
                    print!("{}", report.table());
                    failed += report.failed();
                }
                None => {
                    eprintln!(
                        "official vectors not found: set {} (see testvectors/README.md)",
                        conclave_testvectors::VECTORS_ENV
                    );
                    if std::env::var("CI").is_ok_and(|v| v == "true") {
                        return ExitCode::FAILURE;
                    }
                }
            }
            let ours = conclave_testvectors::conclave_dir();
            println!("\nconclave vectors: {}", ours.display());
            let report = conclave_testvectors::check_dir(&ours);
            print!("{}", report.table());
            failed += report.failed();
            if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Command::Generate { out } => match conclave_testvectors::generate::write_all(&out) {
            Ok(files) => {
                for f in files {
                    println!("wrote {}", f.display());
                }
                println!(
                    "\nThe passive-client files have the official format: another implementation \
                     runs them with its passive-client runner (join from the Welcome with the \
                     given tree, process each epoch, compare the epoch authenticators); see \
                     testvectors/README.md, \"How another implementation checks them\"."
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("generate: {e}");
                ExitCode::FAILURE
            }
        },
    }
}
