//! Integrations: validate a document, compile its flow, save it as a new published version;
//! read, list (with call statistics), enable or disable, delete. Drafts: `super::drafts`.

use std::collections::{HashMap, HashSet};

use flowgate_api::integrations::VersionOut;
use flowgate_api::{
    ErrorDetail, IntegrationDoc, IntegrationOut, IntegrationPatch, IntegrationStats, ValidateOut,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use crate::core::registry::Route;
use crate::db::entities::{api_key, integration, integration_draft, integration_version};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::support::time::{now_us, rfc3339};

mod check;
pub mod drafts;
pub mod shadow;
pub mod test_runs;

pub use check::valid_slug;
pub(crate) use check::{check_document, detail, Known};

pub(crate) async fn live_key_ids(state: &AppState) -> AppResult<HashSet<String>> {
    let keys = api_key::Entity::find()
        .filter(api_key::Column::RevokedAt.is_null())
        .all(&state.db)
        .await?;
    Ok(keys.into_iter().map(|k| k.id).collect())
}

pub(crate) async fn live_client_ids(state: &AppState) -> AppResult<HashSet<String>> {
    let rows = crate::db::entities::oauth_client::Entity::find()
        .filter(crate::db::entities::oauth_client::Column::RevokedAt.is_null())
        .all(&state.db)
        .await?;
    Ok(rows.into_iter().map(|c| c.id).collect())
}

/// 400 unless the slug is one an integration may have.
pub(crate) fn check_slug(slug: &str) -> AppResult<()> {
    if valid_slug(slug) {
        return Ok(());
    }
    Err(AppError::validation(
        "invalid integration slug",
        vec![detail(
            "slug",
            "use 1 to 64 lower-case letters, digits, - and _ (`validate` is reserved)",
        )],
    ))
}

/// Flow problems in the shape of the API's error details.
pub(crate) fn flow_details(errs: Vec<flows_runtime::ValidationError>) -> Vec<ErrorDetail> {
    errs.into_iter()
        .map(|e| ErrorDetail {
            path: e.path,
            step: Some(e.step),
            field: e.field,
            message: e.message,
        })
        .collect()
}

/// Every problem of a document, its fields then its flow, normalising it as publishing does;
/// also the compiled flow, when the flow compiles.
pub(crate) async fn examine(
    state: &AppState,
    doc: &mut IntegrationDoc,
) -> AppResult<(Vec<ErrorDetail>, Option<flows_runtime::CompiledFlow>)> {
    let known = Known {
        keys: live_key_ids(state).await?,
        clients: live_client_ids(state).await?,
        secrets: crate::db::secrets::names(&state.db)
            .await?
            .into_iter()
            .collect(),
    };
    let mut errs = check_document(&state.cfg.triggers, doc, &known);
    let refs = flows_runtime::model::referenced_secrets_of_flow(&doc.steps, &doc.on_error);
    if !refs.is_empty() {
        for r in refs {
            if !known.secrets.contains(&r.name)
                && flows_runtime::secret_name_problem(&r.name).is_none()
            {
                errs.push(ErrorDetail {
                    path: r.path,
                    step: Some(r.step),
                    field: Some(r.field),
                    message: format!("there is no stored secret named `{}`", r.name),
                });
            }
        }
    }
    match state.runtime.compile_flow(&doc.steps, &doc.on_error) {
        Ok(c) => Ok((errs, Some(c))),
        Err(step_errs) => {
            errs.extend(flow_details(step_errs));
            Ok((errs, None))
        }
    }
}

/// Every problem of a document as it would be published (the document is not changed).
pub(crate) async fn problems_of(
    state: &AppState,
    doc: &IntegrationDoc,
) -> AppResult<Vec<ErrorDetail>> {
    let mut copy = doc.clone();
    Ok(examine(state, &mut copy).await?.0)
}

/// `POST /integrations/validate`: the problems of a document, nothing saved.
pub async fn validate(state: &AppState, doc: IntegrationDoc) -> AppResult<ValidateOut> {
    Ok(ValidateOut {
        problems: problems_of(state, &doc).await?,
    })
}

/// The trigger path as stored: trimmed, without a leading `/`.
pub(crate) fn normal_path(path: &str) -> String {
    path.trim().trim_start_matches('/').to_owned()
}

/// The `trigger_path` of a never-published integration: it serves nothing, so it holds a
/// unique value no trigger path can be (`#` is not allowed in one).
pub(crate) fn unpublished_path(integration_id: &str) -> String {
    format!("#draft/{integration_id}")
}

/// The slug of another integration using this trigger path: published under it, or never
/// published and drafted with it.
pub(crate) async fn path_user<C: ConnectionTrait>(
    db: &C,
    path: &str,
    own_slug: &str,
) -> AppResult<Option<String>> {
    if path.is_empty() {
        return Ok(None);
    }
    if let Some(other) = integration::Entity::find()
        .filter(integration::Column::TriggerPath.eq(path))
        .filter(integration::Column::Slug.ne(own_slug))
        .one(db)
        .await?
    {
        return Ok(Some(other.slug));
    }
    let drafts = integration_draft::Entity::find()
        .filter(integration_draft::Column::TriggerPath.eq(path))
        .all(db)
        .await?;
    for d in drafts {
        if let Some(m) = integration::Entity::find_by_id(d.integration_id)
            .one(db)
            .await?
        {
            if m.version == 0 && m.slug != own_slug {
                return Ok(Some(m.slug));
            }
        }
    }
    Ok(None)
}

pub(crate) fn path_conflict(path: &str, other: &str) -> AppError {
    AppError::Conflict(format!(
        "the trigger path {path} is already used by integration {other}"
    ))
}

pub struct Saved {
    pub out: IntegrationOut,
    pub created: bool,
}

/// What publishing does with the integration's draft.
#[derive(Debug, Clone, Copy)]
pub(crate) enum DraftAfter {
    /// Discards it (a direct save, a rollback).
    Discard,
    /// Discards it if it is still the one saved at this time (publishing the draft).
    DiscardIfSavedAt(i64),
}

/// Validates, compiles and publishes a new version of an integration; discards its draft.
pub async fn save(
    state: &AppState,
    slug: &str,
    doc: IntegrationDoc,
    user_id: &str,
) -> AppResult<Saved> {
    publish_doc(state, slug, doc, user_id, DraftAfter::Discard).await
}

/// Validates, compiles and publishes a document as the next version of an integration.
pub(crate) async fn publish_doc(
    state: &AppState,
    slug: &str,
    mut doc: IntegrationDoc,
    user_id: &str,
    draft: DraftAfter,
) -> AppResult<Saved> {
    check_slug(slug)?;
    let (errs, compiled) = examine(state, &mut doc).await?;
    let compiled = match compiled {
        Some(c) if errs.is_empty() => c,
        _ => return Err(AppError::validation("the integration is invalid", errs)),
    };
    let document = serde_json::to_string(&doc).map_err(anyhow::Error::from)?;
    let now = now_us();

    let txn = crate::db::begin_write(&state.db).await?;
    let existing = integration::Entity::find()
        .filter(integration::Column::Slug.eq(slug))
        .one(&txn)
        .await?;
    if let Some(other) = path_user(&txn, &doc.trigger.path, slug).await? {
        return Err(path_conflict(&doc.trigger.path, &other));
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
                id: Set(crate::support::ids::new_id()),
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
        id: Set(crate::support::ids::new_id()),
        integration_id: Set(model.id.clone()),
        version: Set(model.version),
        document: Set(document),
        source: Set(compiled.source().to_owned()),
        created_by: Set(Some(user_id.to_owned())),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let mut discard = integration_draft::Entity::delete_many()
        .filter(integration_draft::Column::IntegrationId.eq(model.id.clone()));
    if let DraftAfter::DiscardIfSavedAt(at) = draft {
        discard = discard.filter(integration_draft::Column::SavedAt.eq(at));
    }
    discard.exec(&txn).await?;
    let has_draft = integration_draft::Entity::find_by_id(model.id.clone())
        .one(&txn)
        .await?
        .is_some();
    txn.commit().await?;

    let signing = signing_secret(state, &doc).await?;
    state.registry.put_route(
        &model.id,
        Some(
            Route::new(
                model.id.clone(),
                model.slug.clone(),
                model.version,
                model.enabled,
                doc.clone(),
                compiled,
            )
            .with_signing_secret(signing),
        ),
    );
    state
        .announce(crate::core::notice::Notice::Integrations)
        .await;
    tracing::info!(integration = %model.slug, version = model.version, "integration published");
    Ok(Saved {
        out: to_out(&model, doc, has_draft),
        created,
    })
}

/// `draft` (never published), `disabled` or `published`.
fn status_of(m: &integration::Model) -> &'static str {
    if m.version == 0 {
        "draft"
    } else if !m.enabled {
        "disabled"
    } else {
        "published"
    }
}

/// The API's view of an integration; `doc` is its published document (its draft when it was
/// never published).
pub(crate) fn to_out(
    m: &integration::Model,
    doc: IntegrationDoc,
    has_draft: bool,
) -> IntegrationOut {
    let endpoint = if m.version == 0 {
        format!("/t/{}", normal_path(&doc.trigger.path))
    } else {
        format!("/t/{}", m.trigger_path)
    };
    IntegrationOut {
        id: m.id.clone(),
        slug: m.slug.clone(),
        name: m.name.clone(),
        description: doc.description.clone(),
        enabled: m.enabled,
        version: m.version,
        endpoint,
        trigger: doc.trigger,
        steps: doc.steps,
        on_error: doc.on_error,
        created_at: rfc3339(m.created_at),
        updated_at: rfc3339(m.updated_at),
        status: status_of(m).to_owned(),
        has_draft,
        stats: None,
    }
}

pub(crate) fn parse_doc(text: &str) -> AppResult<IntegrationDoc> {
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

pub(crate) async fn has_draft(state: &AppState, integration_id: &str) -> AppResult<bool> {
    Ok(
        integration_draft::Entity::find_by_id(integration_id.to_owned())
            .one(&state.db)
            .await?
            .is_some(),
    )
}

pub async fn get(state: &AppState, slug: &str) -> AppResult<IntegrationOut> {
    let m = find(state, slug).await?;
    let doc = parse_doc(&m.document)?;
    let has_draft = has_draft(state, &m.id).await?;
    Ok(to_out(&m, doc, has_draft))
}

/// Every integration (drafts-only ones too), by slug, with its calls of the last 24 hours.
pub async fn list(state: &AppState) -> AppResult<Vec<IntegrationOut>> {
    let all = integration::Entity::find()
        .order_by_asc(integration::Column::Slug)
        .all(&state.db)
        .await?;
    let drafts: HashSet<String> = integration_draft::Entity::find()
        .select_only()
        .column(integration_draft::Column::IntegrationId)
        .into_tuple::<String>()
        .all(&state.db)
        .await?
        .into_iter()
        .collect();
    let since = now_us() - 24 * 3_600_000_000;
    let mut stats: HashMap<String, IntegrationStats> =
        crate::db::executions::call_stats(&state.db, since)
            .await?
            .into_iter()
            .map(|s| {
                let out = IntegrationStats {
                    last_call_at: s.last_call_at.map(rfc3339),
                    calls_24h: u64::try_from(s.calls).unwrap_or(0),
                    errors_24h: u64::try_from(s.errors).unwrap_or(0),
                };
                (s.integration_id, out)
            })
            .collect();
    all.iter()
        .map(|m| {
            let mut out = to_out(m, parse_doc(&m.document)?, drafts.contains(&m.id));
            out.stats = Some(stats.remove(&m.id).unwrap_or_default());
            Ok(out)
        })
        .collect()
}

/// Slugs and documents of the published integrations.
pub(crate) async fn published(state: &AppState) -> AppResult<Vec<(String, IntegrationDoc)>> {
    let all = integration::Entity::find()
        .filter(integration::Column::Version.gt(0))
        .order_by_asc(integration::Column::Slug)
        .all(&state.db)
        .await?;
    all.into_iter()
        .map(|m| Ok((m.slug, parse_doc(&m.document)?)))
        .collect()
}

pub async fn versions(state: &AppState, slug: &str) -> AppResult<Vec<VersionOut>> {
    let m = find(state, slug).await?;
    let rows = integration_version::Entity::find()
        .filter(integration_version::Column::IntegrationId.eq(m.id))
        .order_by_desc(integration_version::Column::Version)
        .all(&state.db)
        .await?;
    let authors: std::collections::HashSet<String> =
        rows.iter().filter_map(|v| v.created_by.clone()).collect();
    let emails: std::collections::HashMap<String, String> =
        crate::db::entities::user::Entity::find()
            .filter(crate::db::entities::user::Column::Id.is_in(authors))
            .all(&state.db)
            .await?
            .into_iter()
            .map(|u| (u.id, u.email))
            .collect();
    rows.iter()
        .map(|v| {
            Ok(VersionOut {
                version: v.version,
                created_at: rfc3339(v.created_at),
                created_by: v.created_by.clone(),
                created_by_email: v.created_by.as_ref().and_then(|id| emails.get(id).cloned()),
                document: parse_doc(&v.document)?,
            })
        })
        .collect()
}

/// Turns a published integration's endpoint on or off, without a new version: the change
/// holds at once for callers (and for the other instances); the published document and the
/// draft say so too.
pub async fn patch(
    state: &AppState,
    slug: &str,
    patch: IntegrationPatch,
) -> AppResult<IntegrationOut> {
    let m = find(state, slug).await?;
    if m.version == 0 {
        return Err(AppError::Conflict(format!(
            "integration {slug} was never published; publish it first"
        )));
    }
    let Some(enabled) = patch.enabled.filter(|e| *e != m.enabled) else {
        return get(state, slug).await;
    };
    let txn = crate::db::begin_write(&state.db).await?;
    let mut doc = parse_doc(&m.document)?;
    doc.enabled = enabled;
    let mut am: integration::ActiveModel = m.clone().into();
    am.enabled = Set(enabled);
    am.document = Set(serde_json::to_string(&doc).map_err(anyhow::Error::from)?);
    am.updated_at = Set(now_us());
    let model = am.update(&txn).await?;
    let draft = integration_draft::Entity::find_by_id(m.id.clone())
        .one(&txn)
        .await?;
    let has_draft = draft.is_some();
    if let Some(d) = draft {
        if let Ok(mut draft_doc) = serde_json::from_str::<IntegrationDoc>(&d.document) {
            draft_doc.enabled = enabled;
            let mut dam: integration_draft::ActiveModel = d.into();
            dam.document = Set(serde_json::to_string(&draft_doc).map_err(anyhow::Error::from)?);
            dam.update(&txn).await?;
        }
    }
    txn.commit().await?;
    if let Some(route) = state.registry.route_by_integration(&model.id) {
        let mut route = (*route).clone();
        route.enabled = enabled;
        state.registry.put_route(&model.id, Some(route));
    }
    state
        .announce(crate::core::notice::Notice::Integrations)
        .await;
    tracing::info!(integration = %slug, enabled, "integration switched");
    Ok(to_out(&model, doc, has_draft))
}

pub async fn delete(state: &AppState, slug: &str) -> AppResult<()> {
    let m = find(state, slug).await?;
    let txn = crate::db::begin_write(&state.db).await?;
    integration_version::Entity::delete_many()
        .filter(integration_version::Column::IntegrationId.eq(m.id.clone()))
        .exec(&txn)
        .await?;
    integration_draft::Entity::delete_by_id(m.id.clone())
        .exec(&txn)
        .await?;
    integration::Entity::delete_by_id(m.id.clone())
        .exec(&txn)
        .await?;
    txn.commit().await?;
    state.registry.put_route(&m.id, None);
    state
        .announce(crate::core::notice::Notice::Integrations)
        .await;
    tracing::info!(integration = %slug, "integration deleted");
    Ok(())
}

/// The value of the stored secret a trigger's signature is checked with (`None` when the
/// trigger has no signature or the secret is gone: calls are then refused).
async fn signing_secret(
    state: &AppState,
    doc: &IntegrationDoc,
) -> Result<Option<String>, sea_orm::DbErr> {
    match doc.trigger.auth.signing_secret() {
        Some(name) => crate::db::secrets::reveal(&state.db, &state.secret, name).await,
        None => Ok(None),
    }
}

/// Loads every published integration into the registry (at start, and when another
/// instance announces a change). Never-published ones (version 0) serve nothing.
pub async fn load_routes(state: &AppState) -> anyhow::Result<()> {
    // A publish on this instance while the database is read makes the read stale: read again
    // (the last attempt replaces whatever it finds; a change that late is in its read).
    for _ in 0..4 {
        let seen = state.registry.routes_generation();
        let routes = read_routes(state).await?;
        if state.registry.set_routes_if(routes, seen) {
            return Ok(());
        }
    }
    state.registry.set_routes(read_routes(state).await?);
    Ok(())
}

/// Every published route, compiled, as the database holds them.
async fn read_routes(state: &AppState) -> anyhow::Result<Vec<Route>> {
    let all = integration::Entity::find()
        .filter(integration::Column::Version.gt(0))
        .all(&state.db)
        .await?;
    let mut routes = Vec::with_capacity(all.len());
    for m in all {
        let doc: IntegrationDoc = match serde_json::from_str(&m.document) {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(integration = %m.slug, error = %e, "stored document unreadable; trigger not served");
                continue;
            }
        };
        let signing = signing_secret(state, &doc).await?;
        match state.runtime.compile_flow(&doc.steps, &doc.on_error) {
            Ok(flow) => routes.push(
                Route::new(m.id, m.slug, m.version, m.enabled, doc, flow)
                    .with_signing_secret(signing),
            ),
            Err(errs) => {
                tracing::error!(integration = %m.slug, errors = errs.len(), "stored flow no longer compiles; trigger not served");
            }
        }
    }
    Ok(routes)
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
        .compile_flow(&doc.steps, &doc.on_error)
        .map_err(|errs| anyhow::anyhow!("{} compile errors", errs.len()))
}

/// The compiled flow of a given version (the current one from memory, older ones compiled
/// once and cached).
pub async fn compiled_version(
    state: &AppState,
    integration_id: &str,
    version: i64,
) -> anyhow::Result<flows_runtime::CompiledFlow> {
    if let Some(flow) = state.registry.cached_version(integration_id, version) {
        return Ok(flow);
    }
    let flow = compile_version(state, integration_id, version).await?;
    state
        .registry
        .cache_version(integration_id, version, flow.clone());
    Ok(flow)
}
