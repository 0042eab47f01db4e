//! The same workloads on every executor: the `sync` primitives are runtime-agnostic,
//! so they must behave the same under tokio, async-executor (smol), futures'
//! `LocalPool`, a hand-written firmware-style `block_on`, embassy-executor on the
//! host, and plain threads with the `*_blocking` API. Each executor runs four
//! workloads, as four tests: *locks* (`Mutex`, `RwLock`, `Semaphore`), *signals*
//! (`Barrier`, `Event`, `Condvar`), the *queue* (`queue::Queue`) and *tasks*
//! (`task::spawn`, `TaskSet`, `CancellationToken`, `BackgroundTasks`).
//!
//! Locks workload: [`TASKS`] tasks share an `Arc<Mutex<u64>>`, an
//! `Arc<RwLock<Vec<u64>>>` and an `Arc<Semaphore>` with [`PERMITS`] permits. Each
//! does [`ROUNDS`] rounds of
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
//! Signals workload: [`TASKS`] tasks share a `Barrier` for `TASKS` parties, two
//! `Event`s (the starting signal of even and odd rounds), and a
//! `Mutex<VecDeque<u64>>` with a `Condvar`. Each does [`ROUNDS`] rounds of
//!
//! 1. wait at the barrier and record its index for the round (an index seen twice in
//!    one round, or a leader whose index is not `TASKS - 1`, is a violation); the
//!    leader clears the next round's event, writes the round number into a stamp and
//!    sets this round's event;
//! 2. wait for this round's event and check the stamp (the leader's write before
//!    `set` is visible after `wait`);
//! 3. even tasks produce: push a value that names the task and the round and
//!    notify one waiter (`notify_one` or `notify(1)`), some rounds yielding while
//!    holding the lock; odd tasks consume one value, with `wait`, `wait_until`,
//!    `wait_arc` or `wait_until_arc` in turn.
//!
//! Every round needs all tasks at the barrier, so a task never runs more than one
//! round ahead, and each round's consumers can only finish with that round's
//! values: a lost notification hangs the round. At the end: every task finished all
//! its rounds, every round saw the indices `0..TASKS` and one leader, every value
//! was consumed exactly once, the queue is empty and unlocked, nobody waits on the
//! barrier or the condvar, and the last round's event is set.
//!
//! Queue workload (the seed scenario of asyncio's producer-consumer pattern): one
//! producer and [`CONSUMERS`] consumers share a `Queue::bounded(`[`QUEUE_CAP`]`)`.
//! The producer puts [`ITEMS`] numbers (waiting whenever the queue is full), then
//! shuts the queue down instead of sending a sentinel and waits in `join` until
//! every item was processed. Each consumer takes items until its get fails with
//! `ShutdownError`, records them, sometimes yields as if processing took a while,
//! counts the item as processed and marks it done. At the end: `join` returned
//! only after all [`ITEMS`] were processed, every item was consumed exactly once,
//! each consumer saw its items in increasing order (one producer, FIFO), the queue
//! never held more than [`QUEUE_CAP`] items, and it is empty, shut down and has no
//! unfinished task.
//!
//! Tasks workload: [`TASKS`] tasks share a root `CancellationToken`. Each does
//! [`TASK_ROUNDS`] rounds of
//!
//! 1. make a child of the root (children come and go on the shared root from every
//!    task at once) and a `TaskSet` of [`SET_SIZE`] futures that yield a few times
//!    and return a value naming the task, the round and the future, plus one
//!    waiting in `cancelled_owned` on the child and one `run_until_cancelled` on it;
//!    take the [`SET_SIZE`] values with `join_next_with_id` (the waiters must still
//!    be in the set, and each id is the one `push` returned), cancel the child and
//!    take the two waiters' outputs with `join_all`;
//! 2. where the executor can spawn `'static + Send` futures: `spawn` a task, register
//!    an `on_complete` callback and await its output; `spawn` a task that waits for a
//!    token nobody cancels, `abort` it, and check that the handle yields
//!    `JoinError::Cancelled` after the future's `Drop` ran; spawn three tasks on a
//!    `BackgroundTasks`, `join` it (all three ran, the set is empty), then spawn one
//!    that never ends and `shutdown` (it was dropped, the set is empty).
//!
//! The spawner of each executor: tokio's `Handle`, async-executor's `spawn`,
//! `LocalPool` through a channel to a local task that spawns what it receives,
//! embassy's `SendSpawner` with a pool of boxed-future tasks, and a thread per task
//! (with `futures::executor::block_on`) for the plain-threads run. The hand-written
//! `block_on` drives one future and has no way to run another `'static` one beside
//! it: there, the tasks workload runs its `TaskSet` and token part only. At the end:
//! every task finished all its rounds, every count adds up (set outputs, and with a
//! spawner the spawned outputs, callbacks, aborted futures dropped, background tasks
//! run and shut down), and the root token was never cancelled.
//!
//! Every test runs its executor on a watchdog thread: a lost wake-up or a deadlock
//! fails the test after [`TIMEOUT`] instead of hanging the test binary (the hung
//! thread is left behind; the process exits when the harness does).

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};
use std::thread;
use std::time::{Duration, Instant};

use async_patterns::queue::{Queue, ShutdownError, TryGetError};
use async_patterns::sync::{
    Barrier, BarrierWaitResult, BrokenBarrierError, Condvar, Event, Mutex, RwLock, Semaphore,
};
use async_patterns::task::{BackgroundTasks, CancellationToken, JoinError, Spawn, TaskSet, spawn};

const TASKS: usize = 8;
const ROUNDS: u64 = 200;
const PERMITS: usize = 2;
const WRITE_EVERY: u64 = 20;
/// How long a test may run before it counts as hung.
const TIMEOUT: Duration = Duration::from_secs(60);

/// What one task reports: the rounds it completed, or the first violation it saw.
type TaskResult = Result<u64, String>;

/// One task of a workload, boxed so that every executor can take it (embassy tasks
/// cannot be generic).
type BoxedTask = Pin<Box<dyn Future<Output = TaskResult> + Send>>;

/// A workload: shared state, its tasks (async and blocking), and the final check.
trait Workload: Clone + Send + 'static {
    /// How many tasks it runs.
    const TASK_COUNT: usize = TASKS;

    fn new() -> Self;
    /// Task `id` (of `0..TASK_COUNT`).
    fn task(&self, id: usize) -> BoxedTask;
    /// Task `id` with the `*_blocking` API, for a plain thread.
    fn blocking(&self, id: usize) -> TaskResult;
    /// Checks the per-task results and the final state; returns a short summary.
    fn verify(&self, results: &[TaskResult]) -> Result<String, String>;
    /// The executor's way to spawn `'static + Send` futures, given before the tasks
    /// are made, by the executors that have one (only the tasks workload uses it).
    fn set_spawner(&self, _spawner: SharedSpawner) {}
}

/// A future as [`Spawn`] hands it to an executor.
type BoxedUnit = Pin<Box<dyn Future<Output = ()> + Send>>;

/// An executor's spawner, shared by the tasks of a workload.
type SharedSpawner = Arc<dyn Spawn + Send + Sync>;

/// Checks that every task reported all its rounds.
fn check_results(results: &[TaskResult], problems: &mut String) {
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
}

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
// The signals workload: Barrier, Event, Condvar
// ---------------------------------------------------------------------------

// Producers and consumers pair up (even and odd ids).
const _: () = assert!(TASKS % 2 == 0);

/// The shared state of the signals workload.
#[derive(Clone)]
struct Signals {
    barrier: Arc<Barrier>,
    /// The starting signal of even rounds (0) and odd rounds (1).
    go: Arc<[Event; 2]>,
    /// The round number, written by the round's leader before it sets the round's
    /// event.
    stamp: Arc<AtomicU64>,
    queue: Arc<Mutex<VecDeque<u64>>>,
    changed: Arc<Condvar>,
    /// Per round: bit `i` is set once a task got index `i`.
    indices: Arc<Vec<AtomicUsize>>,
    /// Per round: how many tasks were the leader.
    leaders: Arc<Vec<AtomicUsize>>,
    /// Every value a consumer took.
    consumed: Arc<std::sync::Mutex<Vec<u64>>>,
}

impl Signals {
    /// Step 1 (after the barrier): records the index; the leader starts the round.
    fn arrived(
        &self,
        id: usize,
        round: u64,
        result: Result<BarrierWaitResult, BrokenBarrierError>,
    ) -> Result<(), String> {
        let result = result.map_err(|e| format!("task {id} round {round}: barrier: {e}"))?;
        let index = result.index();
        if index >= TASKS || result.is_leader() != (index == TASKS - 1) {
            return Err(format!(
                "task {id} round {round}: index {index}, leader {}",
                result.is_leader()
            ));
        }
        let seen = self.indices[round as usize].fetch_or(1 << index, SeqCst);
        if seen & (1 << index) != 0 {
            return Err(format!(
                "task {id} round {round}: index {index} handed out twice"
            ));
        }
        if result.is_leader() {
            self.leaders[round as usize].fetch_add(1, SeqCst);
            // Nobody waits for the next round's event yet: every task is past the
            // barrier, so done with the previous round, which used that event.
            self.go[(round as usize + 1) % 2].clear();
            self.stamp.store(round, SeqCst);
            self.go[round as usize % 2].set();
        }
        Ok(())
    }

    /// Step 2 (after the event): the leader's stamp is visible.
    fn started(&self, id: usize, round: u64) -> Result<(), String> {
        match self.stamp.load(SeqCst) {
            stamp if stamp == round => Ok(()),
            stamp => Err(format!(
                "task {id} round {round}: released by the event with stamp {stamp}"
            )),
        }
    }

    fn took(&self, item: Option<u64>, id: usize, round: u64) -> Result<(), String> {
        let item = item.ok_or_else(|| {
            format!("task {id} round {round}: the condition held but the queue was empty")
        })?;
        self.consumed.lock().unwrap().push(item);
        Ok(())
    }
}

/// One task of the signals workload; the same code on every executor.
async fn signals_worker(s: Signals, id: usize) -> TaskResult {
    for round in 0..ROUNDS {
        // 1. Barrier.
        if (id as u64 + round) % 3 == 0 {
            yield_now().await;
        }
        s.arrived(id, round, s.barrier.wait().await)?;

        // 2. Event.
        s.go[round as usize % 2].wait().await;
        s.started(id, round)?;

        // 3. Condvar.
        if id % 2 == 0 {
            let mut queue = s.queue.lock().await;
            queue.push_back(log_entry(id, round));
            if (id as u64 + round) % 4 == 0 {
                yield_now().await; // hold the lock: consumers queue on the mutex
            }
            drop(queue);
            if round % 2 == 0 {
                s.changed.notify_one();
            } else {
                s.changed.notify(1);
            }
        } else {
            let cv = &*s.changed;
            let item = match (id / 2 + round as usize) % 4 {
                0 => {
                    let mut q = s.queue.lock().await;
                    while q.is_empty() {
                        q = cv.wait(q).await;
                    }
                    q.pop_front()
                }
                1 => {
                    let q = s.queue.lock().await;
                    cv.wait_until(q, |q| !q.is_empty()).await.pop_front()
                }
                2 => {
                    let mut q = s.queue.lock_arc().await;
                    while q.is_empty() {
                        q = cv.wait_arc(q).await;
                    }
                    q.pop_front()
                }
                _ => {
                    let q = s.queue.lock_arc().await;
                    cv.wait_until_arc(q, |q| !q.is_empty()).await.pop_front()
                }
            };
            s.took(item, id, round)?;
        }
    }
    Ok(ROUNDS)
}

/// [`signals_worker`] with the `*_blocking` API.
fn signals_worker_blocking(s: Signals, id: usize) -> TaskResult {
    for round in 0..ROUNDS {
        s.arrived(id, round, s.barrier.wait_blocking())?;
        s.go[round as usize % 2].wait_blocking();
        s.started(id, round)?;
        if id % 2 == 0 {
            s.queue.lock_blocking().push_back(log_entry(id, round));
            s.changed.notify_one();
        } else {
            let mut q = s.queue.lock_blocking();
            if round % 2 == 0 {
                while q.is_empty() {
                    q = s.changed.wait_blocking(q);
                }
            } else {
                q = s.changed.wait_until_blocking(q, |q| !q.is_empty());
            }
            let item = q.pop_front();
            drop(q);
            s.took(item, id, round)?;
        }
    }
    Ok(ROUNDS)
}

impl Workload for Signals {
    fn new() -> Self {
        Self {
            barrier: Arc::new(Barrier::new(TASKS)),
            go: Arc::new([Event::new(), Event::new()]),
            stamp: Arc::new(AtomicU64::new(u64::MAX)),
            queue: Arc::new(Mutex::new(VecDeque::new())),
            changed: Arc::new(Condvar::new()),
            indices: Arc::new((0..ROUNDS).map(|_| AtomicUsize::new(0)).collect()),
            leaders: Arc::new((0..ROUNDS).map(|_| AtomicUsize::new(0)).collect()),
            consumed: Arc::default(),
        }
    }

    fn task(&self, id: usize) -> BoxedTask {
        Box::pin(signals_worker(self.clone(), id))
    }

    fn blocking(&self, id: usize) -> TaskResult {
        signals_worker_blocking(self.clone(), id)
    }

    fn verify(&self, results: &[TaskResult]) -> Result<String, String> {
        let mut problems = String::new();
        check_results(results, &mut problems);

        let all = (1usize << TASKS) - 1;
        for round in 0..ROUNDS as usize {
            let seen = self.indices[round].load(SeqCst);
            let leaders = self.leaders[round].load(SeqCst);
            if seen != all || leaders != 1 {
                let _ = writeln!(
                    problems,
                    "round {round}: indices {seen:#b} (expected {all:#b}), {leaders} leader(s)"
                );
            }
        }

        let mut consumed = self.consumed.lock().unwrap().clone();
        consumed.sort_unstable();
        let mut expected: Vec<u64> = (0..TASKS)
            .step_by(2)
            .flat_map(|id| (0..ROUNDS).map(move |round| log_entry(id, round)))
            .collect();
        expected.sort_unstable();
        if consumed != expected {
            let _ = writeln!(
                problems,
                "consumed {} values, expected each of {} once",
                consumed.len(),
                expected.len()
            );
        }
        match self.queue.try_lock() {
            Some(queue) if queue.is_empty() => {}
            Some(queue) => {
                let _ = writeln!(problems, "{} values left in the queue", queue.len());
            }
            None => problems.push_str("the queue's mutex is still locked\n"),
        }
        let waiting = self.barrier.n_waiting();
        if waiting != 0 || self.barrier.is_broken() {
            let _ = writeln!(
                problems,
                "barrier: {waiting} waiting, broken: {}",
                self.barrier.is_broken()
            );
        }
        let registered = self.changed.notify_all();
        if registered != 0 {
            let _ = writeln!(problems, "{registered} condvar waiter(s) left registered");
        }
        if !self.go[(ROUNDS as usize - 1) % 2].is_set() {
            problems.push_str("the last round's event is not set\n");
        }

        if problems.is_empty() {
            Ok(format!(
                "{ROUNDS} barrier rounds, {} values through the condvar",
                consumed.len()
            ))
        } else {
            Err(problems)
        }
    }
}

// ---------------------------------------------------------------------------
// The queue workload: one producer, three consumers, a bounded queue
// ---------------------------------------------------------------------------

/// Items through the queue (fewer under miri, which is slow).
const ITEMS: u64 = if cfg!(miri) { 300 } else { 10_000 };
const CONSUMERS: usize = 3;
const QUEUE_CAP: usize = 100;
/// The producer and the consumers.
const PIPELINE_TASKS: usize = 1 + CONSUMERS;

/// The shared state of the queue workload. Task 0 produces, tasks
/// `1..=CONSUMERS` consume.
#[derive(Clone)]
struct Pipeline {
    queue: Arc<Queue<u64>>,
    /// What each consumer took, in the order it took it.
    consumed: Arc<[std::sync::Mutex<Vec<u64>>; CONSUMERS]>,
    /// Items processed (counted before `task_done`).
    processed: Arc<AtomicU64>,
    /// The most items seen queued at once.
    peak_len: Arc<AtomicUsize>,
}

impl Pipeline {
    /// A consumer took `item`: record it and check the bound.
    fn took(&self, consumer: usize, item: u64) -> Result<(), String> {
        let len = self.queue.len();
        self.peak_len.fetch_max(len, SeqCst);
        if len > QUEUE_CAP {
            return Err(format!(
                "consumer {consumer}: {len} items queued, cap {QUEUE_CAP}"
            ));
        }
        self.consumed[consumer].lock().unwrap().push(item);
        Ok(())
    }

    /// The item is processed: count it, then mark it done.
    fn done(&self, consumer: usize) -> Result<(), String> {
        self.processed.fetch_add(1, SeqCst);
        self.queue
            .task_done()
            .map_err(|e| format!("consumer {consumer}: task_done: {e}"))
    }

    /// After `join`: every item must have been processed.
    fn joined(&self) -> TaskResult {
        match self.processed.load(SeqCst) {
            ITEMS => Ok(ITEMS),
            n => Err(format!(
                "join returned after {n} of {ITEMS} items were processed"
            )),
        }
    }
}

async fn pipeline_worker(p: Pipeline, id: usize) -> TaskResult {
    if id == 0 {
        for item in 0..ITEMS {
            p.queue
                .put(item)
                .await
                .map_err(|e| format!("producer: put {item}: {e}"))?;
        }
        p.queue.shutdown(); // instead of a sentinel
        p.queue.join().await;
        return p.joined();
    }
    let consumer = id - 1;
    let mut taken = 0;
    loop {
        match p.queue.get().await {
            Ok(item) => {
                p.took(consumer, item)?;
                if (item + consumer as u64) % 8 == 0 {
                    yield_now().await; // processing takes a while: the queue fills
                }
                p.done(consumer)?;
                taken += 1;
            }
            Err(ShutdownError) => return Ok(taken),
        }
    }
}

/// [`pipeline_worker`] with the `*_blocking` API (`join` has no blocking twin:
/// the producer blocks on it with `futures::executor::block_on`).
fn pipeline_worker_blocking(p: Pipeline, id: usize) -> TaskResult {
    if id == 0 {
        for item in 0..ITEMS {
            p.queue
                .put_blocking(item)
                .map_err(|e| format!("producer: put {item}: {e}"))?;
        }
        p.queue.shutdown();
        futures::executor::block_on(p.queue.join());
        return p.joined();
    }
    let consumer = id - 1;
    let mut taken = 0;
    while let Ok(item) = p.queue.get_blocking() {
        p.took(consumer, item)?;
        if (item + consumer as u64) % 8 == 0 {
            thread::yield_now();
        }
        p.done(consumer)?;
        taken += 1;
    }
    Ok(taken)
}

impl Workload for Pipeline {
    const TASK_COUNT: usize = PIPELINE_TASKS;

    fn new() -> Self {
        Self {
            queue: Arc::new(Queue::bounded(QUEUE_CAP)),
            consumed: Arc::default(),
            processed: Arc::default(),
            peak_len: Arc::default(),
        }
    }

    fn task(&self, id: usize) -> BoxedTask {
        Box::pin(pipeline_worker(self.clone(), id))
    }

    fn blocking(&self, id: usize) -> TaskResult {
        pipeline_worker_blocking(self.clone(), id)
    }

    fn verify(&self, results: &[TaskResult]) -> Result<String, String> {
        let mut problems = String::new();
        if results.len() != PIPELINE_TASKS {
            let _ = writeln!(
                problems,
                "{} task results, expected {PIPELINE_TASKS}",
                results.len()
            );
        }
        for (id, r) in results.iter().enumerate() {
            match r {
                Ok(n) if id == 0 && *n != ITEMS => {
                    let _ = writeln!(problems, "the producer reported {n} items");
                }
                Ok(_) => {}
                Err(e) => {
                    let _ = writeln!(problems, "task {id}: {e}");
                }
            }
        }

        let mut all = Vec::with_capacity(ITEMS as usize);
        for (consumer, items) in self.consumed.iter().enumerate() {
            let items = items.lock().unwrap();
            if !items.windows(2).all(|w| w[0] < w[1]) {
                let _ = writeln!(
                    problems,
                    "consumer {consumer} took items out of order (one producer, FIFO)"
                );
            }
            match results.get(1 + consumer) {
                Some(Ok(n)) if *n == items.len() as u64 => {}
                Some(Err(_)) => {} // reported above
                other => {
                    let _ = writeln!(
                        problems,
                        "consumer {consumer} reported {other:?} but recorded {} items",
                        items.len()
                    );
                }
            }
            all.extend_from_slice(&items);
        }
        all.sort_unstable();
        if all != (0..ITEMS).collect::<Vec<_>>() {
            all.dedup();
            let _ = writeln!(
                problems,
                "not every item consumed exactly once: {} distinct of {ITEMS}",
                all.len()
            );
        }

        let q = &self.queue;
        if !q.is_shutdown() || !q.is_empty() || q.unfinished_tasks() != 0 {
            let _ = writeln!(problems, "at the end: {q:?}");
        }
        if q.try_get() != Err(TryGetError::Shutdown) {
            problems.push_str("a get after the end did not fail with Shutdown\n");
        }

        if problems.is_empty() {
            let per_consumer: Vec<String> = self
                .consumed
                .iter()
                .map(|c| c.lock().unwrap().len().to_string())
                .collect();
            Ok(format!(
                "{ITEMS} items, consumers took {}, peak queue length {}",
                per_consumer.join("/"),
                self.peak_len.load(SeqCst)
            ))
        } else {
            Err(problems)
        }
    }
}

// ---------------------------------------------------------------------------
// The tasks workload: spawn, TaskSet, CancellationToken, BackgroundTasks
// ---------------------------------------------------------------------------

const TASK_ROUNDS: u64 = 50;
/// Futures in each round's `TaskSet` besides the two cancellation waiters.
const SET_SIZE: u64 = 4;
/// The outputs of the two waiters of each round's set.
const WOKEN_BY_CANCEL: u64 = u64::MAX;
const STOPPED_BY_CANCEL: u64 = u64::MAX - 1;

/// The shared state of the tasks workload.
#[derive(Clone)]
struct Tasks {
    spawner: Arc<std::sync::OnceLock<SharedSpawner>>,
    /// The parent of every round's token; never cancelled.
    root: CancellationToken,
    /// Outputs taken out of the task sets.
    set_outputs: Arc<AtomicU64>,
    /// Spawned outputs received through a `JoinHandle`.
    joined: Arc<AtomicU64>,
    /// `on_complete` callbacks run (with the right output).
    callbacks: Arc<AtomicU64>,
    /// Aborted futures dropped.
    aborted: Arc<AtomicU64>,
    /// Background tasks that ran to their end.
    background: Arc<AtomicU64>,
    /// Background tasks dropped by `shutdown`.
    shut_down: Arc<AtomicU64>,
}

/// Sets its flag when dropped.
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, SeqCst);
    }
}

/// The value future `j` of task `id`'s set returns in `round`.
fn set_value(id: usize, round: u64, j: u64) -> u64 {
    log_entry(id, round) * 10 + j
}

async fn tasks_worker(t: Tasks, id: usize) -> TaskResult {
    let spawner = t.spawner.get().cloned();
    for round in 0..TASK_ROUNDS {
        let at = |what: &str| format!("task {id} round {round}: {what}");

        // TaskSet and tokens.
        let token = t.root.child_token();
        let mut set: TaskSet<Pin<Box<dyn Future<Output = u64> + Send>>> = TaskSet::new();
        let mut ids = Vec::new();
        for j in 0..SET_SIZE {
            let id = set.push(Box::pin(async move {
                for _ in 0..(j + id as u64) % 3 {
                    yield_now().await;
                }
                set_value(id, round, j)
            }));
            ids.push(id);
        }
        let waiter = token.child_token().cancelled_owned();
        set.push(Box::pin(async move {
            waiter.await;
            WOKEN_BY_CANCEL
        }));
        let runner = token
            .clone()
            .run_until_cancelled_owned(std::future::pending::<u64>());
        set.push(Box::pin(async move {
            runner.await.unwrap_or(STOPPED_BY_CANCEL)
        }));
        let mut got = Vec::new();
        for _ in 0..SET_SIZE {
            match set.join_next_with_id().await {
                Some((set_id, value)) => {
                    let j = value.wrapping_sub(set_value(id, round, 0));
                    if j >= SET_SIZE || ids[j as usize] != set_id {
                        return Err(at(&format!("set output {value} came with id {set_id}")));
                    }
                    got.push(j);
                }
                None => return Err(at("the set ran dry early")),
            }
        }
        got.sort_unstable();
        if got != (0..SET_SIZE).collect::<Vec<_>>() || set.len() != 2 {
            return Err(at(&format!("set outputs {got:?}, {} left", set.len())));
        }
        token.cancel();
        let mut rest = set.join_all().await;
        rest.sort_unstable();
        if rest != [STOPPED_BY_CANCEL, WOKEN_BY_CANCEL] || !set.is_empty() {
            return Err(at(&format!("after the cancel the set gave {rest:?}")));
        }
        t.set_outputs.fetch_add(SET_SIZE + 2, SeqCst);
        if t.root.is_cancelled() {
            return Err(at("a child's cancel reached the root"));
        }

        let Some(spawner) = &spawner else { continue };
        let spawner: &(dyn Spawn + Send + Sync) = &**spawner;

        // spawn, on_complete, abort.
        let value = log_entry(id, round);
        let handle = spawn(spawner, async move {
            yield_now().await;
            value
        });
        let callbacks = Arc::clone(&t.callbacks);
        handle.on_complete(move |result| {
            if result.ok() == Some(&value) {
                callbacks.fetch_add(1, SeqCst);
            }
        });
        match handle.await {
            Ok(v) if v == value => {
                t.joined.fetch_add(1, SeqCst);
            }
            other => return Err(at(&format!("spawned task gave {other:?}"))),
        }
        let dropped = Arc::new(AtomicBool::new(false));
        let never = CancellationToken::new();
        let blocked = {
            let mark = SetOnDrop(Arc::clone(&dropped));
            spawn(spawner, async move {
                let _mark = mark;
                never.cancelled_owned().await;
            })
        };
        if round % 2 == 0 {
            yield_now().await; // sometimes let it start waiting first
        }
        blocked.abort();
        match blocked.await {
            Err(JoinError::Cancelled) if dropped.load(SeqCst) => {
                t.aborted.fetch_add(1, SeqCst);
            }
            Err(JoinError::Cancelled) => {
                return Err(at("Cancelled before the aborted future was dropped"));
            }
            other => return Err(at(&format!("aborted task gave {other:?}"))),
        }

        // BackgroundTasks.
        let tasks = BackgroundTasks::new(|fut: BoxedUnit| spawner.spawn_boxed(fut));
        let ran = Arc::new(AtomicUsize::new(0));
        for k in 0..3 {
            let ran = Arc::clone(&ran);
            drop(tasks.spawn(async move {
                for _ in 0..k {
                    yield_now().await;
                }
                ran.fetch_add(1, SeqCst);
            }));
        }
        tasks.join().await;
        if ran.load(SeqCst) != 3 || !tasks.is_empty() {
            return Err(at(&format!(
                "join returned with {} of 3 run, {} left",
                ran.load(SeqCst),
                tasks.len()
            )));
        }
        t.background.fetch_add(3, SeqCst);
        let stopped = Arc::new(AtomicBool::new(false));
        let started = Arc::new(AtomicBool::new(false));
        let mark = SetOnDrop(Arc::clone(&stopped));
        let start = Arc::clone(&started);
        drop(tasks.spawn(async move {
            let _mark = mark;
            start.store(true, SeqCst);
            std::future::pending::<()>().await;
        }));
        // Shut down whether or not it started: its future is dropped before
        // `shutdown` returns either way.
        tasks.shutdown().await;
        if !stopped.load(SeqCst) || !tasks.is_empty() {
            return Err(at("shutdown returned before its task was dropped"));
        }
        t.shut_down.fetch_add(1, SeqCst);
    }
    Ok(TASK_ROUNDS)
}

impl Workload for Tasks {
    fn new() -> Self {
        Self {
            spawner: Arc::default(),
            root: CancellationToken::new(),
            set_outputs: Arc::default(),
            joined: Arc::default(),
            callbacks: Arc::default(),
            aborted: Arc::default(),
            background: Arc::default(),
            shut_down: Arc::default(),
        }
    }

    fn task(&self, id: usize) -> BoxedTask {
        Box::pin(tasks_worker(self.clone(), id))
    }

    /// The same async code, on this thread with `futures::executor::block_on` (the
    /// task types have no blocking API); spawned tasks get a thread each.
    fn blocking(&self, id: usize) -> TaskResult {
        futures::executor::block_on(tasks_worker(self.clone(), id))
    }

    fn set_spawner(&self, spawner: SharedSpawner) {
        let _ = self.spawner.set(spawner);
    }

    fn verify(&self, results: &[TaskResult]) -> Result<String, String> {
        let mut problems = String::new();
        if results.len() != TASKS {
            let _ = writeln!(problems, "{} task results, expected {TASKS}", results.len());
        }
        for (i, r) in results.iter().enumerate() {
            match r {
                Ok(TASK_ROUNDS) => {}
                other => {
                    let _ = writeln!(problems, "task {i}: {other:?}");
                }
            }
        }
        let rounds = TASKS as u64 * TASK_ROUNDS;
        let spawned = self.spawner.get().is_some();
        let per_round = |n: u64| if spawned { n * rounds } else { 0 };
        for (what, counter, expected) in [
            ("set outputs", &self.set_outputs, (SET_SIZE + 2) * rounds),
            ("spawned outputs", &self.joined, per_round(1)),
            ("on_complete callbacks", &self.callbacks, per_round(1)),
            ("aborted futures dropped", &self.aborted, per_round(1)),
            ("background tasks run", &self.background, per_round(3)),
            ("background tasks shut down", &self.shut_down, per_round(1)),
        ] {
            let n = counter.load(SeqCst);
            if n != expected {
                let _ = writeln!(problems, "{what}: {n}, expected {expected}");
            }
        }
        if self.root.is_cancelled() {
            problems.push_str("the root token was cancelled\n");
        }
        if problems.is_empty() {
            Ok(if spawned {
                format!(
                    "{} set outputs, {} spawned, {} aborted, {} background tasks",
                    self.set_outputs.load(SeqCst),
                    self.joined.load(SeqCst),
                    self.aborted.load(SeqCst),
                    self.background.load(SeqCst) + self.shut_down.load(SeqCst),
                )
            } else {
                format!(
                    "{} set outputs (no spawner: TaskSet and tokens only)",
                    self.set_outputs.load(SeqCst)
                )
            })
        } else {
            Err(problems)
        }
    }
}

// ---------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------

impl Workload for Shared {
    fn new() -> Self {
        Shared::new()
    }

    fn task(&self, id: usize) -> BoxedTask {
        Box::pin(worker(self.clone(), id))
    }

    fn blocking(&self, id: usize) -> TaskResult {
        worker_blocking(self.clone(), id)
    }

    fn verify(&self, results: &[TaskResult]) -> Result<String, String> {
        verify(self, results)
    }
}

/// Checks the per-task results and the final state; returns a short summary.
fn verify(shared: &Shared, results: &[TaskResult]) -> Result<String, String> {
    let mut problems = String::new();
    check_results(results, &mut problems);

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

/// Runs `body` on its own thread with a fresh `W`, fails the test if it takes longer
/// than [`TIMEOUT`] (a hung thread is left behind), then verifies the outcome.
fn run_checked<W, F>(name: &str, body: F)
where
    W: Workload,
    F: FnOnce(W) -> Vec<TaskResult> + Send + 'static,
{
    let shared = W::new();
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
    match shared.verify(&results) {
        Ok(summary) => eprintln!("{name}: ok in {:?} ({summary})", start.elapsed()),
        Err(problems) => panic!("{name}: the primitives misbehaved:\n{problems}"),
    }
}

// ---------------------------------------------------------------------------
// Executors
// ---------------------------------------------------------------------------

fn on_tokio<W: Workload>(shared: W) -> Vec<TaskResult> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("build the tokio runtime");
    let handle = rt.handle().clone();
    shared.set_spawner(Arc::new(move |fut: BoxedUnit| {
        handle.spawn(fut);
    }));
    rt.block_on(async {
        let handles: Vec<_> = (0..W::TASK_COUNT)
            .map(|id| tokio::spawn(shared.task(id)))
            .collect();
        let mut results = Vec::with_capacity(W::TASK_COUNT);
        for handle in handles {
            results.push(handle.await.unwrap_or_else(|e| Err(format!("join: {e}"))));
        }
        results
    })
}

#[test]
fn tokio_multi_thread() {
    run_checked("tokio", on_tokio::<Shared>);
}

#[test]
fn tokio_multi_thread_signals() {
    run_checked("tokio signals", on_tokio::<Signals>);
}

#[test]
fn tokio_multi_thread_queue() {
    run_checked("tokio queue", on_tokio::<Pipeline>);
}

#[test]
fn tokio_multi_thread_tasks() {
    run_checked("tokio tasks", on_tokio::<Tasks>);
}

fn on_async_executor<W: Workload>(shared: W) -> Vec<TaskResult> {
    let ex = Arc::new(async_executor::Executor::new());
    let weak = Arc::downgrade(&ex);
    shared.set_spawner(Arc::new(move |fut: BoxedUnit| {
        if let Some(ex) = weak.upgrade() {
            ex.spawn(fut).detach();
        }
    }));
    let tasks: Vec<_> = (0..W::TASK_COUNT)
        .map(|id| ex.spawn(shared.task(id)))
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
            let mut results = Vec::with_capacity(W::TASK_COUNT);
            for task in tasks {
                results.push(task.await);
            }
            results
        }));
        drop(stop);
        results
    })
}

#[test]
fn async_executor_two_threads() {
    run_checked("async-executor", on_async_executor::<Shared>);
}

#[test]
fn async_executor_two_threads_signals() {
    run_checked("async-executor signals", on_async_executor::<Signals>);
}

#[test]
fn async_executor_two_threads_queue() {
    run_checked("async-executor queue", on_async_executor::<Pipeline>);
}

#[test]
fn async_executor_two_threads_tasks() {
    run_checked("async-executor tasks", on_async_executor::<Tasks>);
}

fn on_local_pool<W: Workload>(shared: W) -> Vec<TaskResult> {
    use futures::task::LocalSpawnExt;

    let mut pool = futures::executor::LocalPool::new();
    let spawner = pool.spawner();
    // The pool's spawner is bound to this thread: spawned futures come through a
    // channel to a local task that spawns them on the pool.
    let (tx, rx) = futures::channel::mpsc::unbounded::<BoxedUnit>();
    shared.set_spawner(Arc::new(move |fut: BoxedUnit| {
        tx.unbounded_send(fut)
            .expect("the pool's spawning task is alive");
    }));
    let local = spawner.clone();
    spawner
        .spawn_local(futures::StreamExt::for_each(rx, move |fut| {
            local.spawn_local(fut).expect("spawn_local");
            std::future::ready(())
        }))
        .expect("spawn_local");
    let handles: Vec<_> = (0..W::TASK_COUNT)
        .map(|id| {
            spawner
                .spawn_local_with_handle(shared.task(id))
                .expect("spawn_local")
        })
        .collect();
    pool.run_until(futures::future::join_all(handles))
}

#[test]
fn futures_local_pool() {
    run_checked("LocalPool", on_local_pool::<Shared>);
}

#[test]
fn futures_local_pool_signals() {
    run_checked("LocalPool signals", on_local_pool::<Signals>);
}

#[test]
fn futures_local_pool_queue() {
    run_checked("LocalPool queue", on_local_pool::<Pipeline>);
}

#[test]
fn futures_local_pool_tasks() {
    run_checked("LocalPool tasks", on_local_pool::<Tasks>);
}

// -- a hand-written, firmware-style block_on --------------------------------

/// Set by the waker, cleared by `block_on` before each poll. A `static`, as in
/// firmware, so the waker data is `'static` and wakers may outlive `block_on`. One
/// per test, as tests run in parallel.
static WOKEN: AtomicBool = AtomicBool::new(false);
static WOKEN_SIGNALS: AtomicBool = AtomicBool::new(false);
static WOKEN_QUEUE: AtomicBool = AtomicBool::new(false);
static WOKEN_TASKS: AtomicBool = AtomicBool::new(false);

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

fn on_block_on<W: Workload>(flag: &'static AtomicBool, shared: W) -> Vec<TaskResult> {
    let tasks: Vec<Pin<Box<dyn Future<Output = TaskResult>>>> = (0..W::TASK_COUNT)
        .map(|id| shared.task(id) as Pin<Box<dyn Future<Output = _>>>)
        .collect();
    block_on(flag, JoinAll::new(tasks))
}

#[test]
fn hand_written_block_on() {
    run_checked("block_on", |shared: Shared| on_block_on(&WOKEN, shared));
}

#[test]
fn hand_written_block_on_signals() {
    run_checked("block_on signals", |shared: Signals| {
        on_block_on(&WOKEN_SIGNALS, shared)
    });
}

#[test]
fn hand_written_block_on_queue() {
    run_checked("block_on queue", |shared: Pipeline| {
        on_block_on(&WOKEN_QUEUE, shared)
    });
}

/// `block_on` runs one future and nothing beside it: no spawner, so the tasks
/// workload runs its `TaskSet` and token part only.
#[test]
fn hand_written_block_on_tasks() {
    run_checked("block_on tasks", |shared: Tasks| {
        on_block_on(&WOKEN_TASKS, shared)
    });
}

// -- embassy-executor on the host -------------------------------------------

/// How many embassy tasks finished, per test; `run_until` stops the executor once
/// all of the workload's tasks did.
static EMBASSY_DONE: AtomicUsize = AtomicUsize::new(0);
static EMBASSY_DONE_SIGNALS: AtomicUsize = AtomicUsize::new(0);
static EMBASSY_DONE_QUEUE: AtomicUsize = AtomicUsize::new(0);
static EMBASSY_DONE_TASKS: AtomicUsize = AtomicUsize::new(0);

/// One workload task as an embassy task. `pool_size` reserves room for all of them
/// in the task's static pool (embassy-executor 0.10 sizes pools on stable Rust, no
/// arena feature or nightly needed), for all four tests at once, as tests run in
/// parallel; arguments are owned (`'static`).
#[embassy_executor::task(pool_size = 3 * TASKS + PIPELINE_TASKS)]
async fn embassy_worker(
    task: BoxedTask,
    id: usize,
    results: mpsc::Sender<(usize, TaskResult)>,
    done: &'static AtomicUsize,
) {
    let result = task.await;
    let _ = results.send((id, result));
    done.fetch_add(1, SeqCst);
}

/// A future spawned through the tasks workload's spawner, as an embassy task. Each
/// worker has at most four spawned tasks alive at once (three background tasks, or
/// the aborted one); the pool leaves room to spare.
#[embassy_executor::task(pool_size = 8 * TASKS)]
async fn embassy_spawned(future: BoxedUnit) {
    future.await;
}

fn on_embassy<W: Workload>(done: &'static AtomicUsize, shared: W) -> Vec<TaskResult> {
    let (tx, rx) = mpsc::channel();
    // The std `Executor` is `!Send`, so it is created on the thread that runs it,
    // and `run*` wants `&'static mut self`: leak it (one per test).
    // `Executor::run` never returns; `run_until` (also in 0.10's std platform)
    // stops once every task finished, so this thread ends and can be joined. If a
    // task hangs, the thread hangs with it and `run_checked`'s timeout fires.
    let executor = thread::Builder::new()
        .name("embassy-executor".into())
        .spawn(move || {
            let executor = Box::leak(Box::new(embassy_executor::Executor::new()));
            executor.run_until(
                |spawner| {
                    let send = spawner.make_send();
                    shared.set_spawner(Arc::new(move |fut: BoxedUnit| {
                        let token =
                            embassy_spawned(fut).expect("embassy pool of spawned tasks exhausted");
                        send.spawn(token);
                    }));
                    for id in 0..W::TASK_COUNT {
                        let token = embassy_worker(shared.task(id), id, tx.clone(), done)
                            .expect("embassy task pool exhausted");
                        spawner.spawn(token);
                    }
                },
                || done.load(SeqCst) == W::TASK_COUNT,
            );
        })
        .expect("spawn the embassy thread");
    // `run_checked` times this whole closure out; a receive error means the
    // executor thread died (its panic is re-raised below).
    let mut results: Vec<(usize, TaskResult)> = rx.iter().take(W::TASK_COUNT).collect();
    if let Err(panic) = executor.join() {
        std::panic::resume_unwind(panic);
    }
    // In task order, as the other executors report them (they arrive as the tasks
    // finish).
    results.sort_by_key(|(id, _)| *id);
    results.into_iter().map(|(_, result)| result).collect()
}

#[test]
fn embassy_executor_std() {
    run_checked("embassy", |shared: Shared| {
        on_embassy(&EMBASSY_DONE, shared)
    });
}

#[test]
fn embassy_executor_std_signals() {
    run_checked("embassy signals", |shared: Signals| {
        on_embassy(&EMBASSY_DONE_SIGNALS, shared)
    });
}

#[test]
fn embassy_executor_std_queue() {
    run_checked("embassy queue", |shared: Pipeline| {
        on_embassy(&EMBASSY_DONE_QUEUE, shared)
    });
}

#[test]
fn embassy_executor_std_tasks() {
    run_checked("embassy tasks", |shared: Tasks| {
        on_embassy(&EMBASSY_DONE_TASKS, shared)
    });
}

// -- plain threads, blocking API ----------------------------------------------

fn on_threads<W: Workload>(shared: W) -> Vec<TaskResult> {
    // A thread per spawned task.
    shared.set_spawner(Arc::new(|fut: BoxedUnit| {
        thread::spawn(move || futures::executor::block_on(fut));
    }));
    thread::scope(|s| {
        let handles: Vec<_> = (0..W::TASK_COUNT)
            .map(|id| {
                let shared = shared.clone();
                s.spawn(move || shared.blocking(id))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("thread panicked".into())))
            .collect()
    })
}

#[test]
fn std_threads_blocking() {
    run_checked("threads", on_threads::<Shared>);
}

#[test]
fn std_threads_blocking_signals() {
    run_checked("threads signals", on_threads::<Signals>);
}

#[test]
fn std_threads_blocking_queue() {
    run_checked("threads queue", on_threads::<Pipeline>);
}

#[test]
fn std_threads_blocking_tasks() {
    run_checked("threads tasks", on_threads::<Tasks>);
}
