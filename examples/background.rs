//! Background tasks: asyncio's "keep a reference to every background task" set.
//!
//! `BackgroundTasks` tracks what it spawned; a task leaves the set by itself when
//! it finishes. At the end, `shutdown` cancels what is still running and waits for
//! it, so nothing outlives the program's orderly stop.
//!
//! Run it with `cargo run --example background`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_patterns::task::BackgroundTasks;

/// Counts a job's `Drop`, finished or cancelled.
struct Job {
    id: usize,
    stopped: Arc<AtomicUsize>,
}

impl Drop for Job {
    fn drop(&mut self) {
        self.stopped.fetch_add(1, Ordering::SeqCst);
    }
}

/// Runs the demo; returns (jobs that finished, jobs cancelled at shutdown).
pub fn demo() -> (usize, usize) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("a tokio runtime");
    rt.block_on(async {
        let handle = tokio::runtime::Handle::current();
        let tasks = BackgroundTasks::new(move |fut| drop(handle.spawn(fut)));
        let finished = Arc::new(AtomicUsize::new(0));
        let stopped = Arc::new(AtomicUsize::new(0));

        // Three quick jobs and two that would run for a minute.
        for (id, millis) in [(1, 5), (2, 10), (3, 15), (4, 60_000), (5, 60_000)] {
            let job = Job {
                id,
                stopped: Arc::clone(&stopped),
            };
            let finished = Arc::clone(&finished);
            // The handle can be dropped: the set keeps track of the task.
            drop(tasks.spawn(async move {
                tokio::time::sleep(Duration::from_millis(millis)).await;
                finished.fetch_add(1, Ordering::SeqCst);
                println!("  job {} finished", job.id);
            }));
        }
        println!("  spawned 5 jobs, {} running", tasks.len());
        // Finished jobs leave the set by themselves: wait until the quick ones
        // have (a busy machine may take longer than their 15 ms).
        while tasks.len() > 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        println!("  later: {} still running", tasks.len());
        assert_eq!(
            finished.load(Ordering::SeqCst),
            3,
            "the quick jobs finished, the long ones run on"
        );

        println!("  shutdown: cancel the rest and wait for them");
        tasks.shutdown().await;
        assert!(tasks.is_empty());
        let done = finished.load(Ordering::SeqCst);
        let cancelled = stopped.load(Ordering::SeqCst) - done;
        println!("  {done} jobs finished, {cancelled} cancelled at shutdown");
        assert_eq!((done, cancelled), (3, 2));
        (done, cancelled)
    })
}

#[allow(dead_code)]
fn main() {
    demo();
}
