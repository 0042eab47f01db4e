//! asyncio's producer-consumer pattern -> `queue::Queue`: one producer, three
//! consumers, a bounded queue for backpressure, `shutdown` instead of a sentinel
//! value, and `join` to wait until every job was processed.
//!
//! ```python
//! queue = asyncio.Queue(maxsize=4)
//! async def consumer(name):
//!     while True:
//!         try:
//!             job = await queue.get()
//!         except asyncio.QueueShutDown:
//!             return
//!         ...  # process
//!         queue.task_done()
//! ```
//!
//! Run it with `cargo run --example producer_consumer`.

use std::cell::RefCell;
use std::rc::Rc;

use async_patterns::queue::Queue;
use futures::executor::LocalPool;
use futures::task::LocalSpawnExt;

/// Runs the demo and returns how many jobs each consumer processed.
pub fn demo() -> Vec<usize> {
    const JOBS: u32 = 12;
    const CONSUMERS: usize = 3;

    let queue = Rc::new(Queue::bounded(4)); // backpressure: at most 4 jobs wait
    let processed = Rc::new(RefCell::new(vec![Vec::new(); CONSUMERS]));
    let mut pool = LocalPool::new();

    for consumer in 0..CONSUMERS {
        let (queue, processed) = (queue.clone(), processed.clone());
        pool.spawner()
            .spawn_local(async move {
                // `get` fails with ShutdownError once the queue is shut down and empty.
                while let Ok(job) = queue.get().await {
                    for _ in 0..=consumer {
                        futures_lite::future::yield_now().await; // "work"; slower for higher ids
                    }
                    processed.borrow_mut()[consumer].push(job);
                    queue.task_done().expect("one task_done per item taken");
                }
            })
            .expect("a LocalPool accepts tasks while it exists");
    }

    let producer = {
        let queue = queue.clone();
        async move {
            let mut max_len = 0;
            for job in 1..=JOBS {
                queue.put(job).await.expect("the queue is open");
                max_len = max_len.max(queue.len());
            }
            queue.join().await; // every job was taken and marked done
            println!("producer: all {JOBS} jobs done (queue never held more than {max_len})");
            assert!(max_len <= 4, "backpressure bounds the queue");
            queue.shutdown(); // instead of a sentinel: the consumers' gets now fail
        }
    };
    pool.run_until(producer);
    pool.run(); // the consumers see the shutdown and return

    let processed = Rc::try_unwrap(processed)
        .expect("tasks are done")
        .into_inner();
    for (consumer, jobs) in processed.iter().enumerate() {
        println!(
            "consumer {consumer} processed {} jobs: {jobs:?}",
            jobs.len()
        );
    }
    let mut all: Vec<u32> = processed.iter().flatten().copied().collect();
    all.sort();
    assert_eq!(
        all,
        (1..=JOBS).collect::<Vec<_>>(),
        "every job processed once"
    );
    assert_eq!(queue.unfinished_tasks(), 0);
    processed.iter().map(Vec::len).collect()
}

#[allow(dead_code)]
fn main() {
    demo();
}
