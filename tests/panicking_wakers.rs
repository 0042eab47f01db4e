//! A waker that panics in `clone` or `wake` (a misbehaving executor's) leaves each
//! primitive consistent: no permit, item, arrival or place in line is lost, and
//! the primitive keeps working for everybody else. (Waiters that the panicking
//! wake-up should have been followed by may stay un-woken: see the crate docs.)

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use async_patterns::queue::Queue;
use async_patterns::sync::{Barrier, Semaphore};
use async_patterns::task::{BackgroundTasks, CancellationToken};
use common::{BoxedUnit, Task, now, panicking_waker, panics};
use futures_core::Stream;

fn poll_with<F: Future + ?Sized>(future: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(waker))
}

fn noop<F: Future + ?Sized>(future: Pin<&mut F>) -> Poll<F::Output> {
    poll_with(future, Waker::noop())
}

#[test]
fn semaphore_acquire_whose_waker_clone_panics_takes_no_permit() {
    let sem = Semaphore::new(3);
    let mut acquire = Box::pin(sem.acquire_many(5));
    panics(|| {
        let _ = poll_with(acquire.as_mut(), &panicking_waker(true));
    });
    drop(acquire);
    assert_eq!(sem.available_permits(), 3);
    assert!(sem.try_acquire_many(3).is_some());
}

#[test]
fn semaphore_grant_whose_wake_panics_loses_no_permit() {
    // 17 waiters: more than one batch of wake-ups, so permits are still to be
    // placed when the first waker panics.
    let sem = Semaphore::new(0);
    let mut waits: Vec<_> = (0..17).map(|_| Box::pin(sem.acquire())).collect();
    assert!(poll_with(waits[0].as_mut(), &panicking_waker(false)).is_pending());
    for wait in &mut waits[1..] {
        assert!(noop(wait.as_mut()).is_pending());
    }
    panics(|| sem.add_permits(17));
    // Every waiter holds its permit, woken or not: dropped, they give them back.
    drop(waits);
    assert_eq!(sem.available_permits(), 17);
}

#[test]
fn barrier_wait_whose_waker_clone_panics_does_not_arrive() {
    let barrier = Barrier::new(2);
    let mut first = Box::pin(barrier.wait());
    panics(|| {
        let _ = poll_with(first.as_mut(), &panicking_waker(true));
    });
    drop(first);
    // The round still needs two parties.
    let mut a = Task::new(barrier.wait());
    assert!(a.poll().is_pending(), "one party alone does not trip it");
    let Ok(leader) = now(barrier.wait()) else {
        panic!("the second party trips the barrier")
    };
    assert!(leader.is_leader());
    assert!(matches!(a.assert_ready(), Ok(r) if !r.is_leader()));
}

#[test]
fn queue_put_whose_waker_clone_panics_keeps_its_item() {
    let queue = Queue::bounded(1);
    queue.try_put(1).unwrap();
    let mut put = Box::pin(queue.put(2));
    panics(|| {
        let _ = poll_with(put.as_mut(), &panicking_waker(true));
    });
    assert!(
        noop(put.as_mut()).is_pending(),
        "the put still holds its item"
    );
    assert_eq!(queue.try_get(), Ok(1));
    assert!(matches!(noop(put.as_mut()), Poll::Ready(Ok(()))));
    assert_eq!(queue.try_get(), Ok(2));
}

#[test]
fn queue_stream_whose_waker_clone_panics_keeps_its_place() {
    let queue = Queue::unbounded();
    let mut stream = Box::pin(queue.stream());
    let mut cx = Context::from_waker(Waker::noop());
    assert!(stream.as_mut().poll_next(&mut cx).is_pending());
    queue.try_put(1).unwrap(); // wakes the stream...
    assert_eq!(queue.try_get(), Ok(1)); // ...but somebody else takes the item
    // Woken for nothing: the stream waits again, cloning the new waker.
    panics(|| {
        let waker = panicking_waker(true);
        let _ = stream.as_mut().poll_next(&mut Context::from_waker(&waker));
    });
    assert!(stream.as_mut().poll_next(&mut cx).is_pending());
    queue.try_put(2).unwrap();
    assert_eq!(stream.as_mut().poll_next(&mut cx), Poll::Ready(Some(2)));
    drop(stream); // its place was its own all along: nothing to trip over
    queue.try_put(3).unwrap();
    assert_eq!(queue.try_get(), Ok(3));
}

#[test]
fn cancel_whose_waker_panics_leaves_the_whole_subtree_cancelled() {
    let parent = CancellationToken::new();
    let child = parent.child_token();
    let grandchild = child.child_token();
    let mut wait = Box::pin(parent.cancelled());
    assert!(poll_with(wait.as_mut(), &panicking_waker(false)).is_pending());
    panics(|| parent.cancel());
    // Every state change came before the wakes: the subtree is cancelled, and the
    // waits see it when polled.
    assert!(parent.is_cancelled() && child.is_cancelled() && grandchild.is_cancelled());
    now(grandchild.cancelled());
    assert!(noop(wait.as_mut()).is_ready());
}

#[test]
fn shutdown_whose_abort_wake_panics_still_waits_and_ends() {
    let stored: Arc<Mutex<Vec<BoxedUnit>>> = Arc::default();
    let spawner = {
        let stored = Arc::clone(&stored);
        move |task: BoxedUnit| stored.lock().unwrap().push(task)
    };
    let take = || stored.lock().unwrap().pop().expect("a task was spawned");
    let tasks = BackgroundTasks::new(spawner);
    drop(tasks.spawn(std::future::pending::<()>()));
    let mut task = take();
    // Polled with a waker that panics when the abort wakes it.
    assert!(poll_with(task.as_mut(), &panicking_waker(false)).is_pending());
    let mut shutdown = Box::pin(tasks.shutdown());
    panics(|| {
        let _ = noop(shutdown.as_mut());
    });
    // The shutdown still waits for the aborted task, and ends with it.
    assert!(
        noop(shutdown.as_mut()).is_pending(),
        "the task is still in the set"
    );
    assert!(
        noop(task.as_mut()).is_ready(),
        "aborted: it ends at its next poll"
    );
    assert!(noop(shutdown.as_mut()).is_ready());
    drop(shutdown);
    // Over: a new task runs.
    let handle = tasks.spawn(async { 5 });
    assert!(noop(take().as_mut()).is_ready());
    assert!(matches!(now(handle), Ok(5)));
}
