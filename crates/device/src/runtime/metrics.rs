//! A fleet's Prometheus metrics, served by the process at `GET /metrics` (the devices' control
//! API, or the lab's address in `printlab up`): pages and sheets printed, jobs by how they
//! ended, printers by state, faults raised, long polls held, document bytes fetched and the
//! INFRA requests' latency by operation. Names follow Prometheus' conventions
//! (`printlab_device_` prefix, `_total` counters, `_seconds` histograms).

use super::PrinterHandle;
use printlab_graph::{GraphEnum, PrinterProcessingState};
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{
    HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
};

/// INFRA request latency buckets, in seconds, up to a held long poll.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0,
];

/// Every counter a fleet's printers record; cheap to clone (each is shared).
#[derive(Clone)]
pub struct FleetMetrics {
    /// `printlab_device_sheets_printed_total`.
    pub(crate) sheets: IntCounter,
    /// `printlab_device_pages_printed_total`: impressions, the printed sides.
    pub(crate) pages: IntCounter,
    /// `printlab_device_jobs_total{state}`: jobs by the state they ended in.
    pub(crate) jobs: IntCounterVec,
    /// `printlab_device_faults_raised_total{fault}`, by IPP keyword.
    pub(crate) faults: IntCounterVec,
    /// `printlab_device_long_polls`: Get-Notifications waiting at the service now.
    pub(crate) long_polls: IntGauge,
    /// `printlab_device_document_download_bytes_total`: document bytes fetched into the spool.
    pub(crate) download_bytes: IntCounter,
    /// `printlab_device_ipp_request_duration_seconds{operation}`: INFRA requests.
    pub(crate) ipp_requests: HistogramVec,
    /// Where [`FleetMetrics::watch_printers`] adds the printers-by-state gauge.
    registry: Option<Registry>,
}

impl Default for FleetMetrics {
    /// Metrics nobody scrapes (a fleet started without a registry, as in most tests).
    fn default() -> Self {
        Self::build(None).expect("the metric definitions are valid")
    }
}

impl FleetMetrics {
    fn build(registry: Option<Registry>) -> prometheus::Result<Self> {
        Ok(Self {
            sheets: IntCounter::new(
                "printlab_device_sheets_printed_total",
                "Media sheets the printers put out",
            )?,
            pages: IntCounter::new(
                "printlab_device_pages_printed_total",
                "Pages (impressions: printed sides) the printers put out",
            )?,
            jobs: IntCounterVec::new(
                Opts::new(
                    "printlab_device_jobs_total",
                    "Jobs the printers ended, by final state",
                ),
                &["state"],
            )?,
            faults: IntCounterVec::new(
                Opts::new(
                    "printlab_device_faults_raised_total",
                    "Faults raised (by a person, a schedule or a supply), by IPP keyword",
                ),
                &["fault"],
            )?,
            long_polls: IntGauge::new(
                "printlab_device_long_polls",
                "Get-Notifications long polls waiting at the service",
            )?,
            download_bytes: IntCounter::new(
                "printlab_device_document_download_bytes_total",
                "Document bytes fetched from the service",
            )?,
            ipp_requests: HistogramVec::new(
                HistogramOpts::new(
                    "printlab_device_ipp_request_duration_seconds",
                    "INFRA requests to the service by operation",
                )
                .buckets(LATENCY_BUCKETS.to_vec()),
                &["operation"],
            )?,
            registry,
        })
    }

    /// The metrics, registered in `registry`; fails if the names are taken there.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let metrics = Self::build(Some(registry.clone()))?;
        registry.register(Box::new(metrics.sheets.clone()))?;
        registry.register(Box::new(metrics.pages.clone()))?;
        registry.register(Box::new(metrics.jobs.clone()))?;
        registry.register(Box::new(metrics.faults.clone()))?;
        registry.register(Box::new(metrics.long_polls.clone()))?;
        registry.register(Box::new(metrics.download_bytes.clone()))?;
        registry.register(Box::new(metrics.ipp_requests.clone()))?;
        Ok(metrics)
    }

    /// Adds `printlab_device_printers{state}` for these printers, counted from their
    /// snapshots at each scrape (no bookkeeping on the printers' side).
    pub(crate) fn watch_printers(&self, printers: &[PrinterHandle]) -> prometheus::Result<()> {
        let Some(registry) = &self.registry else {
            return Ok(());
        };
        let gauge = IntGaugeVec::new(
            Opts::new("printlab_device_printers", "Printers by state"),
            &["state"],
        )?;
        registry.register(Box::new(PrinterStates {
            desc: gauge.desc().into_iter().cloned().collect(),
            gauge,
            printers: printers.to_vec(),
        }))
    }

    pub(crate) fn fault_raised(&self, keyword: &str) {
        self.faults.with_label_values(&[keyword]).inc();
    }

    /// A long poll, counted as waiting until the guard drops.
    pub(crate) fn long_poll(&self) -> LongPollHeld {
        self.long_polls.inc();
        LongPollHeld(self.long_polls.clone())
    }
}

/// Keeps the long-poll gauge one higher while it lives.
pub(crate) struct LongPollHeld(IntGauge);

impl Drop for LongPollHeld {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// `printlab_device_printers{state}`, computed when scraped.
struct PrinterStates {
    desc: Vec<Desc>,
    gauge: IntGaugeVec,
    printers: Vec<PrinterHandle>,
}

impl Collector for PrinterStates {
    fn desc(&self) -> Vec<&Desc> {
        self.desc.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        for state in PrinterProcessingState::ALL {
            self.gauge.with_label_values(&[state.as_str()]).set(0);
        }
        for printer in &self.printers {
            let state = printer.status.borrow().state;
            self.gauge.with_label_values(&[state.as_str()]).inc();
        }
        self.gauge.collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_names_register_once_per_registry() {
        let registry = Registry::new();
        let metrics = FleetMetrics::register(&registry).unwrap();
        assert!(FleetMetrics::register(&registry).is_err());
        metrics.fault_raised("media-jam");
        let held = metrics.long_poll();
        assert_eq!(metrics.long_polls.get(), 1);
        drop(held);
        assert_eq!(metrics.long_polls.get(), 0);
        let names: Vec<String> = registry
            .gather()
            .iter()
            .map(|f| f.name().to_string())
            .collect();
        assert!(names.contains(&"printlab_device_faults_raised_total".to_string()));
    }
}
