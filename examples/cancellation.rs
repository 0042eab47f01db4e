//! Cancellation: asyncio's `task.cancel()` / `CancelledError`, two Rust ways.
//!
//! 1. Cooperative: a worker loop watches a `CancellationToken`; when it is
//!    cancelled the worker stops at a step boundary and runs *async* cleanup (it
//!    flushes what it has) before it returns, like an `except CancelledError:`
//!    block that awaits.
//! 2. Hard: `JoinHandle::abort` drops the spawned task's future at its next poll
//!    point; its `Drop` is the `finally:` block, and the handle yields
//!    `JoinError::Cancelled`.
//!
//! Run it with `cargo run --example cancellation`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_patterns::task::{CancellationToken, JoinError, spawn};

/// A resource whose `Drop` is the cleanup of a hard-cancelled task.
struct Connection {
    closed: Arc<AtomicBool>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        println!("  connection: closed by Drop (the task's `finally`)");
        self.closed.store(true, Ordering::SeqCst);
    }
}

/// Runs both parts; returns (steps the worker did, items it flushed).
pub fn demo() -> (usize, usize) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("a tokio runtime");
    rt.block_on(async {
        let handle = tokio::runtime::Handle::current();
        let spawner = move |fut| drop(handle.spawn(fut));

        println!("1. a worker stopped by a token, with async cleanup");
        let token = CancellationToken::new();
        let worker = spawn(&spawner, {
            let token = token.clone();
            async move {
                let mut buffered = 0;
                let mut steps = 0;
                // Each step runs unless the token is cancelled first.
                while let Some(()) = token
                    .run_until_cancelled(tokio::time::sleep(Duration::from_millis(5)))
                    .await
                {
                    steps += 1;
                    buffered += 1;
                }
                println!("  worker: cancelled after {steps} steps, flushing {buffered} items");
                tokio::time::sleep(Duration::from_millis(10)).await; // async cleanup
                println!("  worker: flushed, returning");
                (steps, buffered)
            }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        println!("  main: cancel()");
        token.cancel();
        let (steps, flushed) = worker.await.expect("the worker returns normally");
        assert!(steps > 0, "the worker ran before it was cancelled");
        assert_eq!(steps, flushed, "everything buffered was flushed");

        println!("2. abort of a spawned task; its Drop cleans up");
        let closed = Arc::new(AtomicBool::new(false));
        let task = spawn(&spawner, {
            let conn = Connection {
                closed: Arc::clone(&closed),
            };
            async move {
                let _conn = conn;
                println!("  task: holding a connection, waiting forever");
                std::future::pending::<()>().await;
            }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        println!("  main: abort()");
        task.abort();
        let result = task.await;
        println!("  main: the handle says {result:?}");
        assert!(matches!(result, Err(JoinError::Cancelled)));
        assert!(
            closed.load(Ordering::SeqCst),
            "Drop ran before the handle resolved"
        );
        (steps, flushed)
    })
}

#[allow(dead_code)]
fn main() {
    demo();
}
