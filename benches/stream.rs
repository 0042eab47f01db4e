//! `stream::generate` and `time::retry` against their peers, side by side in each
//! criterion group. Everything runs on one thread, driven by
//! `futures::executor::block_on` (the same executor for every side).
//!
//! `generate_1m`: a stream of the [`ITEMS`] `u64`s `0..ITEMS`, consumed by one
//! shared loop ([`sum`]: the stream pinned on the stack, `StreamExt::next` until
//! `None`, every item through `black_box` and added up; the sum is checked). Ours
//! is `stream::generate` with a body that `emit`s each item; the peers are
//! `async_stream::stream!` with `yield` (the generator macro) and
//! `futures::stream::unfold` (a hand-written state machine, no generator at all:
//! the floor). Each iteration builds, drains and drops its own stream, so ours
//! pays its one `Arc` allocation per stream (per million items).
//!
//! `retry_ok`: [`CALLS`] sequential calls of an operation that succeeds at once
//! (an `async fn` returning `Ok(black_box(i))`): through `time::retry` (ours,
//! with `Backoff::exponential(100 ms)` built per call, as a caller would, and a
//! closure timer `|_| std::future::ready(())` that is never used; the `Retry`
//! future is awaited in the loop itself, as `retry(..).await` in a caller's code
//! is), and the same operation awaited directly (`direct`: the floor, what retry
//! adds on top). The sum of the outputs is checked.
//!
//! Before the groups run, [`check_allocations`] counts (with the counting
//! `#[global_allocator]` below, per thread) the allocations of one successful
//! `retry` call, asserts there are none, and prints it along with the allocations
//! of building and draining each stream of `generate_1m`. The counter costs a
//! thread-local update or two per allocation; the timed code allocates at most once
//! per million items.
//!
//! Run with `cargo bench --bench stream`, or one group with e.g.
//! `cargo bench --bench stream -- generate_1m`.

use std::hint::black_box;
use std::time::Duration;

use async_patterns::stream::generate;
use async_patterns::time::{Backoff, retry};
use criterion::{Criterion, Throughput, criterion_group};
use futures::executor::block_on;
use futures::{Stream, StreamExt};

/// Items per stream in `generate_1m`.
const ITEMS: u64 = 1_000_000;
/// Sequential calls per iteration of `retry_ok`.
const CALLS: u64 = 1_000;

// ---------------------------------------------------------------------------
// Counting allocator (shared with the memory tests)
// ---------------------------------------------------------------------------

#[path = "../tests/common/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::Counting;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The allocations this thread makes while running `f`, and `f`'s output.
fn allocations<R>(f: impl FnOnce() -> R) -> (usize, R) {
    let before = counting_alloc::allocations();
    let output = f();
    (counting_alloc::allocations() - before, output)
}

// ---------------------------------------------------------------------------
// 1. generate_1m
// ---------------------------------------------------------------------------

/// The sum of `0..ITEMS`.
const EXPECTED_SUM: u64 = ITEMS * (ITEMS - 1) / 2;

/// `0..n` from `stream::generate` (ours).
fn ours(n: u64) -> impl Stream<Item = u64> {
    generate(move |mut out| async move {
        for i in 0..n {
            out.emit(i).await;
        }
    })
}

/// `0..n` from `async_stream::stream!`.
fn async_stream(n: u64) -> impl Stream<Item = u64> {
    async_stream::stream! {
        for i in 0..n {
            yield i;
        }
    }
}

/// `0..n` from `futures::stream::unfold`.
fn unfold(n: u64) -> impl Stream<Item = u64> {
    futures::stream::unfold(0, move |i| async move { (i < n).then_some((i, i + 1)) })
}

/// The one consuming loop of every side: the sum of the items of `stream`.
fn sum(stream: impl Stream<Item = u64>) -> u64 {
    block_on(async {
        let mut stream = std::pin::pin!(stream);
        let mut sum = 0;
        while let Some(i) = stream.next().await {
            sum += black_box(i);
        }
        sum
    })
}

fn generate_1m(c: &mut Criterion) {
    let mut group = c.benchmark_group("generate_1m");
    // A few ms per iteration: 100 samples would not fit in the measurement time.
    group.sample_size(20);
    group.throughput(Throughput::Elements(ITEMS));
    group.bench_function("async-patterns", |b| {
        b.iter(|| assert_eq!(sum(ours(black_box(ITEMS))), EXPECTED_SUM))
    });
    group.bench_function("async-stream", |b| {
        b.iter(|| assert_eq!(sum(async_stream(black_box(ITEMS))), EXPECTED_SUM))
    });
    group.bench_function("futures-unfold", |b| {
        b.iter(|| assert_eq!(sum(unfold(black_box(ITEMS))), EXPECTED_SUM))
    });
    group.finish();
}

// ---------------------------------------------------------------------------
// 2. retry_ok
// ---------------------------------------------------------------------------

/// An operation that succeeds at once with `i`.
async fn succeed(i: u64) -> Result<u64, &'static str> {
    Ok(black_box(i))
}

/// One `retry` call over [`succeed`], with a fresh `Backoff` and a timer that is
/// never used (the `Retry` future itself, not wrapped in another `async fn`).
fn retried(i: u64) -> impl Future<Output = Result<u64, &'static str>> {
    let timer = |_d: Duration| std::future::ready(());
    retry(
        timer,
        Backoff::exponential(Duration::from_millis(100)),
        move || succeed(i),
    )
}

fn retry_ok(c: &mut Criterion) {
    let mut group = c.benchmark_group("retry_ok");
    group.throughput(Throughput::Elements(CALLS));
    let expected = CALLS * (CALLS - 1) / 2;
    group.bench_function("async-patterns", |b| {
        b.iter(|| {
            block_on(async {
                let mut sum = 0;
                for i in 0..black_box(CALLS) {
                    sum += retried(i).await.expect("the operation succeeds");
                }
                assert_eq!(sum, expected);
            })
        })
    });
    group.bench_function("direct", |b| {
        b.iter(|| {
            block_on(async {
                let mut sum = 0;
                for i in 0..black_box(CALLS) {
                    sum += succeed(i).await.expect("the operation succeeds");
                }
                assert_eq!(sum, expected);
            })
        })
    });
    group.finish();
}

// ---------------------------------------------------------------------------
// Allocations, checked once before the groups
// ---------------------------------------------------------------------------

/// Asserts that a successful `retry` call allocates nothing, and prints the
/// allocations of that call and of each stream of `generate_1m` (built and
/// drained once each; not asserted).
fn check_allocations() {
    // Warm up the executor's thread-locals first, so that they are not counted.
    block_on(async {});
    let (n, output) = allocations(|| block_on(retried(7)));
    assert_eq!(output, Ok(7));
    println!("allocations per successful retry call: {n}");
    assert_eq!(n, 0, "a retry that succeeds at once must not allocate");

    stream_allocations("async-patterns", || ours(ITEMS));
    stream_allocations("async-stream", || async_stream(ITEMS));
    stream_allocations("futures-unfold", || unfold(ITEMS));
}

/// Prints the allocations of building (with `make`) and draining one stream,
/// after checking its sum.
fn stream_allocations<S: Stream<Item = u64>>(name: &str, make: impl FnOnce() -> S) {
    let (n, total) = allocations(|| sum(make()));
    assert_eq!(total, EXPECTED_SUM);
    println!("allocations per generate_1m stream ({name}): {n}");
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
    targets = generate_1m, retry_ok
}

/// `criterion_main!`, with the allocation check first.
fn main() {
    check_allocations();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
