//! Task completion callbacks: asyncio's `task.add_done_callback`.
//!
//! `JoinHandle::on_complete` runs a callback exactly once with the task's outcome:
//! on the thread that finishes the task, or at once if it already finished. Here
//! three tasks report success, an application error, and a panic (captured as
//! `JoinError::Panicked` instead of taking the executor down).
//!
//! Run it with `cargo run --example callbacks`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_patterns::task::spawn;

/// Runs the demo; returns the callback reports, sorted.
pub fn demo() -> Vec<String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("a tokio runtime");
    let reports = Arc::new(Mutex::new(Vec::new()));
    // The panicking task would print the default panic message; keep the output
    // tidy while it runs.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    rt.block_on(async {
        let handle = tokio::runtime::Handle::current();
        let spawner = move |fut| drop(handle.spawn(fut));

        let jobs = [("resize", 0), ("upload", 1), ("index", 2)];
        let mut handles = Vec::new();
        for (name, kind) in jobs {
            let task = spawn(&spawner, async move {
                tokio::time::sleep(Duration::from_millis(5 * (kind + 1))).await;
                match kind {
                    0 => Ok(format!("{name}: 3 images")),
                    1 => Err(format!("{name}: network unreachable")),
                    _ => panic!("{name}: corrupt input"),
                }
            });
            let reports = Arc::clone(&reports);
            task.on_complete(move |outcome| {
                let line = match outcome {
                    Ok(Ok(done)) => format!("success  {done}"),
                    Ok(Err(error)) => format!("failure  {error}"),
                    Err(join_error) => format!("crashed  {join_error}"),
                };
                println!("  callback: {line}");
                reports.lock().unwrap().push(line);
            });
            handles.push(task);
        }
        for task in handles {
            let _ = task.await; // the outcomes were reported by the callbacks
        }
        // Registered after the task finished: runs at once, on this thread.
        let late = spawn(&spawner, async { 42 });
        while !late.is_finished() {
            tokio::task::yield_now().await;
        }
        let reports2 = Arc::clone(&reports);
        late.on_complete(move |outcome| {
            let line = format!("late     {}", outcome.copied().unwrap_or(0));
            println!("  callback: {line} (registered after completion)");
            reports2.lock().unwrap().push(line);
        });
    });
    std::panic::set_hook(default_hook);
    let mut reports = reports.lock().unwrap().clone();
    reports.sort();
    assert_eq!(reports.len(), 4, "each callback ran exactly once");
    assert!(
        reports
            .iter()
            .any(|r| r.starts_with("crashed") && r.contains("corrupt"))
    );
    reports
}

#[allow(dead_code)]
fn main() {
    demo();
}
