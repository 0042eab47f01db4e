//! Wait-list building blocks shared by the primitives that keep their own list of
//! wakers (the queue, `Semaphore`, `Event`, `Condvar`, `Barrier`, the task handles
//! and sets, `CancellationToken`, `ManualTimer`, `Debouncer`): a slab of waiter slots, a
//! FIFO queue of waiters built on it, and a batch of wakers to wake after a lock is
//! released.
//!
//! No waker is dropped while a primitive's internal lock is held, nor woken: a
//! waker's drop can run any code. The last reference to a task drops the task's
//! future, and that future may wait on the same primitive, whose `Drop` then
//! takes the lock again (a future polled in one task and then moved to another
//! leaves the first task's waker behind). So every critical section that lets
//! go of a waker runs in [`with_stale`] and puts the waker in its `stale` slot
//! (the functions here that take a waker out of a list do it themselves, the
//! others through [`keep_stale`]); `with_stale` drops it once the lock is
//! released (`tests/reentrant_wakers.rs`).

use alloc::vec::Vec;
use core::task::{Poll, Waker};

use crate::sync_facade::BlockingMutex;

/// Wakers collected under a lock and woken after it is released.
pub(crate) struct WakeBatch {
    wakers: [Option<Waker>; Self::CAPACITY],
    len: usize,
}

impl WakeBatch {
    pub(crate) const CAPACITY: usize = 16;

    pub(crate) const fn new() -> Self {
        Self {
            wakers: [const { None }; Self::CAPACITY],
            len: 0,
        }
    }

    pub(crate) fn is_full(&self) -> bool {
        self.len == Self::CAPACITY
    }

    /// Adds a waker; the batch must not be full.
    pub(crate) fn push(&mut self, waker: Waker) {
        self.wakers[self.len] = Some(waker);
        self.len += 1;
    }

    pub(crate) fn wake_all(&mut self) {
        for waker in &mut self.wakers[..self.len] {
            if let Some(waker) = waker.take() {
                waker.wake();
            }
        }
        self.len = 0;
    }
}

/// Wakers collected under a lock and woken after it is released, for the
/// primitives that wake everything they collected in one go. The first waker is
/// held inline, so the common case (one task to wake) allocates nothing.
#[derive(Default)]
pub(crate) struct WakeList {
    one: Option<Waker>,
    more: Vec<Waker>,
}

impl WakeList {
    pub(crate) const fn new() -> Self {
        Self {
            one: None,
            more: Vec::new(),
        }
    }

    #[inline]
    pub(crate) fn push(&mut self, waker: Option<Waker>) {
        if let Some(waker) = waker {
            match self.one {
                None => self.one = Some(waker),
                Some(_) => self.more.push(waker),
            }
        }
    }

    /// Wakes every waker collected, in place: the list is read where the critical
    /// section wrote it (moving it into a by-value call copied it through wider
    /// loads than its stores, a store-forwarding stall measured on every queue
    /// operation).
    #[inline]
    pub(crate) fn wake(&mut self) {
        if let Some(waker) = self.one.take() {
            waker.wake();
            if !self.more.is_empty() {
                self.wake_more();
            }
        }
    }

    #[cold]
    fn wake_more(&mut self) {
        self.more.drain(..).for_each(Waker::wake);
    }
}

/// Runs `f` with `lock` held, giving it a `stale` slot for a waker it lets go of
/// (one replaced by a new poll, or left behind by a waiter that leaves), which is
/// dropped once the lock is released.
#[inline]
pub(crate) fn with_stale<T, R>(
    lock: &BlockingMutex<T>,
    f: impl FnOnce(&mut T, &mut Option<Waker>) -> R,
) -> R {
    let mut stale = None;
    let result = lock.with(|state| f(state, &mut stale));
    drop(stale); // after the lock: a waker's drop may run any code
    result
}

/// Keeps `waker` in `stale`, a slot the caller drops once the lock is released.
/// One critical section lets go of one waker at most (its own waiter's).
#[inline]
pub(crate) fn keep_stale(stale: &mut Option<Waker>, waker: Option<Waker>) {
    if waker.is_some() {
        debug_assert!(stale.is_none(), "one stale waker per critical section");
        *stale = waker;
    }
}

/// Stores `waker` in `slot` unless the waker there already wakes the same task;
/// the one it replaces goes to `stale`.
pub(crate) fn update_waker(slot: &mut Waker, waker: &Waker, stale: &mut Option<Waker>) {
    if !slot.will_wake(waker) {
        keep_stale(stale, Some(core::mem::replace(slot, waker.clone())));
    }
}

/// [`update_waker`] for a slot that may be empty (then `waker` is stored).
pub(crate) fn store_waker(slot: &mut Option<Waker>, waker: &Waker, stale: &mut Option<Waker>) {
    match slot {
        Some(slot) => update_waker(slot, waker, stale),
        None => *slot = Some(waker.clone()),
    }
}

/// Slots addressed by index: a waiter keeps the index of its slot for its whole
/// wait, so it can update or remove it in O(1). Freed slots are reused before the
/// storage grows, and the storage is kept when the slab empties, so a primitive
/// in steady use allocates nothing per wait.
pub(crate) struct Slab<T> {
    entries: Vec<Entry<T>>,
    /// Head of the list of free entries (`NONE` if there is none).
    free: usize,
    len: usize,
}

enum Entry<T> {
    Full(T),
    /// A free entry and the next free one.
    Free(usize),
}

const NONE: usize = usize::MAX;

impl<T> Slab<T> {
    pub(crate) const fn new() -> Self {
        Self {
            entries: Vec::new(),
            free: NONE,
            len: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn insert(&mut self, value: T) -> usize {
        self.len += 1;
        match self.free {
            NONE => {
                self.entries.push(Entry::Full(value));
                self.entries.len() - 1
            }
            key => {
                let entry = core::mem::replace(&mut self.entries[key], Entry::Full(value));
                let Entry::Free(next) = entry else {
                    unreachable!("the free list links only free entries")
                };
                self.free = next;
                key
            }
        }
    }

    /// Inserts the value `make` builds from the key it will get.
    pub(crate) fn insert_with(&mut self, make: impl FnOnce(usize) -> T) -> usize {
        let key = match self.free {
            NONE => self.entries.len(),
            key => key,
        };
        let inserted = self.insert(make(key));
        debug_assert_eq!(inserted, key);
        inserted
    }

    /// The value in slot `key`, if that slot is in use.
    pub(crate) fn get(&mut self, key: usize) -> Option<&mut T> {
        match self.entries.get_mut(key) {
            Some(Entry::Full(value)) => Some(value),
            _ => None,
        }
    }

    /// # Panics
    /// If `key` is not a full slot (a bug in the caller's bookkeeping).
    pub(crate) fn get_mut(&mut self, key: usize) -> &mut T {
        match self.entries.get_mut(key) {
            Some(Entry::Full(value)) => value,
            _ => panic!("async-patterns: wait-list slot {key} is not in use"),
        }
    }

    /// # Panics
    /// If `key` is not a full slot.
    pub(crate) fn remove(&mut self, key: usize) -> T {
        let entry = self
            .entries
            .get_mut(key)
            .map(|e| core::mem::replace(e, Entry::Free(0)));
        match entry {
            Some(Entry::Full(value)) => {
                self.len -= 1;
                if self.len == 0 {
                    // Start over at the front instead of threading a free list.
                    self.entries.clear();
                    self.free = NONE;
                } else {
                    self.entries[key] = Entry::Free(self.free);
                    self.free = key;
                }
                value
            }
            _ => panic!("async-patterns: wait-list slot {key} is not in use"),
        }
    }

    /// The values in use, mutably.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.entries.iter_mut().filter_map(|entry| match entry {
            Entry::Full(value) => Some(value),
            Entry::Free(_) => None,
        })
    }

    /// Removes every value, keeping the storage; the slab is empty afterwards even if
    /// the iterator is not run to the end.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = T> + '_ {
        self.free = NONE;
        self.len = 0;
        self.entries.drain(..).filter_map(|entry| match entry {
            Entry::Full(value) => Some(value),
            Entry::Free(_) => None,
        })
    }
}

/// A FIFO queue of waiting tasks with O(1) removal from anywhere: a doubly linked
/// list threaded through a [`Slab`] by index (no unsafe code, no allocation per
/// waiter once the slab has grown).
///
/// A waiter is *linked* (queued, not notified yet) until [`notify_front`] takes it
/// off the queue and marks it notified; its slot stays until the waiter
/// [`remove`]s it, so the waiter can see that it was notified.
///
///
/// Each waiter also carries a `D` (nothing by default): the queue uses it to hand
/// an item or a slot straight to a waiter.
///
/// [`notify_front`]: Self::notify_front
/// [`remove`]: Self::remove
pub(crate) struct WaitQueue<D = ()> {
    nodes: Slab<Node<D>>,
    head: usize,
    tail: usize,
    linked: usize,
}

struct Node<D> {
    /// `None` once notified (the waker was handed to the notifier).
    waker: Option<Waker>,
    prev: usize,
    next: usize,
    data: D,
}

impl<D> Default for WaitQueue<D> {
    fn default() -> Self {
        Self::new()
    }
}

impl WaitQueue {
    /// Queues a waiter at the back; returns its key.
    pub(crate) fn push_back(&mut self, waker: Waker) -> usize {
        self.push_back_with(waker, ())
    }
}

impl<D> WaitQueue<D> {
    pub(crate) const fn new() -> Self {
        Self {
            nodes: Slab::new(),
            head: NONE,
            tail: NONE,
            linked: 0,
        }
    }

    /// How many waiters are queued and not notified yet.
    #[inline]
    pub(crate) fn linked(&self) -> usize {
        self.linked
    }

    /// Queues a waiter at the back; returns its key.
    pub(crate) fn push_back_with(&mut self, waker: Waker, data: D) -> usize {
        let key = self.nodes.insert(Node {
            waker: Some(waker),
            prev: self.tail,
            next: NONE,
            data,
        });
        match self.tail {
            NONE => self.head = key,
            tail => self.nodes.get_mut(tail).next = key,
        }
        self.tail = key;
        self.linked += 1;
        key
    }

    /// Whether the waiter `key` was notified.
    #[inline]
    pub(crate) fn is_notified(&mut self, key: usize) -> bool {
        self.nodes.get_mut(key).waker.is_none()
    }

    /// Takes the waiter at the front off the queue and marks it notified; returns
    /// its waker, or `None` if nobody is queued.
    #[inline]
    pub(crate) fn notify_front(&mut self) -> Option<Waker> {
        let key = self.head;
        if key == NONE {
            return None;
        }
        self.unlink(key);
        self.nodes.get_mut(key).waker.take()
    }

    /// One poll of a waiter that may go once `ready` (what it waits for is there):
    /// returns whether it goes now. Only a notified waiter, or a newcomer (`key` is
    /// `None`), may go; a queued waiter polled meanwhile keeps its place, and a
    /// notified one that finds nothing ready queues again at the back. `key` tracks
    /// the waiter's place; a waker it replaces goes to `stale`.
    pub(crate) fn wait_turn(
        &mut self,
        key: &mut Option<usize>,
        ready: bool,
        waker: &Waker,
        stale: &mut Option<Waker>,
    ) -> bool
    where
        D: Default,
    {
        match *key {
            Some(k) if ready && self.is_notified(k) => {
                self.remove_notified(k);
                *key = None;
                true
            }
            Some(k) if self.is_notified(k) => {
                // Woken, but somebody was faster: wait again at the back. (Cloned
                // first: a clone that panics leaves the waiter as it was.)
                let waker = waker.clone();
                self.remove_notified(k);
                *key = Some(self.push_back_with(waker, D::default()));
                false
            }
            Some(k) => {
                self.update_waker(k, waker, stale);
                false
            }
            None if ready => true,
            None => {
                *key = Some(self.push_back_with(waker.clone(), D::default()));
                false
            }
        }
    }

    /// Removes the waiter `key` (queued or notified): whether it had been
    /// notified, and its data. The waker of a waiter still queued goes to
    /// `stale`.
    pub(crate) fn remove(&mut self, key: usize, stale: &mut Option<Waker>) -> (bool, D) {
        let notified = self.is_notified(key);
        if !notified {
            self.unlink(key);
        }
        let node = self.nodes.remove(key);
        keep_stale(stale, node.waker);
        (notified, node.data)
    }

    /// Removes the notified waiter `key` (it has no waker left); returns its data.
    fn remove_notified(&mut self, key: usize) -> D {
        debug_assert!(self.is_notified(key));
        self.nodes.remove(key).data
    }

    /// For a waiter that finds what it was given in its data (the queue's): the
    /// waiter `key` (which must be `Some`), if notified, is removed, `key` cleared
    /// and its data returned; otherwise its waker is updated (the old one goes to
    /// `stale`) and it stays queued.
    pub(crate) fn take_if_notified(
        &mut self,
        key: &mut Option<usize>,
        waker: &Waker,
        stale: &mut Option<Waker>,
    ) -> Poll<D> {
        let k = key.expect("async-patterns: take_if_notified without a key");
        if !self.is_notified(k) {
            self.update_waker(k, waker, stale);
            return Poll::Pending;
        }
        *key = None;
        Poll::Ready(self.remove_notified(k))
    }

    /// Replaces the waker of a waiter that is still queued; the old one goes to
    /// `stale`.
    fn update_waker(&mut self, key: usize, waker: &Waker, stale: &mut Option<Waker>) {
        if let Some(slot) = &mut self.nodes.get_mut(key).waker {
            update_waker(slot, waker, stale);
        }
    }

    /// The key of the first queued (not notified) waiter.
    #[inline]
    pub(crate) fn front(&self) -> Option<usize> {
        (self.head != NONE).then_some(self.head)
    }

    /// The data of the waiters that were notified and have not removed themselves
    /// yet (in no particular order).
    pub(crate) fn notified_data_mut(&mut self) -> impl Iterator<Item = &mut D> {
        self.nodes
            .iter_mut()
            .filter(|node| node.waker.is_none())
            .map(|node| &mut node.data)
    }

    /// The data of waiter `key`.
    #[inline]
    pub(crate) fn data_mut(&mut self, key: usize) -> &mut D {
        &mut self.nodes.get_mut(key).data
    }

    /// Notifies waiter `key`, which must be queued: takes it off the queue and
    /// returns its waker to wake.
    #[inline]
    pub(crate) fn notify(&mut self, key: usize) -> Option<Waker> {
        self.unlink(key);
        self.nodes.get_mut(key).waker.take()
    }

    fn unlink(&mut self, key: usize) {
        let (prev, next) = {
            let node = self.nodes.get_mut(key);
            (node.prev, node.next)
        };
        match prev {
            NONE => self.head = next,
            prev => self.nodes.get_mut(prev).next = next,
        }
        match next {
            NONE => self.tail = prev,
            next => self.nodes.get_mut(next).prev = prev,
        }
        self.linked -= 1;
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn noop() -> Waker {
        Waker::noop().clone()
    }

    #[test]
    fn wait_queue_is_fifo_and_removes_from_the_middle() {
        let mut q = WaitQueue::new();
        let keys: Vec<_> = (0..4).map(|_| q.push_back(noop())).collect();
        assert_eq!(q.linked(), 4);
        let mut stale = None;
        assert!(!q.remove(keys[1], &mut stale).0); // queued, not notified
        assert!(stale.take().is_some(), "its waker is handed out");
        assert_eq!(q.linked(), 3);
        assert!(q.notify_front().is_some()); // keys[0]
        assert!(q.is_notified(keys[0]));
        assert!(!q.is_notified(keys[2]));
        assert!(q.notify_front().is_some()); // keys[2]
        assert!(q.is_notified(keys[2]));
        assert!(q.remove(keys[0], &mut stale).0);
        let late = q.push_back(noop());
        assert_eq!(q.linked(), 2);
        assert!(q.notify_front().is_some()); // keys[3] before the late one
        assert!(q.is_notified(keys[3]) && !q.is_notified(late));
        assert!(!q.remove(late, &mut stale).0);
        assert!(stale.take().is_some());
        assert_eq!(q.linked(), 0);
        assert!(q.notify_front().is_none());
        assert!(q.remove(keys[2], &mut stale).0 && q.remove(keys[3], &mut stale).0);
        assert!(stale.is_none(), "a notified waiter has no waker left");
    }

    #[test]
    fn slab_reuses_freed_slots() {
        let mut slab = Slab::new();
        let a = slab.insert('a');
        let b = slab.insert('b');
        let c = slab.insert('c');
        assert_eq!((a, b, c), (0, 1, 2));
        assert_eq!(slab.remove(b), 'b');
        assert_eq!(slab.len(), 2);
        assert_eq!(slab.insert('d'), b);
        assert_eq!(*slab.get_mut(b), 'd');
        *slab.get_mut(c) = 'e';
        let mut left: Vec<_> = slab.iter_mut().map(|v| *v).collect();
        left.sort();
        assert_eq!(left, ['a', 'd', 'e']);
        assert_eq!(slab.drain().count(), 3);
        assert_eq!(slab.len(), 0);
        assert_eq!(slab.insert('f'), 0);
    }

    #[test]
    fn slab_removing_the_last_value_starts_over() {
        let mut slab = Slab::new();
        let keys: Vec<_> = (0..4).map(|i| slab.insert(i)).collect();
        for key in keys {
            slab.remove(key);
        }
        assert_eq!(slab.insert(9), 0);
        assert_eq!(slab.drain().collect::<Vec<_>>(), [9]);
        assert_eq!(slab.len(), 0);
        assert!(slab.entries.capacity() > 0, "draining keeps the storage");
    }

    #[test]
    #[should_panic(expected = "not in use")]
    fn slab_remove_of_a_free_slot_panics() {
        let mut slab = Slab::new();
        let key = slab.insert(1);
        slab.insert(2);
        slab.remove(key);
        slab.remove(key);
    }
}
