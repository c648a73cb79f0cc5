//! conclave-storage (plain SQLite and encrypted with SQLCipher) against openmls's in-memory
//! storage, in one run, and the history tables plain and encrypted.
//!
//! `cargo bench -p conclave-storage` (N = 10, 100, 1000; `CONCLAVE_BENCH_NS=10,100` picks
//! others). Figures are recorded in docs/PERFORMANCE.md.

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use common::{Device, Mode, id, sizes};
use conclave_protocol::GroupId;
use conclave_storage::{ConversationId, MessageKind, MessageState, NewMessage, Store};
use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};

fn configure<'a>(
    c: &'a mut Criterion,
    name: &str,
) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group(name);
    g.sampling_mode(SamplingMode::Flat);
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(300));
    g.measurement_time(Duration::from_secs(3));
    g
}

fn bench_group_ops(c: &mut Criterion) {
    for n in sizes() {
        for mode in [Mode::Memory, Mode::Sqlite, Mode::Sqlcipher] {
            // Creator and receiver in this mode; the other members only supply key packages.
            let mut creator = Device::with_mode(mode, 0);
            let mut receiver = Device::with_mode(mode, 1);
            let mut kps = vec![receiver.key_package()];
            let mut others: Vec<Device> = (2..n.max(2)).map(|i| Device::new(false, i)).collect();
            kps.extend(others.iter_mut().map(Device::key_package));
            let (welcome, tree) = creator.create_and_add(&kps);
            receiver.join(&welcome, &tree);

            let mut g = configure(c, "commit_self_update");
            g.bench_function(BenchmarkId::new(mode.name(), n), |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let start = Instant::now();
                        let commit = creator.commit();
                        total += start.elapsed();
                        receiver.process(&commit);
                    }
                    total
                })
            });
            g.finish();

            let mut g = configure(c, "process_commit");
            g.bench_function(BenchmarkId::new(mode.name(), n), |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let commit = creator.commit();
                        let start = Instant::now();
                        receiver.process(&commit);
                        total += start.elapsed();
                    }
                    total
                })
            });
            g.finish();

            let payload = vec![0x42u8; 1024];
            let mut g = configure(c, "app_message_1kib_encrypt_decrypt");
            // No past epoch is kept (the default), so this is also the cost right after a
            // commit.
            g.bench_function(BenchmarkId::new(mode.name(), n), |b| {
                b.iter(|| {
                    let m = creator.encrypt(&payload);
                    receiver.process(&m);
                })
            });
            g.finish();

            // Joins: a pool of joiners in this mode, one Welcome for all of them (and the
            // key-package-only members); a new Welcome when the pool is used up.
            let pool = n.clamp(2, 16);
            let mut g = configure(c, "join_from_welcome");
            g.bench_function(BenchmarkId::new(mode.name(), n), |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    let mut done = 0;
                    while done < iters {
                        let mut joiners: Vec<Device> = (0..pool)
                            .map(|i| Device::with_mode(mode, 10_000 + i))
                            .collect();
                        let mut kps: Vec<Vec<u8>> =
                            joiners.iter_mut().map(Device::key_package).collect();
                        kps.extend(
                            others
                                .iter_mut()
                                .take(n.saturating_sub(pool + 1))
                                .map(Device::key_package),
                        );
                        let mut fresh_creator = Device::new(false, 0);
                        let (welcome, tree) = fresh_creator.create_and_add(&kps);
                        for joiner in joiners.iter_mut() {
                            if done == iters {
                                break;
                            }
                            let start = Instant::now();
                            joiner.join(&welcome, &tree);
                            total += start.elapsed();
                            done += 1;
                        }
                    }
                    total
                })
            });
            g.finish();
        }
    }
}

const WORDS: &[&str] = &[
    "lunch", "meeting", "tomorrow", "project", "deadline", "coffee", "review", "release", "team",
    "weekend", "travel", "budget", "design", "server", "client", "message", "group", "secure",
    "update", "question", "answer", "today", "later", "thanks", "great", "idea", "plan", "call",
];

fn body(n: u64) -> String {
    // A deterministic mix of 6 to 14 words, plus a unique token.
    let mut x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let len = 6 + (x % 9) as usize;
    let mut words = Vec::with_capacity(len + 1);
    for _ in 0..len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        words.push(WORDS[(x % WORDS.len() as u64) as usize]);
    }
    format!("{} token{n}", words.join(" "))
}

fn message(conversation: ConversationId, n: u64) -> NewMessage {
    NewMessage {
        conversation,
        uid: n.to_be_bytes().to_vec(),
        sender: id((n % 7) as usize),
        sent_at: n as i64,
        received_at: Some(n as i64),
        body: body(n),
        state: MessageState::Received,
        server_seq: Some(n),
        outgoing: false,
        kind: MessageKind::Text,
        reply_to: None,
        expires_at: None,
        attachment: None,
    }
}

fn bench_history(c: &mut Criterion) {
    const BATCH: u64 = 1_000;
    let dir = tempfile::tempdir().unwrap();
    let new_conversation = |store: &mut Store| {
        let tx = store.transaction().unwrap();
        let c = tx
            .create_conversation(&GroupId::from_bytes(vec![1; 16]), "history", 0)
            .unwrap();
        tx.commit().unwrap();
        c
    };

    // Batch insert: transactions of 1,000 messages into one conversation, for as long as
    // criterion samples (the store grows from empty to a few hundred thousand messages).
    for mode in [Mode::Sqlite, Mode::Sqlcipher] {
        let mut store = mode.open(&dir.path().join(format!("insert-{}.sqlite", mode.name())));
        let conversation = new_conversation(&mut store);
        let mut g = configure(c, "history_insert_batch_of_1000");
        g.throughput(Throughput::Elements(BATCH));
        let mut next = 0u64;
        g.bench_function(mode.name(), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    let tx = store.transaction().unwrap();
                    for _ in 0..BATCH {
                        tx.insert_message(&message(conversation, next))
                            .unwrap()
                            .unwrap();
                        next += 1;
                    }
                    tx.commit().unwrap();
                    total += start.elapsed();
                }
                total
            })
        });
        g.finish();
    }

    for mode in [Mode::Sqlite, Mode::Sqlcipher] {
        bench_queries(c, mode, dir.path());
    }
}

/// Queries on exactly 100,000 messages.
fn bench_queries(c: &mut Criterion, mode: Mode, dir: &std::path::Path) {
    const TOTAL: u64 = 100_000;
    const BATCH: u64 = 1_000;
    let mut store = mode.open(&dir.join(format!("history-{}.sqlite", mode.name())));
    let conversation = {
        let tx = store.transaction().unwrap();
        let c = tx
            .create_conversation(&GroupId::from_bytes(vec![1; 16]), "history", 0)
            .unwrap();
        tx.commit().unwrap();
        c
    };
    for batch in 0..TOTAL / BATCH {
        let tx = store.transaction().unwrap();
        for n in batch * BATCH..(batch + 1) * BATCH {
            tx.insert_message(&message(conversation, n))
                .unwrap()
                .unwrap();
        }
        tx.commit().unwrap();
    }

    let mut g = configure(c, "history_100k");
    let middle = {
        let tx = store.transaction().unwrap();
        let page = tx.history(conversation, None, 50_000).unwrap();
        page.last().unwrap().id
    };
    let id = |what: &str| BenchmarkId::new(what, mode.name());
    g.bench_function(id("page_of_50_newest"), |b| {
        b.iter(|| {
            let tx = store.transaction().unwrap();
            black_box(tx.history(conversation, None, 50).unwrap())
        })
    });
    g.bench_function(id("page_of_50_middle"), |b| {
        b.iter(|| {
            let tx = store.transaction().unwrap();
            black_box(tx.history(conversation, Some(middle), 50).unwrap())
        })
    });
    g.bench_function(id("fts_one_word_top_50"), |b| {
        b.iter(|| {
            let tx = store.transaction().unwrap();
            black_box(tx.search("deadline", 50).unwrap())
        })
    });
    g.bench_function(id("fts_two_words_top_50"), |b| {
        b.iter(|| {
            let tx = store.transaction().unwrap();
            black_box(tx.search("coffee budget", 50).unwrap())
        })
    });
    g.bench_function(id("fts_rare_token"), |b| {
        b.iter(|| {
            let tx = store.transaction().unwrap();
            let hits = tx.search("token77777", 50).unwrap();
            assert_eq!(hits.len(), 1);
            black_box(hits)
        })
    });
    g.bench_function(id("unread_count"), |b| {
        b.iter(|| {
            let tx = store.transaction().unwrap();
            black_box(tx.unread_count(conversation).unwrap())
        })
    });
    g.finish();
}

criterion_group!(benches, bench_history, bench_group_ops);
criterion_main!(benches);
