//! `async_patterns::sync` against its peers, side by side in each criterion group.
//!
//! Ours reads `async-patterns`; peers are named by crate (`async-lock`, `tokio`,
//! `futures`, and `std` as the synchronous floor).
//!
//! Run with `cargo bench --bench sync` (about 5 minutes on 2 cores), or one group
//! with e.g. `cargo bench --bench sync -- mutex_contended`.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use tokio::runtime::Runtime;

/// Polls `fut` once with a no-op waker; an uncontended lock must be `Ready` at once.
#[inline(always)]
fn poll_ready<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("uncontended acquire returned Pending"),
    }
}

/// One benchmark per peer, in the group's order: `$lock` is built once, outside
/// the measurement; each iteration binds `$l` to a black-boxed `&lock` and runs
/// `$op`, whose guard (a temporary) is dropped at the end of the statement.
macro_rules! bench_peers {
    ($group:ident, $($name:literal: $lock:expr, |$l:ident| $op:expr;)+) => {
        $({
            let lock = $lock;
            $group.bench_function($name, |b| {
                b.iter(|| {
                    let $l = black_box(&lock);
                    $op;
                })
            });
        })+
    };
}

/// The runtime of the contended scenarios, built once, outside any measurement.
fn two_worker_runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("build a 2-worker tokio runtime")
}

// ---------------------------------------------------------------------------
// 1. mutex_uncontended: lock (poll once), drop the guard
// ---------------------------------------------------------------------------

fn mutex_uncontended(c: &mut Criterion) {
    let mut group = c.benchmark_group("mutex_uncontended");
    bench_peers!(group,
        "async-patterns": async_patterns::sync::Mutex::new(0u64), |m| black_box(&*poll_ready(m.lock()));
        "async-lock": async_lock::Mutex::new(0u64), |m| black_box(&*poll_ready(m.lock()));
        "tokio": tokio::sync::Mutex::new(0u64), |m| black_box(&*poll_ready(m.lock()));
        "futures": futures::lock::Mutex::new(0u64), |m| black_box(&*poll_ready(m.lock()));
        "std": std::sync::Mutex::new(0u64), |m| black_box(&*m.lock().unwrap());
    );
    group.finish();
}

// ---------------------------------------------------------------------------
// 2. mutex_try_lock: try_lock, drop the guard
// ---------------------------------------------------------------------------

fn mutex_try_lock(c: &mut Criterion) {
    let mut group = c.benchmark_group("mutex_try_lock");
    bench_peers!(group,
        "async-patterns": async_patterns::sync::Mutex::new(0u64), |m| black_box(&*m.try_lock().expect("uncontended try_lock"));
        "async-lock": async_lock::Mutex::new(0u64), |m| black_box(&*m.try_lock().expect("uncontended try_lock"));
        "tokio": tokio::sync::Mutex::new(0u64), |m| black_box(&*m.try_lock().expect("uncontended try_lock"));
        "futures": futures::lock::Mutex::new(0u64), |m| black_box(&*m.try_lock().expect("uncontended try_lock"));
        "std": std::sync::Mutex::new(0u64), |m| black_box(&*m.try_lock().expect("uncontended try_lock"));
    );
    group.finish();
}

// ---------------------------------------------------------------------------
// 3. mutex_contended: N tasks x 1000 increments on a 2-worker tokio runtime
// ---------------------------------------------------------------------------

/// Increments per task in `mutex_contended`.
const INCREMENTS_PER_TASK: u64 = 1000;

/// The one operation `mutex_contended` needs from each async mutex.
trait AsyncCounter: Send + Sync + 'static {
    fn new() -> Self;
    /// `lock().await`, `+= 1`, drop the guard.
    fn increment(&self) -> impl Future<Output = ()> + Send + '_;
    /// The count, once every task has finished.
    fn total(&self) -> u64;
}

impl AsyncCounter for async_patterns::sync::Mutex<u64> {
    fn new() -> Self {
        Self::new(0)
    }
    async fn increment(&self) {
        *self.lock().await += 1;
    }
    fn total(&self) -> u64 {
        *self.try_lock().expect("no task holds the lock")
    }
}

impl AsyncCounter for async_lock::Mutex<u64> {
    fn new() -> Self {
        Self::new(0)
    }
    async fn increment(&self) {
        *self.lock().await += 1;
    }
    fn total(&self) -> u64 {
        *self.try_lock().expect("no task holds the lock")
    }
}

impl AsyncCounter for tokio::sync::Mutex<u64> {
    fn new() -> Self {
        Self::new(0)
    }
    async fn increment(&self) {
        *self.lock().await += 1;
    }
    fn total(&self) -> u64 {
        *self.try_lock().expect("no task holds the lock")
    }
}

impl AsyncCounter for futures::lock::Mutex<u64> {
    fn new() -> Self {
        Self::new(0)
    }
    async fn increment(&self) {
        *self.lock().await += 1;
    }
    fn total(&self) -> u64 {
        *self.try_lock().expect("no task holds the lock")
    }
}

/// Times `iters` runs of: spawn `tasks` tasks that each increment one shared counter
/// [`INCREMENTS_PER_TASK`] times, then await them all. Building the counter and
/// checking its total are not timed.
fn run_contended_mutex<M: AsyncCounter>(rt: &Runtime, tasks: u64, iters: u64) -> Duration {
    let mut elapsed = Duration::ZERO;
    for _ in 0..iters {
        let counter = Arc::new(M::new());
        elapsed += rt.block_on(async {
            let start = Instant::now();
            let handles: Vec<_> = (0..tasks)
                .map(|_| {
                    let counter = Arc::clone(&counter);
                    tokio::spawn(async move {
                        for _ in 0..INCREMENTS_PER_TASK {
                            counter.increment().await;
                        }
                    })
                })
                .collect();
            for handle in handles {
                handle.await.expect("counter task panicked");
            }
            start.elapsed()
        });
        assert_eq!(counter.total(), tasks * INCREMENTS_PER_TASK);
    }
    elapsed
}

fn mutex_contended(c: &mut Criterion) {
    let rt = two_worker_runtime();
    let mut group = c.benchmark_group("mutex_contended");
    // One iteration is thousands of lock operations: fewer samples, each of the same
    // iteration count.
    group.sample_size(20).sampling_mode(SamplingMode::Flat);
    for tasks in [4u64, 16, 64] {
        group.throughput(Throughput::Elements(tasks * INCREMENTS_PER_TASK));
        group.bench_with_input(
            BenchmarkId::new("async-patterns", tasks),
            &tasks,
            |b, &tasks| {
                b.iter_custom(|iters| {
                    run_contended_mutex::<async_patterns::sync::Mutex<u64>>(&rt, tasks, iters)
                })
            },
        );
        group.bench_with_input(
            BenchmarkId::new("async-lock", tasks),
            &tasks,
            |b, &tasks| {
                b.iter_custom(|iters| {
                    run_contended_mutex::<async_lock::Mutex<u64>>(&rt, tasks, iters)
                })
            },
        );
        group.bench_with_input(BenchmarkId::new("tokio", tasks), &tasks, |b, &tasks| {
            b.iter_custom(|iters| run_contended_mutex::<tokio::sync::Mutex<u64>>(&rt, tasks, iters))
        });
        group.bench_with_input(BenchmarkId::new("futures", tasks), &tasks, |b, &tasks| {
            b.iter_custom(|iters| {
                run_contended_mutex::<futures::lock::Mutex<u64>>(&rt, tasks, iters)
            })
        });
    }
    group.finish();
}

// ---------------------------------------------------------------------------
// 4. rwlock_read_uncontended: read (poll once), drop the guard
// ---------------------------------------------------------------------------

fn rwlock_read_uncontended(c: &mut Criterion) {
    let mut group = c.benchmark_group("rwlock_read_uncontended");
    bench_peers!(group,
        "async-patterns": async_patterns::sync::RwLock::new(0u64), |l| black_box(&*poll_ready(l.read()));
        "async-lock": async_lock::RwLock::new(0u64), |l| black_box(&*poll_ready(l.read()));
        "tokio": tokio::sync::RwLock::new(0u64), |l| black_box(&*poll_ready(l.read()));
        "std": std::sync::RwLock::new(0u64), |l| black_box(&*l.read().unwrap());
    );
    group.finish();
}

// ---------------------------------------------------------------------------
// 5. semaphore_uncontended: acquire (poll once), drop the permit
// ---------------------------------------------------------------------------

fn semaphore_uncontended(c: &mut Criterion) {
    let mut group = c.benchmark_group("semaphore_uncontended");
    bench_peers!(group,
        "async-patterns": async_patterns::sync::Semaphore::new(1), |s| black_box(&poll_ready(s.acquire()));
        "async-lock": async_lock::Semaphore::new(1), |s| black_box(&poll_ready(s.acquire()));
        "tokio": tokio::sync::Semaphore::new(1), |s| black_box(&poll_ready(s.acquire()).expect("semaphore closed"));
    );
    group.finish();
}

// ---------------------------------------------------------------------------
// 6. semaphore_contended: 16 tasks share 2 permits, yielding while holding one
// ---------------------------------------------------------------------------

/// Permits of the semaphore in `semaphore_contended`.
const PERMITS: usize = 2;
/// Tasks competing for them.
const SEMAPHORE_TASKS: u64 = 16;
/// Acquires per task: each task acquires, yields once while holding the permit, and
/// releases, 100 times.
const ACQUIRES_PER_TASK: u64 = 100;

/// The one operation `semaphore_contended` needs from each async semaphore.
trait AsyncPermits: Send + Sync + 'static {
    fn new(permits: usize) -> Self;
    /// Acquire one permit, `yield_now().await` while holding it, release it.
    fn hold_across_yield(&self) -> impl Future<Output = ()> + Send + '_;
    /// Permits free now (takes them and gives them back where the peer has no
    /// counter).
    fn free_permits(&self) -> usize;
}

impl AsyncPermits for async_patterns::sync::Semaphore {
    fn new(permits: usize) -> Self {
        Self::new(permits)
    }
    async fn hold_across_yield(&self) {
        let permit = self.acquire().await;
        tokio::task::yield_now().await;
        drop(permit);
    }
    fn free_permits(&self) -> usize {
        self.available_permits()
    }
}

impl AsyncPermits for async_lock::Semaphore {
    fn new(permits: usize) -> Self {
        Self::new(permits)
    }
    async fn hold_across_yield(&self) {
        let permit = self.acquire().await;
        tokio::task::yield_now().await;
        drop(permit);
    }
    fn free_permits(&self) -> usize {
        // Hold every guard until counted, or each try_acquire would succeed again.
        let held: Vec<_> = std::iter::from_fn(|| self.try_acquire())
            .take(PERMITS + 1)
            .collect();
        held.len()
    }
}

impl AsyncPermits for tokio::sync::Semaphore {
    fn new(permits: usize) -> Self {
        Self::new(permits)
    }
    async fn hold_across_yield(&self) {
        let permit = self.acquire().await.expect("semaphore closed");
        tokio::task::yield_now().await;
        drop(permit);
    }
    fn free_permits(&self) -> usize {
        self.available_permits()
    }
}

/// Times `iters` runs of: spawn [`SEMAPHORE_TASKS`] tasks that each do
/// [`ACQUIRES_PER_TASK`] acquire/yield/release rounds on one shared semaphore of
/// [`PERMITS`] permits, then await them all.
/// A fresh 2-worker runtime per sample (built outside the timing): which cores the
/// workers settle on changes this scenario's speed by up to 2x for every crate, and
/// a runtime shared by a whole group locks all its samples into one such placement.
fn run_contended_semaphore<S: AsyncPermits>(iters: u64) -> Duration {
    let rt = &two_worker_runtime();
    let mut elapsed = Duration::ZERO;
    for _ in 0..iters {
        let sem = Arc::new(S::new(PERMITS));
        elapsed += rt.block_on(async {
            let start = Instant::now();
            let handles: Vec<_> = (0..SEMAPHORE_TASKS)
                .map(|_| {
                    let sem = Arc::clone(&sem);
                    tokio::spawn(async move {
                        for _ in 0..ACQUIRES_PER_TASK {
                            sem.hold_across_yield().await;
                        }
                    })
                })
                .collect();
            for handle in handles {
                handle.await.expect("semaphore task panicked");
            }
            start.elapsed()
        });
        assert_eq!(sem.free_permits(), PERMITS, "every permit came back");
    }
    elapsed
}

fn semaphore_contended(c: &mut Criterion) {
    let mut group = c.benchmark_group("semaphore_contended");
    group.sample_size(20).sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Elements(SEMAPHORE_TASKS * ACQUIRES_PER_TASK));
    group.bench_function("async-patterns", |b| {
        b.iter_custom(run_contended_semaphore::<async_patterns::sync::Semaphore>)
    });
    group.bench_function("async-lock", |b| {
        b.iter_custom(run_contended_semaphore::<async_lock::Semaphore>)
    });
    group.bench_function("tokio", |b| {
        b.iter_custom(run_contended_semaphore::<tokio::sync::Semaphore>)
    });
    group.finish();
}

// ---------------------------------------------------------------------------

/// Modest settings so the whole run takes about 5 minutes on 2 cores.
fn config() -> Criterion {
    Criterion::default()
        .sample_size(25)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = mutex_uncontended, mutex_try_lock, mutex_contended, rwlock_read_uncontended,
        semaphore_uncontended, semaphore_contended
}
criterion_main!(benches);
