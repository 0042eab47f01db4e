//! A queue consumed as a `Stream` (asyncio's `async for item in queue` idiom, which
//! asyncio itself spells as a `get` loop): the receiver half of a split queue is a
//! `Stream` that ends when the last sender is dropped and the queue is drained.
//!
//! Run it with `cargo run --example streaming`.

use async_patterns::queue::Queue;
use futures::executor::LocalPool;
use futures::task::LocalSpawnExt;
use futures_lite::StreamExt;

/// Runs the demo and returns the squares the consumer collected.
pub fn demo() -> Vec<u64> {
    let (sender, receiver) = Queue::bounded(2).split();
    let mut pool = LocalPool::new();

    // Two producers share the queue through cloned senders.
    for offset in [0_u64, 5] {
        let sender = sender.clone();
        pool.spawner()
            .spawn_local(async move {
                for n in offset + 1..=offset + 5 {
                    sender.send(n).await.expect("the receiver is alive");
                }
                // Dropping this sender: when the last one is gone, the stream ends.
            })
            .expect("a LocalPool accepts tasks while it exists");
    }
    drop(sender);

    // `async for n in queue`: filter and map the stream like an iterator.
    let squares = pool.run_until(
        receiver
            .filter(|n| n % 2 == 1)
            .map(|n| n * n)
            .collect::<Vec<u64>>(),
    );
    let mut sorted = squares.clone();
    sorted.sort();
    println!("squares of the odd numbers 1..=10: {sorted:?}");
    assert_eq!(sorted, [1, 9, 25, 49, 81]);
    squares
}

#[allow(dead_code)]
fn main() {
    demo();
}
