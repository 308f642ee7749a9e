//! The integration tests, one binary: each file below was its own test crate, and
//! each crate linked burn and the lab again (a release link per file, on every
//! change), and cargo ran the binaries one after another, so one long
//! single-threaded test left the second core idle. As modules of one binary they
//! link once and the test harness runs them side by side (`RUST_TEST_THREADS`,
//! default: the number of cores). `cargo test --test it MODULE::` runs one file's
//! tests.

mod algorithms;
mod architecture;
mod cli;
mod corpus;
mod data_properties;
mod induction;
mod learning;
mod lessons;
mod parity;
mod reproduce;
mod wgpu_backend;
