//! The test harness (being built).
