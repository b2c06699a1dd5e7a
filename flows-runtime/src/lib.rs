//! Flowgate's flows: the step model, its validation, compilation to one Rhai program, and the
//! executor. No I/O: the server hands in a parsed request and gets an [`Outcome`] back.
//!
//! Without the `engine` feature only the serde model, [`Limits`], the trace types and the
//! structural validation are built (for the wasm UI and the wire crate).
//!
//! The flow language is described for integration designers in `docs/flows.md`.
//!
//! ```
//! # #[cfg(feature = "engine")]
//! # fn main() {
//! use flows_runtime::model::Step;
//! use flows_runtime::{parse_body, FlowResult, Input, Limits, ResponseBody, Runtime};
//!
//! let steps: Vec<Step> = serde_json::from_str(r##"[
//!     {"type": "map", "to": "m", "fields": {"id": "$.request.body.id"}},
//!     {"type": "respond", "status": 200, "body_expr": "#{key: `USER:${vars.m.id}`}"}
//! ]"##).unwrap();
//! let runtime = Runtime::new(Limits::default()); // once, shared
//! let flow = runtime.compile(&steps).unwrap(); // when a version is published
//! let input = Input {
//!     method: "POST".into(),
//!     path: "/t/acme/users".into(),
//!     query: Default::default(),
//!     headers: Default::default(),
//!     body: parse_body(Some("application/json"), br#"{"id": "42"}"#).unwrap(),
//!     caller: None,
//!     execution_id: None,
//! };
//! let outcome = runtime.execute(&flow, &input); // per call, on a blocking thread
//! match outcome.result {
//!     FlowResult::Responded { status, body, .. } => {
//!         assert_eq!(status, 200);
//!         assert_eq!(body, ResponseBody::Json(serde_json::json!({"key": "USER:42"})));
//!     }
//!     other => panic!("{other:?}"),
//! }
//! # }
//! # #[cfg(not(feature = "engine"))]
//! # fn main() {}
//! ```

pub mod model;

mod caller;
pub use caller::{Caller, CallerKind};

mod limits;
mod template;
mod trace;
mod validate;

pub use limits::Limits;
pub use template::{parse_template, TemplatePart};
pub use trace::{
    EmittedEvent, HttpCallTrace, LogEntry, StepSnapshot, StepStatus, StepTrace,
    MAX_CALL_EXCERPT_BYTES, MAX_EVENTS_PER_RUN, MAX_EVENTS_TOTAL_BYTES, MAX_EVENT_PAYLOAD_BYTES,
    MAX_SNAPSHOT_BYTES,
};
pub use validate::{
    event_type_problem, header_problem, is_http_url, is_identifier, secret_name_problem,
    table_name_problem, validate_flow_structure, validate_structure, ValidationError, MAX_DEPTH,
    MAX_HTTP_RESPONSE_BYTES, MAX_HTTP_RETRIES, MAX_HTTP_TIMEOUT_MS, MAX_JSONPATH_BYTES,
    MAX_SNIPPET_BYTES, MAX_STEPS,
};

#[cfg(feature = "engine")]
mod body;
#[cfg(feature = "engine")]
mod caught;
#[cfg(feature = "engine")]
mod codegen;
#[cfg(feature = "engine")]
mod convert;
#[cfg(feature = "engine")]
mod engine;
#[cfg(feature = "engine")]
mod functions;
#[cfg(feature = "engine")]
mod guard;
#[cfg(feature = "engine")]
mod http_fn;
#[cfg(feature = "engine")]
mod io;
#[cfg(feature = "engine")]
mod jsonpath;
#[cfg(feature = "engine")]
mod outcome;
#[cfg(feature = "engine")]
mod run;
#[cfg(feature = "engine")]
mod run_state;
#[cfg(feature = "engine")]
mod scan;
#[cfg(feature = "engine")]
mod sql_fn;
#[cfg(feature = "engine")]
mod store_fn;

#[cfg(feature = "engine")]
pub use body::{parse_body, Body, BodyError, Input};
#[cfg(feature = "engine")]
pub use codegen::CompiledFlow;
#[cfg(feature = "engine")]
pub use guard::TOTAL_SIZE_FACTOR;
#[cfg(feature = "engine")]
pub use io::{
    DataStore, HttpClient, HttpExchange, HttpRequest, HttpResponse, RequestBody, SqlAnswer,
    SqlClient, SqlRequest, StoreRead, StoreWrite, StoredRecord,
};
#[cfg(feature = "engine")]
pub use jsonpath::JsonPath;
#[cfg(feature = "engine")]
pub use outcome::{FlowResult, Outcome, ResponseBody, RuntimeError};
#[cfg(feature = "engine")]
pub use run::{compile, OverBudget, Runtime, RECOMMENDED_THREAD_STACK_BYTES, RUN_STACK_BYTES};
#[cfg(feature = "engine")]
pub use run_state::{MAX_LOG_ENTRIES, MAX_LOG_MESSAGE_BYTES};

#[cfg(all(test, feature = "engine"))]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn shared_types_are_send_and_sync() {
        assert_send_sync::<Runtime>();
        assert_send_sync::<CompiledFlow>();
        assert_send_sync::<Outcome>();
    }
}
