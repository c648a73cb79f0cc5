//! Convergence: 50 members, 200 random operations from random members, several at once so
//! that commits race, all through a real delivery service, and members restarting (closed,
//! then opened again from their profile) between them. Removals and promotions come from
//! admins; a member who is not one trying to remove someone is refused by its own client.
//! Removed members come back by invitation or by the group's invite link, and one admin's
//! profile is restored from a backup 50 operations old, after which it rejoins by itself.
//! At the end every member has the same epoch authenticator, member list, admins, name and
//! message history.
//!
//! The seed is printed; `CONCLAVE_SEED=N` replays a run.

mod support;

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use conclave_client::{Client, ConversationId, MessageState};
use futures_util::future::join_all;
use support::*;

const MEMBERS: usize = 50;
const OPERATIONS: usize = 200;
const AT_ONCE: usize = 4;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[derive(Debug)]
enum Action {
    Send(String),
    Rename(String),
    Rotate,
    Remove(usize),
    /// A member who is not an admin tries to remove someone: refused, nothing changes.
    RemoveRefused(usize),
    Promote(usize),
    Invite(usize),
    /// A removed member comes back by the invite link.
    LinkJoin(usize),
    /// Closes the member's client once the batch is done, and opens its profile again.
    Restart,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_members_two_hundred_random_operations_converge() {
    let seed = std::env::var("CONCLAVE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand_seed);
    eprintln!("CONCLAVE_SEED={seed}");
    let mut rng = Rng(seed | 1);
    let started = Instant::now();

    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("ds.sqlite")).await;
    let names: Vec<String> = (0..MEMBERS).map(|i| format!("m{i:02}")).collect();
    let mut clients: Vec<Client> = Vec::new();
    for chunk in names.chunks(10) {
        let made = join_all(chunk.iter().map(|n| client(dir.path(), n, &server))).await;
        clients.extend(made);
    }
    let others: Vec<_> = names[1..].iter().map(|n| user(n)).collect();
    let first = clients[0]
        .create_conversation("Converge", &others)
        .await
        .unwrap();
    sync_all(&clients).await;
    let mut conversation: HashMap<usize, ConversationId> = HashMap::new();
    for (i, c) in clients.iter().enumerate() {
        conversation.insert(i, same_conversation(c, &clients[0], first).await);
    }
    // The creator is the first admin and makes four more.
    let mut admins: BTreeSet<usize> = BTreeSet::from([0]);
    for (i, name) in names.iter().enumerate().take(5).skip(1) {
        clients[0].promote(first, &user(name)).await.unwrap();
        admins.insert(i);
    }
    let link = clients[0]
        .create_link(first, false, None)
        .await
        .unwrap()
        .to_text();
    // The admin whose profile comes back from a backup (admins are never removed here).
    const RESTORED: usize = 1;
    let backup = dir.path().join("backup");
    let mut restored = false;
    eprintln!("setup: {:?}", started.elapsed());

    let mut present: BTreeSet<usize> = (0..MEMBERS).collect();
    let mut ever_removed: BTreeSet<usize> = BTreeSet::new();
    let mut sent: Vec<String> = Vec::new();
    let mut counts: HashMap<&'static str, usize> = HashMap::new();
    let mut op = 0;
    while op < OPERATIONS {
        if op >= OPERATIONS / 2 && !backup.exists() {
            // Up to date when backed up: the group's rejoin key is the one it has.
            clients[RESTORED].sync().await.unwrap();
            drop(clients.remove(RESTORED));
            copy_dir(&dir.path().join(&names[RESTORED]), &backup);
            clients.insert(RESTORED, reopen(dir.path(), &names[RESTORED]).await);
        }
        if op >= 3 * OPERATIONS / 4 && backup.exists() && !restored {
            // Back from the backup, behind the group (what it read since is acknowledged,
            // so gone from the server): the next message it meets from a later epoch makes
            // it rejoin.
            clients[RESTORED].sync().await.unwrap();
            drop(clients.remove(RESTORED));
            std::fs::remove_dir_all(dir.path().join(&names[RESTORED])).unwrap();
            copy_dir(&backup, &dir.path().join(&names[RESTORED]));
            clients.insert(RESTORED, reopen(dir.path(), &names[RESTORED]).await);
            clients[0]
                .send_text(conversation[&0], "are you back?")
                .await
                .unwrap();
            sent.push("are you back?".into());
            clients[RESTORED].sync().await.unwrap();
            let lines: Vec<String> = clients[RESTORED]
                .history(conversation[&RESTORED], None, 50)
                .await
                .unwrap()
                .into_iter()
                .map(|m| m.message.body)
                .collect();
            assert!(
                lines.iter().any(|l| l.starts_with("this device rejoined")),
                "{lines:?}"
            );
            restored = true;
        }
        // Pick distinct actors and targets, so that the operations of one batch race in
        // the server without contradicting each other.
        let mut busy: BTreeSet<usize> = BTreeSet::new();
        let mut batch: Vec<(usize, Action)> = Vec::new();
        while batch.len() < AT_ONCE && op < OPERATIONS {
            let pool: Vec<usize> = present.difference(&busy).copied().collect();
            if pool.len() < 2 {
                break;
            }
            let roll = rng.below(100);
            // Removals and promotions are for admins; the refused removal for anyone else.
            let wants_admin = (10..24).contains(&roll);
            let fitting: Vec<usize> = pool
                .iter()
                .copied()
                .filter(|i| !wants_admin || admins.contains(i))
                .collect();
            let actor = if fitting.is_empty() {
                pool[rng.below(pool.len())]
            } else {
                fitting[rng.below(fitting.len())]
            };
            busy.insert(actor);
            let absent: Vec<usize> = (0..MEMBERS)
                .filter(|i| !present.contains(i) && !busy.contains(i))
                .collect();
            // Admins are never removed here, so the group always has one.
            let targets: Vec<usize> = present
                .iter()
                .copied()
                .filter(|i| !busy.contains(i) && !admins.contains(i))
                .collect();
            let is_admin = admins.contains(&actor);
            let action = if roll < 10 && !absent.is_empty() {
                let target = absent[rng.below(absent.len())];
                busy.insert(target);
                if roll < 5 {
                    Action::LinkJoin(target)
                } else {
                    Action::Invite(target)
                }
            } else if roll < 20
                && is_admin
                && targets.len() > 1
                && present.len() > MEMBERS / 2
                && (restored || !backup.exists())
            {
                // No removal while the backup waits: a removal changes the group's rejoin
                // key, and a device restored from before it needs an invitation back (see
                // `conclave_protocol::join_keys`).
                let target = targets[rng.below(targets.len())];
                busy.insert(target);
                Action::Remove(target)
            } else if roll < 23 && is_admin && !targets.is_empty() {
                let target = targets[rng.below(targets.len())];
                busy.insert(target);
                Action::Promote(target)
            } else if roll < 25 && !is_admin && !targets.is_empty() {
                Action::RemoveRefused(targets[rng.below(targets.len())])
            } else if roll < 32 {
                Action::Rename(format!("Converge {op}"))
            } else if roll < 45 {
                Action::Rotate
            } else if roll < 52 {
                Action::Restart
            } else {
                Action::Send(format!("op {op} from {}", names[actor]))
            };
            batch.push((actor, action));
            op += 1;
        }
        let results = join_all(batch.iter().map(|(actor, action)| {
            let client = &clients[*actor];
            let id = conversation[actor];
            let names = &names;
            let (clients, link) = (&clients, &link);
            async move {
                match action {
                    Action::Send(text) => client.send_text(id, text).await.map(|_| ()),
                    Action::Rename(name) => client.rename(id, name).await,
                    Action::Rotate => client.rotate_keys(id).await,
                    Action::Remove(t) => client.remove(id, &user(&names[*t])).await,
                    Action::Promote(t) => client.promote(id, &user(&names[*t])).await,
                    Action::RemoveRefused(t) => match client.remove(id, &user(&names[*t])).await {
                        Err(conclave_client::ClientError::NotPermitted(_)) => Ok(()),
                        Ok(()) => panic!("a member who is not an admin removed someone"),
                        Err(e) => Err(e),
                    },
                    Action::Invite(t) => client.invite(id, &user(&names[*t])).await,
                    Action::LinkJoin(t) => clients[*t].join_link(link).await.map(|_| ()),
                    Action::Restart => Ok(()),
                }
            }
        }))
        .await;
        for ((actor, action), result) in batch.into_iter().zip(results) {
            if let Err(e) = result {
                panic!("{} {action:?} failed: {e}", names[actor]);
            }
            let kind = match action {
                Action::Send(text) => {
                    sent.push(text);
                    "send"
                }
                Action::Rename(_) => "rename",
                Action::Rotate => "rotate",
                Action::Remove(t) => {
                    present.remove(&t);
                    ever_removed.insert(t);
                    "remove"
                }
                Action::Invite(t) => {
                    present.insert(t);
                    "invite"
                }
                Action::LinkJoin(t) => {
                    present.insert(t);
                    "link join"
                }
                Action::Promote(t) => {
                    admins.insert(t);
                    "promote"
                }
                Action::RemoveRefused(_) => "refused remove",
                Action::Restart => {
                    // Closed with whatever it had not sent or read yet; the profile must
                    // carry it across.
                    drop(clients.remove(actor));
                    clients.insert(actor, reopen(dir.path(), &names[actor]).await);
                    "restart"
                }
            };
            *counts.entry(kind).or_default() += 1;
        }
    }
    eprintln!("operations: {counts:?} in {:?}", started.elapsed());
    assert!(
        [
            "remove",
            "invite",
            "link join",
            "rename",
            "restart",
            "promote"
        ]
        .iter()
        .all(|kind| counts.get(kind).is_some_and(|n| *n > 0)),
        "{counts:?}"
    );

    // Everyone catches up (twice: a first pass may commit a follow-up others then see).
    for _ in 0..2 {
        sync_all(&clients).await;
    }

    let reference = present.iter().next().copied().unwrap();
    let expected = authenticator(&clients[reference], conversation[&reference]).await;
    let expected_name = clients[reference]
        .conversation(conversation[&reference])
        .await
        .unwrap()
        .name;
    let expected_members: BTreeSet<String> = present.iter().map(|i| names[*i].clone()).collect();
    let mut all_sent = sent.clone();
    all_sent.sort();
    for &i in &present {
        let client = &clients[i];
        let id = conversation[&i];
        assert_eq!(authenticator(client, id).await, expected, "{}", names[i]);
        assert_eq!(client.conversation(id).await.unwrap().name, expected_name);
        let listed = client.members(id).await.unwrap();
        let members: BTreeSet<String> = listed.iter().map(|m| m.id.user.to_string()).collect();
        assert_eq!(members, expected_members, "{}", names[i]);
        let admins_seen: BTreeSet<String> = listed
            .iter()
            .filter(|m| m.admin)
            .map(|m| m.id.user.to_string())
            .collect();
        let admins_expected: BTreeSet<String> = admins
            .iter()
            .filter(|a| present.contains(a))
            .map(|a| names[*a].clone())
            .collect();
        assert_eq!(admins_seen, admins_expected, "{}'s admins", names[i]);
        let history = client.history(id, None, 10_000).await.unwrap();
        assert!(
            history
                .iter()
                .all(|m| m.message.state != MessageState::Pending),
            "{} has unsent messages",
            names[i]
        );
        let mut texts: Vec<String> = texts(client, id)
            .await
            .into_iter()
            .map(|t| t.split_once(": ").unwrap().1.to_owned())
            .collect();
        texts.sort();
        if ever_removed.contains(&i) || i == RESTORED {
            // Back after a removal (or from a backup): what was said meanwhile was not for
            // it (or could not be read on it).
            let all: BTreeSet<&String> = all_sent.iter().collect();
            assert!(texts.iter().all(|t| all.contains(t)), "{}", names[i]);
        } else {
            assert_eq!(texts, all_sent, "{} has the whole history", names[i]);
        }
    }
    for i in (0..MEMBERS).filter(|i| !present.contains(i)) {
        let c = clients[i].conversation(conversation[&i]).await.unwrap();
        assert!(c.left_at.is_some(), "{} knows it was removed", names[i]);
    }
    eprintln!(
        "converged: {} members, epoch {}, {:?}",
        present.len(),
        expected.0,
        started.elapsed()
    );
    server.stop().await;
}

/// Syncs every client, ten at a time: the server shares this process's two cores with all
/// the clients, and fifty at once would starve it past the request timeout.
async fn sync_all(clients: &[Client]) {
    for chunk in clients.chunks(10) {
        join_all(chunk.iter().map(|c| async { c.sync().await.unwrap() })).await;
    }
}

fn rand_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(42)
}
