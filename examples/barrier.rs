//! asyncio.Barrier -> `sync::Barrier`: three workers meet, then go on together; a
//! second run shows `abort()` failing the waiting workers.
//!
//! Run it with `cargo run --example barrier`.

use std::rc::Rc;

use async_patterns::sync::{Barrier, BrokenBarrierError};
use futures::executor::LocalPool;
use futures::task::LocalSpawnExt;

/// Runs both parts of the demo and returns what each worker got in the second
/// (aborted) run.
pub fn demo() -> Vec<Result<usize, BrokenBarrierError>> {
    meet();
    abort()
}

/// Three workers prepare, meet at the barrier, then all continue.
fn meet() {
    let barrier = Rc::new(Barrier::new(3));
    let mut pool = LocalPool::new();
    for worker in 0..3 {
        let barrier = barrier.clone();
        pool.spawner()
            .spawn_local(async move {
                println!("worker {worker} prepared, waits at the barrier");
                let place = barrier.wait().await.expect("nobody aborts here");
                let role = if place.is_leader() { " (leader)" } else { "" };
                println!("worker {worker} passes with index {}{role}", place.index());
            })
            .expect("a LocalPool accepts tasks while it exists");
    }
    pool.run();
    assert_eq!(barrier.n_waiting(), 0);
}

/// Two of three workers arrive; the coordinator aborts: both fail with
/// `BrokenBarrierError`, and so does a late third one, until `reset()`.
fn abort() -> Vec<Result<usize, BrokenBarrierError>> {
    let barrier = Rc::new(Barrier::new(3));
    let mut pool = LocalPool::new();
    let mut results = Vec::new();
    let handles: Vec<_> = (0..2)
        .map(|worker| {
            let barrier = barrier.clone();
            pool.spawner()
                .spawn_local_with_handle(async move {
                    let result = barrier.wait().await.map(|place| place.index());
                    println!("worker {worker}: {result:?}");
                    result
                })
                .expect("a LocalPool accepts tasks while it exists")
        })
        .collect();
    pool.run_until_stalled();
    println!(
        "{} workers wait; coordinator calls abort()",
        barrier.n_waiting()
    );
    barrier.abort();
    for handle in handles {
        results.push(pool.run_until(handle));
    }
    let late = pool.run_until(barrier.wait()).map(|place| place.index());
    println!("a late worker: {late:?} (broken: {})", barrier.is_broken());
    results.push(late);
    barrier.reset();
    println!("after reset(): broken = {}", barrier.is_broken());

    assert!(
        results.iter().all(Result::is_err),
        "abort fails every waiter"
    );
    results
}

#[allow(dead_code)]
fn main() {
    demo();
}
