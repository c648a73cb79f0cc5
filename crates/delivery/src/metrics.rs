//! Prometheus metrics, served at `GET /metrics`.

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus::{Encoder, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};

use crate::Shared;

/// Counts every request by its route (`/v1/messages`, ...; `unmatched` for no route), before
/// anything is checked, so refused requests count too.
pub async fn count_requests(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    shared.metrics.request(route);
    next.run(request).await
}

/// Every metric the server exports.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    /// Commits accepted.
    pub commits_accepted: IntCounter,
    /// Commits refused because another won their epoch.
    pub commits_rejected: IntCounter,
    /// Queue items written (one per recipient).
    pub delivered: IntCounter,
    /// Never-acknowledged items dropped by retention.
    pub retention_dropped: IntCounter,
    /// Failed authentications (bad signature, replay).
    pub auth_failures: IntCounter,
    /// Items waiting in all queues (refreshed on scrape).
    pub queue_depth: IntGauge,
    /// Open WebSocket connections (refreshed on scrape).
    pub ws_connections: IntGauge,
    /// Deliveries refused because a recipient's queue was full.
    pub queue_full: IntCounter,
    /// Bytes of the memory budget not taken (refreshed on scrape).
    pub memory_budget_free: IntGauge,
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("conclave_ds_requests_total", "Requests by endpoint"),
            &["endpoint"],
        )
        .expect("valid metric");
        let counter = |name: &str, help: &str| IntCounter::new(name, help).expect("valid metric");
        let gauge = |name: &str, help: &str| IntGauge::new(name, help).expect("valid metric");
        let m = Self {
            commits_accepted: counter("conclave_ds_commits_accepted_total", "Commits accepted"),
            commits_rejected: counter(
                "conclave_ds_commits_rejected_total",
                "Commits refused because another commit won the epoch",
            ),
            delivered: counter("conclave_ds_delivered_total", "Queue items written"),
            retention_dropped: counter(
                "conclave_ds_retention_dropped_total",
                "Never-acknowledged items dropped by the retention limit",
            ),
            auth_failures: counter("conclave_ds_auth_failures_total", "Failed authentications"),
            queue_depth: gauge("conclave_ds_queue_depth", "Items waiting in all queues"),
            ws_connections: gauge(
                "conclave_ds_websocket_connections",
                "Open WebSocket connections",
            ),
            queue_full: counter(
                "conclave_ds_queue_full_total",
                "Deliveries refused because a recipient's queue was full",
            ),
            memory_budget_free: gauge(
                "conclave_ds_memory_budget_free_bytes",
                "Bytes of the request memory budget not taken",
            ),
            requests,
            registry,
        };
        let collectors: [Box<dyn prometheus::core::Collector>; 10] = [
            Box::new(m.queue_full.clone()),
            Box::new(m.memory_budget_free.clone()),
            Box::new(m.requests.clone()),
            Box::new(m.commits_accepted.clone()),
            Box::new(m.commits_rejected.clone()),
            Box::new(m.delivered.clone()),
            Box::new(m.retention_dropped.clone()),
            Box::new(m.auth_failures.clone()),
            Box::new(m.queue_depth.clone()),
            Box::new(m.ws_connections.clone()),
        ];
        for c in collectors {
            m.registry.register(c).expect("unique metric names");
        }
        m
    }

    /// Counts a request to `endpoint`.
    fn request(&self, endpoint: &str) {
        self.requests.with_label_values(&[endpoint]).inc();
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}
