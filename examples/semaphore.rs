//! asyncio.Semaphore -> `sync::Semaphore`: at most two jobs at once.
//!
//! Five jobs share a semaphore of two permits, like a crawler that keeps at most
//! two downloads in flight:
//!
//! ```python
//! slots = asyncio.Semaphore(2)
//! async def job(n):
//!     async with slots:
//!         ...  # at most two jobs are here at once
//! ```
//!
//! Each job holds its permit across a few `await`s; the others wait in line and
//! start in the order they asked.
//!
//! Run it with `cargo run --example semaphore`.

use std::cell::Cell;
use std::rc::Rc;

use async_patterns::future::yield_now;
use async_patterns::sync::Semaphore;
use futures::executor::LocalPool;
use futures::task::LocalSpawnExt;

/// How many jobs there are.
const JOBS: usize = 5;
/// How many may run at once.
const LIMIT: usize = 2;

/// Runs the five jobs on a single-threaded executor. Returns the highest number
/// of jobs that ran at once.
pub fn demo() -> usize {
    let slots = Rc::new(Semaphore::new(LIMIT));
    let running = Rc::new(Cell::new(0_usize));
    let max_running = Rc::new(Cell::new(0_usize));
    let finished = Rc::new(Cell::new(0_usize));

    let mut pool = LocalPool::new();
    for job in 0..JOBS {
        let (slots, running, max_running, finished) = (
            Rc::clone(&slots),
            Rc::clone(&running),
            Rc::clone(&max_running),
            Rc::clone(&finished),
        );
        pool.spawner()
            .spawn_local(async move {
                let _slot = slots.acquire().await; // `async with slots:`
                running.set(running.get() + 1);
                max_running.set(max_running.get().max(running.get()));
                println!("  job {job} starts ({} running)", running.get());
                for _ in 0..3 {
                    yield_now().await; // the other jobs get a turn
                }
                running.set(running.get() - 1);
                finished.set(finished.get() + 1);
                // `_slot` is dropped here: the permit goes to the next waiting job.
            })
            .expect("a LocalPool accepts tasks while it exists");
    }
    pool.run();

    println!(
        "  {} of {JOBS} jobs finished, at most {} ran at once (limit {LIMIT})",
        finished.get(),
        max_running.get()
    );
    assert_eq!(finished.get(), JOBS, "every job must finish");
    assert_eq!(
        max_running.get(),
        LIMIT,
        "the semaphore must let exactly {LIMIT} jobs in at once"
    );
    assert_eq!(slots.available_permits(), LIMIT, "every permit came back");
    max_running.get()
}

#[allow(dead_code)]
fn main() {
    demo();
}
