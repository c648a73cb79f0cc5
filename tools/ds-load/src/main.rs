//! `conclave-ds-load`: a bounded load generator for the delivery service, on loopback only.
//!
//! It starts a `conclave-ds` in this process (on 127.0.0.1, a temporary SQLite file, the
//! default `synchronous = FULL` durability; with `--tls`, serving HTTPS and WSS with a
//! certificate from a CA made for the run; with `--db postgres://...`, on that database, and
//! with `--nodes N` as N nodes sharing it) unless `--url` names one already running on a
//! loopback address. It registers `--devices` devices, connects each over WebSocket, splits
//! them into groups of `--group-size`, and for `--seconds` sends application messages from
//! random members to the rest of their group at `--rate` messages per second in total (0: as
//! fast as `--concurrency` senders go). Every message is delivered to group-size - 1 queues.
//! Each device does what a client does: on a push frame it fetches its queue after what it
//! has read (`--no-fetch`: it only counts the frames). It reports durable deliveries per
//! second and the latency from send to the fetched item (p50, p99, max), then stops.

#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use conclave_delivery::{Config, Database, Limits, Server};
use conclave_delivery_api::auth::{fresh_identity, sign_request};
use conclave_delivery_api::{Envelope, MessageKind, PushFrame, WelcomeEnvelope, paths};
use conclave_ds_load::{Dev, fetch, group_id, is_loopback, post};
use conclave_test_support::stand_in;
use futures_util::StreamExt;

/// See the `mimalloc` line in Cargo.toml.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// A running server on a loopback address (default: start one in this process).
    #[arg(long)]
    url: Option<String>,
    /// Devices, each with a WebSocket.
    #[arg(long, default_value_t = 1000)]
    devices: usize,
    /// Members per group.
    #[arg(long, default_value_t = 10)]
    group_size: usize,
    /// Messages per second in total (0: unlimited).
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Concurrent senders.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// How long to send, in seconds (at most 120).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Devices count push frames without fetching what they name: the server's side of
    /// delivery alone (no send-to-fetched latency is measured).
    #[arg(long)]
    no_fetch: bool,
    /// The in-process server serves HTTPS and WSS, with a certificate from a CA made for the
    /// run (which the generator's devices trust).
    #[arg(long, conflicts_with = "url")]
    tls: bool,
    /// The in-process server's database: a `postgres://` URL (default: a temporary SQLite
    /// file).
    #[arg(long, conflicts_with = "url")]
    db: Option<String>,
    /// In-process nodes serving that database (several need PostgreSQL); device `i` talks
    /// to node `i % nodes` only.
    #[arg(long, default_value_t = 1, conflicts_with = "url")]
    nodes: usize,
    /// Connections each node opens to a PostgreSQL database (default: the server's, twice
    /// this machine's cores).
    #[arg(long, conflicts_with = "url")]
    db_connections: Option<usize>,
    /// Durability of the in-process server: `full` (fsync per group commit) or `normal`.
    #[arg(long, default_value = "full", value_parser = ["full", "normal"])]
    synchronous: String,
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    if args.seconds == 0
        || args.seconds > 120
        || args.group_size < 2
        || args.devices < args.group_size
    {
        eprintln!("need 1 <= --seconds <= 120, --group-size >= 2, --devices >= --group-size");
        return std::process::ExitCode::FAILURE;
    }
    let _dir;
    let mut ca_file = None;
    let bases: Vec<String> = match &args.url {
        Some(url) if is_loopback(url) => vec![url.trim_end_matches('/').to_owned()],
        Some(url) => {
            eprintln!("refusing {url}: the load generator talks to loopback addresses only");
            return std::process::ExitCode::FAILURE;
        }
        None => {
            let dir = tempfile::tempdir().expect("temp dir");
            let db = match &args.db {
                Some(db) => Database::parse(db),
                None => Database::Sqlite(dir.path().join("load.sqlite")),
            };
            if args.nodes > 1 && matches!(db, Database::Sqlite(_)) {
                eprintln!("several nodes share a PostgreSQL database: give --db postgres://...");
                return std::process::ExitCode::FAILURE;
            }
            let mut config = Config::new(db);
            config.db_connections = args.db_connections;
            if args.synchronous == "normal" {
                config.durability = conclave_delivery::Durability::Process;
            }
            // Every device registers from 127.0.0.1, and a user's devices are one process.
            config.limits = Limits {
                requests_per_second: 1_000_000,
                burst: 1_000_000,
                registrations_per_address: 1_000_000,
                registrations_per_hour: 1_000_000,
                connections_per_address: 1_000_000,
                ..Limits::default()
            };
            let mut bases = Vec::new();
            for _ in 0..args.nodes.max(1) {
                let server = Server::open(config.clone()).expect("server opens");
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                let addr: SocketAddr = listener.local_addr().expect("addr");
                bases.push(if args.tls {
                    let ca = conclave_test_support::TestCa::new(dir.path(), "load");
                    ca_file = Some(ca.cert_file());
                    let tls = ca.server_config();
                    tokio::spawn(server.serve_tls(listener, tls, std::future::pending()));
                    format!("https://localhost:{}", addr.port())
                } else {
                    tokio::spawn(server.serve(listener, std::future::pending()));
                    format!("http://{addr}")
                });
            }
            _dir = dir;
            bases
        }
    };
    println!("servers: {}", bases.join(" "));
    let mut urls = Vec::with_capacity(bases.len());
    for base in &bases {
        match (
            reqwest::Url::parse(&format!("{base}{}", paths::REGISTER)),
            reqwest::Url::parse(&format!("{base}{}", paths::MESSAGES)),
        ) {
            (Ok(r), Ok(m)) => urls.push((r, m)),
            _ => {
                eprintln!("not a URL: {base}");
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    let tls = conclave_delivery_api::tls::client_config(&Vec::from_iter(ca_file), None)
        .expect("TLS settings");
    let http = reqwest::Client::builder()
        // Every device and sender keeps its connection, as a client process does: a pool
        // smaller than that would close and reopen connections between bursts, which costs
        // a TCP (and with --tls a TLS) handshake each time.
        .pool_max_idle_per_host(args.concurrency + args.devices)
        .use_preconfigured_tls((*tls).clone())
        .build()
        .expect("client");

    // Register.
    let devs: Vec<Arc<Dev>> = (0..args.devices)
        .map(|i| Arc::new(Dev::new(&format!("load{i}"))))
        .collect();
    // Device `i` is served by node `i % nodes`.
    let node: std::collections::HashMap<String, usize> = devs
        .iter()
        .enumerate()
        .map(|(i, d)| (d.name.user.clone(), i % bases.len()))
        .collect();
    let node = Arc::new(node);
    let node_of = {
        let node = node.clone();
        move |d: &Dev| node.get(&d.name.user).copied().unwrap_or(0)
    };
    let started = Instant::now();
    for d in &devs {
        if let Err(e) = d.register(&http, &urls[node_of(d)].0).await {
            eprintln!("registering {}: {e}", d.name.user);
            return std::process::ExitCode::FAILURE;
        }
    }
    println!(
        "registered {} devices in {:?}",
        devs.len(),
        started.elapsed()
    );

    // Start the groups as clients do: the first member's commit, whose Welcome adds the
    // rest (the server lets only members send to a group, and only to members).
    let groups: Vec<Vec<Arc<Dev>>> = devs
        .chunks(args.group_size)
        .filter(|g| g.len() >= 2)
        .map(|g| g.to_vec())
        .collect();
    for (i, group) in groups.iter().enumerate() {
        let group_id = group_id(i);
        let envelope = Envelope {
            group_id: group_id.clone().into(),
            epoch: 0,
            kind: MessageKind::Commit,
            recipients: vec![group[0].name.clone()],
            message: stand_in::message(&group_id, 0, MessageKind::Commit, b"start").into(),
            welcome: Some(WelcomeEnvelope {
                recipients: group[1..].iter().map(|d| d.name.clone()).collect(),
                message: stand_in::welcome(b"welcome").into(),
                ratchet_tree: vec![0].into(),
            }),
            removed: Vec::new(),
            link_token: None,
        };
        let body = serde_json::to_vec(&envelope).expect("json");
        match post(&http, &urls[node_of(&group[0])].1, &group[0], body).await {
            Ok(s) if s.is_success() => {}
            other => {
                eprintln!("starting group {i}: {other:?}");
                return std::process::ExitCode::FAILURE;
            }
        }
    }

    // Connect every device's WebSocket; on each push, fetch (as a client does) and record
    // the send-to-fetched latency of every item.
    let epoch0 = Instant::now();
    let latencies = Arc::new(std::sync::Mutex::new(Vec::<u64>::with_capacity(1 << 20)));
    let pushed = Arc::new(AtomicU64::new(0));
    let mut sockets = Vec::new();
    for d in &devs {
        let base = &bases[node_of(d)];
        let ws_url = base
            .replace("http://", "ws://")
            .replace("https://", "wss://");
        let id = fresh_identity(&d.name.user, &d.name.device);
        let headers = sign_request(&d.key, "GET", paths::PUSH, b"", &id).expect("sign");
        let mut request =
            tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
                format!("{ws_url}{}", paths::PUSH),
            )
            .expect("request");
        for (n, v) in headers {
            request.headers_mut().insert(n, v.parse().expect("header"));
        }
        // A small read buffer: tungstenite zero-fills the whole buffer on every read.
        let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
            .read_buffer_size(4096);
        let connector = tokio_tungstenite::Connector::Rustls(tls.clone());
        let (socket, _) = match tokio_tungstenite::connect_async_tls_with_config(
            request,
            Some(config),
            true,
            Some(connector),
        )
        .await
        {
            Ok(s) => s,
            Err(e) => {
                eprintln!("websocket for {}: {e}", d.name.user);
                return std::process::ExitCode::FAILURE;
            }
        };
        let (latencies, pushed) = (latencies.clone(), pushed.clone());
        let (http, base, dev) = (http.clone(), base.clone(), d.clone());
        let no_fetch = args.no_fetch;
        sockets.push(tokio::spawn(async move {
            let (_sink, mut stream) = socket.split();
            let mut read_up_to = 0;
            while let Some(Ok(frame)) = stream.next().await {
                let Ok(text) = frame.to_text() else { continue };
                let Ok(frame) = serde_json::from_str::<PushFrame>(text) else {
                    continue;
                };
                if no_fetch {
                    pushed.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                if frame.seq <= read_up_to {
                    continue; // fetched with an earlier frame's page
                }
                let Ok(page) = fetch(&http, &base, &dev, read_up_to).await else {
                    continue;
                };
                let now = epoch0.elapsed().as_micros() as u64;
                for item in &page.items {
                    read_up_to = read_up_to.max(item.seq);
                    // The groups' first commits and Welcomes carry shorter payloads.
                    let payload = stand_in::payload(&item.message.0);
                    if payload.len() >= 8 {
                        let sent = u64::from_be_bytes(payload[..8].try_into().unwrap_or([0; 8]));
                        if let Ok(mut l) = latencies.lock() {
                            l.push(now.saturating_sub(sent));
                        }
                        pushed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    println!("{} websockets connected", sockets.len());

    // Send.
    let groups = Arc::new(groups);
    let sent = Arc::new(AtomicU64::new(0));
    let round_trips = Arc::new(std::sync::Mutex::new(Vec::<u64>::new()));
    let failed = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let per_sender_interval = (args.rate > 0)
        .then(|| Duration::from_secs_f64(args.concurrency as f64 / args.rate as f64));
    let mut senders = Vec::new();
    let concurrency = args.concurrency;
    for s in 0..args.concurrency {
        let (groups, sent, failed, http, urls, node_of) = (
            groups.clone(),
            sent.clone(),
            failed.clone(),
            http.clone(),
            urls.clone(),
            node_of.clone(),
        );
        let round_trips = round_trips.clone();
        senders.push(tokio::spawn(async move {
            let mut n = s as u64;
            // Stagger the senders across one interval, so that a fixed rate is spread
            // evenly instead of arriving in synchronized bursts.
            let mut next = Instant::now()
                + per_sender_interval
                    .map_or(Duration::ZERO, |i| i.mul_f64(s as f64 / concurrency as f64));
            while Instant::now() < deadline {
                if let Some(interval) = per_sender_interval {
                    tokio::time::sleep_until(next.into()).await;
                    next += interval;
                }
                let group = &groups[(n as usize) % groups.len()];
                let from = &group[(n as usize / groups.len()) % group.len()];
                let mut message = (epoch0.elapsed().as_micros() as u64).to_be_bytes().to_vec();
                message.extend_from_slice(&[0x5a; 248]);
                let group_id = group_id((n as usize) % groups.len());
                let envelope = Envelope {
                    epoch: 1,
                    kind: MessageKind::Application,
                    recipients: group
                        .iter()
                        .filter(|d| d.name != from.name)
                        .map(|d| d.name.clone())
                        .collect(),
                    message: stand_in::message(&group_id, 1, MessageKind::Application, &message)
                        .into(),
                    group_id: group_id.into(),
                    welcome: None,
                    removed: Vec::new(),
                    link_token: None,
                };
                let body = serde_json::to_vec(&envelope).expect("json");
                let request_started = Instant::now();
                match post(&http, &urls[node_of(from)].1, from, body).await {
                    Ok(s) if s.is_success() => {
                        sent.fetch_add(1, Ordering::Relaxed);
                        if let Ok(mut r) = round_trips.lock() {
                            r.push(request_started.elapsed().as_micros() as u64);
                        }
                    }
                    _ => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                n += groups.len() as u64 * 7 + 1;
            }
        }));
    }
    for s in senders {
        let _ = s.await;
    }
    let send_time = args.seconds as f64;
    // Let the last pushes arrive.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for s in &sockets {
        s.abort();
    }
    let messages = sent.load(Ordering::Relaxed);
    let deliveries = messages * (args.group_size as u64 - 1);
    let mut latencies = latencies.lock().map(|l| l.clone()).unwrap_or_default();
    latencies.sort_unstable();
    println!(
        "messages accepted: {messages} ({:.0}/s), failed: {}",
        messages as f64 / send_time,
        failed.load(Ordering::Relaxed)
    );
    println!(
        "durable deliveries: {deliveries} ({:.0}/s); {}: {}",
        deliveries as f64 / send_time,
        if args.no_fetch {
            "push frames received"
        } else {
            "fetched after a push"
        },
        pushed.load(Ordering::Relaxed)
    );
    let mut round_trips = round_trips.lock().map(|r| r.clone()).unwrap_or_default();
    round_trips.sort_unstable();
    println!(
        "send request round trip (accepted = durable): p50 {:.1} ms, p99 {:.1} ms",
        percentile(&round_trips, 0.50) as f64 / 1000.0,
        percentile(&round_trips, 0.99) as f64 / 1000.0
    );
    if !args.no_fetch {
        println!(
            "send-to-fetched latency: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} samples)",
            percentile(&latencies, 0.50) as f64 / 1000.0,
            percentile(&latencies, 0.99) as f64 / 1000.0,
            latencies.last().copied().unwrap_or(0) as f64 / 1000.0,
            latencies.len()
        );
    }
    std::process::ExitCode::SUCCESS
}
