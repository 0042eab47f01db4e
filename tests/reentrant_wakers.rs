//! A waker's drop can run any code: dropping the last reference to a task drops
//! the task's future, whose `Drop` may leave a wait on the very primitive that
//! held the waker (a future moved to another task, then polled there, leaves the
//! old task's waker behind in the primitive). So no primitive may drop a waker,
//! replaced on a new poll or left behind by a dropped future, while it holds its
//! internal lock: the re-entry would spin on that lock for ever.
//!
//! Each test polls a waiting future with a waker that re-enters the primitive
//! when its last copy is dropped, polls it again with another, then drops it
//! (`common::reenters_on_waker_drop`). The primitives live for the whole test
//! (leaked), so the futures can move to the watchdog thread.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex as StdMutex;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

mod common;

use async_patterns::queue::Queue;
use async_patterns::stream::next;
use async_patterns::sync::{Barrier, Condvar, Event, Mutex, Semaphore};
use async_patterns::task::{BackgroundTasks, CancellationToken, TaskSet, spawn};
use async_patterns::time::{Debouncer, ManualTimer, Timer};
use common::{drop_at_pending, reenters_on_waker_drop};

fn leak<T>(value: T) -> &'static T {
    Box::leak(Box::new(value))
}

#[test]
fn queue_get() {
    let queue = leak(Queue::<u32>::unbounded());
    reenters_on_waker_drop(queue.get(), || drop_at_pending(queue.get()));
}

#[test]
fn queue_put_and_reserve() {
    let queue = leak(Queue::bounded(1));
    queue.try_put(1).unwrap();
    reenters_on_waker_drop(queue.put(2), || drop_at_pending(queue.put(3)));
    reenters_on_waker_drop(queue.reserve(), || drop_at_pending(queue.reserve()));
    assert_eq!(queue.len(), 1);
}

#[test]
fn queue_join() {
    let queue = leak(Queue::unbounded());
    queue.try_put(1).unwrap();
    reenters_on_waker_drop(queue.join(), || drop_at_pending(queue.join()));
}

#[test]
fn queue_stream() {
    let queue = leak(Queue::<u32>::unbounded());
    let first_item = async {
        let mut stream = queue.stream();
        next(&mut stream).await
    };
    reenters_on_waker_drop(first_item, || drop_at_pending(queue.get()));
}

#[test]
fn semaphore_acquire() {
    let sem = leak(Semaphore::new(0));
    reenters_on_waker_drop(sem.acquire(), || drop_at_pending(sem.acquire()));
}

#[test]
fn event_wait() {
    let event = leak(Event::new());
    reenters_on_waker_drop(event.wait(), || drop_at_pending(event.wait()));
}

#[test]
fn condvar_wait() {
    let (mutex, cv) = (leak(Mutex::new(())), leak(Condvar::new()));
    let guard = mutex.try_lock().unwrap();
    reenters_on_waker_drop(cv.wait(guard), || {
        drop_at_pending(async { drop(cv.wait(mutex.lock().await).await) })
    });
}

#[test]
fn barrier_wait() {
    let barrier = leak(Barrier::new(3));
    reenters_on_waker_drop(barrier.wait(), || drop_at_pending(barrier.wait()));
}

#[test]
fn cancellation_token() {
    let token = leak(CancellationToken::new());
    reenters_on_waker_drop(token.cancelled(), || drop_at_pending(token.cancelled()));
}

/// A spawner that keeps the tasks and never runs them.
fn parking_spawner() -> impl Fn(Pin<Box<dyn Future<Output = ()> + Send>>) + Send + Sync {
    let parked = StdMutex::new(Vec::new());
    move |task| parked.lock().unwrap().push(task)
}

#[test]
fn join_handle() {
    let spawner = leak(parking_spawner());
    let handle = spawn(spawner, std::future::pending::<()>());
    let abort = handle.abort_handle();
    reenters_on_waker_drop(handle, move || abort.abort());
}

#[test]
fn background_tasks_join() {
    let tasks = leak(BackgroundTasks::new(parking_spawner()));
    drop(tasks.spawn(std::future::pending::<()>()));
    reenters_on_waker_drop(tasks.join(), || drop_at_pending(tasks.join()));
}

#[test]
fn task_set_join_next() {
    // The member hands out its waker; the set's ready list is locked to wake it.
    let member_waker = leak(StdMutex::new(None::<Waker>));
    let set = Box::leak(Box::new(TaskSet::new()));
    set.push(std::future::poll_fn(|cx| {
        *member_waker.lock().unwrap() = Some(cx.waker().clone());
        Poll::<()>::Pending
    }));
    reenters_on_waker_drop(set.join_next(), || {
        let waker = member_waker.lock().unwrap().clone();
        waker.expect("the member was polled").wake();
    });
}

#[test]
fn manual_timer_sleep() {
    let timer = leak(ManualTimer::new());
    reenters_on_waker_drop(timer.sleep(Duration::from_secs(1)), || {
        drop_at_pending(timer.sleep(Duration::from_secs(1)))
    });
}

#[test]
fn debouncer_call() {
    // A timer whose sleeps keep no waker: the debouncer's is the last copy.
    let timer = |_: Duration| std::future::pending::<()>();
    let debouncer = leak(Debouncer::new(timer, Duration::from_secs(1)));
    reenters_on_waker_drop(debouncer.call(async {}), || debouncer.cancel());
}

#[test]
fn cancellation_token_detached_from_its_parent() {
    // A node whose last reference is its parent's link to it, with a waiter left
    // behind (a wait leaked with `mem::forget`): it is freed when the last token
    // below it goes, and its waker then re-enters the grandparent.
    let grandparent = leak(CancellationToken::new());
    common::within(Duration::from_secs(10), move || {
        let parent = grandparent.child_token();
        let child = parent.child_token();
        let ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = ran.clone();
        let waker = common::waker_on_last_drop(move || {
            drop_at_pending(grandparent.cancelled());
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        let mut wait = Box::pin(parent.cancelled());
        let poll = wait.as_mut().poll(&mut Context::from_waker(&waker));
        assert!(poll.is_pending());
        std::mem::forget(wait);
        drop(waker);
        drop(parent); // still linked: it has a child
        assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));
        drop(child); // the parent is unreferenced now and leaves the grandparent
        assert!(
            ran.load(std::sync::atomic::Ordering::SeqCst),
            "the waker was let go"
        );
    });
    assert!(!grandparent.is_cancelled());
}
