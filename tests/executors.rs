//! The same workload on every executor: the `sync` primitives are runtime-agnostic,
//! so `Mutex`, `RwLock` and `Semaphore` must behave the same under tokio,
//! async-executor (smol), futures' `LocalPool`, a hand-written firmware-style
//! `block_on`, embassy-executor on the host, and plain threads with the `*_blocking`
//! API.
//!
//! Workload: [`TASKS`] tasks share an `Arc<Mutex<u64>>`, an `Arc<RwLock<Vec<u64>>>`
//! and an `Arc<Semaphore>` with [`PERMITS`] permits. Each does [`ROUNDS`] rounds of
//!
//! 1. take a semaphore permit, count the holders (never more than [`PERMITS`]) and
//!    yield once while holding it, so the other tasks queue up on the semaphore;
//! 2. lock the mutex, read the counter, yield once while holding the lock, check that
//!    nobody changed the counter meanwhile, and write it back plus one;
//! 3. take a read lock, read the length, yield once while holding it and check that
//!    no writer got in (the length did not change, no writer is inside);
//! 4. every [`WRITE_EVERY`]th round, take a write lock (checking that no reader and no
//!    other writer is inside), push a value that names the task and the round, and
//!    yield once while holding it.
//!
//! Even tasks use the borrowing API (`lock`, `read`, `write`, `acquire`), odd tasks
//! the owning `*_arc` API, so both flavours run on every executor.
//!
//! At the end: every task finished all its rounds without seeing a violation, the
//! counter is `TASKS * ROUNDS`, the vector holds `TASKS * ROUNDS / WRITE_EVERY`
//! distinct values (`ROUNDS / WRITE_EVERY` per task), the peak number of permit
//! holders is in `1..=PERMITS`, and every primitive is free again.
//!
//! Every test runs its executor on a watchdog thread: a lost wake-up or a deadlock
//! fails the test after [`TIMEOUT`] instead of hanging the test binary (the hung
//! thread is left behind; the process exits when the harness does).

use std::fmt::Write as _;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};
use std::thread;
use std::time::{Duration, Instant};

use async_patterns::sync::{Mutex, RwLock, Semaphore};

const TASKS: usize = 8;
const ROUNDS: u64 = 200;
const PERMITS: usize = 2;
const WRITE_EVERY: u64 = 20;
/// How long a test may run before it counts as hung.
const TIMEOUT: Duration = Duration::from_secs(60);

/// What one task reports: the rounds it completed, or the first violation it saw.
type TaskResult = Result<u64, String>;

// ---------------------------------------------------------------------------
// Shared state and probes
// ---------------------------------------------------------------------------

/// The primitives under test plus probes that watch the critical sections.
#[derive(Clone)]
struct Shared {
    counter: Arc<Mutex<u64>>,
    log: Arc<RwLock<Vec<u64>>>,
    sem: Arc<Semaphore>,
    probes: Arc<Probes>,
}

/// Independent witnesses of who is inside which critical section (SeqCst atomics,
/// updated right after taking and right before releasing each guard).
#[derive(Default)]
struct Probes {
    permit_holders: AtomicUsize,
    max_permit_holders: AtomicUsize,
    in_mutex: AtomicUsize,
    readers: AtomicUsize,
    writers: AtomicUsize,
}

impl Shared {
    fn new() -> Self {
        Self {
            counter: Arc::new(Mutex::new(0)),
            log: Arc::new(RwLock::new(Vec::new())),
            sem: Arc::new(Semaphore::new(PERMITS)),
            probes: Arc::new(Probes::default()),
        }
    }
}

impl Probes {
    fn enter_permit(&self, id: usize, round: u64) -> Result<(), String> {
        let now = self.permit_holders.fetch_add(1, SeqCst) + 1;
        self.max_permit_holders.fetch_max(now, SeqCst);
        if now > PERMITS {
            return Err(format!(
                "task {id} round {round}: {now} semaphore permit holders (max {PERMITS})"
            ));
        }
        Ok(())
    }

    fn leave_permit(&self) {
        self.permit_holders.fetch_sub(1, SeqCst);
    }

    fn enter_mutex(&self, id: usize, round: u64) -> Result<(), String> {
        let before = self.in_mutex.fetch_add(1, SeqCst);
        if before != 0 {
            return Err(format!(
                "task {id} round {round}: {} tasks inside the mutex at once",
                before + 1
            ));
        }
        Ok(())
    }

    fn leave_mutex(&self) {
        self.in_mutex.fetch_sub(1, SeqCst);
    }

    fn enter_read(&self, id: usize, round: u64) -> Result<(), String> {
        self.readers.fetch_add(1, SeqCst);
        let writers = self.writers.load(SeqCst);
        if writers != 0 {
            return Err(format!(
                "task {id} round {round}: read lock granted while {writers} writer(s) inside"
            ));
        }
        Ok(())
    }

    fn leave_read(&self) {
        self.readers.fetch_sub(1, SeqCst);
    }

    fn enter_write(&self, id: usize, round: u64) -> Result<(), String> {
        let writers = self.writers.fetch_add(1, SeqCst);
        let readers = self.readers.load(SeqCst);
        if writers != 0 || readers != 0 {
            return Err(format!(
                "task {id} round {round}: write lock granted with {writers} other writer(s) \
                 and {readers} reader(s) inside"
            ));
        }
        Ok(())
    }

    fn leave_write(&self) {
        self.writers.fetch_sub(1, SeqCst);
    }
}

/// The value task `id` pushes in `round`: unique per (task, round).
fn log_entry(id: usize, round: u64) -> u64 {
    id as u64 * 1_000 + round
}

fn is_write_round(round: u64) -> bool {
    round % WRITE_EVERY == WRITE_EVERY - 1
}

// ---------------------------------------------------------------------------
// The async workload
// ---------------------------------------------------------------------------

/// Returns `Pending` once after waking its own waker, then `Ready`: hands control
/// back to the executor, which must poll the task again.
struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            Poll::Ready(())
        } else {
            self.yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// One task of the workload; the same code on every executor.
async fn worker(shared: Shared, id: usize) -> TaskResult {
    let Shared {
        counter,
        log,
        sem,
        probes,
    } = shared;
    let arc_api = id % 2 == 1;
    for round in 0..ROUNDS {
        // 1. Semaphore.
        if arc_api {
            hold_permit(&probes, id, round, sem.acquire_arc().await).await?;
        } else {
            hold_permit(&probes, id, round, sem.acquire().await).await?;
        }

        // 2. Mutex.
        if arc_api {
            increment(&probes, id, round, counter.lock_arc().await).await?;
        } else {
            increment(&probes, id, round, counter.lock().await).await?;
        }

        // 3. Read lock.
        if arc_api {
            read_len(&probes, id, round, log.read_arc().await).await?;
        } else {
            read_len(&probes, id, round, log.read().await).await?;
        }

        // 4. Write lock, every WRITE_EVERY-th round.
        if is_write_round(round) {
            if arc_api {
                push(&probes, id, round, log.write_arc().await).await?;
            } else {
                push(&probes, id, round, log.write().await).await?;
            }
        }
    }
    Ok(ROUNDS)
}

async fn hold_permit<G>(probes: &Probes, id: usize, round: u64, permit: G) -> Result<(), String> {
    probes.enter_permit(id, round)?;
    yield_now().await;
    probes.leave_permit();
    drop(permit);
    Ok(())
}

async fn increment<G>(probes: &Probes, id: usize, round: u64, mut guard: G) -> Result<(), String>
where
    G: DerefMut<Target = u64>,
{
    probes.enter_mutex(id, round)?;
    let seen = *guard;
    yield_now().await;
    if *guard != seen {
        return Err(format!(
            "task {id} round {round}: counter changed from {seen} to {} under the mutex",
            *guard
        ));
    }
    *guard = seen + 1;
    probes.leave_mutex();
    drop(guard);
    Ok(())
}

async fn read_len<G>(probes: &Probes, id: usize, round: u64, guard: G) -> Result<(), String>
where
    G: Deref<Target = Vec<u64>>,
{
    probes.enter_read(id, round)?;
    let len = guard.len();
    yield_now().await;
    if guard.len() != len {
        return Err(format!(
            "task {id} round {round}: length {len} changed to {} under a read lock",
            guard.len()
        ));
    }
    if len > TASKS * (ROUNDS / WRITE_EVERY) as usize {
        return Err(format!("task {id} round {round}: length {len} is too long"));
    }
    probes.leave_read();
    drop(guard);
    Ok(())
}

async fn push<G>(probes: &Probes, id: usize, round: u64, mut guard: G) -> Result<(), String>
where
    G: DerefMut<Target = Vec<u64>>,
{
    probes.enter_write(id, round)?;
    let len = guard.len();
    guard.push(log_entry(id, round));
    // Yield inside the write lock too, so a reader or writer let in by mistake
    // shows up even on a single-threaded executor.
    yield_now().await;
    if guard.len() != len + 1 {
        return Err(format!(
            "task {id} round {round}: length {} changed to {} under the write lock",
            len + 1,
            guard.len()
        ));
    }
    probes.leave_write();
    drop(guard);
    Ok(())
}

// ---------------------------------------------------------------------------
// The blocking workload (plain threads)
// ---------------------------------------------------------------------------

/// [`worker`] with the `*_blocking` API; `thread::yield_now` where it yields.
fn worker_blocking(shared: Shared, id: usize) -> TaskResult {
    let Shared {
        counter,
        log,
        sem,
        probes,
    } = shared;
    let arc_api = id % 2 == 1;
    for round in 0..ROUNDS {
        {
            let permit = sem.acquire_blocking();
            probes.enter_permit(id, round)?;
            thread::yield_now();
            probes.leave_permit();
            drop(permit);
        }
        {
            let mut guard: Box<dyn DerefMut<Target = u64>> = if arc_api {
                Box::new(counter.lock_arc_blocking())
            } else {
                Box::new(counter.lock_blocking())
            };
            probes.enter_mutex(id, round)?;
            let seen = **guard;
            thread::yield_now();
            if **guard != seen {
                return Err(format!(
                    "task {id} round {round}: counter changed from {seen} to {} under the mutex",
                    **guard
                ));
            }
            **guard = seen + 1;
            probes.leave_mutex();
        }
        {
            let guard: Box<dyn Deref<Target = Vec<u64>>> = if arc_api {
                Box::new(log.read_arc_blocking())
            } else {
                Box::new(log.read_blocking())
            };
            probes.enter_read(id, round)?;
            let len = guard.len();
            thread::yield_now();
            if guard.len() != len {
                return Err(format!(
                    "task {id} round {round}: length {len} changed to {} under a read lock",
                    guard.len()
                ));
            }
            probes.leave_read();
        }
        if is_write_round(round) {
            let mut guard: Box<dyn DerefMut<Target = Vec<u64>>> = if arc_api {
                Box::new(log.write_arc_blocking())
            } else {
                Box::new(log.write_blocking())
            };
            probes.enter_write(id, round)?;
            guard.push(log_entry(id, round));
            thread::yield_now();
            probes.leave_write();
        }
    }
    Ok(ROUNDS)
}

// ---------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------

/// Checks the per-task results and the final state; returns a short summary.
fn verify(shared: &Shared, results: &[TaskResult]) -> Result<String, String> {
    let mut problems = String::new();
    if results.len() != TASKS {
        let _ = writeln!(problems, "{} task results, expected {TASKS}", results.len());
    }
    for (i, r) in results.iter().enumerate() {
        match r {
            Ok(n) if *n == ROUNDS => {}
            Ok(n) => {
                let _ = writeln!(problems, "result {i}: {n} rounds, expected {ROUNDS}");
            }
            Err(e) => {
                let _ = writeln!(problems, "result {i}: {e}");
            }
        }
    }

    let expected_count = TASKS as u64 * ROUNDS;
    match shared.counter.try_lock() {
        Some(count) if *count == expected_count => {}
        Some(count) => {
            let _ = writeln!(problems, "counter is {}, expected {expected_count}", *count);
        }
        None => problems.push_str("the mutex is still locked\n"),
    }

    let per_task = (ROUNDS / WRITE_EVERY) as usize;
    match shared.log.try_write() {
        Some(log) => {
            if log.len() != TASKS * per_task {
                let _ = writeln!(
                    problems,
                    "the vec has {} entries, expected {}",
                    log.len(),
                    TASKS * per_task
                );
            }
            for id in 0..TASKS {
                let mut mine: Vec<u64> = log
                    .iter()
                    .copied()
                    .filter(|v| (*v / 1_000) as usize == id)
                    .collect();
                let expected: Vec<u64> = (0..ROUNDS)
                    .filter(|r| is_write_round(*r))
                    .map(|r| log_entry(id, r))
                    .collect();
                mine.sort_unstable();
                if mine != expected {
                    let _ = writeln!(problems, "task {id} pushed {mine:?}, expected {expected:?}");
                }
            }
        }
        None => problems.push_str("the RwLock is still locked\n"),
    }

    let max = shared.probes.max_permit_holders.load(SeqCst);
    if !(1..=PERMITS).contains(&max) {
        let _ = writeln!(
            problems,
            "peak semaphore holders {max}, expected 1..={PERMITS}"
        );
    }
    let available = shared.sem.available_permits();
    if available != PERMITS {
        let _ = writeln!(
            problems,
            "{available} permits available at the end, expected {PERMITS}"
        );
    }
    let p = &shared.probes;
    for (name, n) in [
        ("permit holders", p.permit_holders.load(SeqCst)),
        ("tasks in the mutex", p.in_mutex.load(SeqCst)),
        ("readers", p.readers.load(SeqCst)),
        ("writers", p.writers.load(SeqCst)),
    ] {
        if n != 0 {
            let _ = writeln!(problems, "{n} {name} left at the end");
        }
    }

    if problems.is_empty() {
        Ok(format!(
            "counter {expected_count}, {} log entries, peak permit holders {max}",
            TASKS * per_task
        ))
    } else {
        Err(problems)
    }
}

/// Runs `body` on its own thread, fails the test if it takes longer than
/// [`TIMEOUT`] (a hung thread is left behind), then verifies the outcome.
fn run_checked<F>(name: &str, body: F)
where
    F: FnOnce(Shared) -> Vec<TaskResult> + Send + 'static,
{
    let shared = Shared::new();
    let (tx, rx) = mpsc::channel();
    let start = Instant::now();
    let handle = {
        let shared = shared.clone();
        thread::Builder::new()
            .name(format!("executors::{name}"))
            .spawn(move || {
                let _ = tx.send(body(shared));
            })
            .expect("spawn the executor thread")
    };
    let results = match rx.recv_timeout(TIMEOUT) {
        Ok(results) => results,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!(
            "{name}: no result after {TIMEOUT:?}: a lost wake-up or a deadlock \
             (the executor thread is left hanging)"
        ),
        Err(mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => panic!("{name}: the executor thread ended without a result"),
        },
    };
    handle
        .join()
        .expect("the executor thread panicked after reporting");
    match verify(&shared, &results) {
        Ok(summary) => eprintln!("{name}: ok in {:?} ({summary})", start.elapsed()),
        Err(problems) => panic!("{name}: the primitives misbehaved:\n{problems}"),
    }
}

// ---------------------------------------------------------------------------
// Executors
// ---------------------------------------------------------------------------

#[test]
fn tokio_multi_thread() {
    run_checked("tokio", |shared| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .expect("build the tokio runtime");
        rt.block_on(async {
            let handles: Vec<_> = (0..TASKS)
                .map(|id| tokio::spawn(worker(shared.clone(), id)))
                .collect();
            let mut results = Vec::with_capacity(TASKS);
            for handle in handles {
                results.push(handle.await.unwrap_or_else(|e| Err(format!("join: {e}"))));
            }
            results
        })
    });
}

#[test]
fn async_executor_two_threads() {
    run_checked("async-executor", |shared| {
        let ex = async_executor::Executor::new();
        let tasks: Vec<_> = (0..TASKS)
            .map(|id| ex.spawn(worker(shared.clone(), id)))
            .collect();
        let (stop, stopped) = futures::channel::oneshot::channel::<()>();
        thread::scope(|s| {
            // A second thread runs the executor until the first one is done.
            s.spawn(|| {
                futures_lite::future::block_on(ex.run(async {
                    let _ = stopped.await;
                }))
            });
            let results = futures_lite::future::block_on(ex.run(async {
                let mut results = Vec::with_capacity(TASKS);
                for task in tasks {
                    results.push(task.await);
                }
                results
            }));
            drop(stop);
            results
        })
    });
}

#[test]
fn futures_local_pool() {
    use futures::task::LocalSpawnExt;

    run_checked("LocalPool", |shared| {
        let mut pool = futures::executor::LocalPool::new();
        let spawner = pool.spawner();
        let handles: Vec<_> = (0..TASKS)
            .map(|id| {
                spawner
                    .spawn_local_with_handle(worker(shared.clone(), id))
                    .expect("spawn_local")
            })
            .collect();
        pool.run_until(futures::future::join_all(handles))
    });
}

// -- a hand-written, firmware-style block_on --------------------------------

/// Set by the waker, cleared by `block_on` before each poll. A `static`, as in
/// firmware, so the waker data is `'static` and wakers may outlive `block_on`.
static WOKEN: AtomicBool = AtomicBool::new(false);

fn flag_waker(flag: &'static AtomicBool) -> Waker {
    const VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake, drop);
    fn clone(data: *const ()) -> RawWaker {
        RawWaker::new(data, &VTABLE)
    }
    fn wake(data: *const ()) {
        // SAFETY: `data` is always the `&'static AtomicBool` given to `flag_waker`.
        unsafe { &*data.cast::<AtomicBool>() }.store(true, SeqCst);
    }
    fn drop(_: *const ()) {}

    let raw = RawWaker::new((flag as *const AtomicBool).cast(), &VTABLE);
    // SAFETY: the vtable functions follow the `RawWaker` contract: the data pointer
    // is a `&'static AtomicBool`, valid on every thread for ever; clone copies it,
    // wake stores to it, and drop has nothing to free.
    unsafe { Waker::from_raw(raw) }
}

/// Polls `future` whenever the waker fired since the last poll, yielding the thread
/// while it did not (no parking: a lost wake-up shows up as a hang).
fn block_on<F: Future>(flag: &'static AtomicBool, future: F) -> F::Output {
    let waker = flag_waker(flag);
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    flag.store(true, SeqCst);
    loop {
        if flag.swap(false, SeqCst) {
            if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                return output;
            }
        } else {
            thread::yield_now();
        }
    }
}

/// Drives several futures on one waker: each poll polls every unfinished one.
struct JoinAll<T> {
    slots: Vec<Slot<T>>,
}

enum Slot<T> {
    Running(Pin<Box<dyn Future<Output = T>>>),
    Done(Option<T>),
}

// `T` is only moved, never pinned in place: the outputs are not structurally pinned.
impl<T> Unpin for JoinAll<T> {}

impl<T> JoinAll<T> {
    fn new(futures: Vec<Pin<Box<dyn Future<Output = T>>>>) -> Self {
        Self {
            slots: futures.into_iter().map(Slot::Running).collect(),
        }
    }
}

impl<T> Future for JoinAll<T> {
    type Output = Vec<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Vec<T>> {
        let this = self.get_mut();
        let mut all_done = true;
        for slot in &mut this.slots {
            if let Slot::Running(future) = slot {
                match future.as_mut().poll(cx) {
                    Poll::Ready(output) => *slot = Slot::Done(Some(output)),
                    Poll::Pending => all_done = false,
                }
            }
        }
        if !all_done {
            return Poll::Pending;
        }
        Poll::Ready(
            this.slots
                .iter_mut()
                .map(|slot| match slot {
                    Slot::Done(output) => output.take().expect("JoinAll polled after completion"),
                    Slot::Running(_) => unreachable!(),
                })
                .collect(),
        )
    }
}

#[test]
fn hand_written_block_on() {
    run_checked("block_on", |shared| {
        let tasks: Vec<Pin<Box<dyn Future<Output = TaskResult>>>> = (0..TASKS)
            .map(|id| Box::pin(worker(shared.clone(), id)) as Pin<Box<dyn Future<Output = _>>>)
            .collect();
        block_on(&WOKEN, JoinAll::new(tasks))
    });
}

// -- embassy-executor on the host -------------------------------------------

/// How many embassy tasks finished; `run_until` stops the executor at `TASKS`.
static EMBASSY_DONE: AtomicUsize = AtomicUsize::new(0);

/// One workload task as an embassy task. `pool_size` reserves room for all of them
/// in the task's static pool (embassy-executor 0.10 sizes pools on stable Rust, no
/// arena feature or nightly needed); arguments are owned (`'static`).
#[embassy_executor::task(pool_size = TASKS)]
async fn embassy_worker(shared: Shared, id: usize, results: mpsc::Sender<TaskResult>) {
    let result = worker(shared, id).await;
    let _ = results.send(result);
    EMBASSY_DONE.fetch_add(1, SeqCst);
}

#[test]
fn embassy_executor_std() {
    run_checked("embassy", |shared| {
        let (tx, rx) = mpsc::channel();
        // The std `Executor` is `!Send`, so it is created on the thread that runs it,
        // and `run*` wants `&'static mut self`: leak it (one per test process).
        // `Executor::run` never returns; `run_until` (also in 0.10's std platform)
        // stops once every task finished, so this thread ends and can be joined. If a
        // task hangs, the thread hangs with it and `run_checked`'s timeout fires.
        let executor = thread::Builder::new()
            .name("embassy-executor".into())
            .spawn(move || {
                let executor = Box::leak(Box::new(embassy_executor::Executor::new()));
                executor.run_until(
                    |spawner| {
                        for id in 0..TASKS {
                            let token = embassy_worker(shared.clone(), id, tx.clone())
                                .expect("embassy task pool exhausted");
                            spawner.spawn(token);
                        }
                    },
                    || EMBASSY_DONE.load(SeqCst) == TASKS,
                );
            })
            .expect("spawn the embassy thread");
        // `run_checked` times this whole closure out; a receive error means the
        // executor thread died (its panic is re-raised below).
        let results: Vec<TaskResult> = rx.iter().take(TASKS).collect();
        if let Err(panic) = executor.join() {
            std::panic::resume_unwind(panic);
        }
        results
    });
}

// -- plain threads, blocking API ----------------------------------------------

#[test]
fn std_threads_blocking() {
    run_checked("threads", |shared| {
        thread::scope(|s| {
            let handles: Vec<_> = (0..TASKS)
                .map(|id| {
                    let shared = shared.clone();
                    s.spawn(move || worker_blocking(shared, id))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err("thread panicked".into())))
                .collect()
        })
    });
}
