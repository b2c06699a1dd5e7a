//! Every credential a trigger may accept, reloaded together (at start, and when another
//! instance announces a change of keys or OAuth clients).

use crate::error::AppResult;
use crate::state::AppState;

pub async fn reload(state: &AppState) -> AppResult<()> {
    crate::domain::keys::reload(state).await?;
    crate::domain::oauth_clients::reload(state).await
}
