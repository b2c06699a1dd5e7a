//! Idempotency claims: the first call with a key inserts the claim; any other call with the
//! same key (on any instance) finds it and is answered from the first call's execution.

use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, ExprTrait, QueryFilter, Set};

use crate::db::entities::idempotency_claim::{self, Column as C};

/// The claim's identity.
pub struct ClaimKey<'a> {
    pub integration_id: &'a str,
    pub scope: &'a str,
    pub key: &'a str,
}

/// What claiming a key found.
#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// This call holds the key now.
    Won,
    /// An earlier call holds it: its execution id and when it claimed.
    Held {
        execution_id: String,
        claimed_at: i64,
    },
}

/// Claims a key for `execution_id` until `expires_at`; an expired claim is taken over.
pub async fn claim(
    db: &DatabaseConnection,
    k: &ClaimKey<'_>,
    execution_id: &str,
    now: i64,
    expires_at: i64,
) -> Result<Claim, DbErr> {
    let row = idempotency_claim::ActiveModel {
        integration_id: Set(k.integration_id.to_owned()),
        scope: Set(k.scope.to_owned()),
        key: Set(k.key.to_owned()),
        execution_id: Set(execution_id.to_owned()),
        claimed_at: Set(now),
        expires_at: Set(expires_at),
    };
    let inserted = idempotency_claim::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([C::IntegrationId, C::Scope, C::Key])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    if inserted > 0 {
        return Ok(Claim::Won);
    }
    if take_over(db, k, execution_id, now, expires_at, C::ExpiresAt.lte(now)).await? {
        return Ok(Claim::Won);
    }
    held(db, k).await
}

/// Takes a claim over from a call that never recorded its execution (it crashed, or its
/// accept failed) once the claim is older than `stale_before`.
pub async fn take_over_stale(
    db: &DatabaseConnection,
    k: &ClaimKey<'_>,
    stale_execution: &str,
    execution_id: &str,
    now: i64,
    expires_at: i64,
    stale_before: i64,
) -> Result<bool, DbErr> {
    let cond = C::ExecutionId
        .eq(stale_execution.to_owned())
        .and(C::ClaimedAt.lt(stale_before));
    take_over(db, k, execution_id, now, expires_at, cond).await
}

async fn take_over(
    db: &DatabaseConnection,
    k: &ClaimKey<'_>,
    execution_id: &str,
    now: i64,
    expires_at: i64,
    cond: sea_orm::sea_query::SimpleExpr,
) -> Result<bool, DbErr> {
    let res = idempotency_claim::Entity::update_many()
        .col_expr(C::ExecutionId, Expr::value(execution_id.to_owned()))
        .col_expr(C::ClaimedAt, Expr::value(now))
        .col_expr(C::ExpiresAt, Expr::value(expires_at))
        .filter(C::IntegrationId.eq(k.integration_id.to_owned()))
        .filter(C::Scope.eq(k.scope.to_owned()))
        .filter(C::Key.eq(k.key.to_owned()))
        .filter(cond)
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

async fn held(db: &DatabaseConnection, k: &ClaimKey<'_>) -> Result<Claim, DbErr> {
    let row = idempotency_claim::Entity::find()
        .filter(C::IntegrationId.eq(k.integration_id.to_owned()))
        .filter(C::Scope.eq(k.scope.to_owned()))
        .filter(C::Key.eq(k.key.to_owned()))
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("idempotency claim".into()))?;
    Ok(Claim::Held {
        execution_id: row.execution_id,
        claimed_at: row.claimed_at,
    })
}

/// Gives a key back when the call that claimed it recorded nothing.
pub async fn release(
    db: &DatabaseConnection,
    k: &ClaimKey<'_>,
    execution_id: &str,
) -> Result<(), DbErr> {
    idempotency_claim::Entity::delete_many()
        .filter(C::IntegrationId.eq(k.integration_id.to_owned()))
        .filter(C::Scope.eq(k.scope.to_owned()))
        .filter(C::Key.eq(k.key.to_owned()))
        .filter(C::ExecutionId.eq(execution_id.to_owned()))
        .exec(db)
        .await?;
    Ok(())
}

/// Forgets expired claims.
pub async fn prune(db: &DatabaseConnection, now: i64) -> Result<u64, DbErr> {
    let res = idempotency_claim::Entity::delete_many()
        .filter(C::ExpiresAt.lte(now))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}
