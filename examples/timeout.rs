//! asyncio.wait_for / asyncio.timeout -> `future::timeout`.
//!
//! ```python
//! user = await asyncio.wait_for(lookup(), timeout=0.5)
//! ```
//!
//! A lookup that answers in 5 ms, given 500 ms: its answer comes back. A report
//! that would take a minute, given 20 ms: `Err(Elapsed)`, and the report is
//! dropped (cancelled, as `wait_for` cancels it; its `Drop` says so). Any
//! `Fn(Duration) -> impl Future` is a timer; here tokio's `sleep`.
//!
//! Run it with `cargo run --example timeout`.

use std::cell::Cell;
use std::time::Duration;

use async_patterns::future::{Elapsed, timeout};

/// Sets its flag when dropped: the report was cancelled.
struct Cancelled<'a>(&'a Cell<bool>);

impl Drop for Cancelled<'_> {
    fn drop(&mut self) {
        println!("  report: cancelled");
        self.0.set(true);
    }
}

/// Runs both calls; returns the lookup's answer and whether the report was
/// cancelled.
pub fn demo() -> (&'static str, bool) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a tokio runtime");
    rt.block_on(async {
        let timer = |d| tokio::time::sleep(d);

        let lookup = async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            "ada"
        };
        let user = timeout(&timer, Duration::from_millis(500), lookup).await;
        println!("  lookup within 500 ms: {user:?}");
        assert_eq!(user, Ok("ada"));

        let cancelled = Cell::new(false);
        let report = async {
            let _notice = Cancelled(&cancelled);
            tokio::time::sleep(Duration::from_secs(60)).await;
            println!("  report: done"); // not reached
        };
        let outcome = timeout(&timer, Duration::from_millis(20), report).await;
        println!("  report within 20 ms: {outcome:?}");
        assert_eq!(outcome, Err(Elapsed));
        assert!(cancelled.get(), "the report was dropped by the timeout");
        (user.expect("answered in time"), cancelled.get())
    })
}

#[allow(dead_code)]
fn main() {
    demo();
}
