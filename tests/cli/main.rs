//! The `printlab` binary as a person runs it (`env!("CARGO_BIN_EXE_printlab")`, which only the
//! root package's tests have), and the client's resumable uploader in a killed child process.

mod cli_e2e;
mod cli_exit;
mod cli_job_options;
mod cli_lab;
mod cli_provision;
mod cli_upload;
mod cloud_cli;
mod cloud_ipp;
mod dashboard;
mod deployment;
mod dns_sd;
mod load;
mod matrix;
mod metrics;
mod printers_import;
mod pull_print;
mod transport_faults_cli;
mod up_tls;

/// A `printlab` child process (a cloud, a lab) killed when the test ends, pass or fail.
struct KilledOnDrop(std::process::Child);

impl Drop for KilledOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
