//! Peers for evloop's benchmarks (see the crate description).
