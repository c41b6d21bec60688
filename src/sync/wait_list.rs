//! `WaitList`: the FIFO queue of waiting futures behind `Notify`, `Semaphore` and the bounded
//! channel's slots.
//!
//! Waiters live in a [`Slab`] and are chained in arrival order by index (`prev`/`next`), so a
//! waiter is found at the head in O(1) and removed from anywhere in O(1), with no pointers and
//! no `unsafe`.
//!
//! A waiter is in one of two places:
//! - **linked**: in the queue, waiting its turn;
//! - **unlinked**: taken out of the queue by whoever served it (a notification, permits, a
//!   close), but still stored, so the future that owns it can read the outcome at its next
//!   poll.
//!
//! # Invariants
//!
//! 1. A node leaves the slab only through [`WaitList::remove`], and only the future that pushed
//!    it calls that (when it completes or is dropped). So a [`WaitKey`] held by a future names
//!    that future's node for the future's whole life, even after a notifier unlinked it: slab
//!    slots are reused only after `remove`.
//! 2. `head`/`tail` and the `prev`/`next` links describe exactly the linked nodes, in the order
//!    they were pushed; `linked` counts them. An unlinked node has no links.
//! 3. No operation here wakes anything or runs user code: callers take the waker out and wake
//!    it after their own borrow of the list has ended.

use std::fmt;

use slab::Slab;

/// Names one waiter of a [`WaitList`]; valid until the owner removes it (invariant 1).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct WaitKey(usize);

/// A FIFO queue of waiters with O(1) push, pop and removal from the middle.
pub(crate) struct WaitList<T> {
    nodes: Slab<Node<T>>,
    /// The oldest linked waiter: the next to be served.
    head: Option<usize>,
    /// The newest linked waiter: where the next push goes behind.
    tail: Option<usize>,
    /// How many nodes are linked (unlinked nodes are stored but not counted).
    linked: usize,
}

struct Node<T> {
    value: T,
    /// `Some` while the node is linked (in the queue), `None` once it was served.
    links: Option<Links>,
}

#[derive(Clone, Copy)]
struct Links {
    prev: Option<usize>,
    next: Option<usize>,
}

impl<T> WaitList<T> {
    /// An empty list; allocates nothing until the first push.
    pub(crate) const fn new() -> Self {
        WaitList {
            nodes: Slab::new(),
            head: None,
            tail: None,
            linked: 0,
        }
    }

    /// Stores `value` as a linked waiter at the back of the queue.
    pub(crate) fn push_back(&mut self, value: T) -> WaitKey {
        let links = Links {
            prev: self.tail,
            next: None,
        };
        let index = self.nodes.insert(Node {
            value,
            links: Some(links),
        });
        match self.tail {
            Some(tail) => self.links_mut(tail).next = Some(index),
            None => self.head = Some(index),
        }
        self.tail = Some(index);
        self.linked += 1;
        WaitKey(index)
    }

    /// The oldest linked waiter, if any.
    pub(crate) fn front(&self) -> Option<WaitKey> {
        self.head.map(WaitKey)
    }

    /// Unlinks the oldest waiter and returns its key; the node stays stored for its owner.
    pub(crate) fn pop_front(&mut self) -> Option<WaitKey> {
        let key = self.front()?;
        self.unlink(key);
        Some(key)
    }

    /// Unlinks the newest waiter and returns its key (`Notify::notify_last`); the node stays
    /// stored for its owner.
    pub(crate) fn pop_back(&mut self) -> Option<WaitKey> {
        let key = self.tail.map(WaitKey)?;
        self.unlink(key);
        Some(key)
    }

    /// Takes `key` out of the queue (if it is still in it); the node stays stored. Returns
    /// whether it was linked.
    pub(crate) fn unlink(&mut self, key: WaitKey) -> bool {
        let Some(links) = self.nodes[key.0].links.take() else {
            return false;
        };
        match links.prev {
            Some(prev) => self.links_mut(prev).next = links.next,
            None => self.head = links.next,
        }
        match links.next {
            Some(next) => self.links_mut(next).prev = links.prev,
            None => self.tail = links.prev,
        }
        self.linked -= 1;
        true
    }

    /// Removes `key`'s node for good (unlinking it first if needed) and returns its value.
    ///
    /// # Panics
    ///
    /// Panics if `key` was already removed: only the owner may remove, and only once.
    pub(crate) fn remove(&mut self, key: WaitKey) -> T {
        self.unlink(key);
        self.nodes.remove(key.0).value
    }

    /// Whether `key` is still waiting in the queue (not yet served).
    pub(crate) fn is_linked(&self, key: WaitKey) -> bool {
        self.nodes[key.0].links.is_some()
    }

    /// The value stored for `key`.
    pub(crate) fn get(&self, key: WaitKey) -> &T {
        &self.nodes[key.0].value
    }

    /// The value stored for `key`, mutably.
    pub(crate) fn get_mut(&mut self, key: WaitKey) -> &mut T {
        &mut self.nodes[key.0].value
    }

    /// True if no waiter is linked (served but unremoved nodes do not count).
    pub(crate) fn is_empty(&self) -> bool {
        self.linked == 0
    }

    /// How many waiters are linked.
    pub(crate) fn len(&self) -> usize {
        self.linked
    }

    /// How many nodes are stored, linked or not (for tests: a leak shows up here).
    #[cfg(test)]
    pub(crate) fn stored(&self) -> usize {
        self.nodes.len()
    }

    fn links_mut(&mut self, index: usize) -> &mut Links {
        self.nodes[index]
            .links
            .as_mut()
            .expect("wait list: a linked node points at an unlinked one")
    }
}

impl<T> Default for WaitList<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> fmt::Debug for WaitList<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitList")
            .field("waiting", &self.linked)
            .field("stored", &self.nodes.len())
            .finish()
    }
}
