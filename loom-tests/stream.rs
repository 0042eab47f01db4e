//! `generate`: the lock-free one-item hand-over between an `Emitter` and its
//! stream, with the emitter on another thread than the stream's consumer, and the
//! same hand-over on one thread as a sanity model.
//!
//! The `Emitter` is taken out of the `generate` closure (which runs at once) and
//! moved to a loom thread of its own, while the body the stream polls only waits
//! until that thread is done. An `Emit` polled away from its stream leaves a clone
//! of its waker with its item (the stream wakes it when it takes the item), and
//! wakes itself at once when it finds the slot still full; the model polls it with
//! a no-op waker, so that the emitter thread does not spin on the latter (loom
//! cannot explore a spin), and wakes each side itself through a [`Bell`]: the
//! emitter rings the consumer after every poll of an `Emit`, the consumer rings the
//! emitter after every item it took. The parked no-op waker still goes through the
//! slot, so loom checks its hand-over too (an emit away from its stream always
//! parks; the plain hand-over, without a waker, is the same-thread model's). The
//! bells take a loom lock, but never between the slot's accesses on one side, so
//! loom still sees a hand-over that is not ordered by the slot's `state` (its
//! `UnsafeCell`s are loom's, via the crate's facade): either as a causality violation on the cell, or as a lost,
//! duplicated or reordered item. A side that is never woken is a loom deadlock.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use async_patterns::stream::{Emit, Emitter, generate, next};
use loom::future::block_on;
use loom::thread;

use crate::{Bell, model, poll_once, with_static};

/// Drives an `Emit` on the emitter thread: registers at `wake_me` first (so a
/// ring after the check below is not lost), polls the `Emit` (with a no-op waker:
/// see the module's note), then rings `consumer` (the item may just have been
/// put).
struct Driven<'a, 'e> {
    emit: Emit<'e, u32>,
    wake_me: &'a Bell,
    consumer: &'a Bell,
}

impl Future for Driven<'_, '_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.wake_me.register(cx);
        let poll = poll_once(Pin::new(&mut self.emit));
        self.consumer.ring();
        poll
    }
}

/// The bells of one model: the consumer's (the generator body waits at it until
/// it is opened) and the emitter thread's.
struct Bells {
    consumer: Bell,
    emitter: Bell,
}

/// What the emitter thread does in [`emit_from_other_thread`]: item 1 through an
/// `Emit` polled once and dropped (the slot is empty then, so it is handed over),
/// items 2 and 3 awaited to completion (each may find the previous item still in
/// the slot and wait for the consumer), then the body is let go.
fn emit_three(mut out: Emitter<u32>, bells: &Bells) {
    let mut first = out.emit(1);
    assert!(poll_once(Pin::new(&mut first)).is_pending());
    drop(first);
    bells.consumer.ring();
    for item in [2, 3] {
        block_on(Driven {
            emit: out.emit(item),
            wake_me: &bells.emitter,
            consumer: &bells.consumer,
        });
    }
    drop(out);
    bells.consumer.open();
}

/// The emitter moved to another thread emits three items (the first through an
/// `Emit` dropped after its first poll) while the main thread takes them with
/// `next`: each item comes out exactly once and in order, the slot is never
/// reached from both sides at once, an item handed over by a dropped `Emit` still
/// comes out, and a put waits for the slot to empty rather than overwrite it.
#[test]
fn emit_from_other_thread() {
    model(|| {
        let bells = Bells {
            consumer: Bell::new(),
            emitter: Bell::new(),
        };
        // SAFETY: the closure joins the thread it gives the reference to.
        unsafe {
            with_static(bells, |bells| {
                let mut emitter = None;
                let mut stream = Box::pin(generate(|out: Emitter<u32>| {
                    emitter = Some(out);
                    bells.consumer.opened()
                }));
                let out = emitter.take().expect("generate calls its closure at once");
                let producer = thread::spawn(move || emit_three(out, bells));
                let mut items = Vec::new();
                while let Some(item) = block_on(next(&mut stream)) {
                    items.push(item);
                    bells.emitter.ring();
                }
                assert_eq!(items, [1, 2, 3]);
                producer.join().unwrap();
            })
        };
    });
}

/// The emitter on another thread puts one item and drops its `Emit` after the
/// first poll while the consumer drops the whole stream: the item is dropped once,
/// by whichever side lets go of the slot last (the item is a clone of a loom
/// `Arc`: its count is back to 1 at the end, and loom's leak check sees a clone
/// that is never dropped).
#[test]
fn stream_drop_vs_emit() {
    model(|| {
        let item = loom::sync::Arc::new(7u32);
        let mut emitter = None;
        let stream = generate(|out: Emitter<loom::sync::Arc<u32>>| {
            emitter = Some(out);
            std::future::pending::<()>()
        });
        let mut out = emitter.take().unwrap();
        let producer = {
            let item = item.clone();
            thread::spawn(move || {
                let mut emit = out.emit(item);
                assert!(poll_once(Pin::new(&mut emit)).is_pending());
            })
        };
        drop(stream);
        producer.join().unwrap();
        assert_eq!(loom::sync::Arc::strong_count(&item), 1);
    });
}

/// Sanity: the body emits on the stream's own thread, as documented. Items 2 and 4
/// go through an `Emit` polled once and dropped, so the put of item 3 finds item 2
/// still in the slot and must wait, and item 4 is still there when the body ends:
/// the items come out in order, each once, and the stream ends after the last.
#[test]
fn emit_in_body_same_thread() {
    model(|| {
        let mut stream = Box::pin(generate(|mut out: Emitter<u32>| async move {
            out.emit(1).await;
            let mut second = out.emit(2);
            std::future::poll_fn(|cx| {
                assert!(Pin::new(&mut second).poll(cx).is_pending());
                Poll::Ready(())
            })
            .await;
            drop(second);
            out.emit(3).await;
            let mut last = out.emit(4);
            std::future::poll_fn(|cx| {
                assert!(Pin::new(&mut last).poll(cx).is_pending());
                Poll::Ready(())
            })
            .await;
        }));
        let mut items = Vec::new();
        while let Some(item) = block_on(next(&mut stream)) {
            items.push(item);
        }
        assert_eq!(items, [1, 2, 3, 4]);
        assert_eq!(block_on(next(&mut stream)), None);
    });
}
