//! `conclave-fuzz-seeds DIR`: writes every target's seeds into `DIR/<target>/<name>`.

#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: conclave-fuzz-seeds DIR");
        return std::process::ExitCode::FAILURE;
    };
    let dir = std::path::PathBuf::from(dir);
    for (target, name, bytes) in conclave_fuzz::seeds::all() {
        let folder = dir.join(target);
        if let Err(e) = std::fs::create_dir_all(&folder)
            .and_then(|()| std::fs::write(folder.join(&name), &bytes))
        {
            eprintln!("{}: {e}", folder.join(&name).display());
            return std::process::ExitCode::FAILURE;
        }
    }
    std::process::ExitCode::SUCCESS
}
