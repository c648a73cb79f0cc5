//! A throwaway PostgreSQL for the tests that run the delivery service on PostgreSQL (when
//! `CONCLAVE_TEST_POSTGRES=1`): one server per test process, made by `initdb` in a
//! temporary directory and listening only on a Unix socket there, a database per test.
//! It stops, and its directory goes, when the test process ends, however it ends: a small
//! shell watches the process's end of a pipe.
//!
//! The binaries are found in `CONCLAVE_TEST_POSTGRES_BIN`, else in the newest
//! `/usr/lib/postgresql/*/bin` (Debian's `postgresql` package), else on the `PATH`. Run as
//! root, the server runs as the `postgres` user (PostgreSQL refuses to run as root).

use std::collections::HashSet;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Whether the tests run the delivery service on PostgreSQL.
pub fn enabled() -> bool {
    std::env::var_os("CONCLAVE_TEST_POSTGRES").is_some_and(|v| v == "1")
}

/// The test process's PostgreSQL server.
pub struct Cluster {
    bin: PathBuf,
    socket_dir: PathBuf,
    run_as: Option<String>,
    created: Mutex<HashSet<String>>,
    // Held until the process ends: closing it stops the server (see the module docs).
    _watch: Mutex<(Child, ChildStdin)>,
}

/// The server, started on first use.
pub fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(Cluster::start)
}

fn binaries() -> PathBuf {
    if let Some(dir) = std::env::var_os("CONCLAVE_TEST_POSTGRES_BIN") {
        return dir.into();
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).unwrap_or_default()
}

/// The uid and gid of `user`, from `/etc/passwd`.
fn ids_of(user: &str) -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").expect("/etc/passwd");
    passwd
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|fields| fields.first() == Some(&user) && fields.len() > 3)
        .and_then(|f| Some((f[2].parse().ok()?, f[3].parse().ok()?)))
        .unwrap_or_else(|| panic!("no user {user} to run PostgreSQL as (PostgreSQL refuses root)"))
}

impl Cluster {
    fn start() -> Cluster {
        let bin = binaries();
        let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
        let run_as = root.then(|| "postgres".to_owned());
        let dir = tempfile::Builder::new()
            .prefix("conclave-pg-")
            .tempdir()
            .expect("a temporary directory")
            .keep();
        if root {
            let (uid, gid) = ids_of("postgres");
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).expect("chown");
        }
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        let data = dir.join("data");
        let cluster = |program: &str, run_as: &Option<String>| -> Command {
            let path = bin.join(program);
            match run_as {
                Some(user) => {
                    let mut command = Command::new("runuser");
                    command.args(["-u", user, "--"]).arg(path);
                    command
                }
                None => Command::new(path),
            }
        };
        let initdb = cluster("initdb", &run_as)
            .args([
                "--auth=trust",
                "--username=postgres",
                "--no-sync",
                "--encoding=UTF8",
            ])
            .arg("-D")
            .arg(&data)
            .output()
            .expect("initdb runs (is PostgreSQL installed? see README)");
        assert!(
            initdb.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&initdb.stderr)
        );
        // The server as a child of a shell that stops it, and removes its directory, once
        // this process's end of the shell's stdin closes.
        let script = r#"
            "$1" -D "$2/data" -k "$2" -c listen_addresses= -c fsync=off -c full_page_writes=off \
                -c synchronous_commit=off -c max_connections=300 -c shared_buffers=64MB \
                > "$2/log" 2>&1 &
            pid=$!
            while read -r _; do :; done
            kill -QUIT "$pid" 2>/dev/null
            wait "$pid"
            rm -rf "$2"
        "#;
        let mut watch = match &run_as {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--", "sh"]);
                command
            }
            None => Command::new("sh"),
        };
        // In a process group of its own: a signal to the tests' group (a terminal's ^C, a
        // harness's timeout) must not kill the watcher before the server.
        let mut child = watch
            .process_group(0)
            .args(["-c", script, "sh"])
            .arg(bin.join("postgres"))
            .arg(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the PostgreSQL server starts");
        let stdin = child.stdin.take().expect("a pipe");
        let cluster = Cluster {
            bin,
            socket_dir: dir.clone(),
            run_as,
            created: Mutex::new(HashSet::new()),
            _watch: Mutex::new((child, stdin)),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !cluster.ready() {
            assert!(
                Instant::now() < deadline,
                "PostgreSQL did not start: {}",
                std::fs::read_to_string(dir.join("log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        cluster
    }

    fn tool(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin.join(program));
        command
            .arg("-h")
            .arg(&self.socket_dir)
            .args(["-U", "postgres"]);
        command
    }

    fn ready(&self) -> bool {
        self.tool("pg_isready")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// The URL of the database `name`, created empty the first time this process asks.
    pub fn database(&self, name: &str) -> String {
        let mut created = self.created.lock().expect("not poisoned");
        if created.insert(name.to_owned()) {
            let made = self
                .tool("createdb")
                .arg(name)
                .output()
                .expect("createdb runs");
            assert!(
                made.status.success(),
                "createdb {name}: {}",
                String::from_utf8_lossy(&made.stderr)
            );
        }
        format!(
            "postgres://postgres@localhost/{name}?host={}",
            self.socket_dir.display()
        )
    }

    /// The answer to `sql` in the database `name`, as `psql` prints it unaligned.
    pub fn query(&self, name: &str, sql: &str) -> String {
        let out = self
            .tool("psql")
            .args([
                "-X",
                "-q",
                "-t",
                "-A",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                name,
                "-c",
                sql,
            ])
            .output()
            .expect("psql runs");
        assert!(
            out.status.success(),
            "psql: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Every table of the database `name`, dumped (`pg_dump --data-only`), with each
    /// `bytea` value also as its raw bytes: what a plaintext scan searches.
    pub fn dump(&self, name: &str) -> Vec<u8> {
        let out = self
            .tool("pg_dump")
            .args(["--data-only", "-d", name])
            .output()
            .expect("pg_dump runs");
        assert!(
            out.status.success(),
            "pg_dump: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut bytes = out.stdout.clone();
        bytes.extend(raw_bytea(&out.stdout));
        bytes
    }

    /// The socket directory (as a URL's `host`).
    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    /// Whether the server runs as another user (the tests run as root).
    pub fn runs_as_other_user(&self) -> bool {
        self.run_as.is_some()
    }
}

/// The bytes of every `\x...` hex literal in a dump, decoded.
fn raw_bytea(dump: &[u8]) -> Vec<u8> {
    let mut raw = Vec::new();
    let mut i = 0;
    while i + 1 < dump.len() {
        if dump[i] == b'\\' && dump[i + 1] == b'x' {
            i += 2;
            while i + 1 < dump.len()
                && dump[i].is_ascii_hexdigit()
                && dump[i + 1].is_ascii_hexdigit()
            {
                let hex = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
                raw.push(hex(dump[i]) << 4 | hex(dump[i + 1]));
                i += 2;
            }
            raw.push(0);
        } else {
            i += 1;
        }
    }
    raw
}

/// A database name for a test's SQLite path: the same path, the same database (a test that
/// restarts its server finds its state).
pub fn database_name(db: &Path) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    db.hash(&mut hasher);
    format!("t{:016x}", hasher.finish())
}
