//! A tiny deterministic pseudo-random generator (xorshift64*), so benches can draw random
//! deadlines without a dependency on `rand` in the root crate.

/// xorshift64* (Vigna, 2016): fast, seeded, and good enough to scatter timer deadlines.
pub struct XorShift(u64);

impl XorShift {
    /// A generator seeded with `seed` (zero is replaced, since xorshift would stay at zero).
    pub fn new(seed: u64) -> XorShift {
        XorShift(seed.max(1))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..bound` (the modulo bias is negligible for the bounds used here).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }
}
