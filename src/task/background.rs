//! [`BackgroundTasks`]: spawned tasks kept track of until they finish.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;
use core::future::Future;
use core::mem;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

use super::spawn::{JoinHandle, Spawn, task_with_guard};
use crate::sync::waiters::{Slab, WakeList, keep_stale, store_waker, with_stale};
use crate::sync_facade::{Arc, BlockingMutex};

type AbortFn = Box<dyn Fn() -> Option<Waker> + Send + Sync>;

/// Background tasks, spawned on an executor you provide and tracked until they
/// finish: asyncio's "keep a reference to background tasks" pattern, with the
/// bookkeeping done for you.
///
/// [`spawn`](Self::spawn) starts a task and returns its [`JoinHandle`] (which you
/// may drop: the task is tracked here either way). A task leaves the set by itself
/// when it finishes, is aborted, or is dropped by its executor, so the set never
/// grows with finished work. [`join`](Self::join) waits until the set is empty,
/// [`cancel_all`](Self::cancel_all) aborts every task in it, and
/// [`shutdown`](Self::shutdown) does both.
///
/// Dropping the `BackgroundTasks` leaves its tasks running (they are background
/// tasks); call [`shutdown`](Self::shutdown) to stop them. (From then on a task
/// is aborted only through its own handles.)
///
/// ```
/// use async_patterns::task::BackgroundTasks;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
///
/// # let ex = async_executor::Executor::new();
/// # futures_lite::future::block_on(ex.run(async {
/// let tasks = BackgroundTasks::new(|fut| ex.spawn(fut).detach());
/// let done = Arc::new(AtomicUsize::new(0));
/// for _ in 0..3 {
///     let done = Arc::clone(&done);
///     drop(tasks.spawn(async move { done.fetch_add(1, Ordering::SeqCst); }));
/// }
/// tasks.join().await; // every task has finished
/// assert_eq!(done.load(Ordering::SeqCst), 3);
/// assert!(tasks.is_empty());
/// # }));
/// ```
pub struct BackgroundTasks<S> {
    spawner: S,
    registry: Owner,
}

/// The set's own reference to its registry. When the set is dropped, nobody can
/// abort its tasks any more, so this lets go of their aborts (a task keeps its
/// own waker only while something can abort it). The `Drop` is here, on a field
/// that is not generic, so that the spawner need not outlive the set.
struct Owner(Arc<Registry>);

impl core::ops::Deref for Owner {
    type Target = Arc<Registry>;

    fn deref(&self) -> &Arc<Registry> {
        &self.0
    }
}

impl Drop for Owner {
    fn drop(&mut self) {
        // Each abort is replaced by one that does nothing, so that a task leaving
        // later still finds its slot; the old ones are dropped after the lock.
        let aborts: Vec<AbortFn> = self.0.state.with(|state| {
            state
                .tasks
                .iter_mut()
                .map(|abort| mem::replace(abort, Box::new(|| None)))
                .collect()
        });
        drop(aborts);
    }
}

struct Registry {
    state: BlockingMutex<RegistryState>,
}

struct RegistryState {
    /// One abort per task that has not finished.
    tasks: Slab<AbortFn>,
    /// Tasks waiting in `join`: `Some(waker)` while waiting, `None` once woken.
    joiners: Slab<Option<Waker>>,
    /// `Shutdown`s under way (polled, not finished nor dropped): a task spawned
    /// meanwhile is aborted at once.
    shutdowns: usize,
}

/// Owned by the task's future: removes the task from the registry when the future
/// finishes or is dropped.
struct Leave {
    registry: Arc<Registry>,
    key: usize,
}

impl Drop for Leave {
    fn drop(&mut self) {
        let mut wakes = WakeList::new();
        // The abort goes after the lock: it may hold the last reference to the
        // task's output and wakers, whose drops may run any code.
        let _abort = self.registry.state.with(|state| {
            let abort = state.tasks.remove(self.key);
            if state.tasks.len() == 0 {
                state.joiners.iter_mut().for_each(|w| wakes.push(w.take()));
            }
            abort
        });
        wakes.wake();
    }
}

impl<S: Spawn> BackgroundTasks<S> {
    /// An empty set that spawns on `spawner`.
    pub fn new(spawner: S) -> Self {
        Self {
            spawner,
            registry: Owner(Arc::new(Registry {
                state: BlockingMutex::new(RegistryState {
                    tasks: Slab::new(),
                    joiners: Slab::new(),
                    shutdowns: 0,
                }),
            })),
        }
    }

    /// Spawns `future` as a tracked task. The handle gives its output; dropping the
    /// handle detaches it as usual, and the task stays tracked here.
    ///
    /// While a [`shutdown`](Self::shutdown) is under way the task is aborted at
    /// once (its future is never polled, and its handle yields
    /// [`JoinError::Cancelled`](super::JoinError::Cancelled)), so that a task
    /// which keeps spawning others cannot hold the shutdown up (asyncio's
    /// `TaskGroup` refuses new tasks while it shuts down).
    ///
    /// # Cancel safety
    ///
    /// Dropping the handle detaches the task, which stays tracked by the set.
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        // Built with the lock held, so the task is in the set, with its abort,
        // before `cancel_all` or a shutdown can look for it.
        let mut made = None;
        let shutting_down = self.registry.state.with(|state| {
            state.tasks.insert_with(|key| {
                let leave = Leave {
                    registry: Arc::clone(&self.registry),
                    key,
                };
                let (handle, task) = task_with_guard(future, leave);
                let abort = handle.abort_fn();
                made = Some((handle, task));
                abort
            });
            state.shutdowns > 0
        });
        let (handle, task) = made.expect("made above");
        if shutting_down {
            handle.abort(); // not polled yet: no waker to wake, only the flag
        }
        self.spawner.spawn_boxed(task);
        handle
    }
}

impl<S> BackgroundTasks<S> {
    /// Tasks spawned and not finished yet.
    #[must_use]
    pub fn len(&self) -> usize {
        self.registry.state.with(|state| state.tasks.len())
    }

    /// Whether every spawned task has finished.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Aborts every task in the set (see [`JoinHandle::abort`]): each one's future
    /// is dropped at its next poll, and it leaves the set then.
    pub fn cancel_all(&self) {
        self.abort_all(false);
    }

    /// [`cancel_all`](Self::cancel_all); if `shutdown_starts`, a shutdown is
    /// counted as under way in the same critical section.
    fn abort_all(&self, shutdown_starts: bool) {
        let mut wakes = WakeList::new();
        self.registry.state.with(|state| {
            state.shutdowns += usize::from(shutdown_starts);
            for abort in state.tasks.iter_mut() {
                wakes.push(abort());
            }
        });
        wakes.wake();
    }

    /// A future that resolves once the set is empty: every task spawned so far
    /// (and any spawned while it waits) has finished or been cancelled.
    ///
    /// # Cancel safety
    ///
    /// Dropping it only removes its waker.
    pub fn join(&self) -> Join<'_> {
        Join {
            registry: &self.registry,
            key: None,
        }
    }

    /// Aborts every task, then waits until all of them are gone (asyncio's
    /// "cancel the background tasks and wait for them" at shutdown). The abort
    /// happens at the first poll; from then until the shutdown completes (or is
    /// dropped), a task [`spawn`](Self::spawn)ed on the set is aborted at once and
    /// never runs, also one spawned by an aborted task's `Drop` as cleanup (do
    /// such cleanup in the `Drop` itself). The set can be used again afterwards;
    /// a shutdown that is polled and then kept pending (or leaked) keeps every
    /// new task aborted.
    ///
    /// # Cancel safety
    ///
    /// Dropping it after its first poll leaves the tasks aborted (and new tasks
    /// run again); dropping it before does nothing.
    pub fn shutdown(&self) -> Shutdown<'_, S> {
        Shutdown {
            tasks: self,
            stage: Stage::NotStarted,
        }
    }
}

impl<S> fmt::Debug for BackgroundTasks<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackgroundTasks")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

/// Future of [`BackgroundTasks::join`].
#[must_use = "futures do nothing unless polled"]
pub struct Join<'a> {
    registry: &'a Registry,
    key: Option<usize>,
}

impl Future for Join<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        with_stale(&this.registry.state, |state, stale| {
            // Only an empty set ends the wait: a task spawned between the wake-up
            // and this poll is waited for too.
            if state.tasks.len() == 0 {
                if let Some(k) = this.key.take() {
                    keep_stale(stale, state.joiners.remove(k));
                }
                return Poll::Ready(());
            }
            match this.key {
                Some(k) => store_waker(state.joiners.get_mut(k), cx.waker(), stale),
                None => this.key = Some(state.joiners.insert(Some(cx.waker().clone()))),
            }
            Poll::Pending
        })
    }
}

impl Drop for Join<'_> {
    fn drop(&mut self) {
        if let Some(k) = self.key {
            with_stale(&self.registry.state, |state, stale| {
                keep_stale(stale, state.joiners.remove(k));
            });
        }
    }
}

impl fmt::Debug for Join<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Join").finish_non_exhaustive()
    }
}

/// Future of [`BackgroundTasks::shutdown`].
#[must_use = "futures do nothing unless polled"]
pub struct Shutdown<'a, S> {
    tasks: &'a BackgroundTasks<S>,
    stage: Stage<'a>,
}

/// Where a [`Shutdown`] stands. It is counted in the registry's `shutdowns`
/// exactly while `Running`.
enum Stage<'a> {
    NotStarted,
    Running(Join<'a>),
    Done,
}

impl<S> Shutdown<'_, S> {
    /// No longer under way: new tasks run again.
    fn finish(&mut self) {
        if let Stage::Running(_) = core::mem::replace(&mut self.stage, Stage::Done) {
            self.tasks.registry.state.with(|state| state.shutdowns -= 1);
        }
    }
}

impl<S> Future for Shutdown<'_, S> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let tasks = this.tasks;
        if let Stage::NotStarted = this.stage {
            // `Running` first: it is what `finish` counts back down by, also if a
            // waker panics in the abort's wake-ups.
            this.stage = Stage::Running(tasks.join());
            tasks.abort_all(true);
        }
        let Stage::Running(join) = &mut this.stage else {
            return Poll::Ready(()); // polled again after it completed
        };
        core::task::ready!(Pin::new(join).poll(cx));
        this.finish();
        Poll::Ready(())
    }
}

impl<S> Drop for Shutdown<'_, S> {
    fn drop(&mut self) {
        self.finish();
    }
}

impl<S> fmt::Debug for Shutdown<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shutdown")
            .field("started", &!matches!(self.stage, Stage::NotStarted))
            .finish_non_exhaustive()
    }
}
