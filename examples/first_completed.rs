//! Wait with FIRST_COMPLETED: asyncio's `wait(..., return_when=FIRST_COMPLETED)`.
//!
//! 1. Three simulated mirrors serve the same file; `future::race` takes the
//!    first answer and cancels (drops) the other downloads.
//! 2. The same three with `TaskSet`: `join_next` gives the first answer and the
//!    others keep running in the set; their answers come out later.
//!
//! Run it with `cargo run --example first_completed`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_patterns::future::race;
use async_patterns::task::TaskSet;

/// The mirrors and how many milliseconds each takes: far enough apart that a busy
/// machine does not swap their order.
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

async fn fetch(mirror: &'static str, millis: u64, cancelled: Arc<AtomicUsize>) -> &'static str {
    let mut download = Download {
        mirror,
        done: false,
        cancelled,
    };
    tokio::time::sleep(Duration::from_millis(millis)).await;
    download.done = true;
    mirror
}

/// Runs both parts; returns (the race winner, the TaskSet's completion order).
pub fn demo() -> (&'static str, Vec<&'static str>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a tokio runtime");
    rt.block_on(async {
        println!("1. race: the first mirror wins, the others are cancelled");
        let cancelled = Arc::new(AtomicUsize::new(0));
        let downloads = MIRRORS.map(|(m, ms)| fetch(m, ms, Arc::clone(&cancelled)));
        let (index, winner) = race(downloads).await.expect("three mirrors");
        println!("  winner: {winner} (mirror #{index})");
        assert_eq!(winner, "us");
        assert_eq!(
            cancelled.load(Ordering::SeqCst),
            2,
            "the losers were dropped"
        );

        println!("2. TaskSet: the first answer now, the others keep running");
        let cancelled = Arc::new(AtomicUsize::new(0));
        let mut set: TaskSet<_> = MIRRORS
            .iter()
            .map(|&(m, ms)| fetch(m, ms, Arc::clone(&cancelled)))
            .collect();
        let first = set.join_next().await.expect("three downloads");
        println!("  first: {first}; {} still running", set.len());
        let mut order = vec![first];
        while let Some(next) = set.join_next().await {
            println!("  then: {next}");
            order.push(next);
        }
        assert_eq!(order, ["us", "asia", "eu"]);
        assert_eq!(cancelled.load(Ordering::SeqCst), 0, "nothing was cancelled");
        (winner, order)
    })
}

#[allow(dead_code)]
fn main() {
    demo();
}
