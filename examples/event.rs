//! asyncio.Event -> `sync::Event`: workers wait for a start signal.
//!
//! Three workers wait on one event; the coordinator sets it and they all start.
//! Then asyncio's rule: `set()` followed at once by `clear()` still releases every
//! task that was waiting at that moment.
//!
//! Run it with `cargo run --example event`.

use std::cell::RefCell;
use std::rc::Rc;

use async_patterns::sync::Event;
use futures::executor::LocalPool;
use futures::task::LocalSpawnExt;

/// Runs the demo and returns the order in which things happened.
pub fn demo() -> Vec<String> {
    let start = Rc::new(Event::new());
    let log = Rc::new(RefCell::new(Vec::new()));
    let mut pool = LocalPool::new();

    for worker in 0..3 {
        let (start, log) = (start.clone(), log.clone());
        pool.spawner()
            .spawn_local(async move {
                log.borrow_mut().push(format!("worker {worker} waits"));
                start.wait().await; // `await event.wait()`
                log.borrow_mut().push(format!("worker {worker} starts"));
            })
            .expect("a LocalPool accepts tasks while it exists");
    }
    pool.run_until_stalled(); // every worker is now waiting
    log.borrow_mut()
        .push("coordinator: set() then clear() at once".into());
    start.set();
    start.clear(); // the waiters of that moment are released all the same
    pool.run();
    assert!(!start.is_set());

    let log = Rc::try_unwrap(log).expect("tasks are done").into_inner();
    for line in &log {
        println!("{line}");
    }
    let started = log.iter().filter(|l| l.ends_with("starts")).count();
    assert_eq!(started, 3, "set() released every waiting worker");
    log
}

#[allow(dead_code)]
fn main() {
    demo();
}
