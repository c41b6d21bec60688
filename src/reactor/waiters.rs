//! The futures waiting on one source: any number of them, each in an entry of its own, so that
//! one event wakes every future it satisfies.
//!
//! The `poll_*` methods of I/O types do not come here: they share one slot per direction in
//! [`ScheduledIo`](super::readiness::ScheduledIo), where the most recent waker wins. Futures
//! that can wait side by side on one direction (`accept()`, `readable()`, `ready()`) each take
//! an entry here instead, keyed by the [`WaiterKey`] they hold.
//!
//! # Invariants
//!
//! 1. An entry belongs to exactly one future, from its first `Pending` until the future is
//!    dropped (or completes), which removes it: the list never holds more entries than there
//!    are futures waiting on the source at that moment.
//! 2. The first [`INLINE`] entries live inside the source's state; only a waiter beyond those
//!    allocates (the spill slab, boxed, allocated once and reused for the source's life). One
//!    waiter per direction therefore never allocates.
//! 3. [`Waiters::wake`] *takes* the waker of every entry whose interest the event's bits meet;
//!    the entry stays, empty, until its future polls again and either finds readiness or puts
//!    a waker back. So an event wakes each satisfied future once, and a future woken without
//!    cause parks again after one poll instead of being woken in a loop.
//! 4. No waker is woken or dropped while `entries` is borrowed: wakers leave through
//!    `wake_later` or as a return value, because waking or dropping one runs user code that
//!    may come back to this list (a woken task dropping its own `readable()` future).
//! 5. `interest` is the union of the masks of the entries present; it only grows while any
//!    entry exists and returns to 0 when the last one leaves. An event that meets none of it
//!    skips the list without borrowing it, which keeps the common case (no such future) to one
//!    load and one test per event.

use std::cell::{Cell, RefCell};
use std::task::Waker;

use slab::Slab;

/// Entries stored inline, without allocation.
///
/// Two: the common shapes are one waiter per direction (an accept loop; a task in
/// `readable()` and another in `writable()`), and an entry is 24 bytes per source.
pub(crate) const INLINE: usize = 2;

/// Names a future's entry; given by [`Waiters::insert`], handed back to
/// [`Waiters::remove`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WaiterKey(usize);

/// One waiting future: the readiness bits that satisfy it, and its waker while it sleeps.
/// An inline entry with an empty `mask` is vacant (every waiter asks for some bit).
#[derive(Default)]
struct Entry {
    mask: u8,
    waker: Option<Waker>,
}

#[derive(Default)]
struct Entries {
    /// Keys `0..INLINE`; vacant where `mask` is 0.
    inline: [Entry; INLINE],
    /// Keys `INLINE..`: slab key `k` is `WaiterKey(INLINE + k)`.
    spilled: Option<Box<Slab<Entry>>>,
    len: usize,
}

impl Entries {
    fn get_mut(&mut self, key: WaiterKey) -> Option<&mut Entry> {
        match key.0.checked_sub(INLINE) {
            None => Some(&mut self.inline[key.0]).filter(|entry| entry.mask != 0),
            Some(spilled) => self.spilled.as_mut()?.get_mut(spilled),
        }
    }
}

/// The waiting futures of one source (see the module docs).
#[derive(Default)]
pub(crate) struct Waiters {
    entries: RefCell<Entries>,
    /// Union of the entries' masks (invariant 5).
    interest: Cell<u8>,
}

impl Waiters {
    /// Adds a future that waits for any of the readiness bits in `mask`.
    pub(crate) fn insert(&self, mask: u8, waker: Waker) -> WaiterKey {
        assert_ne!(mask, 0, "a waiter waits for some readiness");
        let mut entries = self.entries.borrow_mut();
        let entry = Entry {
            mask,
            waker: Some(waker),
        };
        let key = match entries.inline.iter().position(|entry| entry.mask == 0) {
            Some(index) => {
                entries.inline[index] = entry;
                WaiterKey(index)
            }
            None => {
                let spilled = entries.spilled.get_or_insert_with(Box::default);
                WaiterKey(INLINE + spilled.insert(entry))
            }
        };
        entries.len += 1;
        self.interest.set(self.interest.get() | mask);
        key
    }

    /// Stores `waker` in the entry `key` unless the waker there already wakes the same task.
    /// Returns the waker it replaces, for the caller to drop after this borrow (invariant 4).
    pub(crate) fn set_waker(&self, key: WaiterKey, waker: &Waker) -> Option<Waker> {
        let mut entries = self.entries.borrow_mut();
        let entry = entries
            .get_mut(key)
            .expect("a WaiterKey names an entry until its future removes it");
        match &entry.waker {
            Some(current) if current.will_wake(waker) => None,
            _ => entry.waker.replace(waker.clone()),
        }
    }

    /// Removes the entry `key`; returns its waker, for the caller to drop after this borrow.
    pub(crate) fn remove(&self, key: WaiterKey) -> Option<Waker> {
        let mut entries = self.entries.borrow_mut();
        let entry = match key.0.checked_sub(INLINE) {
            None => {
                Some(std::mem::take(&mut entries.inline[key.0])).filter(|entry| entry.mask != 0)
            }
            Some(spilled) => entries
                .spilled
                .as_mut()
                .and_then(|slab| slab.try_remove(spilled)),
        };
        let entry = entry.expect("a WaiterKey names an entry until its future removes it");
        entries.len -= 1;
        if entries.len == 0 {
            self.interest.set(0);
        }
        entry.waker
    }

    /// Hands to `wake_later` the waker of every entry whose mask meets `bits` (invariant 3).
    ///
    /// Inlined down to the test of `interest`, which is all an event costs when no future
    /// waits with an entry (invariant 5); the walk is out of line.
    #[inline(always)]
    pub(crate) fn wake(&self, bits: u8, wake_later: &mut Vec<Waker>) {
        if self.interest.get() & bits != 0 {
            self.wake_entries(bits, wake_later);
        }
    }

    #[inline(never)]
    fn wake_entries(&self, bits: u8, wake_later: &mut Vec<Waker>) {
        let mut entries = self.entries.borrow_mut();
        let Entries {
            inline, spilled, ..
        } = &mut *entries;
        // A vacant inline entry has an empty mask, so it never matches.
        let inline = inline.iter_mut();
        let spilled = spilled
            .iter_mut()
            .flat_map(|slab| slab.iter_mut().map(|(_, e)| e));
        for entry in inline.chain(spilled) {
            if entry.mask & bits != 0
                && let Some(waker) = entry.waker.take()
            {
                wake_later.push(waker);
            }
        }
    }

    /// Entries present (for tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.borrow().len
    }
}
