//! `task` and `future` combinators against their peers, side by side in each
//! criterion group. Everything runs on one thread: the futures are driven by
//! `futures::executor::block_on` (the same executor for both sides), or polled by
//! hand where the executor would only add noise (`token_cancel_1k`).
//!
//! `taskset_ready_10k`: push [`READY`] futures that are ready at once
//! (`std::future::Ready<u64>`) into a fresh set, then take every output with
//! `join_next` until the set is empty (the sum is checked). Ours is `TaskSet`; the
//! peer is `futures::stream::FuturesUnordered` (`push`, `next`). Each iteration
//! builds, fills, drains and drops its own set.
//!
//! `taskset_wake_1k`: [`PARKED`] futures of one type ([`Parked`]) that park their
//! waker in a shared slot array and stay pending until their flag is set. The set
//! is filled and polled until every future has parked its waker, outside the
//! timing; then, timed, the futures are woken one at a time, in push order, each
//! wake followed by one `join_next` / `next` that must return that future's
//! output. So one row is: one wake through the set's per-future waker + one
//! `join_next` that polls only the woken future. Same set types as above.
//!
//! `join_all_100`: [`JOINED`] futures that yield once (our `future::yield_now`,
//! then return their index), joined by `future::join_all` (ours) or
//! `futures::future::join_all` (which, above 30 futures, runs them in a
//! `FuturesOrdered`); the outputs are checked.
//!
//! `race_100`: [`RACED`] futures of one type: the one at index [`WINNER`] yields
//! once and then returns its index, every other one is pending forever. So each
//! side has to poll all of them at least once, see them all pending, be woken by
//! the winner's yield and find it on the second pass; the losers are dropped
//! before the call returns (ours drops them in `race`, the peer's come back from
//! `select_all` and are dropped with its result). Ours is `future::race` over the
//! futures unboxed (its API takes any `Future`, no `Unpin` needed), and again over
//! `Box::pin`ned futures (`async-patterns-boxed`) for a like-for-like comparison
//! with the peer, `futures::future::select_all`, which needs `Unpin` futures and
//! gets them `Box::pin`ned.
//!
//! `token_cancel_1k`: [`WAITERS`] `cancelled()` futures of one token, each boxed
//! and polled once (it registers its waker) outside the timing; timed: `cancel()`
//! and then one poll of every waiter, which must be `Ready`. All waiters share one
//! counting waker; the count of wakes is checked. Ours is
//! `task::CancellationToken`; the peer is `tokio_util::sync::CancellationToken`.
//! A fresh token per iteration (cancellation is final).
//!
//! Run with `cargo bench --bench tasks`, or one group with e.g.
//! `cargo bench --bench tasks -- race_100`.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use async_patterns::future::yield_now;
use async_patterns::task::TaskSet;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::StreamExt;
use futures::executor::block_on;
use futures::stream::FuturesUnordered;

/// Futures per iteration of `taskset_ready_10k`.
const READY: u64 = 10_000;
/// Futures per iteration of `taskset_wake_1k`.
const PARKED: usize = 1_000;
/// Futures per iteration of `join_all_100`.
const JOINED: usize = 100;
/// Futures per iteration of `race_100`.
const RACED: usize = 100;
/// The index of the one future of `race_100` that finishes.
const WINNER: usize = 57;
/// Waiters per iteration of `token_cancel_1k`.
const WAITERS: usize = 1_000;

// ---------------------------------------------------------------------------
// 1. taskset_ready_10k
// ---------------------------------------------------------------------------

fn taskset_ready_10k(c: &mut Criterion) {
    let mut group = c.benchmark_group("taskset_ready_10k");
    // About 1 ms per iteration: 100 samples would not fit in the measurement time.
    group.sample_size(50);
    group.throughput(Throughput::Elements(READY));
    let expected = READY * (READY - 1) / 2;
    group.bench_function("async-patterns", |b| {
        b.iter(|| {
            block_on(async {
                let mut set = TaskSet::new();
                for i in 0..READY {
                    set.push(std::future::ready(black_box(i)));
                }
                let mut sum = 0;
                while let Some(i) = set.join_next().await {
                    sum += i;
                }
                assert_eq!(sum, expected);
            })
        })
    });
    group.bench_function("futures", |b| {
        b.iter(|| {
            block_on(async {
                let mut set = FuturesUnordered::new();
                for i in 0..READY {
                    set.push(std::future::ready(black_box(i)));
                }
                let mut sum = 0;
                while let Some(i) = set.next().await {
                    sum += i;
                }
                assert_eq!(sum, expected);
            })
        })
    });
    group.finish();
}

// ---------------------------------------------------------------------------
// 2. taskset_wake_1k
// ---------------------------------------------------------------------------

/// The slots [`Parked`] futures park their wakers in (one thread, hence `Rc`).
struct Slots {
    entries: Box<[Entry]>,
    /// Futures that have parked a waker at least once.
    registered: Cell<usize>,
}

struct Entry {
    woken: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl Slots {
    fn new(n: usize) -> Rc<Self> {
        Rc::new(Self {
            entries: (0..n)
                .map(|_| Entry {
                    woken: Cell::new(false),
                    waker: RefCell::new(None),
                })
                .collect(),
            registered: Cell::new(0),
        })
    }

    /// Sets slot `i`'s flag and wakes the waker parked there.
    fn wake(&self, i: usize) {
        let entry = &self.entries[i];
        entry.woken.set(true);
        let waker = entry.waker.borrow_mut().take();
        waker.expect("the future parked its waker").wake();
    }
}

/// Pending, with its waker parked in slot `index`, until that slot's flag is set;
/// then `Ready(index)`.
struct Parked {
    slots: Rc<Slots>,
    index: usize,
}

impl Future for Parked {
    type Output = usize;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        let entry = &self.slots.entries[self.index];
        if entry.woken.get() {
            return Poll::Ready(self.index);
        }
        let mut parked = entry.waker.borrow_mut();
        match &mut *parked {
            Some(waker) => waker.clone_from(cx.waker()),
            None => {
                *parked = Some(cx.waker().clone());
                self.slots.registered.set(self.slots.registered.get() + 1);
            }
        }
        Poll::Pending
    }
}

/// A set of futures, as each crate spells it.
trait Set<F: Future>: Default {
    fn add(&mut self, future: F);
    fn next_output(&mut self) -> impl Future<Output = Option<F::Output>> + '_;
}

impl<F: Future> Set<F> for TaskSet<F> {
    fn add(&mut self, future: F) {
        self.push(future);
    }
    fn next_output(&mut self) -> impl Future<Output = Option<F::Output>> + '_ {
        self.join_next()
    }
}

impl<F: Future> Set<F> for FuturesUnordered<F> {
    fn add(&mut self, future: F) {
        self.push(future);
    }
    fn next_output(&mut self) -> impl Future<Output = Option<F::Output>> + '_ {
        self.next()
    }
}

/// Times `iters` runs of: wake [`PARKED`] parked futures one at a time, each
/// followed by taking its output from the set. Filling the set and the polls that
/// park every waker are not timed.
fn wake_one_by_one<S: Set<Parked>>(iters: u64) -> Duration {
    let mut elapsed = Duration::ZERO;
    for _ in 0..iters {
        let slots = Slots::new(PARKED);
        let mut set = S::default();
        for index in 0..PARKED {
            set.add(Parked {
                slots: Rc::clone(&slots),
                index,
            });
        }
        elapsed += block_on(async {
            // A set may poll only some of its futures per poll (ours: 32), so poll
            // until every one has parked its waker.
            while slots.registered.get() < PARKED {
                let polled = futures::poll!(std::pin::pin!(set.next_output()));
                assert!(polled.is_pending(), "nothing is woken yet");
            }
            let start = Instant::now();
            for i in 0..PARKED {
                slots.wake(i);
                assert_eq!(set.next_output().await, Some(i));
            }
            start.elapsed()
        });
    }
    elapsed
}

fn taskset_wake_1k(c: &mut Criterion) {
    let mut group = c.benchmark_group("taskset_wake_1k");
    group.throughput(Throughput::Elements(PARKED as u64));
    group.bench_function("async-patterns", |b| {
        b.iter_custom(wake_one_by_one::<TaskSet<Parked>>)
    });
    group.bench_function("futures", |b| {
        b.iter_custom(wake_one_by_one::<FuturesUnordered<Parked>>)
    });
    group.finish();
}

// ---------------------------------------------------------------------------
// 3. join_all_100
// ---------------------------------------------------------------------------

/// Yields once, then returns `i`.
async fn yield_then(i: usize) -> usize {
    yield_now().await;
    i
}

fn join_all_100(c: &mut Criterion) {
    let mut group = c.benchmark_group("join_all_100");
    group.throughput(Throughput::Elements(JOINED as u64));
    group.bench_function("async-patterns", |b| {
        b.iter(|| {
            let outputs = block_on(async_patterns::future::join_all(
                (0..black_box(JOINED)).map(yield_then),
            ));
            assert!(outputs.into_iter().eq(0..JOINED));
        })
    });
    group.bench_function("futures", |b| {
        b.iter(|| {
            let outputs = block_on(futures::future::join_all(
                (0..black_box(JOINED)).map(yield_then),
            ));
            assert!(outputs.into_iter().eq(0..JOINED));
        })
    });
    group.finish();
}

// ---------------------------------------------------------------------------
// 4. race_100
// ---------------------------------------------------------------------------

/// The future at [`WINNER`] yields once and returns its index; the others never
/// finish.
async fn contender(i: usize) -> usize {
    if i == WINNER {
        yield_now().await;
        i
    } else {
        std::future::pending().await
    }
}

fn race_100(c: &mut Criterion) {
    let mut group = c.benchmark_group("race_100");
    group.throughput(Throughput::Elements(RACED as u64));
    group.bench_function("async-patterns", |b| {
        b.iter(|| {
            let won = block_on(async_patterns::future::race(
                (0..black_box(RACED)).map(contender),
            ));
            assert_eq!(won, Some((WINNER, WINNER)));
        })
    });
    group.bench_function("async-patterns-boxed", |b| {
        b.iter(|| {
            let won = block_on(async_patterns::future::race(
                (0..black_box(RACED)).map(|i| Box::pin(contender(i))),
            ));
            assert_eq!(won, Some((WINNER, WINNER)));
        })
    });
    group.bench_function("futures", |b| {
        b.iter(|| {
            let (output, index, rest) = block_on(futures::future::select_all(
                (0..black_box(RACED)).map(|i| Box::pin(contender(i))),
            ));
            assert_eq!((index, output, rest.len()), (WINNER, WINNER, RACED - 1));
        })
    });
    group.finish();
}

// ---------------------------------------------------------------------------
// 5. token_cancel_1k
// ---------------------------------------------------------------------------

/// A cancellation token, as each crate spells it.
trait Token {
    fn new() -> Self;
    fn cancel(&self);
    fn cancelled(&self) -> impl Future<Output = ()> + '_;
}

impl Token for async_patterns::task::CancellationToken {
    fn new() -> Self {
        Self::new()
    }
    fn cancel(&self) {
        self.cancel();
    }
    fn cancelled(&self) -> impl Future<Output = ()> + '_ {
        self.cancelled()
    }
}

impl Token for tokio_util::sync::CancellationToken {
    fn new() -> Self {
        Self::new()
    }
    fn cancel(&self) {
        self.cancel();
    }
    fn cancelled(&self) -> impl Future<Output = ()> + '_ {
        self.cancelled()
    }
}

/// A waker that counts its wakes.
#[derive(Default)]
struct CountingWaker {
    wakes: AtomicUsize,
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::Relaxed);
    }
}

/// Times `iters` runs of: `cancel()` with [`WAITERS`] registered waiters, then one
/// poll of each, which must be `Ready`. Making and registering the waiters, and
/// dropping them, are not timed.
fn cancel_waiters<T: Token>(iters: u64) -> Duration {
    let counter = Arc::new(CountingWaker::default());
    let waker = Waker::from(Arc::clone(&counter));
    let mut cx = Context::from_waker(&waker);
    let mut elapsed = Duration::ZERO;
    for _ in 0..iters {
        let token = T::new();
        let mut waiters: Vec<_> = (0..WAITERS).map(|_| Box::pin(token.cancelled())).collect();
        for waiter in &mut waiters {
            assert!(waiter.as_mut().poll(&mut cx).is_pending());
        }
        counter.wakes.store(0, Ordering::Relaxed);
        let start = Instant::now();
        black_box(&token).cancel();
        for waiter in &mut waiters {
            assert!(waiter.as_mut().poll(&mut cx).is_ready());
        }
        elapsed += start.elapsed();
        assert_eq!(counter.wakes.load(Ordering::Relaxed), WAITERS);
    }
    elapsed
}

fn token_cancel_1k(c: &mut Criterion) {
    let mut group = c.benchmark_group("token_cancel_1k");
    group.throughput(Throughput::Elements(WAITERS as u64));
    group.bench_function("async-patterns", |b| {
        b.iter_custom(cancel_waiters::<async_patterns::task::CancellationToken>)
    });
    group.bench_function("tokio-util", |b| {
        b.iter_custom(cancel_waiters::<tokio_util::sync::CancellationToken>)
    });
    group.finish();
}

/// No plots, as in benches/queue.rs: the console figures are what the README uses.
fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .without_plots()
}

criterion_group! {
    name = benches;
    config = config();
    targets = taskset_ready_10k, taskset_wake_1k, join_all_100, race_100, token_cancel_1k
}
criterion_main!(benches);
