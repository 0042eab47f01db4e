//! Helpers shared by the integration tests: poll with a counting waker, and drive a
//! future to a pending point, drop it there, and let the test check that nothing
//! was lost.
#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};

/// Runs `f`, which must panic (the panic is caught).
#[track_caller]
pub fn panics(f: impl FnOnce()) {
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    assert!(caught.is_err(), "expected a panic");
}

/// A waker that counts how often it was woken.
#[derive(Default)]
pub struct WakeCounter(AtomicUsize);

impl Wake for WakeCounter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A future under test, pinned on the heap, polled by hand with its own counting
/// waker.
pub struct Task<F: Future> {
    future: Pin<Box<F>>,
    counter: Arc<WakeCounter>,
    waker: Waker,
}

impl<F: Future> Task<F> {
    pub fn new(future: F) -> Self {
        let counter = Arc::new(WakeCounter::default());
        let waker = Waker::from(Arc::clone(&counter));
        Self {
            future: Box::pin(future),
            counter,
            waker,
        }
    }

    /// Polls once.
    pub fn poll(&mut self) -> Poll<F::Output> {
        self.future
            .as_mut()
            .poll(&mut Context::from_waker(&self.waker))
    }

    /// The future itself (for its `Debug` output, say).
    pub fn future(&self) -> &F {
        &self.future
    }

    /// How many times this task's waker was woken so far.
    pub fn wakes(&self) -> usize {
        self.counter.0.load(Ordering::SeqCst)
    }

    /// Whether the waker was woken at least once.
    pub fn is_woken(&self) -> bool {
        self.wakes() > 0
    }

    /// Polls once and expects `Pending`.
    #[track_caller]
    pub fn assert_pending(&mut self) {
        assert!(
            self.poll().is_pending(),
            "expected the future to be pending"
        );
    }

    /// Polls once and expects `Ready`, returning the output.
    #[track_caller]
    pub fn assert_ready(&mut self) -> F::Output {
        match self.poll() {
            Poll::Ready(output) => output,
            Poll::Pending => panic!("expected the future to be ready"),
        }
    }
}

/// A future of a random model test, watched for lost wake-ups.
pub struct Watched<F: Future> {
    pub task: Task<F>,
    /// Polled at least once (and pending since): it waits on the primitive. A
    /// future never polled does not (it is a task that has not run yet).
    pub polled: bool,
    /// The wake count just before its last poll: a higher count now means it was
    /// woken since (also by a wake that came during that poll).
    seen: usize,
}

impl<F: Future> Watched<F> {
    pub fn new(future: F) -> Self {
        Self {
            task: Task::new(future),
            polled: false,
            seen: 0,
        }
    }

    /// Woken since its last poll.
    pub fn woken(&self) -> bool {
        self.polled && self.task.wakes() > self.seen
    }

    /// Polls once: the result, and whether it was woken since its last poll.
    pub fn poll(&mut self) -> (Poll<F::Output>, bool) {
        let (before, woken) = (self.task.wakes(), self.woken());
        let poll = self.task.poll();
        (self.seen, self.polled) = (before, true);
        (poll, woken)
    }
}

/// A random model test's waiters, for [`drive_woken`].
pub trait Waiters {
    /// The places of the waiters woken since their last poll.
    fn woken(&self) -> Vec<usize>;
    /// Polls the waiter at `at` once (at step `step`).
    fn poll_at(&mut self, at: usize, step: usize);
}

/// Polls waiters woken since their last poll, in random order, until none is (a
/// quiescent point), and returns how many polls that took. Never polls one that
/// was not woken: that would hide a lost wake-up.
pub fn drive_woken(waiters: &mut impl Waiters, rng: &mut Rng, step: usize) -> usize {
    for polls in 0..10_000 {
        let woken = waiters.woken();
        if woken.is_empty() {
            return polls;
        }
        waiters.poll_at(woken[rng.below(woken.len())], step);
    }
    panic!("step {step}: waiters keep waking each other")
}

/// Polls `future` once, asserts that it is pending (it registered as a waiter),
/// and returns it still pending, so the test can go on and drop it at that point.
#[track_caller]
pub fn pending<F: Future>(future: F) -> Task<F> {
    let mut task = Task::new(future);
    task.assert_pending();
    task
}

/// Starves `waiter` (pending on a lock whose guard is `held`): round after round
/// the holder releases the lock and a newcomer takes it again with `relock` (a
/// `try_*`) before the waiter runs, until `relock` is refused because the waiter
/// now has priority. Each round checks that the waiter was woken and, polled,
/// finds the lock taken. Returns how many times the newcomer got in; panics if it
/// still gets in after 50 rounds.
#[track_caller]
pub fn relock_until_refused<F: Future, G>(
    waiter: &mut Task<F>,
    held: G,
    mut relock: impl FnMut() -> Option<G>,
) -> usize {
    let mut held = Some(held);
    for round in 0..50 {
        drop(held.take());
        assert!(waiter.is_woken(), "the release wakes the waiter");
        match relock() {
            Some(again) => {
                held = Some(again);
                waiter.assert_pending();
            }
            None => return round,
        }
    }
    panic!("a newcomer still got in after 50 rounds: the waiter never starved");
}

/// Drives `future` to a pending point and drops it there. The caller then checks
/// that nothing was lost (a lock still free, permits all back, a wake-up passed on).
#[track_caller]
pub fn drop_at_pending<F: Future>(future: F) {
    drop(pending(future));
}

/// [`drop_at_pending`], also checking the waker: while pending, the future's wait
/// held `held` copies of it; once dropped, none is left anywhere (so nothing can
/// wake the dropped waiter later, and nothing keeps its task alive).
#[track_caller]
pub fn drop_at_pending_releasing_waker<F: Future>(future: F, held: usize) {
    let task = pending(future);
    let counter = Arc::clone(&task.counter);
    // The task's own waker and `counter`, and `task.counter`.
    assert_eq!(
        Arc::strong_count(&counter) - 3,
        held,
        "copies held while pending"
    );
    drop(task);
    assert_eq!(
        Arc::strong_count(&counter),
        1,
        "the waker is let go with the future"
    );
    assert_eq!(counter.0.load(Ordering::SeqCst), 0, "not woken");
}

/// The message of a panic payload (empty if it is neither `&str` nor `String`).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|m| m.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

/// Polls `task`, which has completed, once more and checks that this panics with
/// a message containing `expected` (the documented "polled after completion").
#[track_caller]
pub fn assert_panics_when_polled_again<F: Future>(mut task: Task<F>, expected: &str) {
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = task.poll();
    }))
    .expect_err("a future polled again after it completed panics");
    let message = panic_message(&*panic);
    assert!(message.contains(expected), "panic message: {message:?}");
}

/// Drives `future` to completion at its first poll, drops its output, and checks
/// that a second poll panics with a message containing `expected`.
#[track_caller]
pub fn assert_ready_then_panics_when_polled_again<F: Future>(future: F, expected: &str) {
    let mut task = Task::new(future);
    drop(task.assert_ready());
    assert_panics_when_polled_again(task, expected);
}

/// Polls a future that must be ready at once.
#[track_caller]
pub fn now<F: Future>(future: F) -> F::Output {
    Task::new(future).assert_ready()
}

/// A future that returns `Pending` once (waking itself), then `Ready`: a yield
/// point for tests that need the executor to run something else.
pub fn yield_now() -> impl Future<Output = ()> {
    let mut yielded = false;
    std::future::poll_fn(move |cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
}

/// A waker that counts its wake-ups, with the counter to read them: for tests that
/// poll one future with several wakers in turn.
pub fn counting_waker() -> (Waker, Arc<WakeCounter>) {
    let counter = Arc::new(WakeCounter::default());
    (Waker::from(Arc::clone(&counter)), counter)
}

impl WakeCounter {
    /// How many times the waker was woken so far.
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// Runs `f` on a new thread and returns its result, or fails the test if it takes
/// longer than a minute (a lost wake-up or a deadlock; the hung thread is left
/// behind and the process exits when the harness does).
#[track_caller]
pub fn within_a_minute<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    within(std::time::Duration::from_secs(60), f)
}

/// [`within_a_minute`] with another limit.
#[track_caller]
pub fn within<T: Send + 'static>(
    limit: std::time::Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(result) => {
            handle.join().expect("the thread panicked after reporting");
            result
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the thread ended without a result"),
        },
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("no result after {limit:?}: a lost wake-up or a deadlock")
        }
    }
}

/// Runs `scenario` on a tokio runtime with 2 worker threads, failing the test if
/// it takes over a minute (a lost wake-up or permit shows as a hang).
pub fn on_two_workers(scenario: impl Future<Output = ()>) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("a tokio runtime")
        .block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(60), scenario)
                .await
                .expect("the scenario finishes within a minute: nothing was lost");
        });
}

/// Waits for every task, failing the test if one of them panicked.
pub async fn join_tasks<T>(tasks: impl IntoIterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut outputs = Vec::new();
    for task in tasks {
        outputs.push(task.await.expect("no task panics"));
    }
    outputs
}

/// A small deterministic generator (xorshift) for the random scenarios.
pub struct Rng(pub u64);

impl Rng {
    /// The next value, below `n`.
    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// Counts how many of the values it hands out were dropped: put one in a future to
/// see when (and whether) the future was dropped.
#[derive(Clone, Default)]
pub struct Drops(Arc<AtomicUsize>);

/// Adds one to its [`Drops`] counter when dropped.
pub struct DropMark(Arc<AtomicUsize>);

impl Drop for DropMark {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl Drops {
    pub fn new() -> Self {
        Self::default()
    }

    /// A value that counts itself here when dropped.
    pub fn mark(&self) -> DropMark {
        DropMark(Arc::clone(&self.0))
    }

    /// How many marks were dropped so far.
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// A task as [`async_patterns::task::Spawn`] hands it over.
pub type BoxedUnit = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A hand-driven executor: spawned tasks run only when the test calls [`tick`] or
/// [`run`], so a test can stop between any two polls. Like a real executor it keeps
/// every unfinished task until it finishes (or until [`drop_all`] or dropping the
/// last clone of the executor drops it).
///
/// [`tick`]: Manual::tick
/// [`run`]: Manual::run
/// [`drop_all`]: Manual::drop_all
#[derive(Clone, Default)]
pub struct Manual(Arc<ManualState>);

#[derive(Default)]
struct ManualState {
    ready: std::sync::Mutex<std::collections::VecDeque<Arc<Job>>>,
    live: std::sync::Mutex<Vec<Arc<Job>>>,
    polls: AtomicUsize,
}

struct Job {
    future: std::sync::Mutex<Option<BoxedUnit>>,
    queued: std::sync::atomic::AtomicBool,
    executor: std::sync::Weak<ManualState>,
}

impl Wake for Job {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.queued.swap(true, Ordering::SeqCst) {
            return;
        }
        if let Some(executor) = self.executor.upgrade() {
            executor.ready.lock().unwrap().push_back(Arc::clone(self));
        }
    }
}

impl async_patterns::task::Spawn for Manual {
    fn spawn_boxed(&self, future: BoxedUnit) {
        let job = Arc::new(Job {
            future: std::sync::Mutex::new(Some(future)),
            queued: std::sync::atomic::AtomicBool::new(true),
            executor: Arc::downgrade(&self.0),
        });
        self.0.live.lock().unwrap().push(Arc::clone(&job));
        self.0.ready.lock().unwrap().push_back(job);
    }
}

impl Manual {
    pub fn new() -> Self {
        Self::default()
    }

    /// Polls the next scheduled task once; `false` if no task is scheduled.
    pub fn tick(&self) -> bool {
        let Some(job) = self.0.ready.lock().unwrap().pop_front() else {
            return false;
        };
        job.queued.store(false, Ordering::SeqCst);
        // Out of its lock while polled: the future may wake or spawn freely.
        let taken = job.future.lock().unwrap().take();
        let Some(mut future) = taken else {
            return true; // finished or dropped already
        };
        self.0.polls.fetch_add(1, Ordering::SeqCst);
        let waker = Waker::from(Arc::clone(&job));
        if future
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending()
        {
            *job.future.lock().unwrap() = Some(future);
        } else {
            drop(future);
            self.0
                .live
                .lock()
                .unwrap()
                .retain(|other| !Arc::ptr_eq(other, &job));
        }
        true
    }

    /// Polls scheduled tasks until none is; returns how many polls that took.
    pub fn run(&self) -> usize {
        let mut polls = 0;
        while self.tick() {
            polls += 1;
        }
        polls
    }

    /// Tasks spawned and not finished (nor dropped).
    pub fn live(&self) -> usize {
        self.0.live.lock().unwrap().len()
    }

    /// Task polls so far.
    pub fn polls(&self) -> usize {
        self.0.polls.load(Ordering::SeqCst)
    }

    /// Drops every unfinished task, as an executor that shuts down does.
    pub fn drop_all(&self) {
        let jobs = std::mem::take(&mut *self.0.live.lock().unwrap());
        for job in jobs {
            let future = job.future.lock().unwrap().take();
            drop(future);
        }
    }
}

impl Drop for ManualState {
    fn drop(&mut self) {
        // Drop the unfinished tasks (their wakers may keep the jobs alive).
        for job in self.live.get_mut().unwrap().drain(..) {
            let future = job.future.lock().unwrap().take();
            drop(future);
        }
    }
}

/// A stream under test, pinned on the heap, polled by hand with a counting waker.
pub struct StreamTask<S> {
    stream: Pin<Box<S>>,
    waker: Waker,
    counter: Arc<WakeCounter>,
}

impl<S: futures_core::Stream> StreamTask<S> {
    pub fn new(stream: S) -> Self {
        let (waker, counter) = counting_waker();
        Self {
            stream: Box::pin(stream),
            waker,
            counter,
        }
    }

    pub fn poll_next(&mut self) -> Poll<Option<S::Item>> {
        self.stream
            .as_mut()
            .poll_next(&mut Context::from_waker(&self.waker))
    }

    /// The stream itself (for `FusedStream::is_terminated`, say).
    pub fn stream(&self) -> &S {
        &self.stream
    }

    pub fn wakes(&self) -> usize {
        self.counter.count()
    }

    #[track_caller]
    pub fn assert_pending(&mut self) {
        assert!(
            self.poll_next().is_pending(),
            "expected the stream to be pending"
        );
    }

    #[track_caller]
    pub fn assert_next(&mut self) -> Option<S::Item> {
        match self.poll_next() {
            Poll::Ready(item) => item,
            Poll::Pending => panic!("expected the stream to be ready"),
        }
    }
}

/// A waker whose last copy, when dropped, runs a hook: it stands for the last
/// reference to a task whose future waits on the same primitive, so that dropping
/// the waker re-enters the primitive (the future's `Drop` takes its lock).
struct DropHook {
    hook: std::sync::Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

impl Wake for DropHook {
    fn wake(self: Arc<Self>) {}
}

impl Drop for DropHook {
    fn drop(&mut self) {
        let hook = self.hook.get_mut().unwrap().take();
        if let Some(hook) = hook {
            hook();
        }
    }
}

/// A waker that runs `hook` when its last copy is dropped.
pub fn waker_on_last_drop(hook: impl FnOnce() + Send + 'static) -> Waker {
    Waker::from(Arc::new(DropHook {
        hook: std::sync::Mutex::new(Some(Box::new(hook))),
    }))
}

/// Polls `future` to a pending point with a waker that re-enters the primitive
/// (runs `reenter`) when its last copy is dropped, polls it again with a second
/// such waker (the primitive lets go of the first: it must not hold its lock when
/// it does), then drops it (the same for the second). Checks that each hook ran
/// when its waker was let go. A primitive that drops a waker while it holds its
/// own lock hangs here instead, which fails the test after 10 s.
///
/// `reenter` must take the primitive's internal lock: start a wait on it and
/// give it up, say.
pub fn reenters_on_waker_drop<F: Future + Send + 'static>(
    future: F,
    reenter: impl Fn() + Send + Sync + 'static,
) {
    within(std::time::Duration::from_secs(10), move || {
        let reenter = Arc::new(reenter);
        let hooked = || {
            let reenter = Arc::clone(&reenter);
            let ran = Arc::new(AtomicUsize::new(0));
            let count = Arc::clone(&ran);
            let waker = waker_on_last_drop(move || {
                reenter();
                count.fetch_add(1, Ordering::SeqCst);
            });
            (waker, ran)
        };
        let mut future = Box::pin(future);
        let (first, first_ran) = hooked();
        let poll = future.as_mut().poll(&mut Context::from_waker(&first));
        assert!(poll.is_pending(), "expected the future to be pending");
        drop(first);
        assert_eq!(
            first_ran.load(Ordering::SeqCst),
            0,
            "the primitive holds the waker"
        );
        let (second, second_ran) = hooked();
        let poll = future.as_mut().poll(&mut Context::from_waker(&second));
        assert!(poll.is_pending(), "expected the future to stay pending");
        assert_eq!(
            first_ran.load(Ordering::SeqCst),
            1,
            "the first waker is let go when the second replaces it"
        );
        drop(second);
        drop(future);
        assert_eq!(
            second_ran.load(Ordering::SeqCst),
            1,
            "the second waker is let go with the future"
        );
    });
}

/// A waker whose `wake` and `wake_by_ref` panic, and whose `clone` panics too if
/// `clone_panics` (else it gives another such waker): a misbehaving executor's.
pub fn panicking_waker(clone_panics: bool) -> Waker {
    use std::task::{RawWaker, RawWakerVTable};
    fn clone_ok(_: *const ()) -> RawWaker {
        RawWaker::new(std::ptr::null(), &WAKE_PANICS)
    }
    fn clone_panics_too(_: *const ()) -> RawWaker {
        panic!("waker clone panic")
    }
    fn wake(_: *const ()) {
        panic!("waker wake panic")
    }
    fn drop(_: *const ()) {}
    static WAKE_PANICS: RawWakerVTable = RawWakerVTable::new(clone_ok, wake, wake, drop);
    static ALL_PANIC: RawWakerVTable = RawWakerVTable::new(clone_panics_too, wake, wake, drop);
    let vtable = if clone_panics {
        &ALL_PANIC
    } else {
        &WAKE_PANICS
    };
    // SAFETY: the vtable's functions ignore the (null) data pointer and keep no
    // resources, so every contract of `RawWaker` holds.
    unsafe { Waker::from_raw(RawWaker::new(std::ptr::null(), vtable)) }
}
