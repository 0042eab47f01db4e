//! Shield from cancellation: asyncio's `shield`.
//!
//! A request handler saves a record, but the client gives up (the handler is
//! cancelled by a timeout) in the middle of the write. `task::shield` runs the
//! write as its own task: the handler's cancellation only drops its handle, and
//! the write lands anyway.
//!
//! Run it with `cargo run --example shield`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_patterns::future::timeout;
use async_patterns::sync::Event;
use async_patterns::task::shield;

/// Runs the demo; returns whether the handler timed out and whether the write
/// landed.
pub fn demo() -> (bool, bool) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("a tokio runtime");
    rt.block_on(async {
        let handle = tokio::runtime::Handle::current();
        let spawner = move |fut| drop(handle.spawn(fut));
        let timer = |d| tokio::time::sleep(d);
        let written = Arc::new(AtomicBool::new(false));
        let landed = Arc::new(Event::new());

        let handler = {
            let (written, landed) = (Arc::clone(&written), Arc::clone(&landed));
            let spawner = spawner.clone();
            async move {
                println!("  handler: saving the record (takes 300 ms)");
                let write = shield(&spawner, async move {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    written.store(true, Ordering::SeqCst);
                    println!("  write: record saved");
                    landed.set();
                });
                write.await.expect("the write does not fail");
                println!("  handler: done"); // not reached: the client gave up
            }
        };
        // The client waits only 20 ms for the handler.
        let timed_out = timeout(&timer, Duration::from_millis(20), handler)
            .await
            .is_err();
        println!("  client: gave up after 20 ms, the handler was cancelled");
        assert!(
            !written.load(Ordering::SeqCst),
            "the write is still running"
        );
        landed.wait().await;
        let saved = written.load(Ordering::SeqCst);
        println!("  the record was saved all the same: {saved}");
        assert!(timed_out && saved);
        (timed_out, saved)
    })
}

#[allow(dead_code)]
fn main() {
    demo();
}
