//! The item stores behind [`Queue`](super::Queue): FIFO, LIFO, and a priority heap
//! that keeps equal items in insertion order.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::cmp::Ordering;

/// Items in one of the three orders. Storage grows as items arrive (amortised
/// doubling, like `VecDeque`/`Vec`) and is kept when the queue empties, so a
/// `bounded(10_000)` queue costs nothing until it is used, and a queue in steady use
/// does not allocate per item.
pub(crate) enum Buffer<T> {
    Fifo(VecDeque<T>),
    Lifo(Vec<T>),
    /// Boxed (one allocation per queue): inline, the heap's sequence numbers and
    /// comparison would make every queue's buffer 48 bytes instead of 32 (see the
    /// layout of the queue's `Inner`).
    Priority(alloc::boxed::Box<Heap<T>>),
}

impl<T> Buffer<T> {
    pub(crate) fn len(&self) -> usize {
        match self {
            Self::Fifo(items) => items.len(),
            Self::Lifo(items) => items.len(),
            Self::Priority(heap) => heap.items.len(),
        }
    }

    #[inline]
    pub(crate) fn push(&mut self, item: T) {
        match self {
            Self::Fifo(items) => items.push_back(item),
            Self::Lifo(items) => items.push(item),
            Self::Priority(heap) => heap.push(item),
        }
    }

    /// Puts `item` where it comes out next among its equals: the front of a FIFO,
    /// the top of a LIFO, before every equal item in a priority queue (for an item
    /// a getter gave back).
    pub(crate) fn push_front(&mut self, item: T) {
        match self {
            Self::Fifo(items) => items.push_front(item),
            Self::Lifo(items) => items.push(item),
            Self::Priority(heap) => heap.push_front(item),
        }
    }

    /// Puts back an item taken out while a panic unwinds: at the front, but in a
    /// priority queue at the back of the heap without sorting it in (no `Ord`
    /// call, which could panic again), so it may come out of order.
    pub(crate) fn put_back_unsorted(&mut self, item: T) {
        match self {
            Self::Priority(heap) => heap.push_unsorted(item),
            _ => self.push_front(item),
        }
    }

    #[inline]
    pub(crate) fn pop(&mut self) -> Option<T> {
        match self {
            Self::Fifo(items) => items.pop_front(),
            Self::Lifo(items) => items.pop(),
            Self::Priority(heap) => heap.pop(),
        }
    }

    /// Takes every item out, in no particular order (no `Ord` call).
    pub(crate) fn drain_unordered(&mut self) -> Vec<T> {
        match self {
            Self::Fifo(items) => items.drain(..).collect(),
            Self::Lifo(items) => core::mem::take(items),
            Self::Priority(heap) => heap.items.drain(..).map(|(_, item)| item).collect(),
        }
    }

    /// Takes every item out, in the order `pop` would return them.
    pub(crate) fn drain_all(&mut self) -> Vec<T> {
        match self {
            Self::Fifo(items) => items.drain(..).collect(),
            Self::Lifo(items) => items.drain(..).rev().collect(),
            Self::Priority(heap) => heap.drain_sorted(),
        }
    }
}

/// A binary min-heap ordered by `cmp`, ties broken by insertion sequence (FIFO among
/// equal items). The comparison is a function pointer captured where `T: Ord` is
/// known, so the queue type itself needs no `Ord` bound.
pub(crate) struct Heap<T> {
    items: Vec<(u64, T)>,
    /// The sequence number of the next item put at the back; counts up from
    /// [`MIDDLE`].
    next_seq: u64,
    /// The sequence number of the next item put at the front; counts down from
    /// just below [`MIDDLE`].
    front_seq: u64,
    cmp: fn(&T, &T) -> Ordering,
}

/// Where sequence numbers start when the heap is empty: 2^63 puts either way
/// would take centuries.
const MIDDLE: u64 = 1 << 63;

impl<T> Heap<T> {
    pub(crate) fn new() -> Self
    where
        T: Ord,
    {
        Self {
            items: Vec::new(),
            next_seq: MIDDLE,
            front_seq: MIDDLE - 1,
            cmp: T::cmp,
        }
    }

    /// Whether `a` comes out before `b`.
    fn before(&self, a: usize, b: usize) -> bool {
        let (sa, a) = &self.items[a];
        let (sb, b) = &self.items[b];
        (self.cmp)(a, b).then(sa.cmp(sb)) == Ordering::Less
    }

    fn push(&mut self, item: T) {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        self.push_with(seq, item);
    }

    fn push_front(&mut self, item: T) {
        let seq = self.front_seq;
        self.front_seq = self.front_seq.wrapping_sub(1);
        self.push_with(seq, item);
    }

    fn push_with(&mut self, seq: u64, item: T) {
        self.items.push((seq, item));
        self.sift_up(self.items.len() - 1);
    }

    /// Pushes `item` at the front of the order (first among equals) without
    /// sorting it in: the heap may be out of order afterwards.
    fn push_unsorted(&mut self, item: T) {
        let seq = self.front_seq;
        self.front_seq = self.front_seq.wrapping_sub(1);
        self.items.push((seq, item));
    }

    /// Every item, in the order `pop` gives them. Sorted in place, so a panicking
    /// `Ord` leaves every item in the heap (out of order).
    fn drain_sorted(&mut self) -> Vec<T> {
        let cmp = self.cmp;
        self.items
            .sort_unstable_by(|(sa, a), (sb, b)| cmp(a, b).then(sa.cmp(sb)));
        self.next_seq = MIDDLE;
        self.front_seq = MIDDLE - 1;
        self.items.drain(..).map(|(_, item)| item).collect()
    }

    /// Moves the item at `at` up to its place (only swaps: a panic in `cmp`
    /// leaves every item in the heap).
    fn sift_up(&mut self, mut at: usize) {
        while at > 0 {
            let parent = (at - 1) / 2;
            if !self.before(at, parent) {
                break;
            }
            self.items.swap(at, parent);
            at = parent;
        }
    }

    fn pop(&mut self) -> Option<T> {
        if self.items.is_empty() {
            return None;
        }
        // Move the first item to the end, restore the heap above it, and only then
        // take it off: if `cmp` panics while restoring, the item is still in the
        // queue (out of order) instead of being dropped during the unwind.
        let last = self.items.len() - 1;
        self.items.swap(0, last);
        let len = last;
        let mut at = 0;
        loop {
            let (left, right) = (2 * at + 1, 2 * at + 2);
            let mut next = at;
            if left < len && self.before(left, next) {
                next = left;
            }
            if right < len && self.before(right, next) {
                next = right;
            }
            if next == at {
                break;
            }
            self.items.swap(at, next);
            at = next;
        }
        let (_, first) = self.items.pop().expect("the heap was not empty");
        if len == 0 {
            self.next_seq = MIDDLE;
            self.front_seq = MIDDLE - 1;
        }
        Some(first)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn priority_is_smallest_first_and_stable() {
        #[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
        struct Key(u8);
        let mut heap = Heap::new();
        let items = [(3, 'a'), (1, 'b'), (3, 'c'), (2, 'd'), (1, 'e'), (3, 'f')];
        // Order by the number only: compare wrappers that ignore the letter.
        #[derive(Debug)]
        struct ByNum(u8, char);
        impl PartialEq for ByNum {
            fn eq(&self, other: &Self) -> bool {
                self.0 == other.0
            }
        }
        impl Eq for ByNum {}
        impl PartialOrd for ByNum {
            fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
                Some(self.cmp(other))
            }
        }
        impl Ord for ByNum {
            fn cmp(&self, other: &Self) -> Ordering {
                self.0.cmp(&other.0)
            }
        }
        let mut by_num = Heap::new();
        for (n, c) in items {
            by_num.push(ByNum(n, c));
            heap.push(Key(n));
        }
        let out: Vec<char> = core::iter::from_fn(|| by_num.pop()).map(|i| i.1).collect();
        assert_eq!(out, ['b', 'e', 'd', 'a', 'c', 'f']);
        let keys: Vec<u8> = core::iter::from_fn(|| heap.pop()).map(|k| k.0).collect();
        assert_eq!(keys, [1, 1, 2, 3, 3, 3]);
    }

    #[test]
    fn drain_all_follows_pop_order() {
        let mut lifo = Buffer::Lifo(Vec::new());
        let mut fifo = Buffer::Fifo(VecDeque::new());
        let mut prio = Buffer::Priority(alloc::boxed::Box::new(Heap::new()));
        for i in [2, 0, 1] {
            lifo.push(i);
            fifo.push(i);
            prio.push(i);
        }
        assert_eq!(lifo.drain_all(), [1, 0, 2]);
        assert_eq!(fifo.drain_all(), [2, 0, 1]);
        assert_eq!(prio.drain_all(), [0, 1, 2]);
        assert_eq!(prio.len(), 0);
    }
}
