//! `CancellationToken`: cancel vs a waiter's registration, vs `child_token`, vs a
//! child's last drop and vs clones; `JoinHandle`: the task's completion vs `abort`
//! vs `on_complete` vs the handle's drop (which drops an output not taken);
//! `BackgroundTasks`: a task leaving vs `join` (also vs a dropped join) vs
//! `cancel_all`, and a spawn vs a shutdown; `TaskSet`: a wake from another
//! thread vs `join_next`, vs `try_join_next` and vs `cancel_all` and the set's
//! drop.
//!
//! Tasks are spawned on a spawner that only stores the boxed task; the model then
//! drives it with `block_on` on a loom thread of its own, so the executor is part of
//! the explored schedule. A task that is never woken again (a lost abort, a lost
//! wake of the set's owner) leaves its runner or its awaiter blocked: a loom
//! deadlock. Loom's leak check covers the `Arc`s: a parent and child token that keep
//! each other alive, or a task state nobody frees, fails the model.
//! `task_set_wake_while_queued_is_not_lost` found a lost wake in `TaskSet` under
//! the C11 memory model (the `queued` flag was cleared with a plain store); fixed.

use std::cell::RefCell;
use std::future::{Future, pending};
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};

use async_patterns::task::{BackgroundTasks, CancellationToken, JoinError, Spawn, TaskSet, spawn};
use loom::future::block_on;
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::sync::{Arc, Mutex};
use loom::thread;

use crate::{Bell, model, poll_once, waiting, with_static};

/// A task as a spawner gets it (and a boxed future of output `T`).
type BoxedTask<T = ()> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Spawns `future` on a spawner that keeps the boxed task, and returns the handle
/// and the task, for the model to run on a thread of its choice.
fn spawn_here<F>(future: F) -> (async_patterns::task::JoinHandle<F::Output>, BoxedTask)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let slot = RefCell::new(None);
    let handle = spawn(&|task: BoxedTask| *slot.borrow_mut() = Some(task), future);
    (
        handle,
        slot.into_inner().expect("spawn handed the task over"),
    )
}

/// A spawner that queues the tasks (for `BackgroundTasks`, which keeps its spawner
/// and must be shared between threads). The queue is only touched by the model's
/// set-up, never concurrently, so a std lock is enough.
#[derive(Clone, Default)]
struct Spawned(std::sync::Arc<std::sync::Mutex<Vec<BoxedTask>>>);

impl Spawn for Spawned {
    fn spawn_boxed(&self, future: BoxedTask) {
        self.0.lock().unwrap().push(future);
    }
}

impl Spawned {
    /// The tasks spawned so far, in order.
    fn take(&self) -> Vec<BoxedTask> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }

    /// The one task spawned since the last `take`.
    fn take_one(&self) -> BoxedTask {
        let [task] = <[BoxedTask; 1]>::try_from(self.take())
            .ok()
            .expect("one task");
        task
    }
}

/// Set when dropped: stands for the cleanup in a task future's `Drop`.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

// ---------------------------------------------------------------------------
// CancellationToken
// ---------------------------------------------------------------------------

/// A waiter in `cancelled()` polled on one thread while another cancels: whether
/// its first check, its registration under the lock, or the cancel's drain of the
/// waiters comes first, the waiter completes (it never registers after the drain).
#[test]
fn cancel_vs_cancelled_registration() {
    model(|| {
        let token = CancellationToken::new();
        let waiter = {
            let token = token.clone();
            thread::spawn(move || {
                block_on(token.cancelled());
                assert!(token.is_cancelled());
            })
        };
        token.cancel();
        waiter.join().unwrap();
    });
}

/// Two waiters registered before the race: one is dropped while the token is
/// cancelled, the other waits. The drop removes its slot or finds the slab drained
/// by the cancel (no double removal, no panic), and the other waiter is woken.
#[test]
fn dropped_waiter_vs_cancel() {
    model(|| {
        let token = CancellationToken::new();
        let dropped = waiting(token.clone().cancelled_owned());
        let waiting = waiting(token.clone().cancelled_owned());

        let dropper = thread::spawn(move || drop(dropped));
        let waiter = thread::spawn(move || block_on(waiting));
        token.cancel();
        dropper.join().unwrap();
        waiter.join().unwrap();
    });
}

/// A child token is created (on a clone of the parent, dropped afterwards) while
/// the parent is cancelled: the child is either born cancelled or attached in time
/// to be cancelled with the parent, so its `cancelled()` completes either way.
#[test]
fn cancel_vs_child_token() {
    model(|| {
        let parent = CancellationToken::new();
        let creator = {
            let parent = parent.clone();
            thread::spawn(move || {
                let child = parent.child_token();
                drop(parent);
                block_on(child.cancelled());
                assert!(child.is_cancelled());
            })
        };
        parent.cancel();
        creator.join().unwrap();
        assert!(
            parent.child_token().is_cancelled(),
            "a late child is born cancelled"
        );
    });
}

/// A parent → child → grandchild chain; the child's last handle is dropped, then
/// the grandchild's (which detaches the grandchild, then the child, now
/// unreferenced, from the parent) while the parent is cancelled. Whichever side
/// reaches the parent's child slot first, it is removed once (a second removal
/// panics in the slab), nothing is left cancelled-but-attached, and the nodes are
/// freed (loom's leak check: parent and child hold `Arc`s of each other).
#[test]
fn child_last_drop_vs_parent_cancel() {
    model(|| {
        let parent = CancellationToken::new();
        let child = parent.child_token();
        let grandchild = child.child_token();
        let dropper = thread::spawn(move || {
            drop(child);
            drop(grandchild);
        });
        parent.cancel();
        dropper.join().unwrap();
        assert!(parent.is_cancelled());
    });
}

/// A child cancels itself (detaching from the parent) while the parent cancels
/// (draining its children): both end cancelled, no slot is removed twice, and a
/// waiter on a grandchild is woken by whichever cancel reaches it.
#[test]
fn child_cancel_vs_parent_cancel() {
    model(|| {
        let parent = CancellationToken::new();
        let child = parent.child_token();
        let grandchild = child.child_token();
        let waiting = waiting(grandchild.cancelled_owned());

        let canceller = {
            let child = child.clone();
            thread::spawn(move || child.cancel())
        };
        let waiter = thread::spawn(move || block_on(waiting));
        parent.cancel();
        canceller.join().unwrap();
        waiter.join().unwrap();
        assert!(child.is_cancelled());
    });
}

/// A child's handles are cloned and dropped (the original goes, the clone stays)
/// while the parent is cancelled: the count of handles never reaches zero, so the
/// child stays attached until the cancel, and the clone's `cancelled()` completes.
#[test]
fn clone_and_drop_vs_cancel() {
    model(|| {
        let parent = CancellationToken::new();
        let child = parent.child_token();
        let holder = thread::spawn(move || {
            let clone = child.clone();
            drop(child);
            block_on(clone.cancelled());
        });
        parent.cancel();
        holder.join().unwrap();
    });
}

/// A spawned thread cancels a parent of three generations while the main thread
/// cancels the parent too (`main_cancels_parent`) or the child: the spawned
/// thread's cancel, which may find the other's under way (a token cancelled or
/// being cancelled), returns only once the whole subtree is cancelled, and so
/// does the main thread's.
fn parent_cancel_vs_cancel(main_cancels_parent: bool) {
    model(move || {
        let parent = CancellationToken::new();
        let child = parent.child_token();
        let grandchild = child.child_token();
        let other = {
            let (parent, child, grandchild) = (parent.clone(), child.clone(), grandchild.clone());
            thread::spawn(move || {
                parent.cancel();
                assert!(child.is_cancelled());
                assert!(grandchild.is_cancelled(), "cancel returned too early");
            })
        };
        if main_cancels_parent {
            parent.cancel();
            assert!(child.is_cancelled());
        } else {
            child.cancel();
        }
        assert!(grandchild.is_cancelled());
        other.join().unwrap();
    });
}

/// [`parent_cancel_vs_cancel`]: two cancels of the same parent.
#[test]
fn concurrent_cancels_both_finish_the_subtree() {
    parent_cancel_vs_cancel(true);
}

/// [`parent_cancel_vs_cancel`]: the parent's cancel against the child's.
#[test]
fn ancestor_cancel_vs_descendant_cancel() {
    parent_cancel_vs_cancel(false);
}

/// A grandchild is made on a child while the parent is cancelled: it is
/// cancelled once the parent's cancel has returned (born cancelled on a child
/// the cancel reached, or attached before and cancelled with it).
#[test]
fn child_token_during_ancestor_cancel() {
    model(|| {
        let parent = CancellationToken::new();
        let child = parent.child_token();
        let made = Arc::new(Mutex::new(None));
        let maker = {
            let made = made.clone();
            thread::spawn(move || *made.lock().unwrap() = Some(child.child_token()))
        };
        parent.cancel();
        let grandchild = made.lock().unwrap().take();
        if let Some(grandchild) = grandchild {
            assert!(grandchild.is_cancelled(), "a grandchild escaped the cancel");
        }
        maker.join().unwrap();
    });
}

/// Whoever sees a token cancelled sees its descendants cancelled too: the cancel
/// marks the children before the parent.
#[test]
fn cancelled_parent_implies_cancelled_child() {
    model(|| {
        let parent = CancellationToken::new();
        let child = parent.child_token();
        let grandchild = child.child_token();
        let observer = {
            let (parent, child, grandchild) = (parent.clone(), child.clone(), grandchild.clone());
            thread::spawn(move || {
                if parent.is_cancelled() {
                    assert!(
                        child.is_cancelled(),
                        "a cancelled parent's child is cancelled"
                    );
                }
                if child.is_cancelled() {
                    assert!(grandchild.is_cancelled());
                }
            })
        };
        parent.cancel();
        observer.join().unwrap();
    });
}

// ---------------------------------------------------------------------------
// JoinHandle
// ---------------------------------------------------------------------------

/// The task waits at a gate; one thread runs it, another opens the gate, and the
/// handle's owner aborts it and then awaits the handle. The handle completes with
/// `Ok(42)` (the task got through first) or `Err(Cancelled)`, and then the future
/// was dropped before the handle learnt it (its `Drop` is the task's cleanup).
#[test]
fn abort_vs_completion() {
    model(|| {
        let gate = Arc::new(Bell::new());
        let dropped = Arc::new(AtomicBool::new(false));
        let (handle, task) = spawn_here({
            let (gate, guard) = (gate.clone(), DropFlag(dropped.clone()));
            async move {
                let _guard = guard;
                gate.opened().await;
                42
            }
        });
        let runner = thread::spawn(move || block_on(task));
        let opener = thread::spawn(move || gate.open());
        handle.abort();
        match block_on(handle) {
            Ok(output) => assert_eq!(output, 42),
            Err(error) => {
                assert!(error.is_cancelled(), "{error:?}");
                assert!(
                    dropped.load(Ordering::Relaxed),
                    "Cancelled published before the future was dropped"
                );
            }
        }
        runner.join().unwrap();
        opener.join().unwrap();
        assert!(dropped.load(Ordering::Relaxed));
    });
}

/// The handle is dropped on one thread (after one poll that registers its waker,
/// if `poll_first`) while the task completes on another, and an `AbortHandle` is
/// kept: whichever comes first, the completion wakes the registered waker or
/// finds it let go of, and the task's output (a drop flag) is dropped by the time
/// both are done (returned by the poll, dropped with the handle, or dropped by the
/// task as detached), not when the abort handle goes.
fn handle_dropped_vs_completion(poll_first: bool) {
    model(move || {
        let dropped = Arc::new(AtomicBool::new(false));
        let (handle, task) = spawn_here({
            let output = DropFlag(dropped.clone());
            async move { output }
        });
        let abort = handle.abort_handle();
        let runner = thread::spawn(move || block_on(task));
        let dropper = thread::spawn(move || {
            let mut handle = Box::pin(handle);
            if poll_first {
                let _ = poll_once(handle.as_mut());
            }
        });
        runner.join().unwrap();
        dropper.join().unwrap();
        assert!(dropped.load(Ordering::Relaxed), "the output was kept");
        drop(abort);
    });
}

/// [`handle_dropped_vs_completion`], the handle never polled.
#[test]
fn handle_drop_vs_completion_drops_the_output() {
    handle_dropped_vs_completion(false);
}

/// [`handle_dropped_vs_completion`], the handle polled once first.
#[test]
fn awaited_handle_dropped_vs_completion() {
    handle_dropped_vs_completion(true);
}

/// The task waits forever; an `AbortHandle` aborts it from another thread while it
/// is polled and while the handle is awaited. The abort either sets the flag
/// before the task's poll registered its waker (the poll sees the flag) or finds
/// the waker and wakes the task: the runner finishes, and the handle completes with
/// `Cancelled` after the future's `Drop` ran.
#[test]
fn abort_wakes_pending_task() {
    model(|| {
        let dropped = Arc::new(AtomicBool::new(false));
        let (handle, task) = spawn_here({
            let guard = DropFlag(dropped.clone());
            async move {
                let _guard = guard;
                pending::<()>().await;
                42
            }
        });
        let abort = handle.abort_handle();
        let runner = thread::spawn(move || block_on(task));
        let aborter = thread::spawn(move || abort.abort());
        let result = block_on(handle);
        assert!(matches!(result, Err(JoinError::Cancelled)), "{result:?}");
        assert!(dropped.load(Ordering::Relaxed), "Cancelled before the drop");
        runner.join().unwrap();
        aborter.join().unwrap();
    });
}

/// The last handle that can abort a pending task (its `JoinHandle`, an
/// `AbortHandle` dropped first) is dropped while the task is polled: whichever
/// comes first under the lock, the task keeps no waker of its own afterwards (a
/// waker may own the task, so keeping one would be a cycle).
#[test]
fn last_handle_drop_vs_poll_keeps_no_task_waker() {
    struct Noop;
    impl std::task::Wake for Noop {
        fn wake(self: std::sync::Arc<Self>) {}
    }
    model(|| {
        let (handle, mut task) = spawn_here(pending::<()>());
        drop(handle.abort_handle());
        let waker = std::sync::Arc::new(Noop);
        let poller = {
            let waker = Waker::from(std::sync::Arc::clone(&waker));
            thread::spawn(move || {
                let polled = task.as_mut().poll(&mut Context::from_waker(&waker));
                assert!(polled.is_pending());
                task
            })
        };
        drop(handle);
        let task = poller.join().unwrap();
        assert_eq!(
            std::sync::Arc::strong_count(&waker),
            1,
            "the pending task kept its waker"
        );
        drop(task);
    });
}

/// The `JoinHandle` is gone; the last `AbortHandle` aborts and is dropped while
/// the task is polled: either the poll kept the task's waker (some handle could
/// still abort) and the abort wakes it, or the poll comes after the abort and sees
/// its flag, also when no handle is left and it keeps no waker. The runner
/// finishes either way (a lost wake-up is a loom deadlock).
#[test]
fn last_abort_handle_aborts_and_drops_vs_poll() {
    model(|| {
        let (handle, task) = spawn_here(pending::<()>());
        let abort = handle.abort_handle();
        drop(handle);
        let aborter = thread::spawn(move || {
            abort.abort();
            drop(abort);
        });
        block_on(task);
        aborter.join().unwrap();
    });
}

/// A callback for `on_complete` that counts its runs in `calls` and records the
/// outcome in `outcome` (1: `Ok(42)`, 2: cancelled, after the future's `Drop`);
/// every callback of one task must see the same outcome.
fn counting_callback(
    calls: &Arc<AtomicUsize>,
    outcome: &Arc<AtomicUsize>,
    dropped: &Arc<AtomicBool>,
) -> impl FnOnce(Result<&u32, &JoinError>) + Send + 'static {
    let (calls, outcome, dropped) = (calls.clone(), outcome.clone(), dropped.clone());
    move |result| {
        let seen = match result {
            Ok(&output) => {
                assert_eq!(output, 42);
                1
            }
            Err(error) => {
                assert!(error.is_cancelled(), "{error:?}");
                assert!(dropped.load(Ordering::Relaxed), "Cancelled before the drop");
                2
            }
        };
        let before = outcome.swap(seen, Ordering::Relaxed);
        assert!(
            before == 0 || before == seen,
            "callbacks saw different outcomes"
        );
        calls.fetch_add(1, Ordering::Relaxed);
    }
}

/// The task (ready at its first poll) completes on one thread; another thread
/// registers a callback through a shared handle, aborts the task and drops its
/// handle; the main thread registers a callback and drops the last handle. Each
/// callback runs exactly once, whether it was registered before the completion,
/// while the output was held for other callbacks, or after it was published, and
/// both see the same outcome (`Ok(42)`, or `Cancelled` after the future's `Drop`).
#[test]
fn on_complete_vs_completion_abort_and_drop() {
    model(|| {
        let [calls, outcome] = [(); 2].map(|()| Arc::new(AtomicUsize::new(0)));
        let dropped = Arc::new(AtomicBool::new(false));
        let (handle, task) = spawn_here({
            let guard = DropFlag(dropped.clone());
            async move {
                drop(guard);
                42u32
            }
        });
        let handle = Arc::new(handle);
        let runner = thread::spawn(move || block_on(task));
        let other = {
            let handle = handle.clone();
            let callback = counting_callback(&calls, &outcome, &dropped);
            thread::spawn(move || {
                handle.on_complete(callback);
                handle.abort();
            })
        };
        handle.on_complete(counting_callback(&calls, &outcome, &dropped));
        drop(handle);
        runner.join().unwrap();
        other.join().unwrap();
        assert_eq!(calls.load(Ordering::Relaxed), 2, "a callback was lost");
    });
}

/// The executor polls the task once and then drops it (as an executor that shuts
/// down does) while a callback is registered and the handle awaited: the handle
/// gets `Cancelled` after the future's `Drop` ran, and the callback runs once.
#[test]
fn executor_drop_vs_on_complete_and_await() {
    model(|| {
        let [calls, outcome] = [(); 2].map(|()| Arc::new(AtomicUsize::new(0)));
        let dropped = Arc::new(AtomicBool::new(false));
        let (handle, mut task) = spawn_here({
            let guard = DropFlag(dropped.clone());
            async move {
                let _guard = guard;
                pending::<()>().await;
                42u32
            }
        });
        let executor = thread::spawn(move || {
            assert!(poll_once(Pin::new(&mut task)).is_pending());
            drop(task);
        });
        handle.on_complete(counting_callback(&calls, &outcome, &dropped));
        let result = block_on(handle);
        assert!(matches!(result, Err(JoinError::Cancelled)), "{result:?}");
        assert!(dropped.load(Ordering::Relaxed), "Cancelled before the drop");
        assert_eq!(
            calls.load(Ordering::Relaxed),
            1,
            "output published before the callback ran"
        );
        executor.join().unwrap();
    });
}

/// A callback registered while the task completes, and the handle awaited: the
/// callback runs once, before the handle sees the output (the output is published
/// only when no callback is left), and the awaiting task is woken.
#[test]
fn on_complete_vs_completion_then_await() {
    model(|| {
        let [calls, outcome] = [(); 2].map(|()| Arc::new(AtomicUsize::new(0)));
        let dropped = Arc::new(AtomicBool::new(false));
        let (handle, task) = spawn_here({
            let guard = DropFlag(dropped.clone());
            async move {
                drop(guard);
                42u32
            }
        });
        let runner = thread::spawn(move || block_on(task));
        handle.on_complete(counting_callback(&calls, &outcome, &dropped));
        assert_eq!(block_on(handle).unwrap(), 42);
        assert_eq!(
            calls.load(Ordering::Relaxed),
            1,
            "output published before the callback ran"
        );
        runner.join().unwrap();
    });
}

// ---------------------------------------------------------------------------
// BackgroundTasks
// ---------------------------------------------------------------------------

/// A task finishes on its runner (its `Leave` removes it from the registry and
/// wakes the joiners once the set is empty) while `join()` waits on the main
/// thread: the join completes, and the set is empty. With `dropped_join`, a second
/// join is polled once and dropped on a third thread meanwhile: it takes no
/// wake-up with it (a lost wake-up is a loom deadlock).
fn background_leave_vs_join_model(dropped_join: bool) {
    model(move || {
        let spawned = Spawned::default();
        let tasks = Arc::new(BackgroundTasks::new(spawned.clone()));
        drop(tasks.spawn(async {}));
        let task = spawned.take_one();
        let runner = thread::spawn(move || block_on(task));
        let dropper = dropped_join.then(|| {
            let tasks = tasks.clone();
            thread::spawn(move || {
                let _ = poll_once(pin!(tasks.join()));
            })
        });
        block_on(tasks.join());
        assert!(tasks.is_empty());
        runner.join().unwrap();
        if let Some(dropper) = dropper {
            dropper.join().unwrap();
        }
    });
}

/// [`background_leave_vs_join_model`] with one join.
#[test]
fn background_leave_vs_join() {
    background_leave_vs_join_model(false);
}

/// [`background_leave_vs_join_model`] with a second join dropped meanwhile.
#[test]
fn background_join_dropped_vs_leave() {
    background_leave_vs_join_model(true);
}

/// Two tasks on one runner, one done at its first poll, one that never finishes
/// by itself; `cancel_all` runs on another thread while `join()` waits. The
/// pending task is woken by the abort and leaves, so the join completes; the first
/// task's handle has `Ok` or `Cancelled` (the abort may come first), the second
/// one's `Cancelled`.
#[test]
fn background_cancel_all_vs_finish_vs_join() {
    model(|| {
        let spawned = Spawned::default();
        let tasks = Arc::new(BackgroundTasks::new(spawned.clone()));
        let quick = tasks.spawn(async { 1u32 });
        let stuck = tasks.spawn(pending::<u32>());
        let mut queued = spawned.take().into_iter();
        let (a, b) = (queued.next().unwrap(), queued.next().unwrap());
        let runner = thread::spawn(move || block_on(futures::future::join(a, b)));
        let canceller = {
            let tasks = tasks.clone();
            thread::spawn(move || tasks.cancel_all())
        };
        block_on(tasks.join());
        assert!(tasks.is_empty());
        runner.join().unwrap();
        canceller.join().unwrap();
        match block_on(quick) {
            Ok(output) => assert_eq!(output, 1),
            Err(error) => assert!(error.is_cancelled(), "{error:?}"),
        }
        assert!(matches!(block_on(stuck), Err(JoinError::Cancelled)));
    });
}

/// A task that never finishes by itself is spawned (and then run) on one thread
/// while a shutdown runs on the main thread, with another such task already on
/// a runner: the new task is either in the set when the shutdown aborts it, or
/// spawned while the shutdown is under way and aborted at once, or spawned after
/// the shutdown completed (a `cancel_all` then ends it). A shutdown that missed a
/// task spawned before it completed would wait for it for ever: a loom deadlock.
#[test]
fn background_spawn_vs_shutdown() {
    model(|| {
        let spawned = Spawned::default();
        let tasks = Arc::new(BackgroundTasks::new(spawned.clone()));
        drop(tasks.spawn(pending::<()>()));
        let first = spawned.take_one();
        let runner = thread::spawn(move || block_on(first));
        let spawned_bell = Arc::new(Bell::new());
        let spawner = {
            let (tasks, spawned_bell) = (tasks.clone(), spawned_bell.clone());
            thread::spawn(move || {
                let handle = tasks.spawn(pending::<()>());
                spawned_bell.open();
                let task = spawned.take_one();
                block_on(task);
                assert!(matches!(block_on(handle), Err(JoinError::Cancelled)));
            })
        };
        block_on(tasks.shutdown());
        block_on(spawned_bell.opened());
        tasks.cancel_all(); // for a task spawned after the shutdown
        runner.join().unwrap();
        spawner.join().unwrap();
        assert!(tasks.is_empty());
    });
}

// ---------------------------------------------------------------------------
// TaskSet
// ---------------------------------------------------------------------------

/// A future of the set waits at a gate that another thread opens. With
/// `try_first`, the owner first calls `try_join_next` (which registers no owner):
/// it returns the output if the wake came first, `None` otherwise. Then
/// `join_next` under `block_on` returns what is left: the wake (its slot's waker)
/// may come before the future's poll, during it, between the poll and the owner's
/// registration, or after, and is never lost (the slot is queued again, and the
/// owner is woken or finds it). One output, once.
fn one_wake_vs_owner(try_first: bool) {
    model(move || {
        // SAFETY: the closure joins the thread it gives the reference to.
        unsafe {
            with_static(Bell::new(), |gate| {
                let mut set = TaskSet::new();
                set.push(gate.opened());
                let opener = thread::spawn(move || gate.open());
                let early = if try_first { set.try_join_next() } else { None };
                let late = block_on(set.join_next());
                assert!(
                    matches!((early, late), (Some(()), None) | (None, Some(()))),
                    "one output, once: {early:?} then {late:?}"
                );
                assert!(set.is_empty());
                opener.join().unwrap();
            })
        };
    });
}

/// [`one_wake_vs_owner`] with `join_next` alone.
#[test]
fn task_set_wake_vs_join_next() {
    one_wake_vs_owner(false);
}

/// [`one_wake_vs_owner`] with `try_join_next` first.
#[test]
fn task_set_try_join_next_vs_wake() {
    one_wake_vs_owner(true);
}

/// Two futures of the set, each at its own gate, opened one after the other from
/// another thread while the owner takes both outputs: neither wake is lost
/// (the second may come while the owner polls the first, or after it
/// registered), and the set ends empty.
#[test]
fn task_set_two_wakes_vs_join_next() {
    model(|| {
        // SAFETY: the closure joins the thread it gives the references to.
        unsafe {
            with_static([Bell::new(), Bell::new()], |gates| {
                let mut set = TaskSet::new();
                let ids = gates.each_ref().map(|gate| set.push(gate.opened()));
                let opener = thread::spawn(move || gates.iter().for_each(Bell::open));
                let mut done = [
                    block_on(set.join_next_with_id()).unwrap().0,
                    block_on(set.join_next_with_id()).unwrap().0,
                ];
                done.sort_unstable();
                assert_eq!(done, ids);
                assert_eq!(block_on(set.join_next()), None);
                opener.join().unwrap();
            })
        };
    });
}

/// A future that is ready once `count` reached `target`; it hands its waker over
/// on the first poll only (and again only if the waker changes), as futures that
/// keep a stable waker may: after that it relies on the executor's promise that a
/// wake is followed by a poll that sees what the waker wrote before waking.
struct Count<'a> {
    count: &'a AtomicUsize,
    waker: &'a Mutex<Option<Waker>>,
    target: usize,
    registered: Option<Waker>,
}

impl Future for Count<'_> {
    type Output = usize;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        if !self
            .registered
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            *self.waker.lock().unwrap() = Some(cx.waker().clone());
            self.registered = Some(cx.waker().clone());
        }
        let count = self.count.load(Ordering::Acquire);
        if count >= self.target {
            Poll::Ready(count)
        } else {
            Poll::Pending
        }
    }
}

/// One future of the set waits until a counter reaches 2; another thread bumps it
/// twice, waking the future after each bump. The second wake may find the slot
/// still queued by the first (and add nothing): the owner's next poll must then
/// still see the second bump, so `join_next` completes.
///
/// It caught a real bug (a loom deadlock): the owner cleared `queued` with a plain
/// `store(false, Release)` before the poll, which does not synchronize with the
/// second wake's `swap(true)`, so the poll could read the count as 1 and nobody
/// woke the owner again. The owner now clears it with `swap(false, AcqRel)`.
#[test]
fn task_set_wake_while_queued_is_not_lost() {
    model(|| {
        // SAFETY: the closure joins the thread it gives the reference to.
        unsafe {
            with_static(
                (AtomicUsize::new(0), Mutex::new(None::<Waker>)),
                |(count, waker)| {
                    let mut set = TaskSet::new();
                    set.push(Count {
                        count,
                        waker,
                        target: 2,
                        registered: None,
                    });
                    let bumper = thread::spawn(move || {
                        for _ in 0..2 {
                            count.fetch_add(1, Ordering::Release);
                            let w = waker.lock().unwrap().clone();
                            if let Some(w) = w {
                                w.wake();
                            }
                        }
                    });
                    assert_eq!(block_on(set.join_next()), Some(2));
                    bumper.join().unwrap();
                },
            )
        };
    });
}

/// A future of the set has handed its waker to another thread, which wakes it
/// while the owner cancels every future, runs a new one and drops the set: the
/// wake touches only the wake state it shares with the set, which outlives the
/// set while a waker does, and the new future's output is not disturbed by the
/// stale wake. (That state lives in a std `Arc`, which loom does not track, so
/// loom's leak check does not see it; Miri's does, in tests/task_edges.rs,
/// `wakers_outlive_set_miri`.)
#[test]
fn task_set_cancel_all_and_drop_vs_wake() {
    model(|| {
        // SAFETY: the closure joins the thread it gives the reference to.
        unsafe {
            with_static(Mutex::new(None::<Waker>), |slot| {
                let mut set: TaskSet<BoxedTask<usize>> = TaskSet::new();
                set.push(Box::pin(std::future::poll_fn(move |cx| {
                    *slot.lock().unwrap() = Some(cx.waker().clone());
                    Poll::<usize>::Pending
                })));
                assert_eq!(set.try_join_next(), None);
                let waker = slot.lock().unwrap().take().expect("polled once");
                let waker_thread = thread::spawn(move || waker.wake());
                set.cancel_all();
                assert!(set.is_empty());
                set.push(Box::pin(std::future::ready(7)));
                assert_eq!(block_on(set.join_next()), Some(7));
                drop(set);
                waker_thread.join().unwrap();
            })
        };
    });
}
