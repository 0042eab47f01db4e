//! Async generators: asyncio's `async def` with `yield`, and async comprehensions.
//!
//! ```python
//! async def async_range(n):
//!     for i in range(n):
//!         await asyncio.sleep(0.001)
//!         yield i
//!
//! squares = [i * i async for i in async_range(5)]
//! ```
//!
//! `stream::generate` runs the body only while the stream is polled; `emit`
//! completes when the consumer takes the item. `try_generate` ends the stream with
//! the body's error.
//!
//! Run it with `cargo run --example async_generator`.

use std::pin::pin;
use std::time::Duration;

use async_patterns::stream::{generate, next, try_generate};
use futures_core::Stream;

/// The seed's `async_range`: `n` numbers, a short real sleep before each.
fn async_range(n: u64) -> impl Stream<Item = u64> {
    generate(move |mut out| async move {
        for i in 0..n {
            tokio::time::sleep(Duration::from_millis(1)).await;
            out.emit(i).await; // `yield i`
        }
    })
}

/// Runs the demo; returns the comprehension's result.
pub fn demo() -> Vec<u64> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a tokio runtime");
    rt.block_on(async {
        // async for i in async_range(3): print(i)
        let mut numbers = pin!(async_range(3));
        while let Some(i) = next(&mut numbers).await {
            println!("  got {i}");
        }

        // squares = [i * i async for i in async_range(5)]
        let mut squares = Vec::new();
        let mut numbers = pin!(async_range(5));
        while let Some(i) = next(&mut numbers).await {
            squares.push(i * i);
        }
        println!("  squares = {squares:?}");
        assert_eq!(squares, [0, 1, 4, 9, 16]);

        // A generator that fails: the error is the stream's last item.
        let mut lines = pin!(try_generate(|mut out| async move {
            out.emit("line 1").await;
            out.emit("line 2").await;
            Err("disk unplugged")?;
            Ok::<(), &str>(())
        }));
        while let Some(line) = next(&mut lines).await {
            match line {
                Ok(line) => println!("  read {line:?}"),
                Err(error) => println!("  the generator failed: {error}"),
            }
        }
        squares
    })
}

#[allow(dead_code)]
fn main() {
    demo();
}
