//! Test runs: a flow run once on a sample call, with the same runtime and limits as real calls,
//! recording `vars` around each step, and writing nothing (no execution, no journal entry).

use std::collections::BTreeMap;
use std::sync::Arc;

use flowgate_api::{IntegrationDoc, ResponseSnapshot, TestRunIn, TestRunOut, TestStepOut};
use sea_orm::EntityTrait;

use super::{check_slug, find, flow_details, normal_path, parse_doc};
use crate::core::conclude::{answer_of, log_out, step_status};
use crate::core::trigger::{apply_query_params, refused_media_type};
use crate::db::entities::integration_draft;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// The execution id test-run answers name (nothing is recorded under it).
pub const TEST_RUN_ID: &str = "test-run";

/// The document a test run runs by default: the draft, else the published one.
async fn current_document(state: &AppState, slug: &str) -> AppResult<IntegrationDoc> {
    let m = find(state, slug).await?;
    match integration_draft::Entity::find_by_id(m.id.clone())
        .one(&state.db)
        .await?
    {
        Some(d) => parse_doc(&d.document),
        None => parse_doc(&m.document),
    }
}

/// What a real caller would have been answered before the flow ran (405, 415, 400, 413).
fn refused(err: AppError, headers: BTreeMap<String, String>) -> TestRunOut {
    let (status, _) = err.classify();
    TestRunOut {
        status: flowgate_api::ExecutionStatus::Failed,
        response: ResponseSnapshot {
            status,
            headers,
            body: serde_json::to_value(err.body()).unwrap_or_default(),
        },
        steps: Vec::new(),
        logs: Vec::new(),
        error: Some(err.to_string()),
        duration_us: 0,
    }
}

/// Runs a flow once: `input.document`, else the integration's draft, else its published
/// document. The call goes through the trigger's checks a real call meets (method, content
/// type, query parameters, size, body), except its API key; a call they refuse is answered
/// as it would be, with no step run.
pub async fn run(state: &AppState, slug: &str, input: TestRunIn) -> AppResult<TestRunOut> {
    check_slug(slug)?;
    let doc = match input.document {
        Some(d) => d,
        None => current_document(state, slug).await?,
    };
    let flow = state
        .runtime
        .compile_flow_capturing(&doc.steps, &doc.on_error)
        .map_err(|e| AppError::validation("the flow is invalid", flow_details(e)))?;
    let trigger = &doc.trigger;
    let trigger_shape = trigger.error_response.clone();
    let req = input.request;
    let method = req.method.trim().to_ascii_uppercase();
    let mut headers: BTreeMap<String, String> = req
        .headers
        .into_iter()
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v))
        .collect();
    let content_type = req
        .content_type
        .filter(|c| !c.trim().is_empty())
        .or_else(|| headers.get("content-type").cloned());
    if let Some(ct) = &content_type {
        headers.insert("content-type".to_owned(), ct.clone());
    }
    headers.remove("x-api-key");

    let methods: Vec<String> = trigger
        .methods
        .iter()
        .map(|m| m.trim().to_ascii_uppercase())
        .collect();
    if !methods.contains(&method) {
        let allow = BTreeMap::from([("allow".to_owned(), methods.join(", "))]);
        return Ok(refused(AppError::MethodNotAllowed(method), allow));
    }
    let accepted: Vec<String> = trigger
        .content_types
        .iter()
        .map(|c| c.trim().to_ascii_lowercase())
        .collect();
    if !req.body.is_empty() {
        if let Some(essence) = refused_media_type(&accepted, content_type.as_deref()) {
            return Ok(refused(
                AppError::UnsupportedMediaType(essence),
                BTreeMap::new(),
            ));
        }
    }
    let mut query = req.query;
    if let Err(name) = apply_query_params(&trigger.query_params, &mut query) {
        return Ok(refused(AppError::MissingQueryParam(name), BTreeMap::new()));
    }
    let limit = trigger.max_body_bytes;
    if req.body.len() as u64 > limit {
        return Ok(refused(
            AppError::PayloadTooLarge { limit },
            BTreeMap::new(),
        ));
    }
    let raw = req.body.into_bytes();
    let body = match flows_runtime::parse_body(content_type.as_deref(), &raw) {
        Ok(b) => b,
        Err(e) => {
            let err = AppError::InvalidBody {
                code: e.code(),
                message: e.to_string(),
            };
            return Ok(refused(err, BTreeMap::new()));
        }
    };
    let call = flows_runtime::Input {
        method,
        path: format!("/t/{}", normal_path(&trigger.path)),
        query,
        headers,
        body,
        caller: None,
        execution_id: None,
    };

    // On the blocking pool, like real calls that do not finish within the inline budget.
    let runtime = Arc::clone(&state.runtime);
    let outcome =
        tokio::task::spawn_blocking(move || runtime.execute_with_raw_body(&flow, &call, &raw))
            .await
            .map_err(|e| AppError::Internal(anyhow::anyhow!("the test run was aborted: {e}")))?;
    let (status, answer, error) = answer_of(TEST_RUN_ID, &outcome, trigger_shape.as_ref());
    let mut snapshots = outcome.snapshots.iter();
    let steps = outcome
        .steps
        .iter()
        .map(|s| {
            let snap = snapshots.next();
            TestStepOut {
                index: s.index.clone(),
                step_type: s.step_type.clone(),
                status: step_status(s.status).to_owned(),
                duration_us: s.duration_us,
                error: s.error.clone(),
                input: snap.and_then(|x| x.input.clone()),
                output: snap.and_then(|x| x.output.clone()),
                calls: s.calls.clone(),
            }
        })
        .collect();
    tracing::info!(integration = %slug, status = status.as_str(), "test run");
    Ok(TestRunOut {
        status,
        response: answer.snapshot(),
        steps,
        logs: outcome.logs.iter().map(log_out).collect(),
        error,
        duration_us: u64::try_from(outcome.duration.as_micros()).unwrap_or(u64::MAX),
    })
}
