//! Retry with exponential backoff: a flaky operation that succeeds on the third
//! try, with the delays printed.
//!
//! `time::retry` calls the operation, and on an error sleeps on the timer for the
//! next delay of its `Backoff` before trying again; `.notify` sees each retried
//! error, `.when` would filter which errors are worth retrying.
//!
//! Run it with `cargo run --example retry`.

use std::time::{Duration, Instant};

use async_patterns::time::{Backoff, Jitter, retry};

/// Runs the demo; returns the number of attempts it took.
pub fn demo() -> u32 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a tokio runtime");
    rt.block_on(async {
        let timer = |d| tokio::time::sleep(d);
        let backoff = Backoff::exponential(Duration::from_millis(10))
            .max_retries(5)
            .max_delay(Duration::from_millis(100))
            .jitter(Jitter::Equal)
            .seed(7); // the same delays every run
        let start = Instant::now();
        let mut attempts = 0;
        let result = retry(timer, backoff, || {
            attempts += 1;
            let attempt = attempts;
            async move {
                println!("  attempt {attempt} at {:?}", start.elapsed());
                if attempt < 3 {
                    Err(format!("attempt {attempt}: connection reset"))
                } else {
                    Ok("payload")
                }
            }
        })
        .when(|error| error.contains("connection reset"))
        .notify(|error, delay| println!("  {error}; retrying in {delay:?}"))
        .await;
        println!("  result: {result:?} after {attempts} attempts");
        assert_eq!(result, Ok("payload"));
        assert_eq!(attempts, 3);
        attempts
    })
}

#[allow(dead_code)]
fn main() {
    demo();
}
