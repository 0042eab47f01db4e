//! `queue::Queue` against the async channels, side by side in each criterion group.
//!
//! **Throughput** (`queue_{rt}_{topology}_{bound}`, 12 groups): [`ITEMS`] `u64`s go
//! from the producers to the consumers through one channel, and every consumer
//! receives until the channel is closed (all senders dropped) and drained; the
//! count and the (wrapping) sum of what was received are checked after every
//! iteration. `rt` is `2w` (a 2-worker tokio runtime) or `ct` (a current-thread
//! tokio runtime), each built fresh per criterion sample, outside the timing (see
//! benches/README.md); `topology` is `1p1c` (1 producer, 1 consumer) or `4p4c` (4
//! producers of [`ITEMS`]` / 4` each, 4 consumers); `bound` is `bounded1`,
//! `bounded100` or `unbounded`. The timing starts before the tasks are spawned and
//! stops when all of them have finished; making the channel and cloning its
//! handles are not timed.
//!
//! Ours (`async-patterns`) is `Queue::bounded(n)` / `Queue::unbounded()` split into
//! `Sender`/`Receiver` (`send`/`recv`, dropping the last sender shuts the queue
//! down): the channel-shaped API and the same code path as `Queue::put`/`get`
//! (`Sender::send` *is* `Queue::put` on the shared queue), so the closing protocol
//! is the peers'. Peers: `async-channel` (`send`/`recv`), `flume` (`send_async`/
//! `recv_async`), `kanal` (`bounded_async`/`unbounded_async`, `send`/`recv`) and,
//! in the `1p1c` groups only (its receiver is single-consumer), `tokio` mpsc
//! (`channel(n)` / `unbounded_channel()`).
//!
//! **Orders, ours alone** (no peer has LIFO or priority queues):
//! - `queue_orders`: the `2w`/`1p1c`/bounded(100) scenario with `bounded` (`fifo`,
//!   for reference), `bounded_lifo` (`lifo`) and `bounded_priority` (`priority`).
//! - `queue_try_loop`: one thread, one queue of capacity 100 kept across
//!   iterations: 1000 rounds of 100 `try_put` then 100 `try_get`, for each order.
//!
//! The items are `i * K` (`K` odd, so a bijection of `u64`) for `i` in
//! `0..ITEMS`: the priority queue sees them in a scrambled order instead of
//! ascending (its best case), the channels don't care.
//!
//! Run with `cargo bench --bench queue` (about 5 minutes on 2 cores), or some
//! groups with e.g. `cargo bench --bench queue -- queue_2w_1p1c`.

use std::future::Future;
use std::hint::black_box;
use std::time::{Duration, Instant};

use async_patterns::queue::Queue;
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use tokio::runtime::Runtime;

/// Items through the channel per iteration.
const ITEMS: u64 = 100_000;
/// The odd multiplier that scrambles the item values.
const K: u64 = 0x9E37_79B9_7F4A_7C15;

/// The wrapping sum of every item sent in one iteration.
fn expected_sum() -> u64 {
    K.wrapping_mul(ITEMS * (ITEMS - 1) / 2)
}

#[derive(Clone, Copy)]
enum Rt {
    TwoWorkers,
    CurrentThread,
}

impl Rt {
    fn name(self) -> &'static str {
        match self {
            Self::TwoWorkers => "2w",
            Self::CurrentThread => "ct",
        }
    }

    /// A fresh runtime per sample, built outside the timing (see benches/README.md).
    fn build(self) -> Runtime {
        match self {
            Self::TwoWorkers => tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .build()
                .expect("build a 2-worker tokio runtime"),
            Self::CurrentThread => tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("build a current-thread tokio runtime"),
        }
    }
}

#[derive(Clone, Copy)]
enum Bound {
    One,
    Hundred,
    Unbounded,
}

impl Bound {
    fn cap(self) -> Option<usize> {
        match self {
            Self::One => Some(1),
            Self::Hundred => Some(100),
            Self::Unbounded => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::One => "bounded1",
            Self::Hundred => "bounded100",
            Self::Unbounded => "unbounded",
        }
    }
}

/// A channel of `u64`, as each crate spells it.
trait Channel: 'static {
    type Tx: Clone + Send + 'static;
    type Rx: Send + 'static;
    /// `Some(n)`: bounded to `n`; `None`: unbounded.
    fn channel(cap: Option<usize>) -> (Self::Tx, Self::Rx);
    fn send(tx: &Self::Tx, item: u64) -> impl Future<Output = ()> + Send + '_;
    /// `None` once the channel is closed and drained.
    fn recv(rx: &mut Self::Rx) -> impl Future<Output = Option<u64>> + Send + '_;
    /// Another consumer handle (only called for multi-consumer runs).
    fn clone_rx(rx: &Self::Rx) -> Self::Rx;
}

/// Ours, FIFO: `Queue::bounded` / `Queue::unbounded`, split.
struct Ours;
/// Ours, LIFO: `Queue::bounded_lifo` / `Queue::unbounded_lifo`, split.
struct OursLifo;
/// Ours, smallest first: `Queue::bounded_priority` / `Queue::unbounded_priority`, split.
struct OursPriority;

macro_rules! impl_ours {
    ($($ty:ident: $bounded:ident, $unbounded:ident;)+) => {$(
        impl Channel for $ty {
            type Tx = async_patterns::queue::Sender<u64>;
            type Rx = async_patterns::queue::Receiver<u64>;
            fn channel(cap: Option<usize>) -> (Self::Tx, Self::Rx) {
                match cap {
                    Some(cap) => Queue::$bounded(cap),
                    None => Queue::$unbounded(),
                }
                .split()
            }
            async fn send(tx: &Self::Tx, item: u64) {
                tx.send(item).await.expect("a receiver is alive");
            }
            async fn recv(rx: &mut Self::Rx) -> Option<u64> {
                rx.recv().await.ok()
            }
            fn clone_rx(rx: &Self::Rx) -> Self::Rx {
                rx.clone()
            }
        }
    )+};
}

impl_ours! {
    Ours: bounded, unbounded;
    OursLifo: bounded_lifo, unbounded_lifo;
    OursPriority: bounded_priority, unbounded_priority;
}

struct AsyncChannel;

impl Channel for AsyncChannel {
    type Tx = async_channel::Sender<u64>;
    type Rx = async_channel::Receiver<u64>;
    fn channel(cap: Option<usize>) -> (Self::Tx, Self::Rx) {
        match cap {
            Some(cap) => async_channel::bounded(cap),
            None => async_channel::unbounded(),
        }
    }
    async fn send(tx: &Self::Tx, item: u64) {
        tx.send(item).await.expect("a receiver is alive");
    }
    async fn recv(rx: &mut Self::Rx) -> Option<u64> {
        rx.recv().await.ok()
    }
    fn clone_rx(rx: &Self::Rx) -> Self::Rx {
        rx.clone()
    }
}

struct Flume;

impl Channel for Flume {
    type Tx = flume::Sender<u64>;
    type Rx = flume::Receiver<u64>;
    fn channel(cap: Option<usize>) -> (Self::Tx, Self::Rx) {
        match cap {
            Some(cap) => flume::bounded(cap),
            None => flume::unbounded(),
        }
    }
    async fn send(tx: &Self::Tx, item: u64) {
        tx.send_async(item).await.expect("a receiver is alive");
    }
    async fn recv(rx: &mut Self::Rx) -> Option<u64> {
        rx.recv_async().await.ok()
    }
    fn clone_rx(rx: &Self::Rx) -> Self::Rx {
        rx.clone()
    }
}

struct Kanal;

impl Channel for Kanal {
    type Tx = kanal::AsyncSender<u64>;
    type Rx = kanal::AsyncReceiver<u64>;
    fn channel(cap: Option<usize>) -> (Self::Tx, Self::Rx) {
        match cap {
            Some(cap) => kanal::bounded_async(cap),
            None => kanal::unbounded_async(),
        }
    }
    async fn send(tx: &Self::Tx, item: u64) {
        tx.send(item).await.expect("a receiver is alive");
    }
    async fn recv(rx: &mut Self::Rx) -> Option<u64> {
        rx.recv().await.ok()
    }
    fn clone_rx(rx: &Self::Rx) -> Self::Rx {
        rx.clone()
    }
}

/// tokio's bounded mpsc (`mpsc::channel(n)`); one consumer only.
struct TokioMpsc;

impl Channel for TokioMpsc {
    type Tx = tokio::sync::mpsc::Sender<u64>;
    type Rx = tokio::sync::mpsc::Receiver<u64>;
    fn channel(cap: Option<usize>) -> (Self::Tx, Self::Rx) {
        tokio::sync::mpsc::channel(cap.expect("TokioMpsc is the bounded flavour"))
    }
    async fn send(tx: &Self::Tx, item: u64) {
        tx.send(item).await.expect("the receiver is alive");
    }
    async fn recv(rx: &mut Self::Rx) -> Option<u64> {
        rx.recv().await
    }
    fn clone_rx(_: &Self::Rx) -> Self::Rx {
        unreachable!("tokio mpsc has a single consumer")
    }
}

/// tokio's `mpsc::unbounded_channel()`; one consumer only.
struct TokioMpscUnbounded;

impl Channel for TokioMpscUnbounded {
    type Tx = tokio::sync::mpsc::UnboundedSender<u64>;
    type Rx = tokio::sync::mpsc::UnboundedReceiver<u64>;
    fn channel(cap: Option<usize>) -> (Self::Tx, Self::Rx) {
        assert!(cap.is_none(), "TokioMpscUnbounded is the unbounded flavour");
        tokio::sync::mpsc::unbounded_channel()
    }
    async fn send(tx: &Self::Tx, item: u64) {
        tx.send(item).expect("the receiver is alive");
    }
    async fn recv(rx: &mut Self::Rx) -> Option<u64> {
        rx.recv().await
    }
    fn clone_rx(_: &Self::Rx) -> Self::Rx {
        unreachable!("tokio mpsc has a single consumer")
    }
}

/// Times `iters` runs of: spawn `consumers` tasks receiving until the channel is
/// closed and `producers` tasks sending [`ITEMS`] in all, then await them all.
/// Checks the count and the sum of what was received after each run.
fn run<C: Channel>(
    rt: Rt,
    cap: Option<usize>,
    producers: u64,
    consumers: u64,
    iters: u64,
) -> Duration {
    let rt = rt.build();
    let per_producer = ITEMS / producers;
    assert_eq!(per_producer * producers, ITEMS);
    let mut elapsed = Duration::ZERO;
    for _ in 0..iters {
        let (tx, rx) = C::channel(cap);
        let mut rxs: Vec<_> = (1..consumers).map(|_| C::clone_rx(&rx)).collect();
        rxs.push(rx);
        let mut txs: Vec<_> = (1..producers).map(|_| tx.clone()).collect();
        txs.push(tx);
        let (time, count, sum) = rt.block_on(async move {
            let start = Instant::now();
            let consumers: Vec<_> = rxs
                .into_iter()
                .map(|mut rx| {
                    tokio::spawn(async move {
                        let (mut count, mut sum) = (0u64, 0u64);
                        while let Some(item) = C::recv(&mut rx).await {
                            count += 1;
                            sum = sum.wrapping_add(item);
                        }
                        (count, sum)
                    })
                })
                .collect();
            let producers: Vec<_> = (0..producers)
                .zip(txs)
                .map(|(p, tx)| {
                    tokio::spawn(async move {
                        for i in p * per_producer..(p + 1) * per_producer {
                            C::send(&tx, i.wrapping_mul(K)).await;
                        }
                    })
                })
                .collect();
            for producer in producers {
                producer.await.expect("producer task");
            }
            let (mut count, mut sum) = (0u64, 0u64);
            for consumer in consumers {
                let (c, s) = consumer.await.expect("consumer task");
                count += c;
                sum = sum.wrapping_add(s);
            }
            (start.elapsed(), count, sum)
        });
        assert_eq!(count, ITEMS, "every item received once");
        assert_eq!(sum, expected_sum(), "every item received once");
        elapsed += time;
    }
    elapsed
}

fn throughput(c: &mut Criterion) {
    for rt in [Rt::TwoWorkers, Rt::CurrentThread] {
        for (producers, consumers) in [(1, 1), (4, 4)] {
            for bound in [Bound::One, Bound::Hundred, Bound::Unbounded] {
                let name = format!(
                    "queue_{}_{producers}p{consumers}c_{}",
                    rt.name(),
                    bound.name()
                );
                let mut group = c.benchmark_group(name);
                group.sample_size(20).sampling_mode(SamplingMode::Flat);
                group.throughput(Throughput::Elements(ITEMS));
                let cap = bound.cap();
                macro_rules! peer {
                    ($name:literal, $chan:ty) => {{
                        group.bench_function($name, |b| {
                            b.iter_custom(|iters| {
                                run::<$chan>(rt, cap, producers, consumers, iters)
                            })
                        });
                    }};
                }
                peer!("async-patterns", Ours);
                peer!("async-channel", AsyncChannel);
                peer!("flume", Flume);
                peer!("kanal", Kanal);
                if consumers == 1 {
                    match bound {
                        Bound::Unbounded => peer!("tokio", TokioMpscUnbounded),
                        _ => peer!("tokio", TokioMpsc),
                    }
                }
                group.finish();
            }
        }
    }
}

fn orders(c: &mut Criterion) {
    let mut group = c.benchmark_group("queue_orders");
    group.sample_size(20).sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Elements(ITEMS));
    let (rt, cap) = (Rt::TwoWorkers, Some(100));
    group.bench_function("fifo", |b| {
        b.iter_custom(|iters| run::<Ours>(rt, cap, 1, 1, iters))
    });
    group.bench_function("lifo", |b| {
        b.iter_custom(|iters| run::<OursLifo>(rt, cap, 1, 1, iters))
    });
    group.bench_function("priority", |b| {
        b.iter_custom(|iters| run::<OursPriority>(rt, cap, 1, 1, iters))
    });
    group.finish();
}

/// Capacity of the queue, and batch size, of `queue_try_loop`.
const BATCH: u64 = 100;

fn try_loop(c: &mut Criterion) {
    let mut group = c.benchmark_group("queue_try_loop");
    group.sample_size(20);
    group.throughput(Throughput::Elements(ITEMS));
    let queues = [
        ("fifo", Queue::bounded(BATCH as usize)),
        ("lifo", Queue::bounded_lifo(BATCH as usize)),
        ("priority", Queue::bounded_priority(BATCH as usize)),
    ];
    for (name, queue) in &queues {
        group.bench_function(*name, |b| {
            b.iter(|| {
                let queue = black_box(queue);
                let mut sum = 0u64;
                for round in 0..ITEMS / BATCH {
                    for i in round * BATCH..(round + 1) * BATCH {
                        queue.try_put(i.wrapping_mul(K)).expect("room for a batch");
                    }
                    for _ in 0..BATCH {
                        sum = sum.wrapping_add(queue.try_get().expect("a batch is queued"));
                    }
                }
                assert_eq!(sum, expected_sum(), "every item taken once");
            })
        });
    }
    group.finish();
}

/// No plots: drawing them takes about 5 s of CPU per benchmark here, which would
/// double the run (60 benchmarks); the console figures are what the README uses.
fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .without_plots()
}

criterion_group! {
    name = benches;
    config = config();
    targets = throughput, orders, try_loop
}
criterion_main!(benches);
