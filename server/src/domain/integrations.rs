//! Integrations: validate a document, compile its flow, save it as a new published version.

use std::collections::HashSet;

use flowgate_api::integrations::VersionOut;
use flowgate_api::{ErrorDetail, IntegrationDoc, IntegrationOut, TriggerAuth};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
    TransactionTrait,
};

use crate::db::entities::{api_key, integration, integration_version};
use crate::error::{AppError, AppResult};
use crate::registry::Route;
use crate::time::{now_us, rfc3339};
use crate::AppState;

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

fn detail(path: &str, message: impl Into<String>) -> ErrorDetail {
    ErrorDetail {
        path: path.to_owned(),
        step: None,
        field: None,
        message: message.into(),
    }
}

pub fn valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= 64
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && !slug.starts_with('-')
}

fn valid_path_segment(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~'))
        && s != "."
        && s != ".."
}

fn valid_media_range(s: &str) -> bool {
    match s.split_once('/') {
        Some((t, sub)) => {
            let ok = |p: &str| {
                !p.is_empty()
                    && (p == "*"
                        || p.chars()
                            .all(|c| c.is_ascii_alphanumeric() || "!#$&^_.+-".contains(c)))
            };
            ok(t) && ok(sub) && !(t == "*" && sub != "*")
        }
        None => false,
    }
}

/// Checks everything about a document except its flow; normalises what is harmless.
fn check_document(
    state: &AppState,
    doc: &mut IntegrationDoc,
    live_keys: &HashSet<String>,
) -> Vec<ErrorDetail> {
    let mut errs = Vec::new();
    let limits = &state.cfg.triggers;
    doc.name = doc.name.trim().to_owned();
    if doc.name.is_empty() || doc.name.len() > 200 {
        errs.push(detail("name", "must be 1 to 200 characters"));
    }
    let t = &mut doc.trigger;
    t.path = t.path.trim().trim_start_matches('/').to_owned();
    if t.path.is_empty() || t.path.len() > 200 || !t.path.split('/').all(valid_path_segment) {
        errs.push(detail(
            "trigger.path",
            "must be segments of letters, digits, - _ . ~ separated by /, e.g. acme/CreateCustomerRecord",
        ));
    }
    let mut seen = HashSet::new();
    for (i, m) in t.methods.iter_mut().enumerate() {
        *m = m.to_ascii_uppercase();
        if !METHODS.contains(&m.as_str()) {
            errs.push(detail(
                &format!("trigger.methods[{i}]"),
                format!("must be one of {}", METHODS.join(", ")),
            ));
        } else if !seen.insert(m.clone()) {
            errs.push(detail(&format!("trigger.methods[{i}]"), "is listed twice"));
        }
    }
    if t.methods.is_empty() {
        errs.push(detail("trigger.methods", "enable at least one method"));
    }
    if let TriggerAuth::ApiKey { keys } = &t.auth {
        if keys.is_empty() {
            errs.push(detail(
                "trigger.auth.keys",
                "choose at least one API key (or auth type none)",
            ));
        }
        for (i, k) in keys.iter().enumerate() {
            if !live_keys.contains(k) {
                errs.push(detail(
                    &format!("trigger.auth.keys[{i}]"),
                    format!("no API key with id {k}"),
                ));
            }
        }
    }
    if t.timeout_ms == 0 || t.timeout_ms > limits.max_timeout_ms {
        errs.push(detail(
            "trigger.timeout_ms",
            format!("must be 1 to {}", limits.max_timeout_ms),
        ));
    }
    if t.max_body_bytes == 0 || t.max_body_bytes > limits.max_body_bytes {
        errs.push(detail(
            "trigger.max_body_bytes",
            format!("must be 1 to {}", limits.max_body_bytes),
        ));
    }
    let mut names = HashSet::new();
    for (i, p) in t.query_params.iter().enumerate() {
        let at = format!("trigger.query_params[{i}]");
        if p.name.is_empty() || p.name.len() > 100 {
            errs.push(detail(&format!("{at}.name"), "must be 1 to 100 characters"));
        } else if !names.insert(p.name.clone()) {
            errs.push(detail(&format!("{at}.name"), "is listed twice"));
        }
        if p.required && p.default.is_some() {
            errs.push(detail(&at, "a required parameter cannot have a default"));
        }
    }
    for (i, ct) in t.content_types.iter_mut().enumerate() {
        *ct = ct.trim().to_ascii_lowercase();
        if !valid_media_range(ct) {
            errs.push(detail(
                &format!("trigger.content_types[{i}]"),
                "must be a media type like application/json or text/*",
            ));
        }
    }
    let r = &t.retry;
    if r.max_attempts == 0 || r.max_attempts > 100 {
        errs.push(detail("trigger.retry.max_attempts", "must be 1 to 100"));
    }
    if r.initial_delay_ms == 0 || r.initial_delay_ms > r.max_delay_ms {
        errs.push(detail(
            "trigger.retry.initial_delay_ms",
            "must be at least 1 and at most max_delay_ms",
        ));
    }
    if r.max_delay_ms > 7 * 24 * 3_600_000 {
        errs.push(detail(
            "trigger.retry.max_delay_ms",
            "must be at most 7 days",
        ));
    }
    for (i, m) in r.retry_if.iter().enumerate() {
        let ok = m == "error"
            || (m.len() == 3
                && m.ends_with("xx")
                && matches!(m.as_bytes().first(), Some(b'1'..=b'5')))
            || m.parse::<u16>().is_ok_and(|n| (100..=599).contains(&n));
        if !ok {
            errs.push(detail(
                &format!("trigger.retry.retry_if[{i}]"),
                "must be `error`, a status class like `5xx` or a status like `429`",
            ));
        }
    }
    if let Some(path) = &t.lane_key {
        if !t.ordered {
            errs.push(detail(
                "trigger.lane_key",
                "only an ordered trigger has lanes (set ordered: true)",
            ));
        }
        if let Err(e) = flows_runtime::JsonPath::parse(path) {
            errs.push(detail("trigger.lane_key", e));
        }
    }
    if let Some(idem) = &t.idempotency {
        if idem.header.trim().is_empty()
            || actix_web::http::header::HeaderName::try_from(idem.header.trim()).is_err()
        {
            errs.push(detail(
                "trigger.idempotency.header",
                "must be a header name",
            ));
        }
        if let Some(path) = &idem.body_path {
            if let Err(e) = flows_runtime::JsonPath::parse(path) {
                errs.push(detail("trigger.idempotency.body_path", e));
            }
        }
        if idem.retention_hours == 0 || idem.retention_hours > 24 * 90 {
            errs.push(detail(
                "trigger.idempotency.retention_hours",
                "must be 1 to 2160 (90 days)",
            ));
        }
    }
    errs
}

async fn live_key_ids(state: &AppState) -> AppResult<HashSet<String>> {
    let keys = api_key::Entity::find()
        .filter(api_key::Column::RevokedAt.is_null())
        .all(&state.db)
        .await?;
    Ok(keys.into_iter().map(|k| k.id).collect())
}

pub struct Saved {
    pub out: IntegrationOut,
    pub created: bool,
}

/// Validates, compiles and publishes a new version of an integration.
pub async fn save(
    state: &AppState,
    slug: &str,
    mut doc: IntegrationDoc,
    user_id: &str,
) -> AppResult<Saved> {
    if !valid_slug(slug) {
        return Err(AppError::validation(
            "invalid integration slug",
            vec![detail(
                "slug",
                "use 1 to 64 lower-case letters, digits, - and _",
            )],
        ));
    }
    let live = live_key_ids(state).await?;
    let mut errs = check_document(state, &mut doc, &live);
    let compiled = match state.runtime.compile(&doc.steps) {
        Ok(c) => Some(c),
        Err(step_errs) => {
            errs.extend(step_errs.into_iter().map(|e| ErrorDetail {
                path: e.path,
                step: Some(e.step),
                field: e.field,
                message: e.message,
            }));
            None
        }
    };
    let compiled = match compiled {
        Some(c) if errs.is_empty() => c,
        _ => return Err(AppError::validation("the integration is invalid", errs)),
    };
    let document = serde_json::to_string(&doc).map_err(anyhow::Error::from)?;
    let now = now_us();

    let txn = state.db.begin().await?;
    let existing = integration::Entity::find()
        .filter(integration::Column::Slug.eq(slug))
        .one(&txn)
        .await?;
    let clash = integration::Entity::find()
        .filter(integration::Column::TriggerPath.eq(doc.trigger.path.clone()))
        .filter(integration::Column::Slug.ne(slug))
        .one(&txn)
        .await?;
    if let Some(other) = clash {
        return Err(AppError::Conflict(format!(
            "the trigger path {} is already used by integration {}",
            doc.trigger.path, other.slug
        )));
    }
    let (model, created) = match existing {
        Some(m) => {
            let version = m.version + 1;
            let mut am: integration::ActiveModel = m.into();
            am.name = Set(doc.name.clone());
            am.enabled = Set(doc.enabled);
            am.trigger_path = Set(doc.trigger.path.clone());
            am.version = Set(version);
            am.document = Set(document.clone());
            am.updated_at = Set(now);
            (am.update(&txn).await?, false)
        }
        None => {
            let am = integration::ActiveModel {
                id: Set(crate::executions::new_id()),
                slug: Set(slug.to_owned()),
                name: Set(doc.name.clone()),
                enabled: Set(doc.enabled),
                trigger_path: Set(doc.trigger.path.clone()),
                version: Set(1),
                document: Set(document.clone()),
                created_at: Set(now),
                updated_at: Set(now),
            };
            (am.insert(&txn).await?, true)
        }
    };
    integration_version::ActiveModel {
        id: Set(crate::executions::new_id()),
        integration_id: Set(model.id.clone()),
        version: Set(model.version),
        document: Set(document),
        source: Set(compiled.source().to_owned()),
        created_by: Set(Some(user_id.to_owned())),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;

    state.registry.put_route(
        &model.id,
        Some(Route::new(
            model.id.clone(),
            model.slug.clone(),
            model.version,
            model.enabled,
            doc.clone(),
            compiled,
        )),
    );
    crate::cluster::announce(state, "i").await;
    tracing::info!(integration = %model.slug, version = model.version, "integration published");
    Ok(Saved {
        out: to_out(&model, doc),
        created,
    })
}

fn to_out(m: &integration::Model, doc: IntegrationDoc) -> IntegrationOut {
    IntegrationOut {
        id: m.id.clone(),
        slug: m.slug.clone(),
        name: m.name.clone(),
        description: doc.description.clone(),
        enabled: m.enabled,
        version: m.version,
        endpoint: format!("/t/{}", m.trigger_path),
        trigger: doc.trigger,
        steps: doc.steps,
        created_at: rfc3339(m.created_at),
        updated_at: rfc3339(m.updated_at),
    }
}

fn parse_doc(text: &str) -> AppResult<IntegrationDoc> {
    serde_json::from_str(text)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("stored document unreadable: {e}")))
}

pub(crate) async fn find(state: &AppState, slug: &str) -> AppResult<integration::Model> {
    integration::Entity::find()
        .filter(integration::Column::Slug.eq(slug))
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound("integration"))
}

pub async fn get(state: &AppState, slug: &str) -> AppResult<IntegrationOut> {
    let m = find(state, slug).await?;
    let doc = parse_doc(&m.document)?;
    Ok(to_out(&m, doc))
}

pub async fn list(state: &AppState) -> AppResult<Vec<IntegrationOut>> {
    let all = integration::Entity::find()
        .order_by_asc(integration::Column::Slug)
        .all(&state.db)
        .await?;
    all.iter()
        .map(|m| Ok(to_out(m, parse_doc(&m.document)?)))
        .collect()
}

pub async fn versions(state: &AppState, slug: &str) -> AppResult<Vec<VersionOut>> {
    let m = find(state, slug).await?;
    let rows = integration_version::Entity::find()
        .filter(integration_version::Column::IntegrationId.eq(m.id))
        .order_by_desc(integration_version::Column::Version)
        .all(&state.db)
        .await?;
    rows.iter()
        .map(|v| {
            Ok(VersionOut {
                version: v.version,
                created_at: rfc3339(v.created_at),
                created_by: v.created_by.clone(),
                document: parse_doc(&v.document)?,
            })
        })
        .collect()
}

pub async fn delete(state: &AppState, slug: &str) -> AppResult<()> {
    let m = find(state, slug).await?;
    let txn = state.db.begin().await?;
    integration_version::Entity::delete_many()
        .filter(integration_version::Column::IntegrationId.eq(m.id.clone()))
        .exec(&txn)
        .await?;
    integration::Entity::delete_by_id(m.id.clone())
        .exec(&txn)
        .await?;
    txn.commit().await?;
    state.registry.put_route(&m.id, None);
    crate::cluster::announce(state, "i").await;
    tracing::info!(integration = %slug, "integration deleted");
    Ok(())
}

/// Loads every published integration into the registry (at start).
pub async fn load_routes(state: &AppState) -> anyhow::Result<()> {
    let all = integration::Entity::find().all(&state.db).await?;
    let mut routes = Vec::with_capacity(all.len());
    for m in all {
        let doc: IntegrationDoc = match serde_json::from_str(&m.document) {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(integration = %m.slug, error = %e, "stored document unreadable; trigger not served");
                continue;
            }
        };
        match state.runtime.compile(&doc.steps) {
            Ok(flow) => routes.push(Route::new(m.id, m.slug, m.version, m.enabled, doc, flow)),
            Err(errs) => {
                tracing::error!(integration = %m.slug, errors = errs.len(), "stored flow no longer compiles; trigger not served");
            }
        }
    }
    state.registry.set_routes(routes);
    Ok(())
}

/// The compiled flow of one version (for executions queued before a change).
pub async fn compile_version(
    state: &AppState,
    integration_id: &str,
    version: i64,
) -> anyhow::Result<flows_runtime::CompiledFlow> {
    let row = integration_version::Entity::find()
        .filter(integration_version::Column::IntegrationId.eq(integration_id))
        .filter(integration_version::Column::Version.eq(version))
        .one(&state.db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the version no longer exists"))?;
    let doc: IntegrationDoc = serde_json::from_str(&row.document)?;
    state
        .runtime
        .compile(&doc.steps)
        .map_err(|errs| anyhow::anyhow!("{} compile errors", errs.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_and_paths() {
        assert!(valid_slug("create-customer_2"));
        assert!(!valid_slug("Create"));
        assert!(!valid_slug(""));
        assert!(!valid_slug("-x"));
        assert!("acme/CreateCustomerRecord"
            .split('/')
            .all(valid_path_segment));
        assert!(!"acme//x".split('/').all(valid_path_segment));
        assert!(!"acme/..".split('/').all(valid_path_segment));
    }

    #[test]
    fn media_ranges() {
        assert!(valid_media_range("application/json"));
        assert!(valid_media_range("text/*"));
        assert!(valid_media_range("*/*"));
        assert!(valid_media_range("application/vnd.api+json"));
        assert!(!valid_media_range("*/json"));
        assert!(!valid_media_range("json"));
    }
}
