//! Stress: several primitives used together, by async tasks on a 2-worker runtime
//! and by plain threads through the blocking twins at the same time, with the
//! totals checked at the end. (Each primitive's own multi-thread tests are in its
//! test file; these are the workloads where they meet.)

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::thread;

mod common;

use async_patterns::queue::Queue;
use async_patterns::sync::{Barrier, Event, Mutex, RwLock, RwLockUpgradableReadGuard, Semaphore};
use async_patterns::task::CancellationToken;
use common::{join_tasks, on_two_workers};

/// The shared state of [`pipeline_of_queue_semaphore_mutex_and_barrier`].
struct Pipeline {
    queue: Queue<u64>,
    /// At most two items processed at once.
    slots: Semaphore,
    running: AtomicUsize,
    /// (sum of the items, number of items) processed.
    totals: Mutex<(u64, u64)>,
    /// Every worker meets here once the queue is shut down.
    done: Barrier,
    leaders: AtomicUsize,
}

const PER_PRODUCER: u64 = 2_000;
const PRODUCERS: u64 = 4; // 3 tasks and 1 thread
const WORKERS: usize = 4; // 3 tasks and 1 thread

impl Pipeline {
    /// Counts one more item in process (under a slot of the semaphore) and
    /// checks that no more than two are.
    fn enter(&self) {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        assert!(now <= 2, "{now} items in process at once");
    }
}

#[test]
fn pipeline_of_queue_semaphore_mutex_and_barrier() {
    let p = Arc::new(Pipeline {
        queue: Queue::bounded(8),
        slots: Semaphore::new(2),
        running: AtomicUsize::new(0),
        totals: Mutex::new((0, 0)),
        done: Barrier::new(WORKERS),
        leaders: AtomicUsize::new(0),
    });
    let ids = |producer: u64| producer * PER_PRODUCER..(producer + 1) * PER_PRODUCER;

    // The thread side: one producer, one worker, through the blocking twins.
    let thread_producer = {
        let p = Arc::clone(&p);
        thread::spawn(move || {
            for id in ids(3) {
                p.queue.put_blocking(id).expect("the queue is open");
            }
        })
    };
    let thread_worker = {
        let p = Arc::clone(&p);
        thread::spawn(move || {
            while let Ok(id) = p.queue.get_blocking() {
                let slot = p.slots.acquire_blocking();
                p.enter();
                {
                    let mut totals = p.totals.lock_blocking();
                    totals.0 += id;
                    totals.1 += 1;
                }
                p.running.fetch_sub(1, Ordering::SeqCst);
                drop(slot);
                p.queue.task_done().expect("an item was taken");
            }
            let result = p.done.wait_blocking().expect("the barrier holds");
            if result.is_leader() {
                p.leaders.fetch_add(1, Ordering::SeqCst);
            }
        })
    };

    on_two_workers(async {
        let mut producers = Vec::new();
        for producer in 0..3 {
            let p = Arc::clone(&p);
            producers.push(tokio::spawn(async move {
                for id in ids(producer) {
                    p.queue.put(id).await.expect("the queue is open");
                }
            }));
        }
        let mut workers = Vec::new();
        for _ in 0..WORKERS - 1 {
            let p = Arc::clone(&p);
            workers.push(tokio::spawn(async move {
                while let Ok(id) = p.queue.get().await {
                    let slot = p.slots.acquire().await;
                    p.enter();
                    {
                        let mut totals = p.totals.lock().await;
                        let (sum, count) = *totals;
                        tokio::task::yield_now().await; // held across a yield
                        *totals = (sum + id, count + 1);
                    }
                    p.running.fetch_sub(1, Ordering::SeqCst);
                    drop(slot);
                    p.queue.task_done().expect("an item was taken");
                }
                let result = p.done.wait().await.expect("the barrier holds");
                if result.is_leader() {
                    p.leaders.fetch_add(1, Ordering::SeqCst);
                }
            }));
        }
        // Every item put and processed, then the workers are let go.
        join_tasks(producers).await;
        tokio::task::spawn_blocking(move || thread_producer.join())
            .await
            .expect("joined")
            .expect("the thread producer");
        p.queue.join().await;
        p.queue.shutdown();
        join_tasks(workers).await;
    });
    thread_worker.join().expect("the thread worker");

    let n = PRODUCERS * PER_PRODUCER;
    let totals = *p.totals.try_lock().expect("the totals are free");
    assert_eq!(totals, (n * (n - 1) / 2, n), "every item processed once");
    assert_eq!(p.slots.available_permits(), 2);
    assert_eq!(p.queue.unfinished_tasks(), 0);
    assert_eq!(p.leaders.load(Ordering::SeqCst), 1, "one leader per round");
}

#[test]
fn rwlock_readers_never_see_a_half_written_pair() {
    const WRITES: u64 = 1_000;
    let lock = Arc::new(RwLock::new((0_u64, 0_u64)));
    let stop = Arc::new(Event::new());
    let reads = Arc::new(AtomicU64::new(0));
    let thread_writer = {
        let lock = Arc::clone(&lock);
        thread::spawn(move || {
            for _ in 0..WRITES {
                let mut pair = lock.write_blocking();
                pair.0 += 1;
                pair.1 += 1;
            }
        })
    };
    let thread_reader = {
        let (lock, stop, reads) = (Arc::clone(&lock), Arc::clone(&stop), Arc::clone(&reads));
        thread::spawn(move || {
            while !stop.is_set() {
                let pair = lock.read_blocking();
                assert_eq!(pair.0, pair.1, "a reader saw a half-written pair");
                reads.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    on_two_workers(async {
        let mut writers = Vec::new();
        for task in 0..2_u64 {
            let lock = Arc::clone(&lock);
            writers.push(tokio::spawn(async move {
                for i in 0..WRITES {
                    if (i + task) % 3 == 0 {
                        // Through an upgradable read, upgraded.
                        let pair = lock.upgradable_read().await;
                        let mut pair = RwLockUpgradableReadGuard::upgrade(pair).await;
                        pair.0 += 1;
                        tokio::task::yield_now().await; // half-written across a yield
                        pair.1 += 1;
                    } else {
                        let mut pair = lock.write().await;
                        pair.0 += 1;
                        tokio::task::yield_now().await;
                        pair.1 += 1;
                    }
                }
            }));
        }
        let mut readers = Vec::new();
        for _ in 0..3 {
            let (lock, stop, reads) = (Arc::clone(&lock), Arc::clone(&stop), Arc::clone(&reads));
            readers.push(tokio::spawn(async move {
                while !stop.is_set() {
                    let pair = lock.read().await;
                    assert_eq!(pair.0, pair.1, "a reader saw a half-written pair");
                    reads.fetch_add(1, Ordering::Relaxed);
                    drop(pair);
                    tokio::task::yield_now().await;
                }
            }));
        }
        join_tasks(writers).await;
        let lock2 = Arc::clone(&lock);
        tokio::task::spawn_blocking(move || {
            thread_writer.join().expect("the thread writer");
            drop(lock2);
        })
        .await
        .expect("joined");
        stop.set();
        join_tasks(readers).await;
    });
    thread_reader.join().expect("the thread reader");
    assert_eq!(*lock.try_read().expect("free"), (3 * WRITES, 3 * WRITES));
    assert!(reads.load(Ordering::Relaxed) > 0);
}

#[test]
fn events_and_tokens_wake_every_waiter_on_tasks_and_threads_round_after_round() {
    const ROUNDS: usize = 50;
    const TASKS: usize = 16;
    for _ in 0..ROUNDS {
        let event = Arc::new(Event::new());
        let parent = CancellationToken::new();
        let woken = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let (event, woken) = (Arc::clone(&event), Arc::clone(&woken));
                thread::spawn(move || {
                    event.wait_blocking();
                    woken.fetch_add(1, Ordering::SeqCst);
                })
            })
            .collect();
        on_two_workers(async {
            let tasks: Vec<_> = (0..TASKS)
                .map(|i| {
                    let (event, woken) = (Arc::clone(&event), Arc::clone(&woken));
                    let child = parent.child_token();
                    tokio::spawn(async move {
                        if i % 2 == 0 {
                            event.wait().await;
                        } else {
                            child.cancelled().await;
                        }
                        woken.fetch_add(1, Ordering::SeqCst);
                    })
                })
                .collect();
            tokio::task::yield_now().await;
            // Set and cancel from two sides at once.
            let setter = {
                let event = Arc::clone(&event);
                tokio::spawn(async move { event.set() })
            };
            parent.cancel();
            setter.await.expect("set");
            join_tasks(tasks).await;
        });
        for thread in threads {
            thread.join().expect("a waiting thread");
        }
        assert_eq!(woken.load(Ordering::SeqCst), TASKS + 2);
    }
}
