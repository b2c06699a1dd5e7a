//! Drafts: an integration's next document, saved as often as a designer likes whether it is
//! valid or not, then published (or discarded). An integration first saved as a draft exists
//! unpublished (version 0): listed, editable, serving nothing until its first publish.

use flowgate_api::{DraftOut, IntegrationDoc, IntegrationOut, PublishIn};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

use super::{
    check_slug, find, normal_path, parse_doc, path_conflict, path_user, problems_of, publish_doc,
    unpublished_path, DraftAfter,
};
use crate::db::entities::{integration, integration_draft, integration_version};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::support::time::{now_us, rfc3339};

async fn draft_of(
    state: &AppState,
    integration_id: &str,
) -> AppResult<Option<integration_draft::Model>> {
    Ok(
        integration_draft::Entity::find_by_id(integration_id.to_owned())
            .one(&state.db)
            .await?,
    )
}

/// The document being edited: the draft, or the published document when there is none; with
/// every problem it has.
pub async fn get(state: &AppState, slug: &str) -> AppResult<DraftOut> {
    let m = find(state, slug).await?;
    let (document, is_draft, saved_at, based_on_version) = match draft_of(state, &m.id).await? {
        Some(d) => (
            parse_doc(&d.document)?,
            true,
            d.saved_at,
            d.based_on_version,
        ),
        None => (parse_doc(&m.document)?, false, m.updated_at, m.version),
    };
    let problems = problems_of(state, &document).await?;
    Ok(DraftOut {
        document,
        is_draft,
        saved_at: rfc3339(saved_at),
        based_on_version,
        problems,
    })
}

pub struct DraftSaved {
    pub out: DraftOut,
    /// The draft created the integration (unpublished).
    pub created: bool,
}

/// Saves the draft of an integration, valid or not (its problems come back); creates the
/// integration, unpublished, when there is none with this slug.
pub async fn save(
    state: &AppState,
    slug: &str,
    doc: IntegrationDoc,
    user_id: &str,
) -> AppResult<DraftSaved> {
    check_slug(slug)?;
    let problems = problems_of(state, &doc).await?;
    let path = normal_path(&doc.trigger.path);
    let document = serde_json::to_string(&doc).map_err(anyhow::Error::from)?;
    let now = now_us();

    let txn = crate::db::begin_write(&state.db).await?;
    if let Some(other) = path_user(&txn, &path, slug).await? {
        return Err(path_conflict(&path, &other));
    }
    let existing = integration::Entity::find()
        .filter(integration::Column::Slug.eq(slug))
        .one(&txn)
        .await?;
    let (m, created) = match existing {
        // Never published: the integration row shows the draft (name, document).
        Some(m) if m.version == 0 => {
            let mut am: integration::ActiveModel = m.into();
            am.name = Set(doc.name.trim().to_owned());
            am.enabled = Set(doc.enabled);
            am.document = Set(document.clone());
            am.updated_at = Set(now);
            (am.update(&txn).await?, false)
        }
        Some(m) => (m, false),
        None => {
            let id = crate::support::ids::new_id();
            let am = integration::ActiveModel {
                id: Set(id.clone()),
                slug: Set(slug.to_owned()),
                name: Set(doc.name.trim().to_owned()),
                enabled: Set(doc.enabled),
                trigger_path: Set(unpublished_path(&id)),
                version: Set(0),
                document: Set(document.clone()),
                created_at: Set(now),
                updated_at: Set(now),
            };
            (am.insert(&txn).await?, true)
        }
    };
    let previous = integration_draft::Entity::find_by_id(m.id.clone())
        .one(&txn)
        .await?;
    let based_on_version = match previous {
        Some(d) => {
            let based_on = d.based_on_version;
            let mut am: integration_draft::ActiveModel = d.into();
            am.document = Set(document);
            am.trigger_path = Set(path);
            am.saved_by = Set(Some(user_id.to_owned()));
            am.saved_at = Set(now);
            am.update(&txn).await?;
            based_on
        }
        None => {
            integration_draft::ActiveModel {
                integration_id: Set(m.id.clone()),
                document: Set(document),
                trigger_path: Set(path),
                based_on_version: Set(m.version),
                saved_by: Set(Some(user_id.to_owned())),
                saved_at: Set(now),
            }
            .insert(&txn)
            .await?;
            m.version
        }
    };
    txn.commit().await?;
    tracing::info!(integration = %slug, problems = problems.len(), "draft saved");
    Ok(DraftSaved {
        out: DraftOut {
            document: doc,
            is_draft: true,
            saved_at: rfc3339(now),
            based_on_version,
            problems,
        },
        created,
    })
}

/// Throws the draft away (the published document stays as it is).
pub async fn discard(state: &AppState, slug: &str) -> AppResult<()> {
    let m = find(state, slug).await?;
    if m.version == 0 {
        return Err(AppError::Conflict(format!(
            "integration {slug} was never published: its draft is all there is; delete the integration instead"
        )));
    }
    let gone = integration_draft::Entity::delete_by_id(m.id.clone())
        .exec(&state.db)
        .await?;
    if gone.rows_affected == 0 {
        return Err(AppError::NotFound("draft"));
    }
    tracing::info!(integration = %slug, "draft discarded");
    Ok(())
}

/// Publishes the draft, or (with `version`) the document of a stored version again as a new
/// version (a rollback, which keeps the integration enabled or disabled as it is now). The
/// draft is discarded either way.
pub async fn publish(
    state: &AppState,
    slug: &str,
    input: PublishIn,
    user_id: &str,
) -> AppResult<IntegrationOut> {
    let m = find(state, slug).await?;
    let (doc, after) = match input.version {
        None => {
            let d = draft_of(state, &m.id).await?.ok_or(AppError::NoDraft)?;
            (
                parse_doc(&d.document)?,
                DraftAfter::DiscardIfSavedAt(d.saved_at),
            )
        }
        Some(v) => {
            let row = integration_version::Entity::find()
                .filter(integration_version::Column::IntegrationId.eq(m.id.clone()))
                .filter(integration_version::Column::Version.eq(v))
                .one(&state.db)
                .await?
                .ok_or(AppError::NotFound("version"))?;
            let mut doc = parse_doc(&row.document)?;
            doc.enabled = m.enabled;
            (doc, DraftAfter::Discard)
        }
    };
    let saved = publish_doc(state, slug, doc, user_id, after).await?;
    Ok(saved.out)
}
