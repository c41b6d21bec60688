//! What every tokio criterion bench here shares: the measurement settings, equal to evloop's
//! (`benches/support/setup.rs` at the root: keep the two in step), and a tokio current_thread
//! runtime.

use std::time::Duration;

use criterion::Criterion;
use tokio::runtime::Runtime;

/// One second of warm-up, three of measurement, 50 samples: evloop's settings, so that a figure
/// here and the one of the same name without the `tokio_` prefix are measured alike.
pub fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50)
}

/// A tokio current_thread runtime with I/O and timers, created outside the timed part of a
/// bench: the single-threaded runtime evloop is compared with.
pub fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("creating a tokio current_thread runtime")
}
