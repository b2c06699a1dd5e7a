//! `sql` steps: the `__fg_sql` call they compile to hands the step's statement and its
//! bound values to the [`SqlClient`](crate::io::SqlClient) the server gave the runtime,
//! within the flow's deadline.

use rhai::{Array, Dynamic, Engine, Map, INT};

use crate::codegen::Action;
use crate::convert::{to_dynamic, to_json};
use crate::io::SqlRequest;
use crate::run_state::{step_action, time_left, with_run, Res};

pub(crate) fn register_sql(engine: &mut Engine) {
    engine.register_fn("__fg_sql", |n: INT, params: Array| -> Res<Dynamic> {
        let (connection, query, max_rows) = step_action(n, |a| match a {
            Action::Sql {
                connection,
                query,
                max_rows,
            } => Ok((connection.clone(), query.clone(), *max_rows)),
            _ => Err("not a sql step".to_owned()),
        })?;
        let mut values = Vec::with_capacity(params.len());
        for (i, p) in params.iter().enumerate() {
            values.push(to_json(p).map_err(|e| format!("sql: parameter ${} {e}", i + 1))?);
        }
        let client = with_run(|st| Ok(st.sql.clone()))?
            .ok_or("sql: external databases are not available here")?;
        let (_, deadline) = time_left()?;
        let answer = client.query(SqlRequest {
            connection,
            query,
            params: values,
            max_rows,
            deadline,
        })?;
        let mut out = Map::new();
        out.insert(
            "rows".into(),
            Dynamic::from_array(answer.rows.iter().map(to_dynamic).collect()),
        );
        out.insert(
            "count".into(),
            Dynamic::from(INT::try_from(answer.count).unwrap_or(INT::MAX)),
        );
        Ok(Dynamic::from_map(out))
    });
}
