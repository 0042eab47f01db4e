//! asyncio.Lock -> `sync::Mutex`: a shared counter.
//!
//! Ten tasks each add one to a shared counter a hundred times, with an `await`
//! between reading the counter and writing it back (in asyncio: `value = counter;
//! await asyncio.sleep(0); counter = value + 1`).
//!
//! First the counter lives in a plain `Cell`: while one task is suspended between
//! its read and its write, the others read the same old value, so their updates
//! overwrite each other and are lost. Then the counter lives in a
//! [`Mutex`] whose guard is held across the `await`: every update counts.
//!
//! Run it with `cargo run --example lock`.

use std::cell::Cell;
use std::rc::Rc;

use async_patterns::future::yield_now; // asyncio's `await asyncio.sleep(0)`
use async_patterns::sync::Mutex;
use futures::executor::LocalPool;
use futures::task::LocalSpawnExt;

/// How many tasks share the counter.
const TASKS: u64 = 10;
/// How many increments each task makes.
const INCREMENTS: u64 = 100;

/// Runs `TASKS` tasks of `INCREMENTS` read-yield-write steps each on a
/// single-threaded executor, with the counter in a `Cell` (no lock). Returns the
/// final count.
fn count_without_lock() -> u64 {
    let counter = Rc::new(Cell::new(0_u64));
    let mut pool = LocalPool::new();
    for _ in 0..TASKS {
        let counter = Rc::clone(&counter);
        pool.spawner()
            .spawn_local(async move {
                for _ in 0..INCREMENTS {
                    let value = counter.get();
                    yield_now().await; // other tasks run here and read the same value
                    counter.set(value + 1);
                }
            })
            .expect("a LocalPool accepts tasks while it exists");
    }
    pool.run();
    counter.get()
}

/// The same tasks, with the counter in a [`Mutex`] whose guard is held across the
/// `await`. Returns the final count.
fn count_with_lock() -> u64 {
    let counter = Rc::new(Mutex::new(0_u64));
    let mut pool = LocalPool::new();
    for _ in 0..TASKS {
        let counter = Rc::clone(&counter);
        pool.spawner()
            .spawn_local(async move {
                for _ in 0..INCREMENTS {
                    let mut guard = counter.lock().await;
                    let value = *guard;
                    yield_now().await; // other tasks run here, but wait for the lock
                    *guard = value + 1;
                    // The guard is dropped here, which releases the lock.
                }
            })
            .expect("a LocalPool accepts tasks while it exists");
    }
    pool.run();
    Rc::try_unwrap(counter)
        .expect("every task has finished and dropped its handle")
        .into_inner()
}

/// Runs both counters, prints what happened, and returns the number of updates
/// lost without a lock and the final count with the lock.
///
/// # Panics
///
/// Panics if the count with the lock is not exact, or if the count without it lost
/// nothing (then the demonstration would not demonstrate anything).
pub fn demo() -> (u64, u64) {
    let expected = TASKS * INCREMENTS;

    let unlocked = count_without_lock();
    let lost = expected - unlocked;
    println!(
        "without a lock:  {TASKS} tasks x {INCREMENTS} increments, \
         expected {expected}, got {unlocked}: {lost} updates lost"
    );

    let locked = count_with_lock();
    println!(
        "with sync::Mutex held across the await: expected {expected}, got {locked}, \
         {} updates lost",
        expected - locked
    );

    assert!(
        lost > 0,
        "the unlocked counter should lose updates when tasks interleave"
    );
    assert_eq!(locked, expected, "the Mutex must not lose any update");
    (lost, locked)
}

// Unused when `tour.rs` includes this file as a module and calls `demo` itself.
#[allow(dead_code)]
fn main() {
    demo();
}
