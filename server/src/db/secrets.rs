//! Reading stored secrets for the server's own use: their names (to validate references) and
//! a value (a trigger's signing key). Writing them is `domain::secrets`.

use sea_orm::{DatabaseConnection, DbErr, EntityTrait};

use crate::db::entities::secret;
use crate::support::crypto::{open, ServerSecret};

/// The names of all stored secrets.
pub async fn names(db: &DatabaseConnection) -> Result<Vec<String>, DbErr> {
    let rows = secret::Entity::find().all(db).await?;
    Ok(rows.into_iter().map(|m| m.name).collect())
}

/// A stored secret's value; `None` when there is none by that name (or it cannot be opened
/// with this server secret).
pub async fn reveal(
    db: &DatabaseConnection,
    server: &ServerSecret,
    name: &str,
) -> Result<Option<String>, DbErr> {
    let row = secret::Entity::find_by_id(name.to_owned()).one(db).await?;
    Ok(row.and_then(|r| open(server, name, &r.value)))
}
