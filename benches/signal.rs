//! Signalling primitives against their peers, side by side in each criterion group.
//!
//! `event_ping_pong`: two tasks on a 2-worker tokio runtime hand a signal back and
//! forth 1000 times (a round trip = ping set + pong set). Ours is `sync::Event`
//! (`wait`, `clear`, `set`); the peers are tokio's `Notify` (`notified`,
//! `notify_one`) and event-listener with an `AtomicBool` flag.
//!
//! Run with `cargo bench --bench signal`.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use tokio::runtime::Runtime;

const ROUND_TRIPS: u64 = 1000;

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
    // A fresh runtime per sample, outside the timing (see benches/README.md).
    let rt: Runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("build a 2-worker tokio runtime");
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

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = event_ping_pong
}
criterion_main!(benches);
