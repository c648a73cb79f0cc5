//! `conclave-cli` as separate processes against a real delivery service on 127.0.0.1,
//! including processes SIGKILLed while sending.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use conclave_test_support::TestServer;
use serde_json::Value;

const CLI: &str = env!("CARGO_BIN_EXE_conclave-cli");

struct Cli {
    dir: PathBuf,
    /// Given to every run as `CONCLAVE_CA_CERT`.
    ca_cert: Option<PathBuf>,
    /// Given to every run as `CONCLAVE_CLIENT_CERT`.
    client_cert: Option<PathBuf>,
}

impl Cli {
    /// Runs in `dir`, over plain HTTP with no certificates.
    fn plain(dir: &std::path::Path) -> Cli {
        Cli {
            dir: dir.to_path_buf(),
            ca_cert: None,
            client_cert: None,
        }
    }

    fn profile(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn run(&self, name: &str, args: &[&str]) -> Output {
        let mut command = Command::new(CLI);
        command.arg("--profile").arg(self.profile(name)).args(args);
        if let Some(ca) = &self.ca_cert {
            command.env("CONCLAVE_CA_CERT", ca);
        }
        if let Some(cert) = &self.client_cert {
            command.env("CONCLAVE_CLIENT_CERT", cert);
        }
        command.output().unwrap()
    }

    /// Runs with `--json`, expecting success; returns the JSON printed.
    fn json(&self, name: &str, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.run(name, &all);
        assert!(
            out.status.success(),
            "{name} {args:?}: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
    }

    fn code(&self, name: &str, args: &[&str]) -> i32 {
        self.run(name, args).status.code().unwrap()
    }

    /// The text messages of a conversation as (user, body, state).
    fn texts(&self, name: &str, conversation: &str) -> Vec<(String, String, String)> {
        let history = self.json(name, &["history", conversation, "--limit", "100000"]);
        history["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["kind"] == "text")
            .map(|m| {
                (
                    m["user"].as_str().unwrap().to_owned(),
                    m["body"].as_str().unwrap().to_owned(),
                    m["state"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }
}

fn init(cli: &Cli, server: &TestServer, name: &str) -> Value {
    cli.json(name, &["init", "--user", name, "--server", &server.url()])
}

fn bodies(texts: &[(String, String, String)]) -> Vec<String> {
    texts.iter().map(|(u, b, _)| format!("{u}: {b}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_users_chat_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let cli = Cli::plain(dir.path());
    let me = init(&cli, &server, "alice");
    assert_eq!(me["user"], "alice");
    assert_eq!(me["fingerprint"].as_str().unwrap().len(), 30);
    init(&cli, &server, "bob");
    init(&cli, &server, "carol");
    assert_eq!(cli.json("alice", &["whoami"])["user"], "alice");

    let created = cli.json("alice", &["create", "Team", "--with", "bob"]);
    assert_eq!(created["name"], "Team");
    let sent = cli.json("alice", &["send", "Team", "hello from alice"]);
    assert_eq!(sent["state"], "sent");
    assert_eq!(
        bodies(&cli.texts("bob", "Team")),
        ["alice: hello from alice"]
    );
    // Alice is new to bob: the conversation is a request, closed to him until he accepts.
    let list = cli.json("bob", &["list"]);
    assert_eq!(list["conversations"][0]["request"], true);
    assert_eq!(cli.code("bob", &["send", "Team", "hi alice"]), 5);
    assert_eq!(cli.json("bob", &["accept", "Team"])["accepted"], true);
    cli.json("bob", &["send", "Team", "hi alice"]);
    // Carol joins later, by invitation, and finds the conversation by its name.
    let invited = cli.json("alice", &["invite", "Team", "carol"]);
    assert_eq!(invited["invited"], "carol");
    assert_eq!(
        cli.code("alice", &["invite", "Team", "carol"]),
        5,
        "already a member"
    );
    assert!(cli.texts("carol", "Team").is_empty());

    // A listener sees new messages as they come.
    let mut listener = Command::new(CLI)
        .args(["--json", "--profile"])
        .arg(cli.profile("carol"))
        .args(["listen", "--for", "30"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = listener.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.unwrap();
            let event: Value = serde_json::from_str(&line).unwrap();
            if event["event"] == "message" && event["message"]["body"] == "live" {
                return true;
            }
        }
        false
    });
    // Give the listener time to connect; it also catches up on connect.
    std::thread::sleep(Duration::from_millis(500));
    cli.json("alice", &["send", "Team", "live"]);
    assert!(reader.join().unwrap(), "the listener saw the message");
    unsafe { libc_kill(listener.id() as i32, 15) };
    assert!(
        listener.wait().unwrap().success(),
        "SIGTERM ends listen cleanly"
    );

    assert_eq!(
        bodies(&cli.texts("alice", "Team")),
        ["alice: hello from alice", "bob: hi alice", "alice: live"]
    );

    // Rename, then the new name finds it everywhere.
    cli.json("carol", &["accept", "Team"]);
    cli.json("carol", &["rename", "Team", "Crew"]);
    assert_eq!(cli.texts("bob", "Crew").len(), 3);
    let list = cli.json("alice", &["list"]);
    assert_eq!(list["conversations"][0]["name"], "Crew");

    // Search across history.
    let hits = cli.json("bob", &["search", "hello"]);
    assert_eq!(hits["results"].as_array().unwrap().len(), 1);

    // Safety numbers and verification.
    let verified = cli.json("alice", &["verify", "bob"]);
    assert_eq!(
        verified["verified"][0]["safety_number"]
            .as_str()
            .unwrap()
            .len(),
        60
    );
    let users = cli.json("alice", &["users"]);
    assert!(
        users["devices"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["user"] == "bob" && d["verified"] == true)
    );
    let members = cli.json("bob", &["members", "Crew"]);
    assert_eq!(members["members"].as_array().unwrap().len(), 3);
    let epoch_bob = members["epoch_authenticator"].clone();
    assert_eq!(
        cli.json("alice", &["members", "Crew"])["epoch_authenticator"],
        epoch_bob
    );

    // Roles: alice made the conversation, so she is its admin; bob is not, and his client
    // refuses to remove anyone (exit 5) until alice makes him one.
    let policy = cli.json("bob", &["policy", "Crew"]);
    assert_eq!(policy["admins"], serde_json::json!(["alice"]));
    assert_eq!(policy["remove"], "admins");
    assert_eq!(policy["add"], "members");
    let roles: Vec<(String, String)> = members["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["user"].as_str().unwrap().into(),
                m["role"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(
        roles.contains(&("alice".into(), "admin".into())),
        "{roles:?}"
    );
    assert!(
        roles.contains(&("bob".into(), "member".into())),
        "{roles:?}"
    );
    assert_eq!(cli.code("bob", &["remove", "Crew", "carol"]), 5);
    assert_eq!(cli.code("bob", &["promote", "Crew", "bob"]), 5);
    cli.json("alice", &["promote", "Crew", "bob"]);
    assert_eq!(
        cli.json("carol", &["policy", "Crew"])["admins"],
        serde_json::json!(["alice", "bob"])
    );
    cli.json("bob", &["demote", "Crew", "bob"]);
    assert_eq!(
        cli.json("alice", &["policy", "Crew"])["admins"],
        serde_json::json!(["alice"])
    );
    assert_eq!(
        cli.code("alice", &["demote", "Crew", "alice"]),
        5,
        "the last admin"
    );
    // The rules themselves: admins only rename from now on.
    assert_eq!(
        cli.code("bob", &["policy", "Crew", "--rename", "admins"]),
        5
    );
    let changed = cli.json("alice", &["policy", "Crew", "--rename", "admins"]);
    assert_eq!(changed["rename"], "admins");
    assert_eq!(cli.code("bob", &["rename", "Crew", "Bob's crew"]), 5);

    // Remove carol: she is told, and cannot send any more (exit code 5).
    cli.json("alice", &["remove", "Crew", "carol"]);
    let carol_history = cli.json("carol", &["history", "Crew"]);
    assert!(
        carol_history["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["body"] == "alice removed you")
    );
    assert_eq!(cli.code("carol", &["send", "Crew", "hello?"]), 5);

    // Bob leaves; alice's next sync commits it.
    cli.json("bob", &["leave", "Crew"]);
    cli.json("alice", &["sync"]);
    let bob_list = cli.json("bob", &["list"]);
    assert_eq!(bob_list["conversations"][0]["left"], true);
    assert_eq!(
        cli.json("alice", &["members", "Crew"])["members"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Exit codes scripts rely on.
    assert_eq!(cli.code("alice", &["history", "Nope"]), 4);
    assert_eq!(cli.code("alice", &["invite", "Crew", "nobody"]), 4);
    assert_eq!(
        cli.code(
            "alice2",
            &["init", "--user", "alice", "--server", &server.url()]
        ),
        5
    );
    assert_eq!(cli.code("nobody", &["whoami"]), 6);
    assert_eq!(cli.code("alice", &["frobnicate"]), 2);
    // Human output names the sender and the text.
    let human = cli.run("alice", &["history", "Crew"]);
    let text = String::from_utf8(human.stdout).unwrap();
    assert!(text.contains("bob: hi alice"), "{text}");
    assert!(text.contains("bob left"), "{text}");
    server.stop().await;
}

/// The commands of rich conversations, exactly as scripts use them, and what `history
/// --json` says of each message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_reactions_edits_deletes_files_receipts_and_timers_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let cli = Cli::plain(dir.path());
    init(&cli, &server, "alice");
    init(&cli, &server, "bob");
    cli.json("alice", &["create", "Desk", "--with", "bob"]);
    cli.json("bob", &["sync"]);
    cli.json("bob", &["accept", "Desk"]);
    let question = cli.json("alice", &["send", "Desk", "ship it?"])["message"]
        .as_i64()
        .unwrap();
    let message_of = |name: &str, body: &str| -> Value {
        cli.json(name, &["history", "Desk"])["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["body"] == body)
            .cloned()
            .unwrap_or_else(|| panic!("{name} has no {body:?}"))
    };
    let q_bob = message_of("bob", "ship it?")["id"]
        .as_i64()
        .unwrap()
        .to_string();
    let reply = cli.json("bob", &["send", "Desk", "yes", "--reply-to", &q_bob]);
    assert_eq!(reply["state"], "sent");
    cli.json("bob", &["react", "Desk", &q_bob, "🚀"]);
    let q = question.to_string();
    cli.json("alice", &["edit", "Desk", &q, "ship it today?"]);
    let yes = message_of("alice", "yes");
    assert_eq!(yes["reply_to"]["id"], question);
    assert_eq!(yes["reply_to"]["body"], "ship it today?");
    assert_eq!(yes["kind"], "text");
    assert_eq!(yes["uid"].as_str().unwrap().len(), 64);
    let edited = message_of("alice", "ship it today?");
    assert_eq!(edited["edited"], true);
    assert_eq!(
        edited["reactions"],
        serde_json::json!([{"user": "bob", "emoji": "🚀"}])
    );
    // Alice's `history` read bob's reply: bob sees it.
    assert_eq!(
        message_of("bob", "yes")["read_by"],
        serde_json::json!(["alice"])
    );

    // Only the author edits or deletes (exit 5); an unknown message is exit 4.
    let yes_alice = yes["id"].as_i64().unwrap().to_string();
    assert_eq!(cli.code("alice", &["edit", "Desk", &yes_alice, "no"]), 5);
    assert_eq!(cli.code("alice", &["delete", "Desk", "99999"]), 4);
    cli.json("bob", &["react", "Desk", &q_bob, "🚀", "--remove"]);
    let yes_bob = message_of("bob", "yes")["id"].as_i64().unwrap().to_string();
    cli.json("bob", &["delete", "Desk", &yes_bob]);
    let history = cli.json("alice", &["history", "Desk"]);
    let messages = history["messages"].as_array().unwrap();
    let deleted = messages
        .iter()
        .find(|m| m["id"].as_i64().unwrap().to_string() == yes_alice)
        .unwrap();
    assert_eq!(
        (deleted["deleted"].clone(), deleted["body"].clone()),
        (Value::Bool(true), Value::from(""))
    );
    assert_eq!(
        message_of("alice", "ship it today?")["reactions"],
        serde_json::json!([])
    );

    // Files both ways of the command line.
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, "the plan, in full").unwrap();
    cli.json("alice", &["send-file", "Desk", file.to_str().unwrap()]);
    let card = cli.json("bob", &["history", "Desk"])["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["kind"] == "attachment")
        .cloned()
        .unwrap();
    assert_eq!(
        card["attachment"],
        serde_json::json!({"name": "notes.txt", "size": 17, "content_type": "text/plain"})
    );
    let out = dir.path().join("copy.txt");
    let id = card["id"].as_i64().unwrap().to_string();
    let saved = cli.json("bob", &["save-file", "Desk", &id, out.to_str().unwrap()]);
    assert_eq!(saved["size"], 17);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "the plan, in full");

    // Disappearing messages: set by bob, shown to alice, gone after their time.
    assert_eq!(cli.json("bob", &["expire", "Desk", "1"])["seconds"], 1);
    cli.json("alice", &["send", "Desk", "self-destructs"]);
    let doomed = message_of("bob", "self-destructs");
    assert!(doomed["expires_at"].as_i64().is_some());
    std::thread::sleep(Duration::from_millis(2100));
    let history = cli.json("bob", &["history", "Desk"]);
    assert!(
        history["messages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["body"] != "self-destructs")
    );
    cli.json("bob", &["expire", "Desk", "0"]);

    // Receipts off: `read` sends none.
    assert_eq!(cli.json("alice", &["receipts", "off"])["receipts"], false);
    cli.json("bob", &["send", "Desk", "last one"]);
    assert!(
        cli.json("alice", &["read", "Desk"])["up_to"]
            .as_i64()
            .is_some()
    );
    assert_eq!(
        message_of("bob", "last one")["read_by"],
        serde_json::json!([])
    );
    server.stop().await;
}

unsafe extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, signal: i32) -> i32;
}

/// A `send` killed at a random moment (before, while or after storing and sending) sends its
/// message exactly once after restart: the receiver ends up with every message the sender
/// stored, each once, and the sender sees them all sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_killed_while_sending_sends_exactly_once_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let cli = Cli::plain(dir.path());
    init(&cli, &server, "alice");
    init(&cli, &server, "bob");
    cli.json("alice", &["create", "Kill", "--with", "bob"]);
    cli.json("bob", &["sync"]);

    // How long a whole send takes here, to spread the kills over it.
    let start = Instant::now();
    cli.json("alice", &["send", "Kill", "calibration"]);
    let mut full = start.elapsed();

    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut killed = 0;
    // 30 sends, and more (up to 60) until 10 were killed mid-way: one slow calibration
    // on a busy machine must not leave every send finished before its kill.
    for i in 0..60 {
        if i >= 30 && killed >= 10 {
            break;
        }
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = full.mul_f64((seed % 1000) as f64 / 1000.0 * 1.3);
        let mut child = Command::new(CLI)
            .arg("--profile")
            .arg(cli.profile("alice"))
            .args(["send", "Kill", &format!("message {i}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        if child.try_wait().unwrap().is_none() {
            unsafe { libc_kill(child.id() as i32, 9) };
            killed += 1;
        } else {
            // It finished within `delay`: a send takes no longer than that now.
            full = full.min(delay);
        }
        child.wait().unwrap();
        // Every few kills, a restart that does real work (receiving) in between.
        if i % 10 == 9 {
            cli.json("bob", &["sync"]);
        }
    }
    assert!(killed >= 10, "only {killed} sends were killed mid-way");

    // What the kills left behind: messages stored but not (known to be) sent.
    let profile = cli.profile("alice").join(conclave_client::PROFILE_FILE);
    let unsent: i64 = rusqlite::Connection::open(&profile)
        .unwrap()
        .query_row(
            "SELECT COUNT(*) FROM messages WHERE state = 'pending'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    eprintln!("{killed} sends killed, {unsent} messages left pending");

    // The restarted sender sends what it had stored.
    cli.json("alice", &["sync"]);
    let sender = cli.texts("alice", "Kill");
    assert!(
        sender.iter().all(|(_, _, state)| state == "sent"),
        "{sender:?}"
    );
    let mut stored: Vec<String> = bodies(&sender);
    let mut received: Vec<String> = bodies(&cli.texts("bob", "Kill"));
    stored.sort();
    received.sort();
    assert_eq!(received, stored, "each stored message arrives exactly once");
    assert!(stored.len() > 1);
    server.stop().await;
}

/// The command line over HTTPS to a server whose certificate a private CA signed (given as
/// `CONCLAVE_CA_CERT`); plain `http://` to another machine is refused (exit 2) before any
/// connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let ca = conclave_test_support::TestCa::new(dir.path(), "private");
    let server = TestServer::start_tls(&dir.path().join("ds.sqlite"), ca.server_config()).await;
    let cli = Cli {
        dir: dir.path().to_path_buf(),
        ca_cert: Some(ca.cert_file()),
        client_cert: None,
    };
    let url = server.tls_url();
    cli.json("alice", &["init", "--user", "alice", "--server", &url]);
    cli.json("bob", &["init", "--user", "bob", "--server", &url]);
    cli.json("alice", &["create", "Secure", "--with", "bob"]);
    cli.json("alice", &["send", "Secure", "over tls"]);
    cli.json("bob", &["accept", "Secure"]);
    cli.json("bob", &["send", "Secure", "and back"]);
    assert_eq!(
        bodies(&cli.texts("alice", "Secure")),
        ["alice: over tls", "bob: and back"]
    );
    // Without the CA, the same profile cannot reach its server.
    let untrusting = Cli {
        dir: dir.path().to_path_buf(),
        ca_cert: None,
        client_cert: None,
    };
    assert_eq!(untrusting.code("alice", &["sync"]), 3);

    let started = Instant::now();
    let code = cli.code(
        "carol",
        &[
            "init",
            "--user",
            "carol",
            "--server",
            "http://10.255.255.1:7300",
        ],
    );
    assert_eq!(code, 2);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "no connection tried"
    );
    assert!(
        !cli.profile("carol")
            .join(conclave_client::PROFILE_FILE)
            .exists()
    );
}

/// The command line to a server that admits only clients with a certificate from its CA (as
/// the app's local server does, `CONCLAVE_CLIENT_CERT`): with it, it chats; without it, it
/// cannot reach the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_with_a_client_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let ca = conclave_test_support::TestCa::new(dir.path(), "local");
    let server =
        TestServer::start_tls(&dir.path().join("ds.sqlite"), ca.mutual_server_config()).await;
    let url = server.tls_url();
    let without = Cli {
        dir: dir.path().to_path_buf(),
        ca_cert: Some(ca.cert_file()),
        client_cert: None,
    };
    assert_eq!(
        without.code("alice", &["init", "--user", "alice", "--server", &url]),
        3
    );
    let cli = Cli {
        client_cert: Some(ca.client_cert_file()),
        ..without
    };
    cli.json("alice", &["init", "--user", "alice", "--server", &url]);
    cli.json("bob", &["init", "--user", "bob", "--server", &url]);
    cli.json("alice", &["create", "Local", "--with", "bob"]);
    cli.json("alice", &["send", "Local", "admitted"]);
    cli.json("bob", &["accept", "Local"]);
    assert_eq!(bodies(&cli.texts("bob", "Local")), ["alice: admitted"]);
    server.stop().await;
}

/// A profile encrypted with a passphrase (CONCLAVE_PASSPHRASE or --passphrase-file): created
/// encrypted, refused without the passphrase or with a wrong one (exit 7, nothing changed);
/// a plain profile is encrypted on its first use with one and keeps its history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_with_an_encrypted_profile() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let url = server.url();
    let cli = Cli::plain(dir.path());
    let with_passphrase = |name: &str, passphrase: &str, args: &[&str]| {
        let mut command = Command::new(CLI);
        command
            .arg("--profile")
            .arg(cli.profile(name))
            .arg("--json")
            .args(args)
            .env("CONCLAVE_PASSPHRASE", passphrase);
        command.output().unwrap()
    };
    let profile_file = |name: &str| cli.profile(name).join(conclave_client::PROFILE_FILE);
    let is_plain = |name: &str| {
        std::fs::read(profile_file(name))
            .unwrap()
            .starts_with(b"SQLite format 3\0")
    };

    let out = with_passphrase(
        "alice",
        "alice's secret",
        &["init", "--user", "alice", "--server", &url],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!is_plain("alice"));
    // bob starts plain, and talks with alice.
    cli.json("bob", &["init", "--user", "bob", "--server", &url]);
    assert!(is_plain("bob"));
    cli.json("bob", &["create", "Pier", "--with", "alice"]);
    cli.json("bob", &["send", "Pier", "written while plain"]);

    // Without the passphrase, or with a wrong one: exit 7, the file untouched.
    let before = std::fs::read(profile_file("alice")).unwrap();
    assert_eq!(cli.code("alice", &["whoami"]), 7);
    let wrong = with_passphrase("alice", "not alice's secret", &["whoami"]);
    assert_eq!(wrong.status.code(), Some(7));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("wrong_passphrase"));
    assert_eq!(std::fs::read(profile_file("alice")).unwrap(), before);

    // With it, from a file this time.
    let passphrase_file = dir.path().join("alice.pass");
    std::fs::write(&passphrase_file, "alice's secret\n").unwrap();
    let out = Command::new(CLI)
        .arg("--profile")
        .arg(cli.profile("alice"))
        .arg("--passphrase-file")
        .arg(&passphrase_file)
        .args(["--json", "accept", "Pier"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // bob's plain profile is encrypted on its first use with a passphrase; all there.
    let out = with_passphrase("bob", "bob's secret", &["history", "Pier"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("written while plain"));
    assert!(!is_plain("bob"));
    assert_eq!(cli.code("bob", &["whoami"]), 7);

    // alice changes hers: the old one no longer opens the profile, the new one does.
    let new_file = dir.path().join("alice.new");
    std::fs::write(&new_file, "alice's new secret\n").unwrap();
    let new_file = new_file.to_str().unwrap();
    let out = with_passphrase(
        "alice",
        "alice's secret",
        &["passphrase", "--new-file", new_file],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        with_passphrase("alice", "alice's secret", &["whoami"])
            .status
            .code(),
        Some(7)
    );
    let out = with_passphrase("alice", "alice's new secret", &["history", "Pier"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("written while plain"));
    server.stop().await;
}

/// The profile's key in the OS keyring (a throwaway GNOME Keyring on a private D-Bus):
/// `--keyring init` makes an encrypted profile with no passphrase, which later commands open
/// with no flag; `--keyring` encrypts a plain profile in place with a key kept there; with
/// no keyring, or another user's, exit 7 and the file unchanged; `passphrase --new-file`
/// moves the profile to a passphrase and takes the key out of the keyring.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_keeps_the_key_in_the_keyring() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let url = server.url();
    let keyring = conclave_test_support::secret_service::SecretService::start();
    let cli = Cli::plain(dir.path());
    let run_with = |env: &[(&str, std::ffi::OsString)], name: &str, args: &[&str]| {
        Command::new(CLI)
            .arg("--profile")
            .arg(cli.profile(name))
            .arg("--json")
            .args(args)
            .envs(env.iter().map(|(k, v)| (*k, v)))
            .output()
            .unwrap()
    };
    let ok = |out: Output| {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let env = keyring.env();
    let profile_file = |name: &str| cli.profile(name).join(conclave_client::PROFILE_FILE);
    let is_plain = |name: &str| {
        std::fs::read(profile_file(name))
            .unwrap()
            .starts_with(b"SQLite format 3\0")
    };

    let out = run_with(
        &env,
        "alice",
        &["--keyring", "init", "--user", "alice", "--server", &url],
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("not encrypted"));
    ok(out);
    assert!(!is_plain("alice"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let name_file = cli.profile("alice").join("profile.sqlite.keyring");
        let mode = std::fs::metadata(name_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(ok(run_with(&env, "alice", &["whoami"])).contains("alice"));

    // bob starts plain; --keyring encrypts his profile in place, history and all.
    cli.json("bob", &["init", "--user", "bob", "--server", &url]);
    cli.json("bob", &["create", "Dock", "--with", "alice"]);
    cli.json("bob", &["send", "Dock", "written while plain"]);
    let history = ok(run_with(&env, "bob", &["--keyring", "history", "Dock"]));
    assert!(history.contains("written while plain"));
    assert!(!is_plain("bob"));
    assert!(ok(run_with(&env, "bob", &["history", "Dock"])).contains("written while plain"));
    assert_eq!(keyring.items("conclave"), 2);

    // No keyring on the bus, or one that is not this user's: exit 7, nothing written.
    let before = std::fs::read(profile_file("alice")).unwrap();
    let nowhere = dir.path().join("no-bus");
    let no_keyring = [
        (
            "DBUS_SESSION_BUS_ADDRESS",
            format!("unix:path={}", nowhere.display()).into(),
        ),
        ("XDG_RUNTIME_DIR", dir.path().as_os_str().to_owned()),
    ];
    let out = run_with(&no_keyring, "alice", &["whoami"]);
    assert_eq!(out.status.code(), Some(7));
    assert!(String::from_utf8_lossy(&out.stderr).contains("encrypted"));
    let other = conclave_test_support::secret_service::SecretService::start();
    assert_eq!(
        run_with(&other.env(), "alice", &["whoami"]).status.code(),
        Some(7)
    );
    assert_eq!(std::fs::read(profile_file("alice")).unwrap(), before);

    // Moved elsewhere, it still opens with the key from the keyring.
    let moved = dir.path().join("moved");
    std::fs::create_dir(&moved).unwrap();
    std::fs::rename(cli.profile("alice"), moved.join("alice")).unwrap();
    let out = Command::new(CLI)
        .arg("--profile")
        .arg(moved.join("alice"))
        .args(["--json", "whoami"])
        .envs(env.iter().map(|(k, v)| (*k, v)))
        .output()
        .unwrap();
    assert!(ok(out).contains("alice"));
    std::fs::rename(moved.join("alice"), cli.profile("alice")).unwrap();

    // A passphrase in place of the keyring: the keyring's key no longer opens it (it is
    // gone from there), the passphrase does.
    let new_file = dir.path().join("alice.new");
    std::fs::write(&new_file, "alice's passphrase\n").unwrap();
    ok(run_with(
        &env,
        "alice",
        &["passphrase", "--new-file", new_file.to_str().unwrap()],
    ));
    assert_eq!(run_with(&env, "alice", &["whoami"]).status.code(), Some(7));
    assert_eq!(
        keyring.items("conclave"),
        1,
        "alice's key is gone from the keyring"
    );
    let mut with_passphrase = env.clone();
    with_passphrase.push(("CONCLAVE_PASSPHRASE", "alice's passphrase".into()));
    assert!(ok(run_with(&with_passphrase, "alice", &["history", "Dock"])).contains("written"));
    server.stop().await;
}

/// A plain profile encrypted with a key kept in the keyring (`--keyring`), the process
/// SIGKILLed at 50 moments spread evenly around the time its encryption takes: after every
/// kill, the next `--keyring` run opens the profile (finishing the encryption if the kill
/// came first) with every message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keyring_encryption_killed_at_any_moment_loses_nothing() {
    const KILLS: u32 = 50;
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let url = server.url();
    let keyring = conclave_test_support::secret_service::SecretService::start();
    let cli = Cli::plain(dir.path());
    cli.json("alice", &["init", "--user", "alice", "--server", &url]);
    cli.json("bob", &["init", "--user", "bob", "--server", &url]);
    cli.json("bob", &["create", "Dock", "--with", "alice"]);
    let sent: Vec<String> = (0..10).map(|i| format!("plain message {i}")).collect();
    for text in &sent {
        cli.json("bob", &["send", "Dock", text]);
    }
    server.stop().await;
    let template = dir.path().join("template");
    std::fs::rename(cli.profile("bob"), &template).unwrap();
    let restore = || {
        let _ = std::fs::remove_dir_all(cli.profile("bob"));
        std::fs::create_dir(cli.profile("bob")).unwrap();
        for entry in std::fs::read_dir(&template).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), cli.profile("bob").join(entry.file_name())).unwrap();
        }
    };
    let command = || {
        let mut command = Command::new(CLI);
        command
            .arg("--profile")
            .arg(cli.profile("bob"))
            .args(["--json", "--keyring", "history", "Dock"])
            .envs(keyring.env())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        command
    };
    // When the file turns encrypted in a run left alone (the keyring's key kept just before).
    let file = cli.profile("bob").join(conclave_client::PROFILE_FILE);
    let plain = |file: &std::path::Path| {
        std::fs::read(file)
            .map(|bytes| bytes.starts_with(b"SQLite format 3\0"))
            .unwrap_or(true)
    };
    restore();
    let started = Instant::now();
    let mut child = command().spawn().unwrap();
    while plain(&file) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "never encrypted"
        );
        std::thread::sleep(Duration::from_micros(200));
    }
    let encrypted_after = started.elapsed();
    assert!(child.wait().unwrap().success());
    // The kills fall from half that time to twice it: over the keyring's work, the
    // encrypted copy's writing and its rename, and after (a run's time varies).
    let kill_at = |i: u32| encrypted_after * (50 + 150 * i / KILLS) / 100;

    let (mut killed_plain, mut killed_encrypted) = (0, 0);
    for i in 0..KILLS {
        restore();
        let mut child = command().spawn().unwrap();
        std::thread::sleep(kill_at(i));
        let _ = child.kill();
        child.wait().unwrap();
        if plain(&file) {
            killed_plain += 1;
        } else {
            killed_encrypted += 1;
        }
        let out = command().stdout(Stdio::piped()).output().unwrap();
        assert!(out.status.success(), "kill {i} after {:?}", kill_at(i));
        let history = String::from_utf8_lossy(&out.stdout);
        for text in &sent {
            assert!(history.contains(text.as_str()), "kill {i}: {text} lost");
        }
        assert!(!plain(&file));
    }
    eprintln!("killed while plain {killed_plain}, after encryption {killed_encrypted}");
}

/// Starts `link` for the profile `name` (JSON output): the child, and the code from its
/// first line.
fn start_link(cli: &Cli, server: &TestServer, name: &str) -> (std::process::Child, String) {
    let mut child = Command::new(CLI)
        .args(["--json", "--profile"])
        .arg(cli.profile(name))
        .args(["link", "--server", &server.url(), "--name", name])
        .args(["--timeout", "60"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
        &mut first,
    )
    .unwrap();
    let shown: Value = serde_json::from_str(&first).unwrap_or_else(|e| panic!("{e}: {first}"));
    let code = shown["code"].as_str().unwrap().to_owned();
    assert!(code.starts_with("conclave-link:"));
    (child, code)
}

/// Linking, approving, listing and revoking with the exact commands a script uses, each
/// in its own process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linking_approving_listing_and_revoking_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let cli = Cli::plain(dir.path());
    init(&cli, &server, "alice");
    init(&cli, &server, "bob");
    cli.json("alice", &["create", "Plans", "--with", "bob"]);
    cli.json("alice", &["send", "Plans", "hi bob"]);
    cli.json("bob", &["accept", "Plans"]);
    cli.json("bob", &["send", "Plans", "hi alice"]);

    let (child, code) = start_link(&cli, &server, "desktop");
    let approved = cli.json("alice", &["approve", &code]);
    assert_eq!(approved["device"], "desktop");
    assert_eq!(approved["conversations"], 1);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let linked: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(linked["user"], "alice");
    assert_eq!(linked["device"], "desktop");
    assert_eq!(
        bodies(&cli.texts("desktop", "Plans")),
        ["alice: hi bob", "bob: hi alice"]
    );
    // The code was used: a second approval fails clearly (exit 8); a mistyped one fails
    // before anything is sent (exit 2).
    assert_eq!(cli.code("alice", &["approve", &code]), 8);
    assert_eq!(cli.code("alice", &["approve", "conclave-link:AAAA"]), 2);

    let devices = cli.json("alice", &["devices"]);
    let names: Vec<&str> = devices["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["device"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"desktop"));
    let revoked = cli.json("alice", &["revoke", "desktop"]);
    assert_eq!(revoked["conversations"], 1);
    assert_eq!(
        cli.code("desktop", &["sync"]),
        9,
        "the revoked device is told"
    );
    assert_eq!(
        cli.json("alice", &["devices"])["devices"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Bob was away while the device came and went: he follows both commits.
    cli.json("bob", &["send", "Plans", "still there?"]);
    assert_eq!(
        bodies(&cli.texts("alice", "Plans")).last().unwrap(),
        "bob: still there?"
    );
    server.stop().await;
}

/// The new device SIGKILLed again and again while it stores the history (50 times, each
/// after a random part): restarted, it resumes, and ends with the whole history, each
/// message once and in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_killed_while_importing_its_history_resumes_without_loss_or_duplicates() {
    const MESSAGES: usize = 6_000;
    const KILLS: usize = 50;
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let cli = Cli::plain(dir.path());
    let me = init(&cli, &server, "alice");
    init(&cli, &server, "bob");
    cli.json("alice", &["create", "Log", "--with", "bob"]);
    cli.json("alice", &["send", "Log", "first"]);
    cli.json("bob", &["accept", "Log"]);
    // A long history, written into alice's profile as her client would have stored it.
    {
        use conclave_storage::{MessageKind, MessageState, NewMessage, Store};
        let mut store =
            Store::open(cli.profile("alice").join(conclave_client::PROFILE_FILE)).unwrap();
        let tx = store.transaction().unwrap();
        let conversation = tx.conversation_list().unwrap()[0].id;
        let sender = conclave_protocol::MemberId::new(
            conclave_protocol::UserName::new("alice").unwrap(),
            conclave_protocol::DeviceId::new(me["device"].as_str().unwrap()).unwrap(),
        );
        for i in 0..MESSAGES {
            tx.insert_message(&NewMessage {
                conversation,
                uid: format!("planted-{i}").into_bytes(),
                sender: sender.clone(),
                sent_at: i as i64,
                received_at: None,
                body: format!("m{i}"),
                state: MessageState::Sent,
                server_seq: None,
                outgoing: true,
                kind: MessageKind::Text,
                reply_to: None,
                expires_at: None,
                attachment: None,
            })
            .unwrap();
        }
        tx.commit().unwrap();
    }

    let (child, code) = start_link(&cli, &server, "desktop");
    let approver = Command::new(CLI)
        .arg("--profile")
        .arg(cli.profile("alice"))
        .args(["approve", &code])
        .env("CONCLAVE_LINK_PART_MESSAGES", "10")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut child = child;
    let mut kills = 0;
    while kills < KILLS {
        // Killed once it has stored one or two more parts, and a random moment later.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let parts = 1 + (seed % 2) as usize;
        let extra = Duration::from_micros(seed % 8_000);
        if let Err(said) = wait_for_parts(&mut child, parts) {
            let status = child.wait().unwrap();
            panic!("after {kills} kills, the import ended ({status}) before the next kill: {said}");
        }
        std::thread::sleep(extra);
        unsafe { libc_kill(child.id() as i32, 9) };
        child.wait().unwrap();
        kills += 1;
        // Messages keep arriving while the history is imported.
        if kills % 10 == 0 {
            cli.json("bob", &["send", "Log", &format!("meanwhile {kills}")]);
        }
        child = Command::new(CLI)
            .args(["--json", "--profile"])
            .arg(cli.profile("desktop"))
            .args(["link", "--server", &server.url(), "--timeout", "60"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut approver = approver;
    assert!(approver.wait().unwrap().success());

    let expected = bodies(&cli.texts("alice", "Log"));
    let got = bodies(&cli.texts("desktop", "Log"));
    assert_eq!(got.len(), MESSAGES + 1 + KILLS / 10);
    assert_eq!(
        got, expected,
        "the whole history, once, in order, then what arrived meanwhile"
    );
    assert_eq!(got.last().unwrap(), &format!("bob: meanwhile {KILLS}"));
    server.stop().await;
}

/// Reads the child's progress (standard error) until it reports `parts` more parts of
/// history; what it said if it ended first.
fn wait_for_parts(child: &mut std::process::Child, parts: usize) -> Result<(), String> {
    use std::io::Read as _;
    let stderr = child.stderr.as_mut().unwrap();
    let mut seen = 0;
    let mut buffer = Vec::new();
    let mut byte = [0u8; 256];
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let n = stderr.read(&mut byte).unwrap_or(0);
        if n == 0 {
            return Err(String::from_utf8_lossy(&buffer).into_owned());
        }
        buffer.extend_from_slice(&byte[..n]);
        let text = String::from_utf8_lossy(&buffer);
        let count = text.matches("history: ").count();
        if count > seen {
            seen = count;
            if seen >= parts {
                return Ok(());
            }
        }
    }
    Err(format!("no progress: {}", String::from_utf8_lossy(&buffer)))
}

/// Invite links from the command line: `link-create` prints the link as its first line,
/// `join` takes it; with `--approval` a join is a request that `requests` lists and
/// `approve-join` answers; a revoked link fails with exit code 5 and the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invite_links_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let cli = Cli::plain(dir.path());
    for name in ["alice", "bob", "carol", "dave"] {
        init(&cli, &server, name);
    }
    cli.json("alice", &["create", "Plaza", "--with", "bob"]);
    assert_eq!(
        cli.code("bob", &["link-create", "Plaza"]),
        5,
        "not an admin"
    );
    let out = cli.run("alice", &["link-create", "Plaza"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let link = text.lines().next().unwrap().to_owned();
    assert!(link.starts_with("conclave://join/"), "{text}");

    let joined = cli.json("carol", &["join", &link]);
    assert_eq!(joined["joined"], true);
    assert_eq!(joined["name"], "Plaza");
    cli.json("carol", &["send", "Plaza", "hi, I came by link"]);
    assert!(bodies(&cli.texts("alice", "Plaza")).contains(&"carol: hi, I came by link".into()));

    cli.json("alice", &["link-revoke", "Plaza"]);
    let refused = cli.run("dave", &["join", &link]);
    assert_eq!(refused.status.code(), Some(5));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("not valid"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    let link = cli.json(
        "alice",
        &["link-create", "Plaza", "--approval", "--expires", "7d"],
    );
    assert_eq!(link["approval"], true);
    let asked = cli.json("dave", &["join", link["link"].as_str().unwrap()]);
    assert_eq!(asked["requested"], true);
    let requests = cli.json("alice", &["requests", "Plaza"]);
    assert_eq!(requests["requests"][0]["user"], "dave");
    cli.json("alice", &["approve-join", "Plaza", "dave"]);
    assert!(
        cli.json("alice", &["requests", "Plaza"])["requests"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // He asked to join: the invitation is not a request he must accept first.
    cli.json("dave", &["send", "Plaza", "thanks"]);
    let members = cli.json("dave", &["members", "Plaza"]);
    assert_eq!(members["members"].as_array().unwrap().len(), 4);
    server.stop().await;
}

/// A post-quantum conversation from the command line: `whoami` lists the suites a device
/// takes part in, `create --suite xwing` makes the conversation, `members` names its suite,
/// and inviting a user whose device cannot take part fails with `suite_unsupported` and
/// changes nothing. `init --suite p384` makes a device of another scheme.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_quantum_conversation_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let cli = Cli::plain(dir.path());
    let alice = init(&cli, &server, "alice");
    assert_eq!(
        alice["suites"],
        serde_json::json!(["x25519", "x25519-chacha", "xwing"])
    );
    init(&cli, &server, "bob");
    let carol = cli.json(
        "carol",
        &[
            "init",
            "--user",
            "carol",
            "--server",
            &server.url(),
            "--suite",
            "p384",
        ],
    );
    assert_eq!(carol["suites"], serde_json::json!(["p384"]));

    let xwing = "MLS_256_XWING_CHACHA20POLY1305_SHA256_Ed25519 (draft)";
    let created = cli.json(
        "alice",
        &["create", "PQ", "--with", "bob", "--suite", "xwing"],
    );
    assert_eq!(created["ciphersuite"], xwing);
    cli.json("alice", &["send", "PQ", "recorded today, secret tomorrow"]);
    assert_eq!(
        bodies(&cli.texts("bob", "PQ")),
        ["alice: recorded today, secret tomorrow"]
    );
    cli.json("bob", &["accept", "PQ"]);
    cli.json("bob", &["send", "PQ", "agreed"]);
    assert_eq!(
        bodies(&cli.texts("alice", "PQ")),
        ["alice: recorded today, secret tomorrow", "bob: agreed"]
    );
    let members = cli.json("bob", &["members", "PQ"]);
    assert_eq!(members["ciphersuite"], xwing);
    let epoch = members["epoch"].clone();

    // Carol's key is P-384: she cannot take part, and is told so; nothing changes.
    let out = cli.run("alice", &["--json", "invite", "PQ", "carol"]);
    assert_eq!(out.status.code(), Some(5));
    let failure: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(failure["error"], "suite_unsupported", "{failure}");
    assert_eq!(cli.json("alice", &["members", "PQ"])["epoch"], epoch);
    // A suite alice's key cannot sign in, and one that does not exist: bad usage.
    let out = cli.run("alice", &["--json", "create", "Big", "--suite", "p384"]);
    assert_eq!(out.status.code(), Some(2));
    let failure: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(failure["error"], "suite_needs_other_key", "{failure}");
    assert_eq!(cli.code("alice", &["create", "Odd", "--suite", "rot13"]), 2);
    // Carol's own suite works for her.
    let created = cli.json("carol", &["create", "Curves", "--suite", "0x0007"]);
    assert_eq!(
        created["ciphersuite"],
        "MLS_256_DHKEMP384_AES256GCM_SHA384_P384"
    );
    server.stop().await;
}
