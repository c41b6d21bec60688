//! `PinnedBatch`: a vector of fixed capacity whose elements never move, so that `!Unpin`
//! futures (tokio's `Sleep`) can be kept in it and polled in place, as evloop's benches keep
//! their `Unpin` `Sleep`s in a `Vec`, without a `Box` per element that evloop does not pay.
//!
//! # Invariants
//!
//! 1. The vector never grows past the capacity it was created with (`push` panics first), so
//!    its buffer is never reallocated and an element's address is fixed from its `push` to its
//!    drop.
//! 2. Elements leave only by being dropped in place (`clear`, or the batch's own drop); no
//!    `&mut T` is ever handed out, only `Pin<&mut T>`.
//!
//! Together these are `Pin`'s contract: a pinned element is not moved, and its memory is not
//! reused before its destructor runs.

/// A batch of at most `capacity` elements, each pinned where it was pushed.
pub struct PinnedBatch<T> {
    items: Vec<T>,
}

impl<T> PinnedBatch<T> {
    /// An empty batch with room for `capacity` elements, all allocated now.
    pub fn with_capacity(capacity: usize) -> PinnedBatch<T> {
        PinnedBatch {
            items: Vec::with_capacity(capacity),
        }
    }

    /// Adds `item` and returns it, pinned. Panics if the batch is full: growing would move the
    /// elements already pinned (Invariant 1).
    pub fn push(&mut self, item: T) -> std::pin::Pin<&mut T> {
        assert!(
            self.items.len() < self.items.capacity(),
            "a PinnedBatch never grows"
        );
        self.items.push(item);
        let last = self.items.last_mut().expect("just pushed");
        // SAFETY: `last` lives in a buffer that is never reallocated (Invariant 1) and leaves
        // it only by being dropped in place (Invariant 2), so it is never moved.
        unsafe { std::pin::Pin::new_unchecked(last) }
    }

    /// Element `index`, pinned. Panics if there is none.
    pub fn get(&mut self, index: usize) -> std::pin::Pin<&mut T> {
        // SAFETY: as in `push`: the element stays where it is until it is dropped in place.
        unsafe { std::pin::Pin::new_unchecked(&mut self.items[index]) }
    }

    /// Drops every element in place; the capacity stays.
    pub fn clear(&mut self) {
        self.items.clear();
    }
}
