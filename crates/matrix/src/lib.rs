//! The capability matrix: does every combination of settings a printer advertises through Graph
//! actually print, and print right? Plans cases from what Graph shows (never from
//! `printers.toml`), prints each through Graph like any client, verifies the output pixels where
//! the lab makes them visible, and reports.

pub mod case;
pub mod document;
pub mod plan;
pub mod report;
pub mod run;
pub mod verify;

pub use case::{Case, Expectation, Finding};
