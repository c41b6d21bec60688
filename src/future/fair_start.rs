//! Where a `select!` poll starts: a per-thread pseudo-random branch index, so that a branch
//! that is always ready cannot starve the branches written after it.
//!
//! Why not a counter: a per-thread counter that every `select!` poll advances would do for one
//! `select!`, but two `select!`s of two branches each in one loop advance it by two per turn,
//! so each of them would start at the same branch every time: exactly the starvation this is
//! for. A pseudo-random sequence has no such period to fall into step with. It costs three
//! shifts and three xors per poll, and needs no dependency.
//!
//! The sequence is a fixed function of the thread's history of `select!` polls (every thread
//! starts from the same seed): runs are reproducible, and nothing about it is a promise beyond
//! "every branch gets its turn to be first".

use std::cell::Cell;

/// The generator's starting state (any non-zero value works for xorshift; this one is the
/// fractional part of the golden ratio, a common seed with well-mixed bits).
const SEED: u64 = 0x9E37_79B9_7F4A_7C15;

thread_local! {
    /// The xorshift64 state of this thread; never zero (xorshift maps non-zero to non-zero).
    static STATE: Cell<u64> = const { Cell::new(SEED) };
}

/// The branch a `select!` of `branches` branches polls first: in `0..branches`, or 0 if
/// `branches` is 0.
///
/// Implementation detail of [`select!`](crate::select!), public only so the macro can name
/// it.
///
/// ```
/// let first = evloop::future::__select_start(3);
/// assert!(first < 3);
/// ```
#[doc(hidden)]
pub fn select_start(branches: usize) -> usize {
    let random = STATE
        // During the thread's teardown the state may be gone: start at 0 (biased) then.
        .try_with(|state| {
            let mut x = state.get();
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            state.set(x);
            x
        })
        .unwrap_or(0);
    // The high 32 bits scaled to 0..branches: no division, and no bias worth the name for a
    // handful of branches.
    (((random >> 32) * branches as u64) >> 32) as usize
}

#[cfg(test)]
mod tests {
    use super::select_start;

    #[test]
    fn every_start_comes_up_and_none_is_out_of_range() {
        for branches in 1..=8 {
            let mut seen = vec![0usize; branches];
            for _ in 0..100 * branches {
                seen[select_start(branches)] += 1;
            }
            // 100 draws per branch on average: each is drawn many times.
            assert!(
                seen.iter().all(|&n| n >= 50),
                "{branches} branches: {seen:?}"
            );
        }
        assert_eq!(select_start(0), 0);
    }
}
