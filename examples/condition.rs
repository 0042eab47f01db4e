//! asyncio.Condition -> `sync::Condvar` + `sync::Mutex`: a producer appends jobs to
//! a shared list, consumers wait until it is not empty.
//!
//! asyncio's `async with cond: await cond.wait_for(lambda: items)` becomes
//! `cond.wait_until(items.lock().await, |items| !items.is_empty()).await`: the
//! condition is checked with the lock held, the lock is released while waiting, and
//! taken again before the guard comes back.
//!
//! Run it with `cargo run --example condition`.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use async_patterns::sync::{Condvar, Mutex};
use futures::executor::LocalPool;
use futures::task::LocalSpawnExt;

/// What the consumers share: the jobs (`None` means "no more jobs") and the
/// condition that announces a change.
struct Jobs {
    queue: Mutex<VecDeque<Option<u32>>>,
    changed: Condvar,
}

/// Runs the demo and returns, per consumer, the jobs it handled.
pub fn demo() -> Vec<Vec<u32>> {
    const CONSUMERS: usize = 2;
    const JOBS: u32 = 6;

    let jobs = Rc::new(Jobs {
        queue: Mutex::new(VecDeque::new()),
        changed: Condvar::new(),
    });
    let handled = Rc::new(RefCell::new(vec![Vec::new(); CONSUMERS]));
    let mut pool = LocalPool::new();

    for consumer in 0..CONSUMERS {
        let (jobs, handled) = (jobs.clone(), handled.clone());
        pool.spawner()
            .spawn_local(async move {
                loop {
                    let guard = jobs.queue.lock().await;
                    // `await cond.wait_for(lambda: queue)`
                    let mut queue = jobs
                        .changed
                        .wait_until(guard, |queue| !queue.is_empty())
                        .await;
                    let Some(job) = queue.pop_front().expect("not empty") else {
                        queue.push_front(None); // leave the stop mark for the others
                        drop(queue);
                        jobs.changed.notify_all();
                        println!("consumer {consumer} stops");
                        return;
                    };
                    drop(queue); // don't hold the lock while working
                    println!("consumer {consumer} handles job {job}");
                    handled.borrow_mut()[consumer].push(job);
                    for _ in 0..3 {
                        // a real job would await something here
                        futures_lite::future::yield_now().await;
                    }
                }
            })
            .expect("a LocalPool accepts tasks while it exists");
    }

    let producer = {
        let jobs = jobs.clone();
        async move {
            for job in 1..=JOBS {
                jobs.queue.lock().await.push_back(Some(job));
                // `cond.notify()`: one consumer wakes per job.
                let woken = jobs.changed.notify_one();
                println!("producer appends job {job} (woke a consumer: {woken})");
                futures_lite::future::yield_now().await;
            }
            jobs.queue.lock().await.push_back(None);
            jobs.changed.notify_all();
        }
    };
    pool.spawner()
        .spawn_local(producer)
        .expect("a LocalPool accepts tasks while it exists");
    pool.run();

    let handled = handled.borrow().clone();
    let mut all: Vec<u32> = handled.iter().flatten().copied().collect();
    all.sort();
    assert_eq!(
        all,
        (1..=JOBS).collect::<Vec<_>>(),
        "every job handled once"
    );
    handled
}

#[allow(dead_code)]
fn main() {
    demo();
}
