//! A histogram in bounded memory: log-linear buckets with a relative precision under 1%.
//!
//! Values below 128 get a bucket each. Above, every power-of-two range `[2^e, 2^(e+1))` is cut
//! into 128 equal buckets, so a bucket is never wider than 1/128 (0.8%) of the values it holds.
//! That covers all of `u64` in 7,424 counters (58 KiB) however many values are recorded; the
//! alternative, a `Vec` of every sample, grows by 8 bytes per message, gigabytes on a long run
//! at a million messages a second. (HdrHistogram is the well-known form of this idea.)
//!
//! # Invariants
//!
//! - `counts[bucket(v)]` counts every recorded `v`, and `total` is the sum of `counts`.
//! - `min` and `max` are exact: they are kept beside the buckets, not derived from them.

/// The number of bits of a value kept below its leading one: `2^SUB_BITS` buckets per power of
/// two. 7 bits gives the 0.8% precision; each extra bit halves the error and doubles the size.
const SUB_BITS: u32 = 7;

/// Buckets per power of two, and the number of values small enough to have a bucket each.
const SUB_BUCKETS: u64 = 1 << SUB_BITS;

/// One bucket per small value, then `SUB_BUCKETS` for each power of two from `2^SUB_BITS` up to
/// `2^63`: `(64 - SUB_BITS + 1) * SUB_BUCKETS` in all.
const BUCKETS: usize = (64 - SUB_BITS as usize + 1) * SUB_BUCKETS as usize;

/// Counts of `u64` values (latencies in nanoseconds, for the echo client), by bucket.
pub struct Histogram {
    counts: Box<[u64]>,
    total: u64,
    min: u64,
    max: u64,
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Histogram {
        Histogram {
            counts: vec![0; BUCKETS].into_boxed_slice(),
            total: 0,
            min: u64::MAX,
            max: 0,
        }
    }

    /// Counts one value.
    pub fn record(&mut self, value: u64) {
        self.counts[bucket(value)] += 1;
        self.total += 1;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
    }

    /// The largest value recorded, exactly; 0 when nothing was.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The value below which a fraction `q` (0.0 to 1.0) of the recorded values fall: the
    /// highest value of the bucket holding the `ceil(q * total)`-th smallest value, so it
    /// overstates by less than 1%, and never reports beyond the exact `min`..`max` range.
    /// 0 when nothing was recorded.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        // The float-to-int `as` saturates, and `clamp` keeps the rank among the samples.
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (index, &count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return highest_in_bucket(index).clamp(self.min, self.max);
            }
        }
        unreachable!("`total` is the sum of `counts`, so the loop reaches `rank`")
    }
}

/// The bucket that counts `value`.
fn bucket(value: u64) -> usize {
    if value < SUB_BUCKETS {
        return value as usize;
    }
    // How far `value` must be shifted right to keep SUB_BITS bits below its leading one.
    let shift = 63 - value.leading_zeros() - SUB_BITS;
    // `value >> shift` lies in [SUB_BUCKETS, 2 * SUB_BUCKETS), so consecutive shifts tile the
    // index space without gaps, right after the one-per-value buckets.
    ((u64::from(shift) << SUB_BITS) + (value >> shift)) as usize
}

/// The highest value that [`bucket`] maps to `index`.
fn highest_in_bucket(index: usize) -> u64 {
    let index = index as u64;
    if index < SUB_BUCKETS {
        return index;
    }
    let shift = index / SUB_BUCKETS - 1;
    let top = index % SUB_BUCKETS + SUB_BUCKETS;
    // Written so the last bucket (top = 255, shift = 56) ends at u64::MAX without overflowing.
    (top << shift) + ((1 << shift) - 1)
}
