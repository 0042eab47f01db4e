//! [`Sender`] and [`Receiver`]: channel-style handles to a [`Queue`].

use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::Stream;

use super::{Get, Join, Put, PutPermit, Queue, Reserve, TaskDoneError, TryGetError, TryPutError};
#[cfg(feature = "std")]
use super::{PutError, ShutdownError};
use crate::sync_facade::{Arc, AtomicUsize, Ordering};

struct Chan<T> {
    queue: Queue<T>,
    senders: AtomicUsize,
    receivers: AtomicUsize,
}

pub(super) fn split<T>(queue: Queue<T>) -> (Sender<T>, Receiver<T>) {
    let chan = Arc::new(Chan {
        queue,
        senders: AtomicUsize::new(1),
        receivers: AtomicUsize::new(1),
    });
    (Sender { chan: chan.clone() }, Receiver { chan, key: None })
}

/// The sending half of a split [`Queue`] ([`Queue::split`]). Cloning makes another
/// sender; when the last one is dropped the queue shuts down gracefully, so the
/// receivers drain what is queued and then see the end.
pub struct Sender<T> {
    chan: Arc<Chan<T>>,
}

impl<T> Sender<T> {
    /// [`Queue::put`]: waits while the queue is full.
    ///
    /// # Panics
    ///
    /// The future panics if polled again after it completed.
    ///
    /// # Errors
    ///
    /// [`PutError`](super::PutError) with the item if the queue is shut down or every
    /// [`Receiver`] was dropped.
    ///
    /// # Cancel safety
    ///
    /// As [`Queue::put`]; use [`reserve`](Self::reserve) to keep the item.
    pub fn send(&self, item: T) -> Put<'_, T> {
        self.chan.queue.put(item)
    }

    /// [`Queue::try_put`].
    ///
    /// # Errors
    ///
    /// As [`Queue::try_put`].
    pub fn try_send(&self, item: T) -> Result<(), TryPutError<T>> {
        self.chan.queue.try_put(item)
    }

    /// [`Queue::reserve`].
    ///
    /// # Errors
    ///
    /// As [`Queue::reserve`]: a [`ShutdownError`](super::ShutdownError) once the
    /// queue is shut down.
    ///
    /// # Cancel safety
    ///
    /// As [`Queue::reserve`].
    pub fn reserve(&self) -> Reserve<'_, T> {
        self.chan.queue.reserve()
    }

    /// [`Queue::try_reserve`].
    ///
    /// # Errors
    ///
    /// As [`Queue::try_reserve`].
    pub fn try_reserve(&self) -> Result<PutPermit<'_, T>, TryPutError<()>> {
        self.chan.queue.try_reserve()
    }

    /// [`Queue::join`]: waits until every item sent was received and marked done,
    /// or the last [`Receiver`] is gone (nobody is left to mark the rest done).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub fn join(&self) -> Join<'_, T> {
        self.chan.queue.join()
    }

    /// [`Queue::put_blocking`].
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    #[cfg(feature = "std")]
    pub fn send_blocking(&self, item: T) -> Result<(), PutError<T>> {
        self.chan.queue.put_blocking(item)
    }

    /// [`Queue::reserve_blocking`].
    ///
    /// # Errors
    ///
    /// As [`reserve`](Self::reserve).
    #[cfg(feature = "std")]
    pub fn reserve_blocking(&self) -> Result<PutPermit<'_, T>, ShutdownError> {
        self.chan.queue.reserve_blocking()
    }

    /// [`join`](Self::join), blocking the thread (for synchronous code only).
    #[cfg(feature = "std")]
    pub fn join_blocking(&self) {
        self.chan.queue.join_blocking();
    }

    /// The queue behind this handle (for `len`, `shutdown`, ...).
    pub fn queue(&self) -> &Queue<T> {
        &self.chan.queue
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.senders.fetch_add(1, Ordering::Relaxed);
        Self {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.chan.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.chan.queue.shutdown();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("queue", &self.chan.queue)
            .finish()
    }
}

/// The receiving half of a split [`Queue`] ([`Queue::split`]), also a [`Stream`]
/// of the items that ends once the queue is shut down and drained. Cloning makes
/// another receiver (each item goes to one of them); when the last one is dropped,
/// sends fail with their item handed back, the queued items are dropped (also an
/// item already handed to a get through [`Sender::queue`], which then fails),
/// a [`PutPermit`](super::PutPermit) filled later drops its item, and the work
/// counts as done ([`Sender::join`] completes, also for items received and not
/// marked done).
///
/// # Cancel safety
///
/// As a stream, as [`QueueStream`](super::QueueStream): dropping a `next()` on
/// it, or not polling it again, never loses or holds back an item, so a
/// [`recv`](Self::recv) or [`try_recv`](Self::try_recv) on the same receiver
/// afterwards sees every item sent since.
pub struct Receiver<T> {
    chan: Arc<Chan<T>>,
    /// The stream's place among the waiting streams.
    key: Option<usize>,
}

impl<T> Receiver<T> {
    /// [`Queue::get`]: waits for the next item.
    ///
    /// # Errors
    ///
    /// [`ShutdownError`](super::ShutdownError) once the queue is shut down (every
    /// [`Sender`] dropped, or a [`Queue::shutdown`] through [`queue`](Self::queue))
    /// and drained.
    ///
    /// # Cancel safety
    ///
    /// As [`Queue::get`]: a dropped `recv` never takes an item.
    pub fn recv(&self) -> Get<'_, T> {
        self.chan.queue.get()
    }

    /// [`Queue::try_get`].
    ///
    /// # Errors
    ///
    /// As [`Queue::try_get`].
    pub fn try_recv(&self) -> Result<T, TryGetError> {
        self.chan.queue.try_get()
    }

    /// [`Queue::task_done`].
    ///
    /// # Errors
    ///
    /// As [`Queue::task_done`].
    pub fn task_done(&self) -> Result<(), TaskDoneError> {
        self.chan.queue.task_done()
    }

    /// [`Queue::get_blocking`].
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    #[cfg(feature = "std")]
    pub fn recv_blocking(&self) -> Result<T, ShutdownError> {
        self.chan.queue.get_blocking()
    }

    /// The queue behind this handle (for `len`, `shutdown`, ...).
    pub fn queue(&self) -> &Queue<T> {
        &self.chan.queue
    }
}

impl<T> Stream for Receiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        this.chan.queue.poll_stream(&mut this.key, cx.waker())
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.chan.receivers.fetch_add(1, Ordering::Relaxed);
        Self {
            chan: self.chan.clone(),
            key: None,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.chan.queue.cancel_stream(key);
        }
        if self.chan.receivers.fetch_sub(1, Ordering::AcqRel) == 1 {
            // Nobody can receive any more: fail the sends (they keep their items),
            // drop what is queued, and count the work done.
            self.chan.queue.close_reading();
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("queue", &self.chan.queue)
            .finish()
    }
}
