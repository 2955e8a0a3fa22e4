//! The cloud's Prometheus metrics (`GET /metrics`, [`printlab_serve::metrics_router`]): requests
//! by route and IPP operation, jobs by state, document bytes in and out, long polls held,
//! connections, and the store's flush time. Names follow Prometheus' conventions
//! (`printlab_cloud_` prefix, base units, `_total` counters, `_seconds` histograms).
//!
//! The metrics are registered in the [`Registry`] the embedding process gives
//! ([`crate::CloudOptions::metrics`]), so `printlab up` shows the cloud's and the devices' in
//! one scrape. Recording is a few atomic operations; nothing here allocates per request but the
//! label lookup.

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntGauge, IntGaugeVec, Opts, Registry,
};
use std::time::Instant;

/// Request latency buckets, in seconds: from a cached GET (under a millisecond) to a held long
/// poll (a minute).
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0,
];

/// sled flush buckets, in seconds.
const FLUSH_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];

/// Every metric the cloud records; cheap to clone (each is shared).
#[derive(Clone)]
pub struct CloudMetrics {
    /// `printlab_cloud_http_request_duration_seconds{route, method, code}`.
    pub(crate) http_requests: HistogramVec,
    /// `printlab_cloud_ipp_operation_duration_seconds{operation}`: INFRA and client IPP.
    pub(crate) ipp_operations: HistogramVec,
    /// `printlab_cloud_jobs{state}`: jobs in the store by Graph state.
    pub(crate) jobs: IntGaugeVec,
    /// `printlab_cloud_document_upload_bytes_total`: bytes stored through upload URLs.
    pub(crate) upload_bytes: IntCounter,
    /// `printlab_cloud_document_download_bytes_total`: document bytes sent (Graph `$value`,
    /// download URLs, Fetch-Document).
    pub(crate) download_bytes: IntCounter,
    /// `printlab_cloud_long_polls`: Get-Notifications held open now.
    pub(crate) long_polls: IntGauge,
    /// `printlab_cloud_connections`: open connections now.
    pub(crate) connections: IntGauge,
    /// `printlab_cloud_connections_accepted_total`.
    pub(crate) connections_accepted: IntCounter,
    /// `printlab_cloud_store_flush_duration_seconds`.
    pub(crate) store_flush: Histogram,
}

impl Default for CloudMetrics {
    /// Metrics nobody scrapes (a cloud opened without a registry, as in most tests).
    fn default() -> Self {
        Self::build().expect("the metric definitions are valid")
    }
}

impl CloudMetrics {
    fn build() -> prometheus::Result<Self> {
        let histogram = |name: &str, help: &str, buckets: &[f64]| {
            HistogramOpts::new(name, help).buckets(buckets.to_vec())
        };
        Ok(Self {
            http_requests: HistogramVec::new(
                histogram(
                    "printlab_cloud_http_request_duration_seconds",
                    "HTTP requests by route template, method and status code",
                    LATENCY_BUCKETS,
                ),
                &["route", "method", "code"],
            )?,
            ipp_operations: HistogramVec::new(
                histogram(
                    "printlab_cloud_ipp_operation_duration_seconds",
                    "IPP operations (INFRA devices and IPP clients) by operation",
                    LATENCY_BUCKETS,
                ),
                &["operation"],
            )?,
            jobs: IntGaugeVec::new(
                Opts::new("printlab_cloud_jobs", "Jobs in the store by Graph state"),
                &["state"],
            )?,
            upload_bytes: IntCounter::new(
                "printlab_cloud_document_upload_bytes_total",
                "Document bytes stored through upload URLs",
            )?,
            download_bytes: IntCounter::new(
                "printlab_cloud_document_download_bytes_total",
                "Document bytes sent to clients and devices",
            )?,
            long_polls: IntGauge::new(
                "printlab_cloud_long_polls",
                "Get-Notifications requests held open",
            )?,
            connections: IntGauge::new("printlab_cloud_connections", "Open connections")?,
            connections_accepted: IntCounter::new(
                "printlab_cloud_connections_accepted_total",
                "Connections accepted",
            )?,
            store_flush: Histogram::with_opts(histogram(
                "printlab_cloud_store_flush_duration_seconds",
                "Time to make the store's writes durable (sled flush)",
                FLUSH_BUCKETS,
            ))?,
        })
    }

    /// The metrics, registered in `registry`; fails if the names are taken there.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let metrics = Self::build()?;
        registry.register(Box::new(metrics.http_requests.clone()))?;
        registry.register(Box::new(metrics.ipp_operations.clone()))?;
        registry.register(Box::new(metrics.jobs.clone()))?;
        registry.register(Box::new(metrics.upload_bytes.clone()))?;
        registry.register(Box::new(metrics.download_bytes.clone()))?;
        registry.register(Box::new(metrics.long_polls.clone()))?;
        registry.register(Box::new(metrics.connections.clone()))?;
        registry.register(Box::new(metrics.connections_accepted.clone()))?;
        registry.register(Box::new(metrics.store_flush.clone()))?;
        Ok(metrics)
    }

    /// One job moved from `before` (none: new) to `after` (none: deleted).
    pub(crate) fn job_moved(&self, before: Option<&str>, after: Option<&str>) {
        if before == after {
            return;
        }
        if let Some(state) = before {
            self.jobs.with_label_values(&[state]).dec();
        }
        if let Some(state) = after {
            self.jobs.with_label_values(&[state]).inc();
        }
    }

    /// Times an IPP operation until the guard drops.
    pub(crate) fn ipp_operation(&self, operation: &str) -> prometheus::HistogramTimer {
        self.ipp_operations
            .with_label_values(&[operation])
            .start_timer()
    }

    /// A held long poll, counted until the guard drops.
    pub(crate) fn long_poll(&self) -> GaugeHeld {
        self.long_polls.inc();
        GaugeHeld(self.long_polls.clone())
    }
}

/// Keeps a gauge one higher while it lives.
pub(crate) struct GaugeHeld(IntGauge);

impl Drop for GaugeHeld {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Middleware (a route layer, so the route template is known): times each request by route,
/// method and status code. Routes are templates (`/v1.0/print/printers/{id}`), never ids, so the
/// label values stay few.
pub(crate) async fn track_http(
    State(metrics): State<CloudMetrics>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let method = request.method().as_str().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    metrics
        .http_requests
        .with_label_values(&[&route, &method, response.status().as_str()])
        .observe(started.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_moving_between_states_moves_the_gauge() {
        let metrics = CloudMetrics::default();
        metrics.job_moved(None, Some("pending"));
        metrics.job_moved(Some("pending"), Some("processing"));
        metrics.job_moved(Some("processing"), Some("processing"));
        let value = |state: &str| metrics.jobs.with_label_values(&[state]).get();
        assert_eq!((value("pending"), value("processing")), (0, 1));
        metrics.job_moved(Some("processing"), None);
        assert_eq!(value("processing"), 0);
    }

    #[test]
    fn the_names_register_once_per_registry() {
        let registry = Registry::new();
        CloudMetrics::register(&registry).unwrap();
        assert!(CloudMetrics::register(&registry).is_err());
    }
}
