//! Signalling primitives against their peers, side by side in each criterion group.
//!
//! `event_ping_pong`: two tasks on a 2-worker tokio runtime hand a signal back and
//! forth 1000 times (a round trip = ping set + pong set). Ours is `sync::Event`
//! (`wait`, `clear`, `set`); the peers are tokio's `Notify` (`notified`,
//! `notify_one`) and event-listener with an `AtomicBool` flag.
//!
//! `condvar_ping_pong`: the same two tasks pass a turn through a mutex-guarded flag,
//! 1000 round trips: ours is `Mutex` + `Condvar::wait_until` + `notify_one`; the
//! peer is the same built from tokio's `Mutex` and `Notify` (tokio has no condvar).
//!
//! `barrier_rounds`: 2, 8 or 32 tasks on a 2-worker tokio runtime each wait at one
//! barrier 100 times; the time is divided by the rounds. Peers: tokio's and
//! async-lock's `Barrier`.
//!
//! Run with `cargo bench --bench signal`.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use tokio::runtime::Runtime;

const ROUND_TRIPS: u64 = 1000;
const BARRIER_ROUNDS: u64 = 100;

/// A fresh 2-worker runtime per sample, built outside the timing (see
/// benches/README.md).
fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("build a 2-worker tokio runtime")
}

/// A one-shot signal, as each crate spells it.
trait Signal: Send + Sync + 'static {
    fn new() -> Self;
    fn raise(&self);
    fn take(&self) -> impl Future<Output = ()> + Send + '_;
}

impl Signal for async_patterns::sync::Event {
    fn new() -> Self {
        Self::new()
    }
    fn raise(&self) {
        self.set();
    }
    async fn take(&self) {
        self.wait().await;
        self.clear();
    }
}

impl Signal for tokio::sync::Notify {
    fn new() -> Self {
        Self::new()
    }
    fn raise(&self) {
        self.notify_one();
    }
    async fn take(&self) {
        self.notified().await;
    }
}

/// event-listener plus a flag: the hand-written equivalent.
struct ListenerFlag {
    flag: AtomicBool,
    event: event_listener::Event,
}

impl Signal for ListenerFlag {
    fn new() -> Self {
        Self {
            flag: AtomicBool::new(false),
            event: event_listener::Event::new(),
        }
    }
    fn raise(&self) {
        self.flag.store(true, Ordering::Release);
        self.event.notify(1);
    }
    async fn take(&self) {
        loop {
            if self.flag.swap(false, Ordering::AcqRel) {
                return;
            }
            let listener = self.event.listen();
            if self.flag.swap(false, Ordering::AcqRel) {
                return;
            }
            listener.await;
        }
    }
}

fn ping_pong<S: Signal>(iters: u64) -> Duration {
    let rt = runtime();
    let mut elapsed = Duration::ZERO;
    for _ in 0..iters {
        let (ping, pong) = (Arc::new(S::new()), Arc::new(S::new()));
        elapsed += rt.block_on(async {
            let start = Instant::now();
            let other = {
                let (ping, pong) = (ping.clone(), pong.clone());
                tokio::spawn(async move {
                    for _ in 0..ROUND_TRIPS {
                        ping.take().await;
                        pong.raise();
                    }
                })
            };
            let this = tokio::spawn(async move {
                for _ in 0..ROUND_TRIPS {
                    ping.raise();
                    pong.take().await;
                }
            });
            this.await.expect("ping task");
            other.await.expect("pong task");
            start.elapsed()
        });
    }
    elapsed
}

fn event_ping_pong(c: &mut Criterion) {
    let mut group = c.benchmark_group("event_ping_pong");
    group.sample_size(20).sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Elements(ROUND_TRIPS));
    group.bench_function("async-patterns", |b| {
        b.iter_custom(ping_pong::<async_patterns::sync::Event>)
    });
    group.bench_function("tokio", |b| b.iter_custom(ping_pong::<tokio::sync::Notify>));
    group.bench_function("event-listener", |b| {
        b.iter_custom(ping_pong::<ListenerFlag>)
    });
    group.finish();
}

/// Two tasks taking turns through a flag guarded by a mutex, as each crate spells a
/// condition variable.
trait Turns: Send + Sync + 'static {
    fn new() -> Self;
    /// Waits until the flag says `mine`, then hands the turn to the other side.
    fn take_turn(&self, mine: bool) -> impl Future<Output = ()> + Send + '_;
}

struct OurTurns {
    turn: async_patterns::sync::Mutex<bool>,
    changed: async_patterns::sync::Condvar,
}

impl Turns for OurTurns {
    fn new() -> Self {
        Self {
            turn: async_patterns::sync::Mutex::new(false),
            changed: async_patterns::sync::Condvar::new(),
        }
    }
    async fn take_turn(&self, mine: bool) {
        let guard = self.turn.lock().await;
        let mut guard = self.changed.wait_until(guard, |turn| *turn == mine).await;
        *guard = !mine;
        drop(guard);
        self.changed.notify_one();
    }
}

/// tokio's recommended condition-variable pattern: register with `Notify` while the
/// lock is held (`enable`), unlock, wait.
struct TokioTurns {
    turn: tokio::sync::Mutex<bool>,
    changed: tokio::sync::Notify,
}

impl Turns for TokioTurns {
    fn new() -> Self {
        Self {
            turn: tokio::sync::Mutex::new(false),
            changed: tokio::sync::Notify::new(),
        }
    }
    async fn take_turn(&self, mine: bool) {
        loop {
            let mut guard = self.turn.lock().await;
            if *guard == mine {
                *guard = !mine;
                drop(guard);
                self.changed.notify_one();
                return;
            }
            let notified = self.changed.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            drop(guard);
            notified.await;
        }
    }
}

fn turns<T: Turns>(iters: u64) -> Duration {
    let rt = runtime();
    let mut elapsed = Duration::ZERO;
    for _ in 0..iters {
        let shared = Arc::new(T::new());
        elapsed += rt.block_on(async {
            let start = Instant::now();
            let tasks: Vec<_> = [false, true]
                .into_iter()
                .map(|mine| {
                    let shared = shared.clone();
                    tokio::spawn(async move {
                        for _ in 0..ROUND_TRIPS {
                            shared.take_turn(mine).await;
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await.expect("turn task");
            }
            start.elapsed()
        });
    }
    elapsed
}

fn condvar_ping_pong(c: &mut Criterion) {
    let mut group = c.benchmark_group("condvar_ping_pong");
    group.sample_size(20).sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Elements(ROUND_TRIPS));
    group.bench_function("async-patterns", |b| b.iter_custom(turns::<OurTurns>));
    group.bench_function("tokio", |b| b.iter_custom(turns::<TokioTurns>));
    group.finish();
}

/// A barrier, as each crate spells it; the leader count is checked per run.
trait RoundBarrier: Send + Sync + 'static {
    fn new(parties: usize) -> Self;
    /// Waits for the round; returns whether this task is the leader.
    fn meet(&self) -> impl Future<Output = bool> + Send + '_;
}

impl RoundBarrier for async_patterns::sync::Barrier {
    fn new(parties: usize) -> Self {
        Self::new(parties)
    }
    async fn meet(&self) -> bool {
        self.wait().await.expect("never aborted").is_leader()
    }
}

impl RoundBarrier for tokio::sync::Barrier {
    fn new(parties: usize) -> Self {
        Self::new(parties)
    }
    async fn meet(&self) -> bool {
        self.wait().await.is_leader()
    }
}

impl RoundBarrier for async_lock::Barrier {
    fn new(parties: usize) -> Self {
        Self::new(parties)
    }
    async fn meet(&self) -> bool {
        self.wait().await.is_leader()
    }
}

fn rounds<B: RoundBarrier>(tasks: usize, iters: u64) -> Duration {
    let rt = runtime();
    let mut elapsed = Duration::ZERO;
    for _ in 0..iters {
        let barrier = Arc::new(B::new(tasks));
        elapsed += rt.block_on(async {
            let start = Instant::now();
            let handles: Vec<_> = (0..tasks)
                .map(|_| {
                    let barrier = barrier.clone();
                    tokio::spawn(async move {
                        let mut led = 0;
                        for _ in 0..BARRIER_ROUNDS {
                            led += u64::from(barrier.meet().await);
                        }
                        led
                    })
                })
                .collect();
            let mut leaders = 0;
            for handle in handles {
                leaders += handle.await.expect("barrier task");
            }
            assert_eq!(leaders, BARRIER_ROUNDS, "one leader per round");
            start.elapsed()
        });
    }
    elapsed
}

fn barrier_rounds(c: &mut Criterion) {
    let mut group = c.benchmark_group("barrier_rounds");
    group.sample_size(20).sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Elements(BARRIER_ROUNDS));
    for tasks in [2, 8, 32] {
        group.bench_function(format!("async-patterns/{tasks}"), |b| {
            b.iter_custom(|iters| rounds::<async_patterns::sync::Barrier>(tasks, iters))
        });
        group.bench_function(format!("tokio/{tasks}"), |b| {
            b.iter_custom(|iters| rounds::<tokio::sync::Barrier>(tasks, iters))
        });
        group.bench_function(format!("async-lock/{tasks}"), |b| {
            b.iter_custom(|iters| rounds::<async_lock::Barrier>(tasks, iters))
        });
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = event_ping_pong, condvar_ping_pong, barrier_rounds
}
criterion_main!(benches);
