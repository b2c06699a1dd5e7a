//! Deleting a table, asked first (the list and a table's page both offer it).

use flowgate_api::tables::TableOut;
use leptos::task::spawn_local;

use super::query::table_path;
use crate::api;
use crate::components::confirm;
use crate::format::plural;

/// Asks before deleting a table with its records (saying how many go); on yes, deletes it
/// and hands its name and the answer to `done`.
pub(super) fn ask_delete_table(
    t: &TableOut,
    done: impl Fn(String, api::ApiResult<()>) + Clone + Send + Sync + 'static,
) {
    let records = match t.records {
        0 => "It holds no records.".to_owned(),
        n => format!(
            "All its {} are deleted with it.",
            plural(
                usize::try_from(n).unwrap_or(usize::MAX),
                "record",
                "records"
            )
        ),
    };
    let name = t.name.clone();
    confirm(
        format!("Delete the table {name}?"),
        format!(
            "{records} This cannot be undone. Flows that write or read it fail from then on, until a table of that name exists again."
        ),
        "Delete table and records",
        move || {
            let (name, done) = (name.clone(), done.clone());
            spawn_local(async move {
                let answer = api::delete(&table_path(&name)).await;
                done(name, answer);
            });
        },
    );
}
