//! [`Spawn`], [`spawn`], [`JoinHandle`] and [`shield`]: tasks on an executor the
//! user provides, with abort, completion callbacks and captured panics.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;
use core::future::Future;
use core::mem;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

use pin_project_lite::pin_project;

use crate::sync::waiters::{keep_stale, store_waker, with_stale};
use crate::sync_facade::{Arc, AtomicBool, BlockingMutex, Ordering};

/// An executor that can run a `'static` future to completion in the background.
///
/// The crate never picks an executor: whatever must outlive its caller (a
/// [`spawn`]ed task, a [`shield`]ed one, [`BackgroundTasks`](super::BackgroundTasks))
/// goes through a `Spawn` the user provides. It is implemented for every
/// `Fn(Pin<Box<dyn Future<Output = ()> + Send>>)`, so any executor fits in one
/// closure, and, with the `tokio` feature, for `tokio::runtime::Handle`.
///
/// ```
/// use async_patterns::task::{Spawn, spawn};
///
/// let ex = async_executor::Executor::new();
/// let spawner = |fut| ex.spawn(fut).detach(); // smol's executor
/// let handle = spawn(&spawner, async { 6 * 7 });
/// assert_eq!(futures_lite::future::block_on(ex.run(handle)).unwrap(), 42);
/// ```
pub trait Spawn {
    /// Runs `future` to completion in the background.
    fn spawn_boxed(&self, future: Pin<Box<dyn Future<Output = ()> + Send>>);
}

impl<F> Spawn for F
where
    F: Fn(Pin<Box<dyn Future<Output = ()> + Send>>),
{
    fn spawn_boxed(&self, future: Pin<Box<dyn Future<Output = ()> + Send>>) {
        self(future);
    }
}

/// An executor that runs futures on the thread that spawned them: [`Spawn`] for
/// futures that are not `Send` (they hold an `Rc`, a `RefCell` borrow across an
/// `await`, ...), as on a single-threaded executor (`futures`' `LocalPool`, tokio's
/// `LocalSet`, or embassy's `Spawner` through a task that runs a boxed future), the
/// usual home of code ported from asyncio.
///
/// It is implemented for every `Fn(Pin<Box<dyn Future<Output = ()>>>)`.
///
/// ```
/// use async_patterns::task::spawn_local;
/// use futures::executor::LocalPool;
/// use futures::task::LocalSpawnExt;
/// use std::rc::Rc;
///
/// let mut pool = LocalPool::new();
/// let spawner = pool.spawner();
/// let spawner = move |fut| spawner.spawn_local(fut).expect("the pool is alive");
/// let shared = Rc::new(5); // not Send
/// let handle = spawn_local(&spawner, async move { *shared * 2 });
/// assert_eq!(pool.run_until(handle).unwrap(), 10);
/// ```
pub trait LocalSpawn {
    /// Runs `future` to completion in the background, on this thread.
    fn spawn_local_boxed(&self, future: Pin<Box<dyn Future<Output = ()>>>);
}

impl<F> LocalSpawn for F
where
    F: Fn(Pin<Box<dyn Future<Output = ()>>>),
{
    fn spawn_local_boxed(&self, future: Pin<Box<dyn Future<Output = ()>>>) {
        self(future);
    }
}

#[cfg(feature = "tokio")]
impl Spawn for tokio::runtime::Handle {
    /// Spawns on this runtime (its own `JoinHandle` is dropped: the task runs on).
    fn spawn_boxed(&self, future: Pin<Box<dyn Future<Output = ()> + Send>>) {
        drop(self.spawn(future));
    }
}

/// Why a task produced no output.
#[non_exhaustive]
pub enum JoinError {
    /// The task was [`abort`](JoinHandle::abort)ed, or its executor dropped it
    /// before it finished (asyncio's `CancelledError`).
    Cancelled,
    /// The task panicked; the payload is what it panicked with. Only with `std`
    /// (without it a panic is not caught).
    #[cfg(feature = "std")]
    Panicked(Box<dyn core::any::Any + Send + 'static>),
}

impl JoinError {
    /// Whether the task was cancelled.
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        matches!(self, Self::Cancelled)
    }

    /// Whether the task panicked.
    #[must_use]
    pub fn is_panic(&self) -> bool {
        !self.is_cancelled()
    }

    /// The panic payload, or the error back if the task was cancelled.
    ///
    /// # Errors
    ///
    /// `self` if this is not a panic.
    #[cfg(feature = "std")]
    pub fn try_into_panic(self) -> Result<Box<dyn core::any::Any + Send + 'static>, JoinError> {
        match self {
            Self::Panicked(payload) => Ok(payload),
            other => Err(other),
        }
    }

    /// The panic payload, to pass on with `std::panic::resume_unwind` (as
    /// tokio's `JoinError::into_panic`).
    ///
    /// # Panics
    ///
    /// If the task was cancelled, not panicked; see
    /// [`try_into_panic`](Self::try_into_panic).
    ///
    /// ```
    /// use async_patterns::task::spawn;
    ///
    /// # let ex = async_executor::Executor::new();
    /// # let spawner = |fut| ex.spawn(fut).detach();
    /// # futures_lite::future::block_on(ex.run(async {
    /// let handle = spawn(&spawner, async { panic!("boom") });
    /// let payload = handle.await.unwrap_err().into_panic();
    /// assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
    /// # }));
    /// ```
    #[cfg(feature = "std")]
    pub fn into_panic(self) -> Box<dyn core::any::Any + Send + 'static> {
        self.try_into_panic()
            .expect("async-patterns: JoinError::into_panic on a cancelled task, not a panic")
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cancelled => f.write_str("Cancelled"),
            #[cfg(feature = "std")]
            Self::Panicked(payload) => f
                .debug_tuple("Panicked")
                .field(&panic_message(&**payload))
                .finish(),
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cancelled => f.write_str("task was cancelled"),
            #[cfg(feature = "std")]
            Self::Panicked(payload) => write!(f, "task panicked: {}", panic_message(&**payload)),
        }
    }
}

impl core::error::Error for JoinError {}

#[cfg(feature = "std")]
fn panic_message(payload: &(dyn core::any::Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<alloc::string::String>() {
        s
    } else {
        "(a non-string payload)"
    }
}

/// A task as the executor gets it.
pub(crate) type BoxedTask = Pin<Box<dyn Future<Output = ()> + Send>>;

type Callback<T> = Box<dyn FnOnce(Result<&T, &JoinError>) + Send>;

/// What a task and its handle share.
struct Shared<T> {
    /// Set by `abort`; the task checks it before each poll of its future.
    abort: AtomicBool,
    /// Set when the output is published (`Output::Ready`).
    finished: AtomicBool,
    state: BlockingMutex<State<T>>,
}

struct State<T> {
    output: Output<T>,
    /// The task awaiting the handle.
    join_waker: Option<Waker>,
    /// The spawned task, so `abort` can get it polled; kept only while some
    /// handle can abort (see `aborters`).
    task_waker: Option<Waker>,
    /// Handles that can abort the task: the `JoinHandle` and each `AbortHandle`
    /// (and each abort of a `BackgroundTasks`). Once none is left, the task keeps
    /// no waker of its own: nobody could use it, and the waker may own the task
    /// (an executor that frees a task with its last waker would never free one
    /// that holds its own).
    aborters: usize,
    /// `on_complete` callbacks waiting for the output.
    callbacks: Vec<Callback<T>>,
    /// The `JoinHandle` is gone: nobody can take the output, so it is dropped
    /// when published (an `AbortHandle` may keep this state alive for long).
    detached: bool,
}

enum Output<T> {
    /// The task has not finished.
    Pending,
    /// Someone holds the output outside the lock, running callbacks; it publishes
    /// the output when no callback is left.
    Held,
    /// Published: the handle can take it.
    Ready(Result<T, JoinError>),
    /// Taken by awaiting the handle.
    Taken,
}

impl<T> Shared<T> {
    fn new() -> Self {
        Self {
            abort: AtomicBool::new(false),
            finished: AtomicBool::new(false),
            state: BlockingMutex::new(State {
                output: Output::Pending,
                join_waker: None,
                task_waker: None,
                aborters: 1, // the `JoinHandle`
                callbacks: Vec::new(),
                detached: false,
            }),
        }
    }

    /// Runs the callbacks registered so far (and those registered meanwhile) on
    /// `output`, then publishes it and wakes the handle. The caller has set
    /// `Output::Held`. The first panic of a callback is resumed at the end if
    /// `resume` (never from a destructor: a second panic there would abort).
    fn run_callbacks_and_publish(&self, output: Result<T, JoinError>, resume: bool) {
        #[cfg(feature = "std")]
        let mut first_panic = None;
        let mut output = Some(output);
        let waker = loop {
            let step = self.state.with(|state| {
                if state.callbacks.is_empty() {
                    self.finished.store(true, Ordering::Release);
                    if state.detached {
                        state.output = Output::Taken; // `output` is dropped below
                        return Ok(None);
                    }
                    state.output = Output::Ready(output.take().expect("published once"));
                    Ok(state.join_waker.take())
                } else {
                    Err(mem::take(&mut state.callbacks))
                }
            });
            let callbacks = match step {
                Ok(waker) => break waker,
                Err(callbacks) => callbacks,
            };
            let held = output.as_ref().expect("held until published").as_ref();
            for callback in callbacks {
                #[cfg(feature = "std")]
                {
                    let run = core::panic::AssertUnwindSafe(|| callback(held));
                    if let Err(payload) = std::panic::catch_unwind(run) {
                        first_panic.get_or_insert(payload);
                    }
                }
                #[cfg(not(feature = "std"))]
                callback(held);
            }
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        drop(output); // a detached task's, not published
        // A panicking callback is the caller's bug: it surfaces, but only after the
        // output is published and the other callbacks ran.
        #[cfg(feature = "std")]
        if let Some(payload) = first_panic {
            if resume && !std::thread::panicking() {
                std::panic::resume_unwind(payload);
            }
        }
        #[cfg(not(feature = "std"))]
        let _ = resume;
    }

    /// The task finished with `output`: runs the callbacks and publishes it
    /// (`resume`: see `run_callbacks_and_publish`).
    fn complete(&self, output: Result<T, JoinError>, resume: bool) {
        let task_waker = self.state.with(|state| {
            debug_assert!(matches!(state.output, Output::Pending));
            state.output = Output::Held;
            state.task_waker.take()
        });
        drop(task_waker);
        self.run_callbacks_and_publish(output, resume);
    }

    fn abort(&self) {
        if let Some(waker) = self.request_abort() {
            waker.wake();
        }
    }

    /// Whether the outcome is published.
    fn is_finished(&self) -> bool {
        self.finished.load(Ordering::Acquire)
    }

    /// Sets the abort flag and returns the task's waker, for the caller to wake
    /// once it holds no lock.
    fn request_abort(&self) -> Option<Waker> {
        self.abort.store(true, Ordering::Release);
        self.state.with(|state| state.task_waker.take())
    }
}

impl<T> State<T> {
    /// One handle that can abort the task is gone; the task's waker, to drop after
    /// the lock, if it was the last.
    fn aborter_gone(&mut self) -> Option<Waker> {
        self.aborters -= 1;
        if self.aborters == 0 {
            self.task_waker.take()
        } else {
            None
        }
    }
}

/// A handle's share in aborting the task (see `State::aborters`), given back when
/// dropped.
struct Aborter<T>(Arc<Shared<T>>);

impl<T> Aborter<T> {
    fn new(shared: &Arc<Shared<T>>) -> Self {
        shared.state.with(|state| state.aborters += 1);
        Self(Arc::clone(shared))
    }
}

impl<T> Drop for Aborter<T> {
    fn drop(&mut self) {
        with_stale(&self.0.state, |state, stale| {
            keep_stale(stale, state.aborter_gone());
        });
    }
}

/// Spawns `future` on `spawner` and returns a handle to its output.
///
/// The handle is a future of `Result<F::Output, JoinError>`; dropping it detaches
/// the task, which runs on (as in tokio and asyncio). Under `std` a panic in the
/// task is caught and comes out as [`JoinError::Panicked`] instead of unwinding
/// into the executor.
///
/// ```
/// use async_patterns::task::spawn;
///
/// # let ex = async_executor::Executor::new();
/// # let spawner = |fut| ex.spawn(fut).detach();
/// # futures_lite::future::block_on(ex.run(async {
/// let handle = spawn(&spawner, async { "done" });
/// assert_eq!(handle.await.unwrap(), "done");
/// # }));
/// ```
///
/// # Cancel safety
///
/// Dropping the handle detaches the task, which runs on (see [`JoinHandle`]);
/// [`JoinHandle::abort_on_drop`] makes dropping it abort the task instead.
pub fn spawn<S, F>(spawner: &S, future: F) -> JoinHandle<F::Output>
where
    S: Spawn + ?Sized,
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (handle, task) = task(future);
    spawner.spawn_boxed(task);
    handle
}

/// [`spawn`] for a future that is not `Send`, on a [`LocalSpawn`]: the same
/// [`JoinHandle`] (abort, `on_complete`, panics caught under `std`), which is
/// `Send` only if the output is.
///
/// ```
/// use async_patterns::task::spawn_local;
/// use futures::executor::LocalPool;
/// use futures::task::LocalSpawnExt;
/// use std::cell::RefCell;
/// use std::rc::Rc;
///
/// let mut pool = LocalPool::new();
/// let spawner = pool.spawner();
/// let spawner = move |fut| spawner.spawn_local(fut).expect("the pool is alive");
/// let log = Rc::new(RefCell::new(Vec::new()));
/// let handles: Vec<_> = (0..3)
///     .map(|i| {
///         let log = Rc::clone(&log);
///         spawn_local(&spawner, async move { log.borrow_mut().push(i) })
///     })
///     .collect();
/// pool.run_until(async_patterns::future::join_all(handles));
/// assert_eq!(*log.borrow(), [0, 1, 2]);
/// ```
///
/// # Cancel safety
///
/// As [`spawn`]: dropping the handle detaches the task.
pub fn spawn_local<S, F>(spawner: &S, future: F) -> JoinHandle<F::Output>
where
    S: LocalSpawn + ?Sized,
    F: Future + 'static,
    F::Output: 'static,
{
    let (handle, task) = new_task(future, ());
    spawner.spawn_local_boxed(Box::pin(task));
    handle
}

/// A task not handed to an executor yet, and its handle.
pub(crate) fn task<F>(future: F) -> (JoinHandle<F::Output>, BoxedTask)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    task_with_guard(future, ())
}

/// [`task`], with a `guard` that the task drops once its outcome is published and
/// its callbacks have run (however it ends).
pub(crate) fn task_with_guard<F, G>(future: F, guard: G) -> (JoinHandle<F::Output>, BoxedTask)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    G: Send + 'static,
{
    let (handle, task) = new_task(future, guard);
    (handle, Box::pin(task))
}

/// A task and its handle, `Send` or not as `future` and `guard` are.
fn new_task<F: Future, G>(future: F, guard: G) -> (JoinHandle<F::Output>, Task<F, G>) {
    let shared = Arc::new(Shared::new());
    let task = Task {
        stage: Stage::Running { future },
        shared: Arc::clone(&shared),
        guard: Some(guard),
    };
    (JoinHandle { shared }, task)
}

/// Runs `future` to completion as its own task, whatever happens to the caller
/// (asyncio's `shield`).
///
/// Awaiting the returned handle gives the output; if the task awaiting it is
/// cancelled (its future dropped), the handle is dropped, which detaches the work:
/// it still runs to its end. Use it for work that must not stop halfway, such as a
/// write that must land. This is [`spawn`] under a name that says why.
///
/// ```
/// use async_patterns::task::shield;
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
///
/// # let ex = async_executor::Executor::new();
/// # let spawner = |fut| ex.spawn(fut).detach();
/// let written = Arc::new(AtomicBool::new(false));
/// let w = Arc::clone(&written);
/// let handle = shield(&spawner, async move { w.store(true, Ordering::SeqCst) });
/// drop(handle); // the caller is cancelled...
/// while ex.try_tick() {}
/// assert!(written.load(Ordering::SeqCst)); // ...and the write landed anyway
/// ```
///
/// # Cancel safety
///
/// Dropping the handle leaves the work running to its end: that is the point.
pub fn shield<S, F>(spawner: &S, future: F) -> JoinHandle<F::Output>
where
    S: Spawn + ?Sized,
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    spawn(spawner, future)
}

pin_project! {
    /// The future handed to the executor: runs the user's future, checks for abort,
    /// catches panics and publishes the output.
    struct Task<F: Future, G> {
        #[pin]
        stage: Stage<F>,
        shared: Arc<Shared<F::Output>>,
        // Dropped after the outcome is published (see `task_with_guard`).
        guard: Option<G>,
    }

    impl<F: Future, G> PinnedDrop for Task<F, G> {
        fn drop(this: Pin<&mut Self>) {
            let mut this = this.project();
            // Dropped by its executor before it finished: the future's own `Drop`
            // runs first, then the handle learns it was cancelled, then the guard
            // goes; also when that `Drop` panics (the panic goes on to the executor).
            if let StageProj::Running { .. } = this.stage.as_mut().project() {
                let _guard = this.guard.take();
                let _cancelled = CompleteCancelled(this.shared);
                this.stage.set(Stage::Done);
            }
        }
    }
}

/// Publishes `JoinError::Cancelled` when dropped, even while unwinding.
struct CompleteCancelled<'a, T>(&'a Shared<T>);

impl<T> Drop for CompleteCancelled<'_, T> {
    fn drop(&mut self) {
        self.0.complete(Err(JoinError::Cancelled), false);
    }
}

pin_project! {
    #[project = StageProj]
    enum Stage<F> {
        Running { #[pin] future: F },
        Done,
    }
}

impl<F: Future, G> Future for Task<F, G> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        let StageProj::Running { future } = this.stage.as_mut().project() else {
            return Poll::Ready(());
        };
        // The waker first, then the flag: an `abort` either sees this waker or
        // happened before the lock, so the flag is seen below. No waker is kept
        // once no handle can abort.
        with_stale(&this.shared.state, |state, stale| {
            if state.aborters > 0 {
                store_waker(&mut state.task_waker, cx.waker(), stale);
            }
        });
        let output = if this.shared.abort.load(Ordering::Acquire) {
            Err(JoinError::Cancelled)
        } else {
            match poll_catching(future, cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(output) => output,
            }
        };
        drop_catching(this.stage);
        // The guard goes even if a callback's panic is resumed.
        let _guard = this.guard.take();
        this.shared.complete(output, true);
        Poll::Ready(())
    }
}

#[cfg(feature = "std")]
fn poll_catching<F: Future>(
    future: Pin<&mut F>,
    cx: &mut Context<'_>,
) -> Poll<Result<F::Output, JoinError>> {
    match std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| future.poll(cx))) {
        Ok(Poll::Pending) => Poll::Pending,
        Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
        Err(payload) => Poll::Ready(Err(JoinError::Panicked(payload))),
    }
}

#[cfg(not(feature = "std"))]
fn poll_catching<F: Future>(
    future: Pin<&mut F>,
    cx: &mut Context<'_>,
) -> Poll<Result<F::Output, JoinError>> {
    future.poll(cx).map(Ok)
}

/// Drops the future in place. Under `std` a panic in its `Drop` is swallowed: the
/// outcome of the task is decided already, and the stage reads `Done` either way
/// (an assignment whose drop unwinds still writes the new value).
fn drop_catching<F>(mut stage: Pin<&mut Stage<F>>) {
    #[cfg(feature = "std")]
    {
        let drop_it = core::panic::AssertUnwindSafe(|| stage.set(Stage::Done));
        drop(std::panic::catch_unwind(drop_it));
    }
    #[cfg(not(feature = "std"))]
    stage.set(Stage::Done);
}

/// A handle to a [`spawn`]ed task: a future of its output.
///
/// Awaiting it gives `Ok(output)`, or [`JoinError::Cancelled`] if the task was
/// [`abort`](Self::abort)ed (or dropped by its executor), or under `std`
/// [`JoinError::Panicked`]. Dropping the handle detaches the task: it runs on and
/// its output is dropped when it finishes. [`abort_on_drop`](Self::abort_on_drop)
/// turns that around.
///
/// To be abortable, a pending task keeps a clone of its own waker, but only while
/// something can abort it: this handle, an [`AbortHandle`] of it, or the
/// [`BackgroundTasks`](super::BackgroundTasks) that tracks it. Once none is left,
/// a task that nobody can wake any more is freed by an executor that frees tasks
/// with their last waker (`futures`' `ThreadPool`), as a plain future would be:
/// its future is dropped, and its [`on_complete`](Self::on_complete) callbacks
/// run with `Cancelled`, on the thread that let go of the last waker or handle. (A
/// task that holds its own handle, or the `BackgroundTasks` that tracks it, is
/// not freed that way.)
///
/// # Panics
///
/// Polling the handle again after it returned the output panics.
///
/// # Errors
///
/// The output is `Err(`[`JoinError::Cancelled`]`)` if the task was aborted or
/// dropped by its executor before it finished, and under `std`
/// `Err(`[`JoinError::Panicked`]`)` if its future panicked.
///
/// # Cancel safety
///
/// Dropping a pending `JoinHandle` detaches the task; nothing is lost but the
/// output, which nobody can take any more.
#[must_use = "dropping a JoinHandle detaches the task; use `drop` to say so"]
pub struct JoinHandle<T> {
    shared: Arc<Shared<T>>,
}

impl<T> JoinHandle<T> {
    /// Asks the task to stop: its future is dropped the next time the executor
    /// polls the task (so its `Drop` cleanup runs there), and the handle yields
    /// [`JoinError::Cancelled`]. The task is woken so that this happens soon. If
    /// the task finished already, nothing changes and its output is kept.
    pub fn abort(&self) {
        self.shared.abort();
    }

    /// Whether the task has finished and its outcome is published (awaiting the
    /// handle would not wait).
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.shared.is_finished()
    }

    /// Runs `callback` with the task's outcome once it finishes (asyncio's
    /// `add_done_callback`): exactly once, on the thread that completes the task, or
    /// at once on this thread if it already finished. A callback registered
    /// concurrently with the completion runs once all the same.
    ///
    /// A callback registered after the output was taken by awaiting this handle is
    /// dropped without running: whoever awaited holds the output already. (It can
    /// only happen through a handle polled to completion by hand, since awaiting
    /// consumes it.)
    ///
    /// # Panics
    ///
    /// Under `std`, a panicking callback does not stop the other callbacks or the
    /// publication of the output; its panic is resumed after them, on the thread
    /// that ran it, except when the callbacks run because the executor dropped the
    /// unfinished task (a panic from a destructor could abort the process): there
    /// it is dropped. Without `std` there is no `catch_unwind`: a panicking
    /// callback unwinds at once, the callbacks after it do not run and the output
    /// is not published, so the handle never completes (firmware usually builds
    /// with `panic = "abort"`, where none of this arises).
    ///
    /// ```
    /// use async_patterns::task::spawn;
    /// use std::sync::mpsc;
    ///
    /// # let ex = async_executor::Executor::new();
    /// # let spawner = |fut| ex.spawn(fut).detach();
    /// let (tx, rx) = mpsc::channel();
    /// let handle = spawn(&spawner, async { 2 + 2 });
    /// handle.on_complete(move |result| tx.send(result.map(|v| *v).is_ok()).unwrap());
    /// while ex.try_tick() {}
    /// assert_eq!(rx.try_recv(), Ok(true));
    /// ```
    pub fn on_complete<C>(&self, callback: C)
    where
        C: FnOnce(Result<&T, &JoinError>) + Send + 'static,
    {
        let mut callback = Some(callback);
        let ready = self.shared.state.with(|state| match &mut state.output {
            Output::Pending | Output::Held => {
                state
                    .callbacks
                    .push(Box::new(callback.take().expect("not taken yet")));
                None
            }
            Output::Ready(_) => match mem::replace(&mut state.output, Output::Held) {
                Output::Ready(output) => Some(output),
                _ => unreachable!(),
            },
            Output::Taken => None,
        });
        if let (Some(output), Some(callback)) = (ready, callback) {
            self.shared
                .state
                .with(|state| state.callbacks.insert(0, Box::new(callback)));
            self.shared.run_callbacks_and_publish(output, true);
        }
    }

    /// The abort of [`AbortHandle`], returning the waker to wake instead of waking.
    pub(crate) fn abort_fn(&self) -> Box<dyn Fn() -> Option<Waker> + Send + Sync>
    where
        T: Send + 'static,
    {
        let aborter = Aborter::new(&self.shared);
        Box::new(move || aborter.0.request_abort())
    }

    /// Turns the handle into one that aborts the task when dropped.
    pub fn abort_on_drop(self) -> AbortOnDrop<T> {
        AbortOnDrop { handle: Some(self) }
    }

    /// A handle that can only abort the task (and tell whether it finished), for
    /// whoever must be able to stop it without waiting for it. It is `Send` and
    /// `Sync`, hence the bound on the output: a [`spawn_local`] task with an
    /// output that is not `Send` has no `AbortHandle` (abort it through this
    /// handle).
    #[must_use]
    pub fn abort_handle(&self) -> AbortHandle
    where
        T: Send + 'static,
    {
        AbortHandle {
            task: Box::new(Aborter::new(&self.shared)),
        }
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        with_stale(&self.shared.state, |state, stale| match &mut state.output {
            Output::Ready(_) => match mem::replace(&mut state.output, Output::Taken) {
                Output::Ready(output) => Poll::Ready(output),
                _ => unreachable!(),
            },
            Output::Taken => {
                panic!("async-patterns: JoinHandle polled after it returned the output")
            }
            Output::Pending | Output::Held => {
                store_waker(&mut state.join_waker, cx.waker(), stale);
                Poll::Pending
            }
        })
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        // Detached: the task drops its output when it finishes, and lets go now of
        // the waker of a task that awaited the handle, which it would otherwise
        // keep for as long as it runs, and of its own waker if no `AbortHandle` is
        // left. An output published and not taken is dropped here, after the
        // lock: the output does not wait for the last `AbortHandle`.
        let let_go = self.shared.state.with(|state| {
            state.detached = true;
            let output = match state.output {
                Output::Ready(_) => Some(mem::replace(&mut state.output, Output::Taken)),
                _ => None,
            };
            (state.join_waker.take(), state.aborter_gone(), output)
        });
        drop(let_go);
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("is_finished", &self.is_finished())
            .finish()
    }
}

/// A [`JoinHandle`] that aborts its task when dropped; see
/// [`JoinHandle::abort_on_drop`].
///
/// # Panics
///
/// Polling it again after it returned the output panics, as a [`JoinHandle`] does.
///
/// # Errors
///
/// As [`JoinHandle`]: the output is `Err(`[`JoinError::Cancelled`]`)` if the task
/// was aborted or dropped by its executor before it finished, and under `std`
/// `Err(`[`JoinError::Panicked`]`)` if its future panicked.
///
/// # Cancel safety
///
/// Dropping it, pending or not, aborts the task (a finished task keeps its
/// output, which is dropped with the handle).
#[must_use = "dropping an AbortOnDrop aborts the task"]
pub struct AbortOnDrop<T> {
    /// `None` only after `detach`.
    handle: Option<JoinHandle<T>>,
}

impl<T> AbortOnDrop<T> {
    fn handle(&self) -> &JoinHandle<T> {
        self.handle.as_ref().expect("held until detached")
    }

    /// Aborts the task now; see [`JoinHandle::abort`].
    pub fn abort(&self) {
        self.handle().abort();
    }

    /// Whether the task has finished.
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.handle().is_finished()
    }

    /// Gives the plain handle back (dropping that one detaches again).
    pub fn detach(mut self) -> JoinHandle<T> {
        self.handle.take().expect("held until detached")
    }
}

impl<T> Future for AbortOnDrop<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let handle = self.handle.as_mut().expect("held until detached");
        Pin::new(handle).poll(cx)
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        if let Some(handle) = &self.handle {
            handle.abort();
        }
    }
}

impl<T> fmt::Debug for AbortOnDrop<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortOnDrop")
            .field(
                "is_finished",
                &self.handle.as_ref().map(JoinHandle::is_finished),
            )
            .finish()
    }
}

/// Aborts a task without access to its output; see [`JoinHandle::abort_handle`].
///
/// While it lives, a pending task keeps a clone of its own waker, to be woken
/// when aborted (see [`JoinHandle`]).
pub struct AbortHandle {
    task: Box<dyn Abortable>,
}

/// What an [`AbortHandle`] does to its task, whatever the task's output type.
trait Abortable: Send + Sync {
    fn abort(&self);
    fn is_finished(&self) -> bool;
}

impl<T: Send> Abortable for Aborter<T> {
    fn abort(&self) {
        self.0.abort();
    }

    fn is_finished(&self) -> bool {
        self.0.is_finished()
    }
}

impl AbortHandle {
    /// Aborts the task; see [`JoinHandle::abort`].
    pub fn abort(&self) {
        self.task.abort();
    }

    /// Whether the task has finished and its outcome is published; see
    /// [`JoinHandle::is_finished`].
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle").finish_non_exhaustive()
    }
}
