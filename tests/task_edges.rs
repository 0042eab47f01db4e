//! `TaskSet` and `BackgroundTasks` at the edges: panics in a future's `poll` or
//! `Drop`, panicking callbacks on the executor's drop path, wakers outliving the
//! set (run under Miri too), a task spawned while `join` wakes up, and the
//! generator slot with its emitter on another thread.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::{Arc, Mutex as StdMutex};
use std::task::{Context, Poll, Waker};

use async_patterns::task::TaskSet;

type Boxed = Pin<Box<dyn Future<Output = usize> + Send>>;
/// Tasks as a spawner that only stores them hands them over.
type Stored = Arc<StdMutex<Vec<Pin<Box<dyn Future<Output = ()> + Send>>>>>;

fn noop_cx() -> Context<'static> {
    Context::from_waker(Waker::noop())
}

/// A future that is pending once, storing its waker, then ready; its Drop may panic.
struct Probe {
    stash: Arc<StdMutex<Vec<Waker>>>,
    polls: usize,
    panic_on_drop: bool,
    panic_on_poll: bool,
}

impl Future for Probe {
    type Output = usize;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        if self.panic_on_poll {
            panic!("poll panic");
        }
        self.polls += 1;
        self.stash.lock().unwrap().push(cx.waker().clone());
        if self.polls >= 3 {
            Poll::Ready(self.polls)
        } else {
            Poll::Pending
        }
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        if self.panic_on_drop && !std::thread::panicking() {
            panic!("drop panic");
        }
    }
}

fn probe(stash: &Arc<StdMutex<Vec<Waker>>>) -> Probe {
    probe_with(stash, false, false)
}

fn probe_with(
    stash: &Arc<StdMutex<Vec<Waker>>>,
    panic_on_drop: bool,
    panic_on_poll: bool,
) -> Probe {
    Probe {
        stash: stash.clone(),
        polls: 0,
        panic_on_drop,
        panic_on_poll,
    }
}

/// Wakers cloned from the set outlive it, are woken by value and by ref, across
/// cancel_all and after the set is gone (for Miri).
#[test]
fn wakers_outlive_set_miri() {
    let stash = Arc::new(StdMutex::new(Vec::new()));
    let mut set = TaskSet::new();
    for _ in 0..40 {
        set.push(probe(&stash));
    }
    let mut cx = noop_cx();
    assert!(set.poll_join_next(&mut cx).is_pending());
    // wake half by value, the rest by ref
    let wakers: Vec<Waker> = std::mem::take(&mut *stash.lock().unwrap());
    let (a, b) = wakers.split_at(20);
    for w in a {
        #[allow(clippy::waker_clone_wake)] // a wake by value of a clone, on purpose
        w.clone().wake();
    }
    for w in b {
        w.wake_by_ref();
    }
    let mut outs = 0;
    while let Poll::Ready(Some(_)) = set.poll_join_next(&mut cx) {
        outs += 1;
    }
    let _ = outs;
    set.cancel_all();
    // stale wakes after cancel_all, then new pushes at the same indices
    for w in &wakers {
        w.wake_by_ref();
    }
    for _ in 0..5 {
        set.push(probe(&stash));
    }
    for _ in 0..10 {
        let _ = set.poll_join_next(&mut cx);
    }
    let stale: Vec<Waker> = std::mem::take(&mut *stash.lock().unwrap());
    drop(set);
    for w in wakers {
        w.wake();
    }
    for w in stale {
        let w2 = w.clone();
        drop(w);
        w2.wake();
    }
    // wakers moved to another thread after the set is gone
    let stash2 = Arc::new(StdMutex::new(Vec::new()));
    let mut set = TaskSet::new();
    set.push(probe(&stash2));
    assert!(set.poll_join_next(&mut cx).is_pending());
    let w = stash2.lock().unwrap().pop().unwrap();
    let t = std::thread::spawn(move || {
        for _ in 0..10 {
            w.wake_by_ref();
        }
        w.wake();
    });
    drop(set);
    drop(stash2);
    t.join().unwrap();
}

/// A future whose `Drop` panics during `cancel_all`: the panic goes on, and the
/// set is left empty and usable.
#[test]
fn cancel_all_with_a_panicking_drop_leaves_an_empty_usable_set() {
    let stash = Arc::new(StdMutex::new(Vec::new()));
    let mut set = TaskSet::<Boxed>::new();
    set.push(Box::pin(probe_with(&stash, true, false)));
    set.push(Box::pin(probe(&stash)));
    let r = catch_unwind(AssertUnwindSafe(|| set.cancel_all()));
    assert!(r.is_err(), "the Drop's panic goes on");
    assert_eq!(set.len(), 0);
    let mut cx = noop_cx();
    assert!(matches!(set.poll_join_next(&mut cx), Poll::Ready(None)));
    set.push(Box::pin(std::future::ready(7)));
    assert!(matches!(set.poll_join_next(&mut cx), Poll::Ready(Some(7))));
}

/// A future that panics in `poll` leaves the set (as in `FuturesUnordered`): the
/// set does not wait for it for ever, and drops it as the panic unwinds (not at
/// some later wake), so whatever it holds is let go at once.
#[test]
fn a_future_panicking_in_poll_leaves_the_set() {
    let stash = Arc::new(StdMutex::new(Vec::new()));
    let mut set = TaskSet::<Boxed>::new();
    set.push(Box::pin(probe_with(&stash, false, true)));
    set.push(Box::pin(std::future::ready(7)));
    assert_eq!(Arc::strong_count(&stash), 2, "the probe holds the stash");
    let mut cx = noop_cx();
    let r = catch_unwind(AssertUnwindSafe(|| set.poll_join_next(&mut cx)));
    assert!(r.is_err());
    assert_eq!(
        Arc::strong_count(&stash),
        1,
        "the panicked probe is dropped"
    );
    assert_eq!(set.len(), 1, "only the healthy future is left");
    assert!(matches!(set.poll_join_next(&mut cx), Poll::Ready(Some(7))));
    assert!(matches!(set.poll_join_next(&mut cx), Poll::Ready(None)));
    // The set goes on as usual, with the freed entries.
    set.push(Box::pin(probe(&stash)));
    assert!(set.poll_join_next(&mut cx).is_pending());
    assert_eq!(set.len(), 1);
}

/// A completed future whose `Drop` panics: the set's count and free list are
/// whole.
#[test]
fn a_completed_future_whose_drop_panics_leaves_the_set_whole() {
    struct ReadyPanicDrop;
    impl Future for ReadyPanicDrop {
        type Output = ();
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            Poll::Ready(())
        }
    }
    impl Drop for ReadyPanicDrop {
        fn drop(&mut self) {
            if !std::thread::panicking() {
                panic!("drop after ready");
            }
        }
    }
    let mut set = TaskSet::new();
    set.push(ReadyPanicDrop);
    let mut cx = noop_cx();
    let r = catch_unwind(AssertUnwindSafe(|| set.poll_join_next(&mut cx)));
    assert!(r.is_err());
    assert_eq!(set.len(), 0);
    assert!(matches!(set.poll_join_next(&mut cx), Poll::Ready(None)));
}

mod more {
    use super::*;
    use async_patterns::task::{BackgroundTasks, JoinError, spawn};
    use std::sync::mpsc;

    /// `BackgroundTasks::join` resolves only after the task's output is published
    /// and its `on_complete` callbacks ran.
    #[test]
    fn join_returns_after_the_output_is_published() {
        let tasks = BackgroundTasks::new(|fut: Pin<Box<dyn Future<Output = ()> + Send>>| {
            std::thread::spawn(move || futures::executor::block_on(fut));
        });
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let go_rx = StdMutex::new(go_rx);
        let handle = tasks.spawn(async move {
            // Runs on once the callback is registered.
            let _ = go_rx.lock().unwrap().recv();
            7
        });
        let called = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = Arc::clone(&called);
        handle.on_complete(move |_| {
            // A callback that takes a while: `join` must not return before it ends.
            std::thread::sleep(std::time::Duration::from_millis(50));
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        go_tx.send(()).unwrap();
        futures::executor::block_on(tasks.join());
        assert!(tasks.is_empty());
        assert!(
            handle.is_finished(),
            "the output is published when join returns"
        );
        assert!(
            called.load(std::sync::atomic::Ordering::SeqCst),
            "the callback ran"
        );
    }

    /// Two tasks with panicking `on_complete` callbacks, dropped by their executor:
    /// the callbacks' panics are dropped on that path (re-raising them from a
    /// destructor would abort the process at the second one).
    #[test]
    fn callback_panics_on_the_drop_path_do_not_abort() {
        let store: Stored = Default::default();
        let s = store.clone();
        let spawner = move |fut| s.lock().unwrap().push(fut);
        let a = spawn(&spawner, std::future::pending::<()>());
        let b = spawn(&spawner, std::future::pending::<()>());
        a.on_complete(|_| panic!("callback a"));
        b.on_complete(|_| panic!("callback b"));
        let tasks = std::mem::take(&mut *store.lock().unwrap());
        let r = catch_unwind(AssertUnwindSafe(|| drop(tasks)));
        assert!(r.is_ok(), "no panic out of the executor's drop");
        assert!(matches!(
            futures::executor::block_on(a),
            Err(JoinError::Cancelled)
        ));
        assert!(matches!(
            futures::executor::block_on(b),
            Err(JoinError::Cancelled)
        ));
    }
}

mod more2 {
    use super::*;
    use async_patterns::task::BackgroundTasks;

    /// `join` also waits for a task spawned between the set emptying (which woke
    /// it) and its next poll.
    #[test]
    fn join_waits_for_a_task_spawned_after_the_set_emptied() {
        let queue: Stored = Default::default();
        let q = queue.clone();
        let tasks = BackgroundTasks::new(move |fut| q.lock().unwrap().push(fut));
        drop(tasks.spawn(async {}));
        let mut join = Box::pin(tasks.join());
        let mut cx = noop_cx();
        assert!(join.as_mut().poll(&mut cx).is_pending());
        // run the first task: the set empties and the join is woken
        let t = queue.lock().unwrap().pop().unwrap();
        drop(t); // executor drops it (or runs it): it leaves the set
        // a new task is spawned while the join is still waiting
        drop(tasks.spawn(std::future::pending::<()>()));
        assert_eq!(tasks.len(), 1);
        let r = join.as_mut().poll(&mut cx);
        assert!(
            r.is_pending(),
            "join resolved with a task still running (len = {})",
            tasks.len()
        );
    }

    /// The generate slot with the emitter on another thread (for Miri's race detector).
    #[test]
    fn generate_cross_thread_emitter() {
        use async_patterns::stream::generate;
        use futures::StreamExt;
        let (tx, rx) = std::sync::mpsc::channel();
        let mut s = Box::pin(generate(
            move |out: async_patterns::stream::Emitter<Box<u32>>| {
                tx.send(out).unwrap();
                std::future::pending::<()>()
            },
        ));
        let mut cx = noop_cx();
        assert!(s.poll_next_unpin(&mut cx).is_pending());
        let mut out = rx.recv().unwrap();
        let t = std::thread::spawn(move || {
            for i in 0..20u32 {
                let mut e = out.emit(Box::new(i));
                let mut cx = noop_cx();
                while Pin::new(&mut e).poll(&mut cx).is_pending() {
                    std::thread::yield_now();
                }
            }
        });
        let mut got = 0;
        while got < 20 {
            if let Poll::Ready(Some(b)) = s.poll_next_unpin(&mut cx) {
                assert_eq!(*b, got);
                got += 1;
            } else {
                std::thread::yield_now();
            }
        }
        t.join().unwrap();
    }
}
