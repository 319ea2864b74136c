//! Prometheus metrics: request counts and latency histograms per route, database pool gauges,
//! the outbox's messages by delivery state.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Instant;

/// The process-wide recorder, installed on first use.
pub fn handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("http_request_duration_seconds".into()),
                    &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0],
                )
                .expect("valid buckets")
                .install_recorder()
                .expect("one metrics recorder per process")
        })
        .clone()
}

/// Records each request under its route template (never the raw path, to bound cardinality).
pub async fn track(req: Request, next: Next) -> Response {
    let route =
        req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let start = Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(start.elapsed().as_secs_f64());
    response
}

/// Sets the outbox gauges: messages pending, sent and failing (`outbox_messages{state}`). The
/// sender counts deliveries and failures itself (`mail_delivered_total`,
/// `mail_delivery_failures_total`, by kind).
pub async fn outbox_gauges(db: &ledger::Db) {
    match crate::notify::outbox::counts(db).await {
        Ok(c) => {
            for (state, n) in [("pending", c.pending), ("sent", c.sent), ("failing", c.failing)] {
                metrics::gauge!("outbox_messages", "state" => state).set(n as f64);
            }
        }
        Err(e) => tracing::warn!(error = %e, "compteurs des courriels indisponibles"),
    }
}

/// Sets the pool gauges and renders the text exposition format.
pub fn render(db: &ledger::Db) -> String {
    let pool = db.pool();
    let size = f64::from(pool.size());
    let idle = pool.num_idle() as f64;
    metrics::gauge!("db_pool_connections", "state" => "idle").set(idle);
    metrics::gauge!("db_pool_connections", "state" => "in_use").set((size - idle).max(0.0));
    metrics::gauge!("db_pool_max_connections").set(f64::from(pool.options().get_max_connections()));
    handle().render()
}
