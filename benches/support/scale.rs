//! Turning a measurement over `done` operations into criterion's `iters` operations.

use std::time::Duration;

/// `elapsed` measured over `done` operations, rescaled to `wanted` operations; used where a
/// bench must round the work criterion asked for up to whole rounds or batches.
pub fn rescale(elapsed: Duration, done: u64, wanted: u64) -> Duration {
    if done == wanted || done == 0 {
        return elapsed;
    }
    let nanos = elapsed.as_nanos() * u128::from(wanted) / u128::from(done);
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}
