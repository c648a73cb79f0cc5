//! Headless UI benchmark (egui_kittest, no display): a conversation of 5,000 members (a
//! real group, every member registered with a real server) and 100,000 stored messages (two
//! people, replies, reactions and image attachments mixed in), from the click that opens it
//! to the first frame that shows its newest rows and its members, and
//! the frame time while scrolling through it. Frames here are egui's CPU work (layout,
//! tessellation input); painting is the GPU's.
//!
//! `cargo bench -p conclave-app --bench ui` (figures in docs/PERFORMANCE.md).

use std::time::{Duration, Instant};

use conclave_app::{AppConfig, ConclaveApp};
use conclave_client::content::ExternalPart;
use conclave_client::{Client, ClientConfig, MessageKind, MessageState, ProfileKey, ProfileSecret};
use conclave_delivery::Server;
use conclave_protocol::{DeviceId, MemberId, UserName};
use conclave_storage::{NewMessage, Reaction, Store};
use conclave_test_support::TestServer;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

const MESSAGES: usize = 100_000;
/// The conversation's members: 5,000, or `CONCLAVE_BENCH_MEMBERS`.
fn members() -> usize {
    std::env::var("CONCLAVE_BENCH_MEMBERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(5_000)
        .max(1)
}

fn main() {
    // `cargo test --benches` runs this with `--bench`-less args; keep that quick.
    if !std::env::args().any(|a| a == "--bench") {
        println!("ui bench: run with `cargo bench -p conclave-app --bench ui`");
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = runtime.block_on(async {
        // The tests' limits: thousands of registrations from 127.0.0.1.
        Server::open(TestServer::config(&dir.path().join("ds.sqlite")))
            .unwrap()
            .spawn("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap()
    });
    // A raw key, as the app's tests use: no passphrase screen, no Argon2 per open.
    let secret = ProfileSecret::Key(ProfileKey::from_bytes([0x5a; 32]));
    let config = ClientConfig {
        rotation_interval: None,
        key_package_stock: 2,
        profile_secret: Some(secret.clone()),
        ..ClientConfig::default()
    };
    let profile = dir.path().join("alice");
    // Every other member registers from its own profile (one key package to spare), four at
    // a time; alice then adds them all in one commit.
    let members = members();
    let started = Instant::now();
    let conversation = runtime.block_on(async {
        let lean = ClientConfig {
            key_package_stock: 1,
            draft_suites: false,
            profile_secret: Some(secret.clone()),
            request_timeout: Duration::from_secs(120),
            ..config.clone()
        };
        let mut users = Vec::with_capacity(members);
        let mut registering: tokio::task::JoinSet<conclave_client::Result<()>> =
            tokio::task::JoinSet::new();
        for i in 1..members {
            if registering.len() >= 4 {
                registering.join_next().await.unwrap().unwrap().unwrap();
            }
            let (path, name) = (dir.path().join(format!("m{i}")), format!("m{i}"));
            let (url, lean) = (server.url(), lean.clone());
            registering.spawn(async move {
                Client::create_with(&path, &name, &url, lean)
                    .await
                    .map(drop)
            });
            users.push(UserName::new(format!("m{i}")).unwrap());
        }
        while let Some(done) = registering.join_next().await {
            done.unwrap().unwrap();
        }
        let alice = Client::create_with(&profile, "alice", &server.url(), config.clone())
            .await
            .unwrap();
        alice.create_conversation("Big", &users).await.unwrap()
    });
    println!(
        "a conversation of {members} members made in {:?}",
        started.elapsed()
    );

    // 100,000 messages straight into the profile, mixed as a real conversation is: two
    // people, every 7th a reply, every 5th with reactions, every 50th an image.
    let started = Instant::now();
    {
        let mut store =
            Store::open_encrypted(profile.join(conclave_client::PROFILE_FILE), &secret).unwrap();
        let me = store.identity().unwrap().unwrap().member().clone();
        let bob = MemberId::new(
            UserName::new("bob").unwrap(),
            DeviceId::new("phone").unwrap(),
        );
        let uid = |i: usize| {
            let mut id = [0u8; 32];
            id[0] = 1;
            id[24..].copy_from_slice(&(i as u64).to_be_bytes());
            id.to_vec()
        };
        let image = ExternalPart {
            content_type: "image/png".into(),
            url: format!("{}/v1/blobs/{}", server.url(), "ab".repeat(16)),
            expires: 0,
            size: 120_000,
            enc_alg: 1,
            key: vec![1; 16],
            nonce: vec![2; 12],
            aad: Vec::new(),
            hash_alg: 1,
            content_hash: vec![3; 32],
            description: String::new(),
            filename: "photo.png".into(),
        }
        .encode();
        let tx = store.transaction().unwrap();
        for i in 0..MESSAGES {
            let mine = i % 3 != 0;
            let attachment = (i % 50 == 49).then(|| image.clone());
            let id = tx
                .insert_message(&NewMessage {
                    conversation,
                    uid: uid(i),
                    sender: if mine { me.clone() } else { bob.clone() },
                    sent_at: 1_790_000_000_000 + i as i64 * 60_000,
                    received_at: None,
                    body: if attachment.is_some() {
                        "photo.png".into()
                    } else {
                        format!("message number {i}: the quick brown fox jumps over the lazy dog")
                    },
                    state: if mine {
                        MessageState::Sent
                    } else {
                        MessageState::Received
                    },
                    server_seq: None,
                    outgoing: mine,
                    kind: if attachment.is_some() {
                        MessageKind::Attachment
                    } else {
                        MessageKind::Text
                    },
                    reply_to: (i % 7 == 6).then(|| uid(i - 3)),
                    expires_at: None,
                    attachment,
                })
                .unwrap()
                .unwrap();
            if i % 5 == 4 {
                for (n, (user, emoji)) in [("bob", "👍"), ("alice", "🎉")].into_iter().enumerate()
                {
                    let reaction = Reaction {
                        message: id,
                        user: user.into(),
                        emoji: emoji.into(),
                    };
                    let mut rid = uid(i);
                    rid[1] = 0xee;
                    rid[2] = n as u8;
                    tx.add_reaction(conversation, &rid, &reaction, 0).unwrap();
                }
            }
        }
        tx.commit().unwrap();
    }
    println!("stored {MESSAGES} messages in {:?}", started.elapsed());

    let ctx = egui::Context::default();
    let app = ConclaveApp::new(
        &ctx,
        AppConfig {
            profile_dir: profile.clone(),
            server: Some(server.url()),
            local_address: None,
            local_db: dir.path().join("unused.sqlite"),
            local_tls: dir.path().join("unused-tls"),
            client: config,
        },
        runtime.handle(),
    )
    .without_notifications();
    let mut harness = Harness::builder()
        .with_size([1280.0, 800.0])
        .build_ui_state(|ui, app: &mut ConclaveApp| app.ui(ui), app);
    let deadline = Instant::now() + Duration::from_secs(60);
    while harness.query_all_by_label_contains("Big").next().is_none() {
        assert!(
            Instant::now() < deadline,
            "the conversation list never showed"
        );
        harness.step();
        std::thread::sleep(Duration::from_millis(5));
    }

    let mut opens = Vec::new();
    for _ in 0..5 {
        // Away and back, so that each round opens it afresh.
        harness.state_mut().close_conversation();
        harness.step();
        let started = Instant::now();
        harness
            .query_all_by_label_contains("Big")
            .next()
            .unwrap()
            .click();
        // Done when the newest page and the members are in and a frame has drawn them (the
        // list's preview shows the newest text too, so the check is on the view's state).
        let newest_page = (MESSAGES - 1) / conclave_app::backend::PAGE;
        loop {
            harness.step();
            let state = harness.state().state();
            let shown = state
                .open
                .as_ref()
                .is_some_and(|o| o.pages.contains_key(&newest_page))
                && state.members.len() == members;
            if shown {
                harness.step();
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "never showed");
        }
        opens.push(started.elapsed());
    }
    opens.sort();
    println!(
        "open a conversation of {MESSAGES} messages and {members} members: to the first frame \
         with its newest rows and its members: median {:?}, max {:?}",
        opens[opens.len() / 2],
        opens[opens.len() - 1]
    );

    // Scroll up through it with the wheel: 400 frames of 3 rows each, loading pages as they
    // come into view.
    harness.hover_at(egui::pos2(640.0, 400.0));
    let mut frames = Vec::new();
    for _ in 0..400 {
        harness.event(egui::Event::MouseWheel {
            unit: egui::MouseWheelUnit::Point,
            delta: egui::vec2(0.0, 130.0),
            phase: egui::TouchPhase::Move,
            source: egui::MouseWheelSource::Unknown,
            modifiers: egui::Modifiers::NONE,
        });
        let started = Instant::now();
        harness.step();
        frames.push(started.elapsed());
    }
    let pages = harness
        .state()
        .state()
        .open
        .as_ref()
        .map_or(0, |o| o.pages.len());
    assert!(pages > 5, "scrolling reached older pages ({pages} loaded)");
    frames.sort();
    let mean = frames.iter().sum::<Duration>() / frames.len() as u32;
    println!(
        "scrolling: frame mean {mean:?}, p50 {:?}, p99 {:?}, max {:?} ({} frames, {pages} pages loaded)",
        frames[frames.len() / 2],
        frames[frames.len() * 99 / 100],
        frames[frames.len() - 1],
        frames.len()
    );
    runtime.block_on(server.stop()).unwrap();
}
