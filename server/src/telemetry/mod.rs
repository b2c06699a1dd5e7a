//! The tracing subscriber (pretty or JSON lines, filtered by RUST_LOG, default `info`), the
//! request spans, and the Prometheus metrics ([`metrics`]).

pub mod metrics;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use tracing::Span;
use tracing_actix_web::RootSpanBuilder;
use tracing_subscriber::EnvFilter;

/// The span of each HTTP request: method, path and, at the end, status and the execution it
/// created. Never the query string: consumers put credentials there (`?token=`, `?sig=`).
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        tracing::info_span!(
            "request",
            method = %request.method(),
            path = %request.path(),
            status = tracing::field::Empty,
            execution_id = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(
        span: Span,
        outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        let status = match outcome {
            Ok(resp) => {
                if let Some(id) = resp
                    .headers()
                    .get(flowgate_api::EXECUTION_HEADER)
                    .and_then(|v| v.to_str().ok())
                {
                    span.record("execution_id", id);
                }
                resp.status()
            }
            Err(e) => e.as_response_error().status_code(),
        };
        span.record("status", status.as_u16());
        // The access line: off by default (RUST_LOG=flowgate::access=debug turns it on).
        span.in_scope(|| tracing::debug!(target: "flowgate::access", "answered"));
    }
}

pub fn init(format: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = if format == "json" {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}

/// For tests: output captured by the test harness, once per process.
pub fn init_for_tests() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
    });
}
