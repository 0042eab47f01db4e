//! Debounce: a burst of keystrokes, one search.
//!
//! Each keystroke calls the search through a `time::Debouncer`; a call waits
//! 200 ms, and a newer keystroke supersedes it (the older call resolves to `None`,
//! its search never runs). Only the search for the last keystroke of the burst
//! runs.
//!
//! Run it with `cargo run --example debounce`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_patterns::task::TaskSet;
use async_patterns::time::Debouncer;

/// Runs the demo; returns the queries that were searched.
pub fn demo() -> Vec<String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a tokio runtime");
    rt.block_on(async {
        let debouncer = Debouncer::new(|d| tokio::time::sleep(d), Duration::from_millis(200));
        let searches = AtomicUsize::new(0);
        let mut calls = TaskSet::new();
        let typed = ["r", "ru", "rus", "rust"];
        let mut typing = String::new();
        for key in typed {
            typing.push_str(&key[key.len() - 1..]);
            let query = typing.clone();
            println!("  typed {query:?}");
            let searches = &searches;
            calls.push(debouncer.call(async move {
                searches.fetch_add(1, Ordering::SeqCst);
                println!("  searching for {query:?}");
                query
            }));
            // Keystrokes 5 ms apart: far faster than the 200 ms delay (a machine
            // would have to stall for 195 ms between two of them to break the burst).
            let _ = tokio::time::timeout(Duration::from_millis(5), calls.join_next()).await;
        }
        let mut searched = Vec::new();
        while let Some(outcome) = calls.join_next().await {
            if let Some(query) = outcome {
                searched.push(query);
            }
        }
        println!(
            "  {} keystrokes, {} search: {searched:?}",
            typed.len(),
            searches.load(Ordering::SeqCst)
        );
        assert_eq!(searched, ["rust"]);
        assert_eq!(searches.load(Ordering::SeqCst), 1);
        searched
    })
}

#[allow(dead_code)]
fn main() {
    demo();
}
