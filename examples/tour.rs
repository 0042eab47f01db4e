//! A tour of the asyncio patterns that `async-patterns` provides: runs each
//! example's logic in turn under a heading naming the asyncio pattern.
//!
//! Run it with `cargo run --example tour`.

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
#[path = "gather.rs"]
mod gather;
#[path = "lock.rs"]
mod lock;
#[path = "priority_queue.rs"]
mod priority_queue;
#[path = "producer_consumer.rs"]
mod producer_consumer;
#[path = "retry.rs"]
mod retry;
#[path = "rwlock.rs"]
mod rwlock;
#[path = "semaphore.rs"]
mod semaphore;
#[path = "shield.rs"]
mod shield;
#[path = "streaming.rs"]
mod streaming;
#[path = "timeout.rs"]
mod timeout;

/// Prints a section heading.
fn heading(title: &str) {
    println!();
    println!("== {title} ==");
}

fn main() {
    println!("async-patterns: asyncio's concurrency toolbox, on any executor");

    heading("asyncio.Lock -> sync::Mutex");
    lock::demo();

    heading("a readers-writer lock (aiorwlock) -> sync::RwLock");
    rwlock::demo();

    heading("asyncio.Semaphore -> sync::Semaphore");
    semaphore::demo();

    heading("asyncio.Event -> sync::Event");
    event::demo();

    heading("asyncio.Condition -> sync::Condvar + sync::Mutex");
    condition::demo();

    heading("asyncio.Barrier -> sync::Barrier");
    barrier::demo();

    heading("asyncio.Queue -> queue::Queue (producer-consumer)");
    producer_consumer::demo();

    heading("asyncio.PriorityQueue, asyncio.LifoQueue -> queue::Queue");
    priority_queue::demo();

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

    heading("asyncio.gather -> future::join_all, future::try_join_all");
    gather::demo();

    heading("asyncio.wait_for / asyncio.timeout -> future::timeout");
    timeout::demo();

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
