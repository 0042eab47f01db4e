//! Cancel safety under contention: many tasks on a multi-thread runtime wait on a
//! primitive and give up at random pending points (each wait is dropped after a
//! random number of pending polls), then the test checks that nothing was lost:
//! every permit back, every lock released and every increment counted, every
//! item put either received once or dropped with its cancelled put.
//!
//! The per-primitive drop tests (one pending point each, single-threaded) are in
//! each module's test file; these add the races between a drop and a concurrent
//! release, hand-over or wake-up.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::task::{Context, Poll};

mod common;

use async_patterns::queue::Queue;
use async_patterns::sync::{Mutex, Semaphore};
use common::{Rng, join_tasks, on_two_workers};

const TASKS: u64 = 8;
const ROUNDS: u64 = 300;

/// `future`, dropped after `pending` pending polls: `None` then. While it waits,
/// the wrapper wakes itself, so that it is polled again soon whether or not the
/// primitive wakes it, and the drop lands at a point the scheduling decides.
struct GiveUp<F> {
    future: Pin<Box<F>>,
    pending: u32,
}

impl<F: Future> Future for GiveUp<F> {
    type Output = Option<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<F::Output>> {
        if let Poll::Ready(output) = self.future.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        if self.pending == 0 {
            return Poll::Ready(None);
        }
        self.pending -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// How patient each wait is: 0-3 pending polls, drawn per wait.
struct Patience(Rng);

impl Patience {
    fn new(task: u64) -> Self {
        Self(Rng(task.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1))
    }

    fn wait<F: Future>(&mut self, future: F) -> GiveUp<F> {
        GiveUp {
            future: Box::pin(future),
            pending: self.0.below(4) as u32,
        }
    }
}

/// How many waits completed and how many were given up, over every task.
#[derive(Default)]
struct Tally {
    got: AtomicU64,
    gave_up: AtomicU64,
}

impl Tally {
    /// Counts `outcome` and passes it on.
    fn count<T>(&self, outcome: Option<T>) -> Option<T> {
        let counter = if outcome.is_some() {
            &self.got
        } else {
            &self.gave_up
        };
        counter.fetch_add(1, Ordering::Relaxed);
        outcome
    }

    /// How many waits completed, once every wait was counted exactly once and
    /// both outcomes happened.
    fn check(&self, waits: u64) -> u64 {
        let got = self.got.load(Ordering::Relaxed);
        let gave_up = self.gave_up.load(Ordering::Relaxed);
        assert_eq!(got + gave_up, waits);
        assert!(
            got > 0 && gave_up > 0,
            "both outcomes happened: {got} / {gave_up}"
        );
        got
    }
}

#[test]
fn semaphore_acquires_given_up_under_contention_lose_no_permit() {
    let semaphore = Arc::new(Semaphore::new(3));
    let tally = Arc::new(Tally::default());
    on_two_workers(async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|task| {
                let (semaphore, tally) = (semaphore.clone(), tally.clone());
                tokio::spawn(async move {
                    let mut patience = Patience::new(task);
                    for round in 0..ROUNDS {
                        let n = 1 + (round + task) as usize % 2;
                        if let Some(guard) =
                            tally.count(patience.wait(semaphore.acquire_many(n)).await)
                        {
                            assert_eq!(guard.permits(), n);
                            tokio::task::yield_now().await;
                        }
                    }
                })
            })
            .collect();
        join_tasks(tasks).await;
        assert_eq!(semaphore.available_permits(), 3, "every permit is back");
        let all = semaphore.acquire_many(3).await;
        assert_eq!(all.permits(), 3);
    });
    tally.check(TASKS * ROUNDS);
}

#[test]
fn mutex_locks_given_up_under_contention_release_the_lock_and_count_right() {
    let mutex = Arc::new(Mutex::new(0_u64));
    let tally = Arc::new(Tally::default());
    on_two_workers(async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|task| {
                let (mutex, tally) = (mutex.clone(), tally.clone());
                tokio::spawn(async move {
                    let mut patience = Patience::new(task);
                    for _ in 0..ROUNDS {
                        if let Some(mut guard) = tally.count(patience.wait(mutex.lock()).await) {
                            let seen = *guard;
                            tokio::task::yield_now().await; // held across a yield
                            *guard = seen + 1;
                        }
                    }
                })
            })
            .collect();
        join_tasks(tasks).await;
        assert!(!mutex.is_locked(), "the lock is free");
    });
    let got = tally.check(TASKS * ROUNDS);
    assert_eq!(*mutex.try_lock().expect("the lock is free"), got);
}

/// A queue item that records its id when dropped.
struct Item {
    id: u64,
    drops: Arc<StdMutex<Vec<u64>>>,
}

impl Drop for Item {
    fn drop(&mut self) {
        self.drops.lock().unwrap().push(self.id);
    }
}

#[test]
fn queue_puts_and_gets_given_up_under_contention_lose_and_duplicate_nothing() {
    // Whether a get or a put is given up at all depends on the scheduling (a
    // consumer that always keeps up never lets a put wait): a scenario is run
    // again, its checks each time, until both happened.
    let mut runs = Vec::new();
    for _ in 0..10 {
        let (gets, puts) = queue_puts_and_gets_given_up();
        runs.push((gets, puts));
        if gets > 0 && puts > 0 {
            return;
        }
    }
    panic!("some gets and some puts were given up: (gets, puts) per run {runs:?}");
}

/// One run of the queue scenario, with its checks: how many gets and how many
/// plain puts were given up.
fn queue_puts_and_gets_given_up() -> (usize, usize) {
    const PRODUCERS: u64 = 4;
    const CONSUMERS: u64 = 4;
    let queue = Arc::new(Queue::bounded(4));
    let drops = Arc::new(StdMutex::new(Vec::new()));
    // Ids whose put completed, and ids the consumers received.
    let put = Arc::new(StdMutex::new(Vec::new()));
    let received = Arc::new(StdMutex::new(Vec::new()));
    let cancelled_gets = Arc::new(AtomicUsize::new(0));
    let cancelled_puts = Arc::new(AtomicUsize::new(0));
    on_two_workers(async {
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|task| {
                let (queue, drops, put) = (queue.clone(), drops.clone(), put.clone());
                let cancelled_puts = cancelled_puts.clone();
                tokio::spawn(async move {
                    let mut patience = Patience::new(task);
                    for round in 0..ROUNDS {
                        let id = task * ROUNDS + round;
                        let item = Item {
                            id,
                            drops: drops.clone(),
                        };
                        if round % 2 == 0 {
                            // A plain put, given up or not: its item is either in
                            // the queue or dropped with it, never both.
                            match patience.wait(queue.put(item)).await {
                                Some(result) => {
                                    assert!(result.is_ok(), "the queue is open");
                                    put.lock().unwrap().push(id);
                                }
                                None => {
                                    cancelled_puts.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                        } else {
                            // Reserve first: a cancelled reserve holds nothing, and
                            // the item is put for sure.
                            let permit = loop {
                                if let Some(result) = patience.wait(queue.reserve()).await {
                                    break result.expect("the queue is open");
                                }
                            };
                            permit.put(item);
                            put.lock().unwrap().push(id);
                        }
                    }
                })
            })
            .collect();
        let consumers: Vec<_> = (0..CONSUMERS)
            .map(|task| {
                let (queue, received, cancelled_gets) =
                    (queue.clone(), received.clone(), cancelled_gets.clone());
                tokio::spawn(async move {
                    let mut patience = Patience::new(100 + task);
                    loop {
                        match patience.wait(queue.get()).await {
                            Some(Ok(item)) => received.lock().unwrap().push(item.id),
                            Some(Err(_)) => break, // shut down and drained
                            None => {
                                cancelled_gets.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                })
            })
            .collect();
        join_tasks(producers).await;
        queue.shutdown();
        join_tasks(consumers).await;
    });
    let put: HashSet<u64> = put.lock().unwrap().iter().copied().collect();
    let received = received.lock().unwrap().clone();
    let received_set: HashSet<u64> = received.iter().copied().collect();
    assert_eq!(received.len(), received_set.len(), "no item came out twice");
    assert!(
        put.is_subset(&received_set),
        "every completed put came out: missing {:?}",
        put.difference(&received_set).collect::<Vec<_>>()
    );
    assert!(queue.is_empty());
    drop(queue);
    let mut dropped = drops.lock().unwrap().clone();
    dropped.sort_unstable();
    let all: Vec<u64> = (0..PRODUCERS * ROUNDS).collect();
    assert_eq!(dropped, all, "every item was dropped exactly once");
    (
        cancelled_gets.load(Ordering::Relaxed),
        cancelled_puts.load(Ordering::Relaxed),
    )
}
