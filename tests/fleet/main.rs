//! The device tests in one binary: real emulated printers (spool, engine, renderer, INFRA and
//! Universal Print clients) against the real cloud on loopback, and the `printlab` commands
//! that read their configuration and spool. The harness is `printlab-testkit-fleet`.

mod device_config;
mod device_infra;
mod device_interop;
mod device_registration;
mod device_runtime;
mod device_spool_crash;
mod device_universal_print;
mod fleet_http2;
mod fleet_job_wakeups;
mod graph_printers;
mod identify_printer;
mod ipp_everywhere;
mod ipp_everywhere_subscriptions;
mod lab_dashboard_events;
mod nup_layout_doors;
mod output_limits;
mod oxps;
mod page_range_doors;
mod printer_consumables;
mod queued_jobs;
