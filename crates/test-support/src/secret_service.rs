//! A throwaway Secret Service (the Linux keyring the `keyring` crate talks to): a private
//! D-Bus session bus with GNOME Keyring on it, unlocked, keeping its files in a temporary
//! home. Processes given [`SecretService::env`] use it instead of the user's own keyring.
//!
//! Needs `dbus-daemon`, `dbus-send` and `gnome-keyring-daemon` (Debian: `dbus-daemon`,
//! `dbus-bin`, `gnome-keyring`), which `.ci/run` installs.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running private bus and keyring; both stop when it is dropped.
pub struct SecretService {
    bus: Child,
    keyring: Child,
    address: String,
    home: tempfile::TempDir,
}

impl SecretService {
    /// Starts a bus and an unlocked keyring on it, and waits until the keyring answers.
    /// Panics, saying what to install, if the programs are missing.
    pub fn start() -> Self {
        let home = tempfile::tempdir().expect("a temporary home");
        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| missing("dbus-daemon", e));
        let mut address = String::new();
        BufReader::new(bus.stdout.take().expect("piped"))
            .read_line(&mut address)
            .expect("the bus's address");
        let address = address.trim().to_owned();
        let mut keyring = Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .envs(env_for(&address, home.path()))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| missing("gnome-keyring-daemon", e));
        // The login keyring's password: it is made, and unlocked, with it.
        let mut stdin = keyring.stdin.take().expect("piped");
        stdin
            .write_all(b"test keyring")
            .expect("the keyring's password");
        drop(stdin);
        let service = Self {
            bus,
            keyring,
            address,
            home,
        };
        service.wait_ready();
        service
    }

    /// The environment a process needs to use this keyring (and not the user's).
    pub fn env(&self) -> Vec<(&'static str, std::ffi::OsString)> {
        env_for(&self.address, self.home.path())
    }

    /// How many items the keyring holds with the attribute `service` set to `service` (the
    /// `keyring` crate's entries of that service).
    pub fn items(&self, service: &str) -> usize {
        let reply = Command::new("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.secrets",
                "/org/freedesktop/secrets",
                "org.freedesktop.Secret.Service.SearchItems",
                &format!("dict:string:string:service,{service}"),
            ])
            .envs(self.env())
            .output()
            .unwrap_or_else(|e| missing("dbus-send", e));
        assert!(reply.status.success(), "SearchItems failed: {reply:?}");
        String::from_utf8_lossy(&reply.stdout)
            .matches("object path \"/org/freedesktop/secrets/collection/")
            .count()
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let reply = Command::new("dbus-send")
                .args([
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.NameHasOwner",
                    "string:org.freedesktop.secrets",
                ])
                .envs(self.env())
                .output()
                .unwrap_or_else(|e| missing("dbus-send", e));
            if String::from_utf8_lossy(&reply.stdout).contains("boolean true") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "gnome-keyring-daemon did not come up on the private bus"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for SecretService {
    fn drop(&mut self) {
        for child in [&mut self.keyring, &mut self.bus] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn env_for(address: &str, home: &Path) -> Vec<(&'static str, std::ffi::OsString)> {
    vec![
        ("DBUS_SESSION_BUS_ADDRESS", address.into()),
        ("HOME", home.into()),
        ("XDG_RUNTIME_DIR", home.into()),
        ("XDG_DATA_HOME", home.join("data").into()),
    ]
}

fn missing(program: &str, e: std::io::Error) -> ! {
    panic!(
        "{program}: {e}. The keyring tests need a Secret Service: install dbus-daemon, \
         dbus-bin and gnome-keyring (.ci/run does)"
    )
}
