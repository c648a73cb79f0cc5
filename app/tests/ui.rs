//! The real app UI, driven through egui_kittest (no display needed), against a real
//! delivery service on 127.0.0.1 and real profile files.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use conclave_app::state::Screen;
use conclave_app::{AppConfig, ConclaveApp};
use conclave_client::{Client, ClientConfig, ProfileFile, ProfileKey, ProfileSecret, UserName};
use conclave_delivery::{Config, Running, Server};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

struct World {
    runtime: tokio::runtime::Runtime,
    server: Option<Running>,
    dir: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("ds.sqlite");
        let server = runtime.block_on(async {
            Server::open(Config::new(db))
                .unwrap()
                .spawn("127.0.0.1:0".parse().unwrap())
                .await
                .unwrap()
        });
        World {
            runtime,
            server: Some(server),
            dir,
        }
    }

    fn url(&self) -> String {
        self.server.as_ref().unwrap().url()
    }

    fn profile(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A window on profile `name`, with the test key configured (as `CONCLAVE_PASSPHRASE`
    /// would): it asks for no passphrase.
    fn app(&self, name: &str) -> Harness<'static, ConclaveApp> {
        self.app_with(name, client_config())
    }

    fn app_with(&self, name: &str, client: ClientConfig) -> Harness<'static, ConclaveApp> {
        let config = AppConfig {
            profile_dir: self.profile(name),
            server: Some(self.url()),
            local_address: None,
            local_db: self.dir.path().join("unused.sqlite"),
            local_tls: self.dir.path().join("unused-tls"),
            client,
        };
        let ctx = egui::Context::default();
        let app = ConclaveApp::new(&ctx, config, self.runtime.handle()).without_notifications();
        Harness::builder()
            .with_size([1280.0, 800.0])
            .build_ui_state(|ui, app: &mut ConclaveApp| app.ui(ui), app)
    }

    /// A client that is not an app window (a third party in the conversation).
    fn client(&self, name: &str) -> Client {
        self.runtime
            .block_on(Client::create_with(
                &self.profile(name),
                name,
                &self.url(),
                client_config(),
            ))
            .unwrap()
    }
}

impl Drop for World {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            let _ = self.runtime.block_on(server.stop());
        }
    }
}

/// The profile key the tests' windows and clients share (a raw key: no Argon2 per open).
const TEST_KEY: [u8; 32] = [0x5a; 32];

fn client_config() -> ClientConfig {
    ClientConfig {
        rotation_interval: None,
        key_package_stock: 4,
        min_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(500),
        profile_secret: Some(ProfileSecret::Key(ProfileKey::from_bytes(TEST_KEY))),
        ..ClientConfig::default()
    }
}

/// Settings with no profile secret: the window asks for a passphrase.
fn asking() -> ClientConfig {
    ClientConfig {
        profile_secret: None,
        ..client_config()
    }
}

/// Steps the UI until `done` holds (bounded), with the engine working in between.
fn step_until(
    harness: &mut Harness<'static, ConclaveApp>,
    what: &str,
    done: impl Fn(&Harness<'static, ConclaveApp>) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        harness.step();
        if done(harness) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn shows(harness: &Harness<'static, ConclaveApp>, text: &str) -> bool {
    harness.query_all_by_label_contains(text).next().is_some()
}

fn wait_for_text(harness: &mut Harness<'static, ConclaveApp>, text: &str) {
    step_until(harness, text, |h| shows(h, text));
}

fn present(harness: &mut Harness<'static, ConclaveApp>, label: &str) {
    step_until(harness, label, |h| h.query_by_label(label).is_some());
}

fn type_into(harness: &mut Harness<'static, ConclaveApp>, field: &str, text: &str) {
    present(harness, field);
    harness.get_by_label(field).focus();
    harness.step();
    harness.get_by_label(field).type_text(text);
    harness.step();
}

fn click(harness: &mut Harness<'static, ConclaveApp>, button: &str) {
    present(harness, button);
    harness.get_by_label(button).click();
    harness.step();
}

fn onboard(harness: &mut Harness<'static, ConclaveApp>, user: &str) {
    step_until(harness, "the onboarding screen", |h| {
        h.state().state().screen == Screen::Onboarding
    });
    assert!(shows(harness, "Welcome to Conclave"));
    type_into(harness, "User name", user);
    let form = &harness.state().state().onboarding;
    if form.needs_passphrase && !(form.keyring_offered && form.use_keyring) {
        type_into(harness, "Passphrase", "a long passphrase");
        type_into(harness, "Repeat passphrase", "a long passphrase");
    }
    click(harness, "Create profile");
    step_until(harness, "the main window", |h| {
        h.state().state().screen == Screen::Main
    });
}

fn open_conversation(harness: &mut Harness<'static, ConclaveApp>, name: &str) {
    wait_for_text(harness, name);
    harness
        .query_all_by_label_contains(name)
        .next()
        .unwrap()
        .click();
    step_until(harness, "the conversation to open", |h| {
        h.state().state().open.is_some()
    });
}

#[test]
fn onboarding_chat_invite_remove_search_leave() {
    let world = World::new();
    // Alice types a passphrase for her new profile; bob's window has one configured.
    let mut alice = world.app_with("alice", asking());
    let mut bob = world.app("bob");
    onboard(&mut alice, "alice");
    onboard(&mut bob, "bob");
    assert_eq!(
        Client::profile_file(&world.profile("alice")).unwrap(),
        ProfileFile::Encrypted
    );
    let carol = world.client("carol");

    // Alice creates a conversation with bob.
    click(&mut alice, "New conversation");
    type_into(&mut alice, "Name", "Team");
    type_into(&mut alice, "Members (user names)", "bob");
    click(&mut alice, "Create");
    step_until(&mut alice, "alice's conversation to open", |h| {
        h.state().state().open.is_some() && h.state().state().members.len() == 2
    });

    // Bob sees it arrive (push), opens it, and reads alice's message as it comes.
    open_conversation(&mut bob, "Team");
    type_into(&mut alice, "Message", "hello bob");
    alice.key_press(egui::Key::Enter);
    alice.step();
    assert_eq!(alice.state().state().compose, "", "Enter sent the message");
    wait_for_text(&mut bob, "hello bob");
    // Alice is new to bob: he reads, but writes only once he accepts.
    assert!(shows(
        &bob,
        "Nothing is sent to this conversation unless you accept"
    ));
    assert!(!shows(&bob, "Message"), "no compose box before accepting");
    click(&mut bob, "Accept");
    wait_for_text(&mut bob, "Message");
    type_into(&mut bob, "Message", "hi alice");
    click(&mut bob, "Send");
    wait_for_text(&mut alice, "hi alice");
    // Sent, delivered once bob's window synced, read once it showed it (his receipts).
    step_until(&mut alice, "the sent, delivered or read mark", |h| {
        ["sent", "delivered", "read"]
            .iter()
            .any(|mark| h.query_by_label(mark).is_some())
    });

    // Invite carol from the members panel; then remove her.
    type_into(&mut alice, "Invite user", "carol");
    click(&mut alice, "Invite");
    wait_for_text(&mut alice, "Remove carol");
    world.runtime.block_on(carol.sync()).unwrap();
    let carols = world.runtime.block_on(carol.conversations()).unwrap();
    assert_eq!(carols[0].conversation.name, "Team");
    click(&mut alice, "Remove carol");
    step_until(&mut alice, "carol removed", |h| !shows(h, "Remove carol"));
    world.runtime.block_on(carol.sync()).unwrap();
    let carols = world.runtime.block_on(carol.conversations()).unwrap();
    assert!(carols[0].conversation.left_at.is_some());

    // Search across history.
    type_into(&mut bob, "Search", "hello");
    click(&mut bob, "Find");
    wait_for_text(&mut bob, "[Team] alice: hello bob");
    click(&mut bob, "Close search");

    // Bob leaves; alice's app commits it; bob's view says so.
    click(&mut bob, "Leave conversation");
    wait_for_text(&mut bob, "You are no longer a member");
    step_until(&mut alice, "bob gone from alice's members", |h| {
        h.state().state().members.len() == 1
    });
    wait_for_text(&mut alice, "bob left");
}

#[test]
fn a_key_change_is_impossible_to_miss() {
    let world = World::new();
    // Alice and bob share a conversation (made through the engine, as a previous session).
    let (conversation, bob) = {
        let alice = world.client("alice");
        let bob = world.client("bob");
        let id = world
            .runtime
            .block_on(alice.create_conversation("Keys", &[UserName::new("bob").unwrap()]))
            .unwrap();
        world.runtime.block_on(bob.sync()).unwrap();
        (id, bob)
    };
    // What alice recorded for bob's device no longer matches what the group shows.
    tamper_bob_key(&world.profile("alice"));

    let mut alice = world.app("alice");
    step_until(&mut alice, "the main window", |h| {
        h.state().state().screen == Screen::Main
    });
    let theirs = world.runtime.block_on(bob.conversations()).unwrap()[0]
        .conversation
        .id;
    world.runtime.block_on(bob.accept(theirs)).unwrap();
    world.runtime.block_on(bob.rotate_keys(theirs)).unwrap();
    wait_for_text(&mut alice, "Security warning: the key of bob/");
    assert!(shows(&alice, "Compare safety numbers"));
    click(&mut alice, "I understand");
    step_until(&mut alice, "the warning acknowledged", |h| {
        h.state().state().key_warnings.is_empty()
    });
    let _ = conversation;
}

fn tamper_bob_key(profile: &Path) {
    let conn = rusqlite::Connection::open(profile.join(conclave_client::PROFILE_FILE)).unwrap();
    let key: String = TEST_KEY.iter().map(|b| format!("{b:02x}")).collect();
    // The page format new profiles have (conclave_storage::at_rest).
    conn.execute_batch(&format!(
        "PRAGMA key = \"x'{key}'\"; PRAGMA cipher_hmac_algorithm = HMAC_SHA256;"
    ))
    .unwrap();
    let changed = conn
        .execute(
            "UPDATE devices SET signature_key = x'00' WHERE user_name = 'bob'",
            [],
        )
        .unwrap();
    assert_eq!(changed, 1);
}

#[test]
fn an_encrypted_profile_asks_its_passphrase_and_a_plain_one_is_encrypted() {
    let world = World::new();
    let passphrase = |p: &str| ClientConfig {
        profile_secret: Some(ProfileSecret::passphrase(p)),
        ..client_config()
    };
    let dora = world
        .runtime
        .block_on(Client::create_with(
            &world.profile("dora"),
            "dora",
            &world.url(),
            passphrase("dora's passphrase"),
        ))
        .unwrap();
    drop(dora);
    let mut app = world.app_with("dora", asking());
    step_until(&mut app, "the passphrase screen", |h| {
        h.state().state().screen == Screen::Unlock
    });
    assert!(shows(&app, "Unlock Conclave"));
    type_into(&mut app, "Passphrase", "not dora's passphrase");
    click(&mut app, "Unlock");
    wait_for_text(&mut app, "Wrong passphrase.");
    assert_eq!(app.state().state().screen, Screen::Unlock);
    type_into(&mut app, "Passphrase", "dora's passphrase");
    click(&mut app, "Unlock");
    step_until(&mut app, "the main window", |h| {
        h.state().state().screen == Screen::Main
    });
    drop(app);

    // A plain profile (as an earlier version made them) is encrypted with a new passphrase.
    let plain = ClientConfig {
        profile_secret: None,
        ..client_config()
    };
    let eve = world
        .runtime
        .block_on(Client::create_with(
            &world.profile("eve"),
            "eve",
            &world.url(),
            plain,
        ))
        .unwrap();
    drop(eve);
    assert_eq!(
        Client::profile_file(&world.profile("eve")).unwrap(),
        ProfileFile::Plain
    );
    let mut app = world.app_with("eve", asking());
    step_until(&mut app, "the passphrase screen", |h| {
        h.state().state().screen == Screen::Unlock
    });
    assert!(shows(&app, "Encrypt this profile"));
    type_into(&mut app, "Passphrase", "eve's new passphrase");
    type_into(&mut app, "Repeat passphrase", "eve's new passphrase");
    click(&mut app, "Encrypt");
    step_until(&mut app, "the main window", |h| {
        h.state().state().screen == Screen::Main
    });
    assert_eq!(
        Client::profile_file(&world.profile("eve")).unwrap(),
        ProfileFile::Encrypted
    );
}

/// Settings while the app runs: the passphrase changed (the current one checked first, and
/// the new one current from then on), the app going on meanwhile; read receipts turned off.
#[test]
fn the_passphrase_changes_while_the_app_runs_and_read_receipts_turn_off() {
    let world = World::new();
    let frank = world
        .runtime
        .block_on(Client::create_with(
            &world.profile("frank"),
            "frank",
            &world.url(),
            ClientConfig {
                profile_secret: Some(ProfileSecret::passphrase("frank's first passphrase")),
                ..client_config()
            },
        ))
        .unwrap();
    drop(frank);
    let mut app = world.app_with("frank", asking());
    step_until(&mut app, "the passphrase screen", |h| {
        h.state().state().screen == Screen::Unlock
    });
    type_into(&mut app, "Passphrase", "frank's first passphrase");
    click(&mut app, "Unlock");
    step_until(&mut app, "the main window", |h| {
        h.state().state().screen == Screen::Main
    });
    assert!(app.state().state().settings.read_receipts);

    click(&mut app, "Settings");
    click(&mut app, "Change passphrase");
    type_into(&mut app, "Current passphrase", "not frank's passphrase");
    type_into(&mut app, "New passphrase", "frank's second passphrase");
    type_into(
        &mut app,
        "New passphrase again",
        "frank's second passphrase",
    );
    click(&mut app, "Change");
    wait_for_text(&mut app, "The current passphrase is not right.");
    type_into(&mut app, "Current passphrase", "frank's first passphrase");
    click(&mut app, "Change");
    wait_for_text(&mut app, "The passphrase was changed.");
    // The app goes on under the new one.
    click(&mut app, "Settings");
    click(&mut app, "Read receipts");
    step_until(&mut app, "read receipts off", |h| {
        !h.state().state().settings.read_receipts
    });
    // Which is now the one a change needs (the file under it: crates/storage/tests/at_rest.rs).
    click(&mut app, "Settings");
    click(&mut app, "Change passphrase");
    type_into(&mut app, "Current passphrase", "frank's first passphrase");
    type_into(&mut app, "New passphrase", "frank's third passphrase");
    type_into(&mut app, "New passphrase again", "frank's third passphrase");
    click(&mut app, "Change");
    wait_for_text(&mut app, "The current passphrase is not right.");
    type_into(&mut app, "Current passphrase", "frank's second passphrase");
    click(&mut app, "Change");
    step_until(&mut app, "the dialog to close", |h| {
        !h.state().state().settings.passphrase_open
    });
}

/// Closes the window on profile `name`, as quitting the app does, and waits until its
/// engine let go of the profile (it stops on its own, on the runtime).
fn close(world: &World, app: Harness<'static, ConclaveApp>, name: &str) {
    drop(app);
    let lock = world
        .profile(name)
        .join(format!("{}.lock", conclave_client::PROFILE_FILE));
    eventually("the profile to be let go", || {
        let file = std::fs::OpenOptions::new().write(true).open(&lock).unwrap();
        file.try_lock().is_ok()
    });
}

/// The profile's key in the OS keyring (a throwaway GNOME Keyring on a private D-Bus, which
/// the test gives itself by running again as a child process with that bus): the first run
/// offers it, checked, and asks for no passphrase; the next start opens with no question;
/// "Use a passphrase" moves the profile to one and takes the key out of the keyring, after
/// which a start asks for the passphrase.
#[test]
fn a_profile_keeps_its_key_in_the_keyring() {
    const CHILD: &str = "CONCLAVE_TEST_KEYRING_CHILD";
    const NAME: &str = "a_profile_keeps_its_key_in_the_keyring";
    if std::env::var_os(CHILD).is_none() {
        let keyring = conclave_test_support::secret_service::SecretService::start();
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", NAME, "--nocapture", "--test-threads=1"])
            .envs(keyring.env())
            .env(CHILD, "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        return;
    }
    let world = World::new();
    let with_keyring = ClientConfig {
        keyring: true,
        ..asking()
    };
    let mut app = world.app_with("gina", with_keyring.clone());
    step_until(&mut app, "the onboarding screen", |h| {
        h.state().state().screen == Screen::Onboarding
    });
    let form = &app.state().state().onboarding;
    assert!(form.keyring_offered && form.use_keyring);
    assert!(app.query_by_label("Passphrase").is_none());
    onboard(&mut app, "gina");
    let profile = world.profile("gina");
    assert_eq!(
        Client::profile_file(&profile).unwrap(),
        ProfileFile::Encrypted
    );
    assert!(app.state().state().settings.key_in_keyring);
    close(&world, app, "gina");

    // Started without the keyring: it says where the key is rather than ask for a
    // passphrase there is none of.
    let mut app = world.app_with("gina", asking());
    step_until(&mut app, "the passphrase screen", |h| {
        h.state().state().screen == Screen::Unlock
    });
    wait_for_text(&mut app, "This profile's key is kept in your keyring");
    close(&world, app, "gina");

    let mut app = world.app_with("gina", with_keyring.clone());
    step_until(&mut app, "the main window", |h| {
        let screen = &h.state().state().screen;
        assert_ne!(*screen, Screen::Unlock, "asked for a passphrase");
        *screen == Screen::Main
    });
    click(&mut app, "Settings");
    click(&mut app, "Use a passphrase");
    assert!(app.query_by_label("Current passphrase").is_none());
    type_into(&mut app, "New passphrase", "gina's passphrase");
    type_into(&mut app, "New passphrase again", "gina's passphrase");
    click(&mut app, "Change");
    wait_for_text(&mut app, "its key was removed from the keyring");
    close(&world, app, "gina");
    // Nothing names a key any more (the entry went with it: the CLI's test checks that).
    let file = profile.join(conclave_client::PROFILE_FILE);
    assert!(
        conclave_client::ProfileKeyring::for_profile(&file)
            .unwrap()
            .is_none()
    );

    let mut app = world.app_with("gina", with_keyring);
    step_until(&mut app, "the passphrase screen", |h| {
        h.state().state().screen == Screen::Unlock
    });
    type_into(&mut app, "Passphrase", "gina's passphrase");
    click(&mut app, "Unlock");
    step_until(&mut app, "the main window", |h| {
        h.state().state().screen == Screen::Main
    });
}

/// A new window links itself to alice's account from the first-run screen (code shown as
/// text and QR code, approved on alice's other device), has her conversation and its
/// history, lists her devices, and shows plainly when it is revoked.
#[test]
fn a_window_links_to_an_existing_account_and_learns_when_it_is_revoked() {
    let world = World::new();
    let alice = world.client("alice");
    let _bob = world.client("bob");
    world.runtime.block_on(async {
        let id = alice
            .create_conversation("Plans", &[UserName::new("bob").unwrap()])
            .await
            .unwrap();
        alice.send_text(id, "hello from the laptop").await.unwrap();
    });

    let mut harness = world.app("desktop");
    step_until(&mut harness, "the onboarding screen", |h| {
        h.state().state().screen == Screen::Onboarding
    });
    click(&mut harness, "Link to an existing account");
    type_into(&mut harness, "Device name", "desktop");
    click(&mut harness, "Show the link code");
    step_until(&mut harness, "the link code", |h| {
        h.state().state().screen == Screen::Linking && !h.state().state().linking.code.is_empty()
    });
    assert!(shows(&harness, "Fingerprint of this device"));
    let code =
        conclave_client::link::LinkCode::parse(&harness.state().state().linking.code).unwrap();
    assert_eq!(
        code.fingerprint(),
        harness.state().state().linking.fingerprint
    );
    let approving = {
        let alice = alice.clone();
        world.runtime.spawn(async move {
            alice
                .approve_link(&code, Duration::from_secs(30), |_| {})
                .await
        })
    };
    step_until(&mut harness, "the main window", |h| {
        h.state().state().screen == Screen::Main
    });
    world.runtime.block_on(approving).unwrap().unwrap();
    open_conversation(&mut harness, "Plans");
    wait_for_text(&mut harness, "hello from the laptop");

    click(&mut harness, "Devices");
    click(&mut harness, "Your devices");
    wait_for_text(&mut harness, "desktop (this device)");

    world
        .runtime
        .block_on(alice.revoke_device("desktop"))
        .unwrap();
    wait_for_text(&mut harness, "This device was revoked");
}

/// Alice's window approves a new device from its "Link a device" dialog: the code pasted,
/// the fingerprint shown, the link made.
#[test]
fn a_window_approves_a_new_device_from_its_devices_menu() {
    let world = World::new();
    let mut alice = world.app("alice");
    onboard(&mut alice, "alice");
    let pending = world
        .runtime
        .block_on(conclave_client::link::PendingLink::start(
            &world.profile("desktop"),
            &world.url(),
            Some("desktop"),
            Duration::from_secs(60),
            client_config(),
        ))
        .unwrap();
    let code = pending.code();
    let fingerprint = pending.fingerprint();
    let new_device = world
        .runtime
        .spawn(pending.complete(Duration::from_secs(60), |_| {}));

    click(&mut alice, "Devices");
    click(&mut alice, "Link a device");
    type_into(&mut alice, "Code", &code);
    wait_for_text(&mut alice, &fingerprint);
    click(&mut alice, "The fingerprints match: link it");
    wait_for_text(&mut alice, "Linked desktop");
    let desktop = world.runtime.block_on(new_device).unwrap().unwrap();
    assert_eq!(desktop.me().to_string(), "alice/desktop");
}

/// The messenger around a message: a reply quoting it, reactions as chips, an edit and a
/// delete from the context menu, "NAME is typing...", a file card and an image preview,
/// and times in the user's time zone (UTC on hover).
#[test]
fn replies_reactions_edits_deletes_files_typing_and_local_times() {
    let world = World::new();
    let mut alice = world.app("alice");
    // Times in a fixed zone five hours east of UTC.
    alice
        .state_mut()
        .set_time_zone(jiff::tz::TimeZone::fixed(jiff::tz::offset(5)));
    onboard(&mut alice, "alice");
    let bob = world.client("bob");
    click(&mut alice, "New conversation");
    type_into(&mut alice, "Name", "Studio");
    type_into(&mut alice, "Members (user names)", "bob");
    click(&mut alice, "Create");
    step_until(&mut alice, "the conversation to open", |h| {
        h.state().state().open.is_some() && h.state().state().members.len() == 2
    });
    let run = |f: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + '_>>| {
        world.runtime.block_on(f)
    };
    let mut b = None;
    run(Box::pin(async {
        bob.sync().await.unwrap();
        let id = bob.conversations().await.unwrap()[0].conversation.id;
        bob.accept(id).await.unwrap();
        bob.send_text(id, "the mockups are ready").await.unwrap();
        b = Some(id);
    }));
    let b = b.unwrap();
    // The frame that receives a message scrolls to it and already draws it (an offset past
    // the end once left that frame empty).
    step_until(&mut alice, "the message to arrive", |h| {
        h.state().state().open.as_ref().is_some_and(|o| {
            o.pages
                .values()
                .flatten()
                .any(|m| m.message.body == "the mockups are ready")
        })
    });
    assert!(
        alice.query_by_label("the mockups are ready").is_some(),
        "the newest message is drawn in the frame it arrives"
    );

    // Roles in the members panel: alice made the conversation, so she is its admin, and
    // makes bob one.
    present(&mut alice, "admin");
    click(&mut alice, "Make bob admin");
    present(&mut alice, "Remove bob as admin");
    eventually("bob to be an admin", || {
        run_value(&world, bob.sync());
        run_value(&world, bob.members(b)).iter().all(|m| m.admin)
    });

    // The time, in the zone, and UTC on hover.
    let sent_at = run_value(&world, bob.history(b, None, 1))
        .remove(0)
        .message
        .sent_at;
    let local = jiff::Timestamp::from_millisecond(sent_at)
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(5)))
        .strftime("%H:%M")
        .to_string();
    assert!(
        alice.query_all_by_label(&local).next().is_some(),
        "local time {local} shown"
    );
    assert_ne!(local, conclave_client::display::clock(sent_at), "not UTC");

    // Reply from the context menu.
    alice
        .get_by_label("the mockups are ready")
        .click_secondary();
    alice.step();
    click(&mut alice, "Reply");
    wait_for_text(&mut alice, "Replying to bob");
    type_into(&mut alice, "Message", "they look great");
    alice.key_press(egui::Key::Enter);
    alice.step();
    wait_for_text(&mut alice, "> bob: the mockups are ready");
    eventually("bob to get the reply", || {
        run_value(&world, bob.sync());
        run_value(&world, bob.history(b, None, 10))
            .iter()
            .any(|m| m.message.body == "they look great")
    });
    // Bob's sync told alice he has it.
    wait_for_text(&mut alice, "delivered");
    let history = run_value(&world, bob.history(b, None, 10));
    let reply = history
        .iter()
        .find(|m| m.message.body == "they look great")
        .unwrap();
    let notes = run_value(&world, bob.annotations(b, std::slice::from_ref(reply)));
    assert!(matches!(
        notes[0].reply,
        Some(conclave_client::Quote::Message { .. })
    ));

    // A reaction from the menu, and one from bob: chips under the bubbles.
    alice
        .get_by_label("the mockups are ready")
        .click_secondary();
    alice.step();
    click(&mut alice, "👍");
    wait_for_text(&mut alice, "👍 1");
    run(Box::pin(async {
        bob.react(b, reply.id, "🎉").await.unwrap();
    }));
    wait_for_text(&mut alice, "🎉 1");

    // An edit, then a delete, of alice's own reply.
    alice.get_by_label("they look great").click_secondary();
    alice.step();
    click(&mut alice, "Edit");
    wait_for_text(&mut alice, "Editing your message");
    present(&mut alice, "Message");
    alice.get_by_label("Message").focus();
    alice.step();
    alice.key_press(egui::Key::End);
    alice.step();
    alice.get_by_label("Message").type_text(", truly");
    alice.step();
    click(&mut alice, "Save");
    present(&mut alice, "they look great, truly");
    wait_for_text(&mut alice, "edited");
    // The window shows it at once; it reaches bob once its engine has sent it.
    eventually("bob to see the edit", || {
        run_value(&world, bob.sync());
        run_value(&world, bob.message(reply.id))
            .unwrap()
            .message
            .body
            == "they look great, truly"
    });
    alice
        .get_by_label("they look great, truly")
        .click_secondary();
    alice.step();
    click(&mut alice, "Delete for everyone");
    wait_for_text(&mut alice, "This message was deleted");
    eventually("bob to see the delete", || {
        run_value(&world, bob.sync());
        run_value(&world, bob.message(reply.id))
            .unwrap()
            .deleted_at
            .is_some()
    });

    // Typing.
    run(Box::pin(async {
        bob.send_typing(b).await.unwrap();
    }));
    wait_for_text(&mut alice, "bob is typing...");

    // A file card, and an image with its preview.
    let notes_path = world.dir.path().join("notes.txt");
    std::fs::write(&notes_path, "the brief").unwrap();
    let image_path = world.dir.path().join("sketch.png");
    image::RgbaImage::from_pixel(64, 32, image::Rgba([30, 200, 90, 255]))
        .save(&image_path)
        .unwrap();
    run(Box::pin(async {
        bob.send_file(b, &notes_path, |_, _| {}).await.unwrap();
        bob.send_file(b, &image_path, |_, _| {}).await.unwrap();
    }));
    wait_for_text(&mut alice, "File: notes.txt");
    wait_for_text(&mut alice, "File: sketch.png");
    assert!(alice.query_all_by_label("Save").count() >= 2);
    step_until(&mut alice, "the image preview", |h| {
        h.state()
            .state()
            .previews
            .values()
            .any(|p| matches!(p, conclave_app::state::Preview::Texture(t) if t.size() == [64, 32]))
    });

    // An image pasted into the compose box waits for Send, then goes as a PNG file.
    let mut pixels = egui::ColorImage::filled([48, 24], egui::Color32::from_rgb(200, 40, 160));
    pixels.pixels[0] = egui::Color32::WHITE;
    alice.event(egui::Event::PasteImage(std::sync::Arc::new(pixels.clone())));
    alice.step();
    wait_for_text(&mut alice, "Pasted image, 48 x 24");
    click(&mut alice, "Send image");
    alice.step();
    assert!(
        alice.query_by_label("Pasted image, 48 x 24").is_none(),
        "the thumbnail goes once sent"
    );
    let mut pasted = None;
    eventually("bob to get the pasted image", || {
        run_value(&world, bob.sync());
        pasted = run_value(&world, bob.history(b, None, 50))
            .into_iter()
            .find(|m| {
                m.message.sender.user.as_str() == "alice"
                    && m.message.kind == conclave_client::MessageKind::Attachment
            });
        pasted.is_some()
    });
    let pasted = pasted.unwrap();
    let card = run_value(&world, bob.attachment(pasted.id)).unwrap();
    assert!(card.name.starts_with("Pasted image ") && card.name.ends_with(".png"));
    assert_eq!(card.content_type, "image/png");
    let bytes = run_value(&world, bob.attachment_bytes(pasted.id, 1 << 20));
    let decoded = image::load_from_memory(&bytes).unwrap().to_rgba8();
    assert_eq!(decoded.dimensions(), (48, 24));
    assert_eq!(decoded.get_pixel(0, 0).0, [255, 255, 255, 255]);
    assert_eq!(decoded.get_pixel(1, 0).0, [200, 40, 160, 255]);
}

/// Polls `check` (bounded) until it holds.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn run_value<T>(
    world: &World,
    f: impl std::future::Future<Output = conclave_client::Result<T>>,
) -> T {
    world.runtime.block_on(f).unwrap()
}

/// Invite links in the members panel: alice opens one (text and QR), carol joins by it;
/// revoked, then opened again with approval, dave's request shows and alice approves it.
/// Alice's window joins bob's conversation by its link from the new-conversation dialog, and
/// the "Rejoin" action shows where this device could not rejoin by itself.
#[test]
fn invite_links_join_requests_and_rejoin_in_the_window() {
    let world = World::new();
    let mut alice = world.app("alice");
    onboard(&mut alice, "alice");
    let bob = world.client("bob");
    let carol = world.client("carol");
    let dave = world.client("dave");
    click(&mut alice, "New conversation");
    type_into(&mut alice, "Name", "Lobby");
    type_into(&mut alice, "Members (user names)", "bob");
    click(&mut alice, "Create");
    step_until(&mut alice, "the conversation to open", |h| {
        h.state().state().open.is_some() && h.state().state().members.len() == 2
    });
    let lobby = alice.state().state().open.as_ref().unwrap().id;

    click(&mut alice, "Create invite link");
    present(&mut alice, "Invite link (anyone with it can join):");
    let link = alice.state().state().invite_link.clone().unwrap().0;
    assert!(link.starts_with("conclave://join/"));
    let joined = run_value(&world, carol.join_link(&link));
    assert!(matches!(joined, conclave_client::LinkJoin::Joined(_)));
    step_until(&mut alice, "carol among the members", |h| {
        h.state().state().members.len() == 3
    });
    wait_for_text(&mut alice, "carol joined with the invite link");

    click(&mut alice, "Revoke link");
    present(&mut alice, "Create invite link");
    alice.get_by_label("Approve each join").click();
    alice.step();
    click(&mut alice, "Create invite link");
    present(&mut alice, "Invite link (an admin approves each join):");
    let link = alice.state().state().invite_link.clone().unwrap().0;
    assert_eq!(
        run_value(&world, dave.join_link(&link)),
        conclave_client::LinkJoin::Requested
    );
    wait_for_text(&mut alice, "dave asks to join");
    click(&mut alice, "Approve dave");
    eventually("dave to be added", || {
        run_value(&world, dave.sync());
        !run_value(&world, dave.conversations()).is_empty()
    });

    // The rules, from the panel: admins only rename from now on.
    // Below the fold of the members panel when the link's QR code shows.
    present(&mut alice, "Only admins rename");
    alice.get_by_label("Only admins rename").scroll_to_me();
    // The click lands where the box is drawn: let the scrolling settle first.
    for _ in 0..10 {
        alice.step();
    }
    click(&mut alice, "Only admins rename");
    run_value(&world, bob.sync());
    let b = run_value(&world, bob.conversations())[0].conversation.id;
    eventually("the rule to reach bob", || {
        run_value(&world, bob.sync());
        run_value(&world, bob.policy(b)).is_some_and(|p| {
            p.role_for(conclave_client::Action::Rename) == conclave_client::Role::Admin
        })
    });

    // Bob's conversation, joined from alice's window by its link.
    let side = run_value(&world, bob.create_conversation("Side room", &[]));
    let bobs_link = run_value(&world, bob.create_link(side, false, None)).to_text();
    click(&mut alice, "New conversation");
    type_into(&mut alice, "Or join with an invite link", &bobs_link);
    click(&mut alice, "Join");
    wait_for_text(&mut alice, "you joined with an invite link");

    // A device that asked the others for the key waits: the panel says so, with nothing to
    // click.
    alice.state_mut().state_mut().rejoin_needed.insert(
        lobby,
        conclave_app::state::RejoinNeeded {
            reason: "asked".into(),
            asked: true,
        },
    );
    open_conversation(&mut alice, "Lobby");
    wait_for_text(&mut alice, "rejoins by itself once one of them is online");
    assert!(alice.query_by_label("Rejoin").is_none());
    // Where this device could not rejoin by itself, the panel offers it.
    alice.state_mut().state_mut().rejoin_needed.insert(
        lobby,
        conclave_app::state::RejoinNeeded {
            reason: "the group changed faster than this device".into(),
            asked: false,
        },
    );
    open_conversation(&mut alice, "Lobby");
    click(&mut alice, "Rejoin");
    wait_for_text(&mut alice, "This device is back in the conversation.");
    assert!(alice.state().state().rejoin_needed.is_empty());
}

/// A post-quantum conversation from the window: the new-conversation dialog's advanced
/// option picks the X-Wing suite among those this device takes part in, and the security
/// panel names the draft suite and what it protects.
#[test]
fn a_post_quantum_conversation_from_the_window() {
    let world = World::new();
    let mut alice = world.app("alice");
    onboard(&mut alice, "alice");
    let bob = world.client("bob");

    click(&mut alice, "New conversation");
    type_into(&mut alice, "Name", "Later");
    type_into(&mut alice, "Members (user names)", "bob");
    click(&mut alice, "Advanced");
    // The section opens over a few frames, and the anchored dialog grows (and moves) with it.
    for _ in 0..30 {
        alice.step();
    }
    let suites = alice.state().state().suites.clone();
    assert_eq!(
        suites.iter().map(|s| s.short_name()).collect::<Vec<_>>(),
        ["x25519", "x25519-chacha", "xwing"],
        "the device's own suite first"
    );
    alice
        .get_by_role_and_label(egui::accesskit::Role::ComboBox, "Ciphersuite")
        .click();
    click(
        &mut alice,
        "MLS_256_XWING_CHACHA20POLY1305_SHA256_Ed25519 (draft) — post-quantum key exchange",
    );
    wait_for_text(&mut alice, "Post-quantum: recorded messages stay secret");
    click(&mut alice, "Create");
    step_until(&mut alice, "the conversation to open", |h| {
        h.state().state().open.is_some() && h.state().state().members.len() == 2
    });
    step_until(&mut alice, "its security state", |h| {
        h.state().state().security.is_some()
    });
    let security = alice.state().state().security.clone().unwrap();
    assert_eq!(
        security.suite,
        conclave_client::CipherSuite::XWingChaCha20Ed25519
    );
    wait_for_text(&mut alice, "0x004D (xwing, draft)");
    wait_for_text(
        &mut alice,
        "MLS_256_XWING_CHACHA20POLY1305_SHA256_Ed25519 (draft)",
    );
    wait_for_text(&mut alice, "Post-quantum key exchange (X-Wing)");

    // Bob's client joins it in the same suite, and they talk.
    world.runtime.block_on(bob.sync()).unwrap();
    let theirs = world.runtime.block_on(bob.conversations()).unwrap();
    let b = theirs[0].conversation.id;
    let info = world.runtime.block_on(bob.security(b)).unwrap();
    assert_eq!(
        info.suite,
        conclave_client::CipherSuite::XWingChaCha20Ed25519
    );
    world.runtime.block_on(bob.accept(b)).unwrap();
    world
        .runtime
        .block_on(bob.send_text(b, "safe for later"))
        .unwrap();
    wait_for_text(&mut alice, "safe for later");
}
