//! A tour of the asyncio patterns that `async-patterns` provides: runs each
//! example's logic in turn under a heading naming the asyncio pattern.
//!
//! Run it with `cargo run --example tour`.

use std::cell::Cell;
use std::rc::Rc;

use async_patterns::future::yield_now;
use async_patterns::sync::Semaphore;
use futures::executor::LocalPool;
use futures::task::LocalSpawnExt;

// Each example file is included as a module, so its logic runs here without being
// copied; its own `main` goes unused.
#[path = "async_generator.rs"]
mod async_generator;
#[path = "background.rs"]
mod background;
#[path = "barrier.rs"]
mod barrier;
#[path = "callbacks.rs"]
mod callbacks;
#[path = "cancellation.rs"]
mod cancellation;
#[path = "condition.rs"]
mod condition;
#[path = "debounce.rs"]
mod debounce;
#[path = "event.rs"]
mod event;
#[path = "first_completed.rs"]
mod first_completed;
#[path = "lock.rs"]
mod lock;
#[path = "producer_consumer.rs"]
mod producer_consumer;
#[path = "retry.rs"]
mod retry;
#[path = "shield.rs"]
mod shield;
#[path = "streaming.rs"]
mod streaming;

/// Prints a section heading.
fn heading(title: &str) {
    println!();
    println!("== {title} ==");
}

/// Five jobs share a semaphore of two permits; each job holds its permit across a
/// few `await`s. Returns the highest number of jobs observed running at once.
fn semaphore_demo() -> usize {
    const JOBS: usize = 5;
    const LIMIT: usize = 2;

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
                let _slot = slots.acquire().await; // `async with semaphore:`
                running.set(running.get() + 1);
                max_running.set(max_running.get().max(running.get()));
                println!("job {job} starts ({} running)", running.get());
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
        "{} of {JOBS} jobs finished, at most {} ran at once (limit {LIMIT})",
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

fn main() {
    println!("async-patterns: asyncio's concurrency toolbox, on any executor");

    heading("asyncio.Lock -> sync::Mutex");
    lock::demo();

    heading("asyncio.Semaphore -> sync::Semaphore");
    semaphore_demo();

    heading("asyncio.Event -> sync::Event");
    event::demo();

    heading("asyncio.Condition -> sync::Condvar + sync::Mutex");
    condition::demo();

    heading("asyncio.Barrier -> sync::Barrier");
    barrier::demo();

    heading("asyncio.Queue -> queue::Queue (producer-consumer)");
    producer_consumer::demo();

    heading("async for over a queue -> a Receiver is a Stream");
    streaming::demo();

    heading("task.cancel() / CancelledError -> task::CancellationToken, JoinHandle::abort");
    cancellation::demo();

    heading("task.add_done_callback -> task::JoinHandle::on_complete");
    callbacks::demo();

    heading("background task set -> task::BackgroundTasks");
    background::demo();

    heading("asyncio.shield -> task::shield");
    shield::demo();

    heading("asyncio.wait(FIRST_COMPLETED) -> future::race, task::TaskSet");
    first_completed::demo();

    heading("async generators, async comprehensions -> stream::generate");
    async_generator::demo();

    heading("retry with backoff -> time::retry, time::Backoff");
    retry::demo();

    heading("debounce -> time::Debouncer");
    debounce::demo();

    println!();
    println!("tour finished");
}
