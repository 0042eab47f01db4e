//! [`CancellationToken`]: cooperative cancellation shared by clones and inherited by
//! child tokens.

use alloc::vec::Vec;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

use pin_project_lite::pin_project;

use crate::sync::waiters::{Slab, WakeList, keep_stale, update_waker, with_stale};
use crate::sync_facade::{Arc, AtomicBool, BlockingMutex, Ordering};

/// A token that asks work to stop: cooperative cancellation, asyncio's
/// `task.cancel()` for code that wants to clean up before it returns.
///
/// Clones share one cancellation state: [`cancel`](Self::cancel) on any clone
/// cancels them all and wakes every task waiting in
/// [`cancelled`](Self::cancelled). A [`child_token`](Self::child_token) is cancelled
/// with its parent (and with the parent's parent, and so on), never the other way
/// round. Cancellation is final.
///
/// Where `asyncio` raises `CancelledError` inside the task, the Rust ways are to drop
/// the future (hard cancellation, see [`JoinHandle::abort`](super::JoinHandle::abort))
/// or to let the work watch a token (this type), which lets it run async cleanup
/// first.
///
/// Works without `std` (it needs only `alloc` and atomics).
///
/// # Memory
///
/// A parent keeps a slot per child token that is still alive; the slot is freed when
/// the child is cancelled or when its last clone (and the last token of its own
/// subtree) is dropped, so short-lived children do not pile up in a long-lived
/// parent.
///
/// # Examples
///
/// ```
/// use async_patterns::task::CancellationToken;
///
/// # futures_lite::future::block_on(async {
/// let token = CancellationToken::new();
/// let worker = {
///     let token = token.child_token();
///     async move {
///         let mut rounds = 0;
///         while !token.is_cancelled() {
///             rounds += 1;
///             if rounds == 3 {
///                 break;
///             }
///         }
///         token.cancelled().await; // waits until the parent cancels
///         "cleaned up"
///     }
/// };
/// let stopper = async { token.cancel() };
/// let (out, ()) = futures_lite::future::zip(worker, stopper).await;
/// assert_eq!(out, "cleaned up");
/// # });
/// ```
pub struct CancellationToken {
    node: Arc<Node>,
}

struct Node {
    /// Set once, with `state` locked; read without the lock by `is_cancelled`.
    cancelled: AtomicBool,
    state: BlockingMutex<NodeState>,
}

/// A child's link to its parent: the parent, and the child's slot in the
/// parent's `children`.
type Link = (Arc<Node>, usize);

struct NodeState {
    /// Live `CancellationToken`s (clones) of this node.
    handles: usize,
    /// Tasks waiting in `cancelled()`; drained (and never filled again) by `cancel`.
    waiters: Slab<Waker>,
    /// Child nodes still attached (a child detaches when its handles and its own
    /// children are all gone, or when it is the token a `cancel` was called on;
    /// the other cancelled children go with the list when this node is
    /// cancelled).
    children: Slab<Arc<Node>>,
    /// A `cancel` is under way: no child attaches any more (see [`cancel`]).
    closing: bool,
    /// The parent and this node's slot in the parent's `children`.
    parent: Option<Link>,
}

impl NodeState {
    /// Nothing can reach this node any more except through its parent's cancel.
    fn unreferenced(&self) -> bool {
        self.handles == 0 && self.children.len() == 0
    }
}

impl Node {
    fn new(parent: Option<Link>, cancelled: bool) -> Self {
        Self {
            cancelled: AtomicBool::new(cancelled),
            state: BlockingMutex::new(NodeState {
                handles: 1,
                waiters: Slab::new(),
                children: Slab::new(),
                closing: false,
                parent,
            }),
        }
    }

    fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }
}

/// Cancels `node` and its whole subtree, in two walks that never lock two nodes
/// at once:
///
/// 1. Top down, breadth first: each node not yet cancelled is marked `closing`
///    (from then on a child token made on it is born cancelled, so its list of
///    children only shrinks) and its children are collected.
/// 2. Bottom up (the collected nodes in reverse, `node` last): each node is
///    marked cancelled, its waiters are taken and its children let go; `node`
///    itself leaves its parent's list.
///
/// So a thread that sees a token cancelled sees its descendants cancelled too,
/// and a `cancel` that meets another one under way does not return before the
/// whole subtree is cancelled: it walks the same nodes (the other walk lets go of
/// a node's children only once the node is cancelled, after its children) and
/// marks what is left. The wakes come last, so that a waker that panics cannot
/// leave part of the tree uncancelled.
fn cancel(node: &Arc<Node>) {
    if node.is_cancelled() {
        return;
    }
    // The descendants, breadth first (none, and no allocation, for a leaf).
    let mut nodes: Vec<Arc<Node>> = Vec::new();
    close(node, &mut nodes);
    let mut next = 0;
    while let Some(current) = nodes.get(next).cloned() {
        next += 1;
        close(&current, &mut nodes);
    }
    let mut wakes = WakeList::new();
    for current in nodes.iter().rev() {
        // A descendant's parent is cancelled by this walk, which lets go of its
        // whole list of children, so only `node` detaches from its parent.
        drop(mark_cancelled(current, &mut wakes));
    }
    let (parent, _children) = mark_cancelled(node, &mut wakes);
    if let Some((parent, slot)) = parent {
        detach(parent, slot);
    }
    wakes.wake();
}

/// Phase 1 of [`cancel`] on `node`: marks it `closing` unless it is cancelled
/// already (then its subtree is too), and adds its children to `nodes`.
fn close(node: &Node, nodes: &mut Vec<Arc<Node>>) {
    node.state.with(|state| {
        if !node.cancelled.load(Ordering::Relaxed) {
            state.closing = true;
            nodes.extend(state.children.iter_mut().map(|child| Arc::clone(child)));
        }
    });
}

/// Phase 2 of [`cancel`] on `node`: marks it cancelled unless it is already, and
/// adds its waiters to `wakes`. Gives back its parent link and its children, for
/// the caller to let go of after the lock, as everything a node lets go of.
fn mark_cancelled(node: &Node, wakes: &mut WakeList) -> (Option<Link>, Slab<Arc<Node>>) {
    node.state.with(|state| {
        if node.cancelled.load(Ordering::Relaxed) {
            return (None, Slab::new());
        }
        node.cancelled.store(true, Ordering::Release);
        state.waiters.drain().for_each(|w| wakes.push(Some(w)));
        let children = core::mem::replace(&mut state.children, Slab::new());
        (state.parent.take(), children)
    })
}

/// Removes slot `slot` from `parent`'s children, and walks up while that leaves a
/// parent with neither handles nor children.
fn detach(mut parent: Arc<Node>, mut slot: usize) {
    loop {
        // The child goes after the lock: it may be the last reference to a node
        // whose drop lets go of a waker (of a wait future that was leaked).
        let (next, _child) = parent.state.with(|state| {
            if parent.cancelled.load(Ordering::Relaxed) {
                // A cancelled parent drained its children already.
                return (None, None);
            }
            let child = state.children.remove(slot);
            let next = if state.unreferenced() {
                state.parent.take()
            } else {
                None
            };
            (next, Some(child))
        });
        match next {
            Some((grandparent, parent_slot)) => {
                parent = grandparent;
                slot = parent_slot;
            }
            None => return,
        }
    }
}

impl CancellationToken {
    /// A new token, not cancelled, without a parent.
    #[must_use]
    pub fn new() -> Self {
        Self {
            node: Arc::new(Node::new(None, false)),
        }
    }

    /// Cancels this token, its clones and all its child tokens, and wakes every task
    /// waiting in [`cancelled`](Self::cancelled). Calling it again does nothing.
    ///
    /// The tokens of the subtree are cancelled children first, so whoever sees a
    /// token cancelled sees its descendants cancelled too. When `cancel` returns,
    /// the whole subtree is cancelled, also when another thread cancels a token of
    /// it at the same time, and also a child token made meanwhile (born cancelled
    /// or cancelled before `cancel` returns). The waiters are woken after that.
    pub fn cancel(&self) {
        cancel(&self.node);
    }

    /// Whether the token is cancelled (by [`cancel`](Self::cancel) on it, a clone or
    /// an ancestor). One atomic load.
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        self.node.is_cancelled()
    }

    /// A future that resolves once the token is cancelled (at once if it already
    /// is).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future removes its waker; it holds nothing else.
    pub fn cancelled(&self) -> WaitForCancellation<'_> {
        WaitForCancellation {
            node: &self.node,
            key: None,
        }
    }

    /// [`cancelled`](Self::cancelled) holding a clone of the token instead of a
    /// borrow, for futures that must be `'static`.
    ///
    /// # Cancel safety
    ///
    /// As for [`cancelled`](Self::cancelled).
    pub fn cancelled_owned(self) -> WaitForCancellationOwned {
        WaitForCancellationOwned {
            token: self,
            key: None,
        }
    }

    /// A new token that is cancelled when this one is, and can be cancelled on its
    /// own without affecting this one. A child of a cancelled token is born
    /// cancelled, and so is one made while a [`cancel`](Self::cancel) of this token
    /// (or of an ancestor) is under way and has reached this token: the child may
    /// then be cancelled a moment before this token is.
    #[must_use]
    pub fn child_token(&self) -> CancellationToken {
        let parent = &self.node;
        let child = parent.state.with(|state| {
            if state.closing || parent.cancelled.load(Ordering::Relaxed) {
                return Arc::new(Node::new(None, true));
            }
            // The child's slot is its index in `children`; `Slab::insert` returns
            // it, so insert a placeholder-free node by reserving the key first.
            let key = state
                .children
                .insert_with(|key| Arc::new(Node::new(Some((Arc::clone(parent), key)), false)));
            Arc::clone(state.children.get_mut(key))
        });
        CancellationToken { node: child }
    }

    /// Runs `future` unless the token is cancelled first: `Some(output)` if it
    /// finished, `None` if the token was cancelled first (`future` is not polled
    /// again; it is dropped with the returned future, so drop that to let go of
    /// what `future` holds). Cancellation is checked before each poll of `future`.
    ///
    /// # Cancel safety
    ///
    /// Dropping the returned future drops `future`.
    pub fn run_until_cancelled<F: Future>(&self, future: F) -> RunUntilCancelled<'_, F> {
        RunUntilCancelled {
            cancelled: self.cancelled(),
            future,
        }
    }

    /// [`run_until_cancelled`](Self::run_until_cancelled) holding a clone of the
    /// token, for futures that must be `'static`.
    ///
    /// # Cancel safety
    ///
    /// Dropping the returned future drops `future`.
    pub fn run_until_cancelled_owned<F: Future>(self, future: F) -> RunUntilCancelledOwned<F> {
        RunUntilCancelledOwned {
            cancelled: self.cancelled_owned(),
            future,
        }
    }

    /// A guard that cancels the token when dropped, unless it is
    /// [`disarm`](DropGuard::disarm)ed: ties the lifetime of work to a scope.
    #[must_use = "dropping the guard at once cancels the token"]
    pub fn drop_guard(self) -> DropGuard {
        DropGuard { token: Some(self) }
    }
}

impl Default for CancellationToken {
    fn default() -> Self {
        Self::new()
    }
}

impl Clone for CancellationToken {
    fn clone(&self) -> Self {
        self.node.state.with(|state| state.handles += 1);
        Self {
            node: Arc::clone(&self.node),
        }
    }
}

impl Drop for CancellationToken {
    fn drop(&mut self) {
        let parent = self.node.state.with(|state| {
            state.handles -= 1;
            if state.unreferenced() {
                state.parent.take()
            } else {
                None
            }
        });
        if let Some((parent, slot)) = parent {
            detach(parent, slot);
        }
    }
}

impl fmt::Debug for CancellationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancellationToken")
            .field("is_cancelled", &self.is_cancelled())
            .finish()
    }
}

/// The engine of both wait futures: `key` is the waiter's slot once it registered.
fn poll_cancelled(node: &Node, key: &mut Option<usize>, waker: &Waker) -> Poll<()> {
    if node.is_cancelled() {
        *key = None;
        return Poll::Ready(());
    }
    with_stale(&node.state, |state, stale| {
        if node.cancelled.load(Ordering::Relaxed) {
            // `cancel` drained the slab, our slot included.
            *key = None;
            return Poll::Ready(());
        }
        match *key {
            Some(k) => update_waker(state.waiters.get_mut(k), waker, stale),
            None => *key = Some(state.waiters.insert(waker.clone())),
        }
        Poll::Pending
    })
}

fn drop_waiter(node: &Node, key: Option<usize>) {
    if let Some(k) = key {
        with_stale(&node.state, |state, stale| {
            // Cancelled: `cancel` drained the slab, our slot included.
            if !node.cancelled.load(Ordering::Relaxed) {
                keep_stale(stale, Some(state.waiters.remove(k)));
            }
        });
    }
}

/// Future of [`CancellationToken::cancelled`].
#[must_use = "futures do nothing unless polled"]
pub struct WaitForCancellation<'a> {
    node: &'a Arc<Node>,
    key: Option<usize>,
}

impl Future for WaitForCancellation<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        poll_cancelled(this.node, &mut this.key, cx.waker())
    }
}

impl Drop for WaitForCancellation<'_> {
    fn drop(&mut self) {
        drop_waiter(self.node, self.key);
    }
}

impl fmt::Debug for WaitForCancellation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitForCancellation")
            .field("is_cancelled", &self.node.is_cancelled())
            .finish()
    }
}

/// Future of [`CancellationToken::cancelled_owned`].
#[must_use = "futures do nothing unless polled"]
pub struct WaitForCancellationOwned {
    token: CancellationToken,
    key: Option<usize>,
}

impl Future for WaitForCancellationOwned {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        poll_cancelled(&this.token.node, &mut this.key, cx.waker())
    }
}

impl Drop for WaitForCancellationOwned {
    fn drop(&mut self) {
        drop_waiter(&self.token.node, self.key);
    }
}

impl fmt::Debug for WaitForCancellationOwned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitForCancellationOwned")
            .field("token", &self.token)
            .finish()
    }
}

/// The engine of both `run_until_cancelled` futures: cancellation is checked first.
fn poll_until_cancelled<W, F>(
    cancelled: &mut W,
    future: Pin<&mut F>,
    cx: &mut Context<'_>,
) -> Poll<Option<F::Output>>
where
    W: Future<Output = ()> + Unpin,
    F: Future,
{
    if Pin::new(cancelled).poll(cx).is_ready() {
        return Poll::Ready(None);
    }
    future.poll(cx).map(Some)
}

pin_project! {
    /// Future of [`CancellationToken::run_until_cancelled`].
    #[must_use = "futures do nothing unless polled"]
    pub struct RunUntilCancelled<'a, F> {
        cancelled: WaitForCancellation<'a>,
        #[pin]
        future: F,
    }
}

impl<F: Future> Future for RunUntilCancelled<'_, F> {
    type Output = Option<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        poll_until_cancelled(this.cancelled, this.future, cx)
    }
}

impl<F> fmt::Debug for RunUntilCancelled<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunUntilCancelled")
            .field("is_cancelled", &self.cancelled.node.is_cancelled())
            .finish_non_exhaustive()
    }
}

pin_project! {
    /// Future of [`CancellationToken::run_until_cancelled_owned`].
    #[must_use = "futures do nothing unless polled"]
    pub struct RunUntilCancelledOwned<F> {
        cancelled: WaitForCancellationOwned,
        #[pin]
        future: F,
    }
}

impl<F: Future> Future for RunUntilCancelledOwned<F> {
    type Output = Option<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        poll_until_cancelled(this.cancelled, this.future, cx)
    }
}

impl<F> fmt::Debug for RunUntilCancelledOwned<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunUntilCancelledOwned")
            .field("token", &self.cancelled.token)
            .finish_non_exhaustive()
    }
}

/// Cancels its token when dropped; see [`CancellationToken::drop_guard`].
#[must_use = "dropping the guard at once cancels the token"]
pub struct DropGuard {
    token: Option<CancellationToken>,
}

impl DropGuard {
    /// Gives the token back without cancelling it.
    pub fn disarm(mut self) -> CancellationToken {
        self.token
            .take()
            .expect("a DropGuard holds its token until disarmed or dropped")
    }
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        if let Some(token) = &self.token {
            token.cancel();
        }
    }
}

impl fmt::Debug for DropGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DropGuard")
            .field("token", &self.token)
            .finish()
    }
}
