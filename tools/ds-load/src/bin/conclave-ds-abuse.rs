//! `conclave-ds-abuse`: a bounded abuse run against a `conclave-ds` process, on loopback
//! only, measuring what it costs the server: its peak resident memory (VmHWM) and how much
//! its database grows per message.
//!
//! It starts the given `conclave-ds` binary on 127.0.0.1 with a temporary database (its
//! registration, connection and rate limits raised through environment variables, which an
//! older binary without those limits ignores, so the same run measures both), registers
//! `--recipients` devices, puts them all in one group, then:
//! 1. sends `--messages` messages of `--size` bytes, each to every other member;
//! 2. has `--fetchers` of the devices fetch their whole queue, `--concurrency` at a time;
//! 3. sends `--uploads` large messages (`--upload-size` bytes, to one member each) all at
//!    once, from as many devices.
//!
//! It restarts the server (SIGTERM, as an operator would) before and after step 1 to read
//! the database's growth once its write-ahead log is folded in; the memory figures are
//! those of the last process, which runs steps 2 and 3. Then it stops the server and
//! reports. Everything is bounded by its arguments.

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use conclave_delivery_api::{Envelope, MessageKind, WelcomeEnvelope, paths};
use conclave_ds_load::{Dev, Page, post};
use conclave_test_support::stand_in;

#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// The `conclave-ds` binary to run.
    #[arg(long)]
    server: PathBuf,
    /// Members of the group (at most the server's recipient limit, 10,000 by default).
    #[arg(long, default_value_t = 10_000)]
    recipients: usize,
    /// Messages sent to all of them.
    #[arg(long, default_value_t = 4)]
    messages: usize,
    /// Size of each, bytes.
    #[arg(long, default_value_t = 1 << 20)]
    size: usize,
    /// Devices that then fetch their whole queue.
    #[arg(long, default_value_t = 1_000)]
    fetchers: usize,
    /// Fetching devices at a time.
    #[arg(long, default_value_t = 250)]
    concurrency: usize,
    /// Large messages sent all at once, from as many devices.
    #[arg(long, default_value_t = 64)]
    uploads: usize,
    /// Size of each, bytes (under the server's 16 MiB body limit once in JSON).
    #[arg(long, default_value_t = 11 << 20)]
    upload_size: usize,
}

/// The server process's memory, from /proc: (VmRSS, VmHWM) in KiB.
fn memory(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The bytes the stopped server's database holds: its pages, the write-ahead log's
/// included (SQLite reads through the log; closing folds it into the file).
fn database_bytes(db: &Path) -> Result<u64, String> {
    let conn = rusqlite::Connection::open(db).map_err(|e| e.to_string())?;
    let pages: i64 = conn
        .query_row(
            "SELECT page_count * page_size FROM pragma_page_count, pragma_page_size",
            [],
            |r| r.get(0),
        )
        .map_err(|e| e.to_string())?;
    Ok(pages as u64)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

async fn send(
    http: &reqwest::Client,
    url: &reqwest::Url,
    from: &Dev,
    to: Vec<conclave_delivery_api::DeviceRef>,
    payload: &[u8],
) -> Result<reqwest::StatusCode, String> {
    let group = b"abuse".to_vec();
    let envelope = Envelope {
        message: stand_in::message(&group, 1, MessageKind::Application, payload).into(),
        group_id: group.into(),
        epoch: 1,
        kind: MessageKind::Application,
        recipients: to,
        welcome: None,
        removed: Vec::new(),
        link_token: None,
    };
    let body = serde_json::to_vec(&envelope).map_err(|e| e.to_string())?;
    post(http, url, from, body).await
}

/// Fetches and acknowledges all of `dev`'s queue, as a client does (a busy server's 429 is
/// retried after a pause); returns the bytes of messages fetched and the retries.
async fn drain(http: &reqwest::Client, base: &str, dev: &Dev) -> Result<(u64, u64), String> {
    let (mut after, mut bytes, mut retries) = (0, 0u64, 0u64);
    loop {
        let page: Page = match conclave_ds_load::fetch(http, base, dev, after).await {
            Ok(page) => page,
            Err(e) if e.ends_with("429") => {
                retries += 1;
                tokio::time::sleep(Duration::from_millis(250)).await;
                continue;
            }
            Err(e) => return Err(e),
        };
        for item in &page.items {
            after = after.max(item.seq);
            bytes += item.message.0.len() as u64;
        }
        if page.items.is_empty() || !page.more {
            break;
        }
    }
    let url =
        reqwest::Url::parse(&format!("{base}{}", paths::QUEUE_ACK)).map_err(|e| e.to_string())?;
    let body =
        serde_json::to_vec(&serde_json::json!({ "up_to": after })).map_err(|e| e.to_string())?;
    post(http, &url, dev, body).await?;
    Ok((bytes, retries))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    if args.recipients < 2 || args.fetchers > args.recipients || args.uploads >= args.recipients {
        eprintln!("need 2 <= recipients, fetchers <= recipients, uploads < recipients");
        return std::process::ExitCode::FAILURE;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("ds.sqlite");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = match start_server(&args.server, port, &db) {
        Ok(child) => child,
        Err(e) => {
            eprintln!("cannot start {}: {e}", args.server.display());
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = run(&args, &base, &db, &mut server, port).await;
    let _ = server.kill();
    let _ = server.wait();
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn start_server(binary: &Path, port: u16, db: &Path) -> std::io::Result<std::process::Child> {
    std::process::Command::new(binary)
        .args(["--listen", &format!("127.0.0.1:{port}"), "--db"])
        .arg(db)
        .env("RUST_LOG", "warn")
        // One address registers and connects every device, and one process sends as fast
        // as it can: the limits that would stop exactly that are out of the way.
        .env("CONCLAVE_DS_REGISTRATIONS_PER_ADDRESS", "100000000")
        .env("CONCLAVE_DS_REGISTRATIONS_PER_HOUR", "100000000")
        .env("CONCLAVE_DS_CONNECTIONS_PER_ADDRESS", "100000")
        .env("CONCLAVE_DS_RATE", "1000000")
        .env("CONCLAVE_DS_BURST", "1000000")
        .env("CONCLAVE_DS_SYNCHRONOUS", "normal")
        .spawn()
}

/// Stops the server as its operator would (SIGTERM: it finishes what is in flight and
/// closes its database, which moves the write-ahead log into the database file).
fn stop_server(server: &mut std::process::Child) -> Result<(), String> {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .map_err(|e| e.to_string())?;
    if !status.success() {
        return Err("kill -TERM failed".into());
    }
    server.wait().map_err(|e| e.to_string())?;
    Ok(())
}

async fn wait_for(http: &reqwest::Client, base: &str) -> Result<(), String> {
    let started = Instant::now();
    while http.get(format!("{base}/health")).send().await.is_err() {
        if started.elapsed() > Duration::from_secs(30) {
            return Err("the server did not answer within 30 s".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

async fn run(
    args: &Args,
    base: &str,
    db: &Path,
    server: &mut std::process::Child,
    port: u16,
) -> Result<(), String> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency + args.uploads + 16)
        .build()
        .map_err(|e| e.to_string())?;
    wait_for(&http, base).await?;
    let url = |path: &str| reqwest::Url::parse(&format!("{base}{path}")).map_err(|e| e.to_string());
    let (register_url, messages_url) = (url(paths::REGISTER)?, url(paths::MESSAGES)?);

    let devs: Arc<Vec<Arc<Dev>>> = Arc::new(
        (0..args.recipients)
            .map(|i| Arc::new(Dev::new(&format!("abuse{i}"))))
            .collect(),
    );
    let started = Instant::now();
    for chunk in devs.chunks(64) {
        let registrations = chunk.iter().map(|d| d.register(&http, &register_url));
        for r in futures_util::future::join_all(registrations).await {
            r?;
        }
    }
    println!(
        "registered {} devices in {:.1?}",
        devs.len(),
        started.elapsed()
    );
    let group = b"abuse".to_vec();
    let start = Envelope {
        group_id: group.clone().into(),
        epoch: 0,
        kind: MessageKind::Commit,
        recipients: vec![devs[0].name.clone()],
        message: stand_in::message(&group, 0, MessageKind::Commit, b"start").into(),
        welcome: Some(WelcomeEnvelope {
            recipients: devs[1..].iter().map(|d| d.name.clone()).collect(),
            message: stand_in::welcome(b"welcome").into(),
            ratchet_tree: vec![0].into(),
        }),
        removed: Vec::new(),
        link_token: None,
    };
    let status = post(
        &http,
        &messages_url,
        &devs[0],
        serde_json::to_vec(&start).map_err(|e| e.to_string())?,
    )
    .await?;
    if !status.is_success() {
        return Err(format!("starting the group: {status}"));
    }
    let (_, before_hwm) = memory(server.id());
    stop_server(server)?;
    let db_before = database_bytes(db)?;
    *server = start_server(&args.server, port, db).map_err(|e| e.to_string())?;
    wait_for(&http, base).await?;
    println!(
        "group of {} started; server at {:.0} MiB peak so far",
        devs.len(),
        mib(before_hwm)
    );

    // 1. Fan-out.
    let started = Instant::now();
    let everyone_else: Vec<_> = devs[1..].iter().map(|d| d.name.clone()).collect();
    for n in 0..args.messages {
        let status = send(
            &http,
            &messages_url,
            &devs[0],
            everyone_else.clone(),
            &vec![n as u8; args.size],
        )
        .await?;
        if !status.is_success() {
            return Err(format!("message {n}: {status}"));
        }
    }
    let sent_in = started.elapsed();
    let peak = memory(server.id()).1;
    stop_server(server)?;
    let db_grew = database_bytes(db)?.saturating_sub(db_before);
    println!(
        "sent {} x {} bytes to {} recipients in {:.1?} (server peak {:.0} MiB): the database grew {:.1} MiB, {:.2} copies per message",
        args.messages,
        args.size,
        everyone_else.len(),
        sent_in,
        mib(peak),
        db_grew as f64 / (1 << 20) as f64,
        db_grew as f64 / (args.messages * args.size) as f64,
    );
    *server = start_server(&args.server, port, db).map_err(|e| e.to_string())?;
    wait_for(&http, base).await?;
    let pid = server.id();

    // 2. Fetches.
    let started = Instant::now();
    let semaphore = Arc::new(tokio::sync::Semaphore::new(args.concurrency));
    let fetches = devs[1..=args.fetchers].iter().map(|d| {
        let (http, base, d, semaphore) =
            (http.clone(), base.to_owned(), d.clone(), semaphore.clone());
        tokio::spawn(async move {
            let _turn = semaphore.acquire_owned().await;
            drain(&http, &base, &d).await
        })
    });
    let (mut fetched, mut retries) = (0, 0);
    for f in futures_util::future::join_all(fetches).await {
        let (bytes, retried) = f.map_err(|e| e.to_string())??;
        fetched += bytes;
        retries += retried;
    }
    println!(
        "{} devices fetched {:.0} MiB, {} at a time, in {:.1?} ({retries} fetches told to retry); server peak {:.0} MiB",
        args.fetchers,
        fetched as f64 / (1 << 20) as f64,
        args.concurrency,
        started.elapsed(),
        mib(memory(pid).1)
    );

    // 3. Large uploads, all at once.
    let started = Instant::now();
    let payload = Arc::new(vec![0x42u8; args.upload_size]);
    let uploads = (0..args.uploads).map(|i| {
        let (http, url, devs, payload) = (
            http.clone(),
            messages_url.clone(),
            devs.clone(),
            payload.clone(),
        );
        tokio::spawn(async move {
            let to = vec![devs[i + 2].name.clone()];
            send(&http, &url, &devs[i + 1], to, &payload).await
        })
    });
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for u in futures_util::future::join_all(uploads).await {
        let status = u.map_err(|e| e.to_string())??;
        *statuses.entry(status.as_u16()).or_default() += 1;
    }
    println!(
        "{} uploads of {} bytes at once in {:.1?}: statuses {statuses:?}",
        args.uploads,
        args.upload_size,
        started.elapsed()
    );
    let (rss, hwm) = memory(pid);
    println!(
        "server memory: peak (VmHWM) {:.0} MiB, now {:.0} MiB",
        mib(hwm),
        mib(rss)
    );
    Ok(())
}
