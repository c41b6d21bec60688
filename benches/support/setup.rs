//! What every criterion bench here shares: the measurement settings and a runtime.

#![allow(dead_code)] // each bench uses a subset

use std::time::Duration;

use criterion::Criterion;
use evloop::Runtime;

/// One second of warm-up, three of measurement, 50 samples: the whole suite stays around a
/// minute and a half, and per-operation figures repeat within the machine's noise.
pub fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50)
}

/// A default runtime, created outside the timed part of a bench.
pub fn runtime() -> Runtime {
    Runtime::new().expect("creating an evloop runtime")
}
