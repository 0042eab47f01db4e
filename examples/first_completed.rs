//! Wait with FIRST_COMPLETED: asyncio's `wait(..., return_when=FIRST_COMPLETED)`.
//!
//! 1. Three simulated mirrors serve the same file; `future::race` takes the
//!    first answer and cancels (drops) the other downloads.
//! 2. The same three with `TaskSet`: `join_next` gives the first answer and the
//!    others keep running in the set; their answers come out later.
//!
//! The downloads sleep on a `time::ManualTimer`, a virtual clock that the demo
//! moves forward 10 ms at a time: the mirrors finish in the order of their
//! delays on every run, however busy the machine is (the way to test code that
//! races timers).
//!
//! Run it with `cargo run --example first_completed`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_patterns::future::{race, yield_now};
use async_patterns::task::TaskSet;
use async_patterns::time::{ManualTimer, Timer};
use futures_lite::future;

/// The mirrors and how many milliseconds each takes.
const MIRRORS: [(&str, u64); 3] = [("eu", 300), ("us", 20), ("asia", 160)];

/// Counts the downloads dropped before they finished.
struct Download {
    mirror: &'static str,
    done: bool,
    cancelled: Arc<AtomicUsize>,
}

impl Drop for Download {
    fn drop(&mut self) {
        if !self.done {
            println!("  {}: download cancelled", self.mirror);
            self.cancelled.fetch_add(1, Ordering::SeqCst);
        }
    }
}

async fn fetch(
    timer: ManualTimer,
    mirror: &'static str,
    millis: u64,
    cancelled: Arc<AtomicUsize>,
) -> &'static str {
    let mut download = Download {
        mirror,
        done: false,
        cancelled,
    };
    timer.sleep(Duration::from_millis(millis)).await;
    download.done = true;
    println!("  {mirror}: done at {:?}", timer.now());
    mirror
}

/// Runs `work` while moving `timer` forward 10 ms after each time the tasks ran.
fn on_virtual_time<T>(timer: &ManualTimer, work: impl Future<Output = T>) -> T {
    let clock = async {
        loop {
            yield_now().await; // let the downloads run
            timer.advance(Duration::from_millis(10));
        }
    };
    future::block_on(future::or(work, clock))
}

/// Runs both parts; returns (the race winner, the TaskSet's completion order).
pub fn demo() -> (&'static str, Vec<&'static str>) {
    println!("1. race: the first mirror wins, the others are cancelled");
    let timer = ManualTimer::new();
    let cancelled = Arc::new(AtomicUsize::new(0));
    let downloads = MIRRORS.map(|(m, ms)| fetch(timer.clone(), m, ms, Arc::clone(&cancelled)));
    let (index, winner) = on_virtual_time(&timer, race(downloads)).expect("three mirrors");
    println!("  winner: {winner} (mirror #{index})");
    assert_eq!(winner, "us");
    assert_eq!(
        cancelled.load(Ordering::SeqCst),
        2,
        "the losers were dropped"
    );

    println!("2. TaskSet: the first answer now, the others keep running");
    let timer = ManualTimer::new();
    let cancelled = Arc::new(AtomicUsize::new(0));
    let mut set: TaskSet<_> = MIRRORS
        .iter()
        .map(|&(m, ms)| fetch(timer.clone(), m, ms, Arc::clone(&cancelled)))
        .collect();
    let order = on_virtual_time(&timer, async {
        let first = set.join_next().await.expect("three downloads");
        println!("  first: {first}; {} still running", set.len());
        let mut order = vec![first];
        while let Some(next) = set.join_next().await {
            println!("  then: {next}");
            order.push(next);
        }
        order
    });
    assert_eq!(order, ["us", "asia", "eu"]);
    assert_eq!(cancelled.load(Ordering::SeqCst), 0, "nothing was cancelled");
    (winner, order)
}

#[allow(dead_code)]
fn main() {
    demo();
}
