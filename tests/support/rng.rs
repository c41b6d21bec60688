//! A small seeded pseudo-random generator for tests that draw sizes, bytes and operations at
//! random: the same seed replays the same draws, so a failure can be reproduced from the seed
//! its test printed.

#![allow(
    dead_code,
    reason = "each test crate that includes this module uses a subset of it"
)]

use std::ops::Range;

/// splitmix64 (Steele, Lea and Flood, 2014): one add and a few multiply-xorshifts per draw,
/// every seed is valid (zero included), and nearby seeds give unrelated streams, so seed `n`
/// can simply be a connection's index.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator whose draws are determined by `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `range` (which must not be empty). The modulo bias is below 2^-40 for the
    /// ranges tests use (under a million values), far too small to matter.
    pub fn in_range(&mut self, range: Range<usize>) -> usize {
        assert!(!range.is_empty(), "empty range {range:?}");
        let span = (range.end - range.start) as u64;
        range.start + (self.next_u64() % span) as usize
    }

    /// True with probability `percent` / 100.
    pub fn percent(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(len + 8);
        while bytes.len() < len {
            bytes.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        bytes.truncate(len);
        bytes
    }
}
