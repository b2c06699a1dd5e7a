//! The sql step's form: the database (a stored secret holding its URL), the statement, its
//! parameters ($1, $2, ... as Rhai expressions, bound, never written into the SQL), the most
//! rows and the variable that receives them.

use flows_runtime::model::{SqlStep, Step, MAX_SQL_ROWS};
use leptos::prelude::*;

use super::ctx::{Ctx, ListPath};
use super::data_picks::{NamePicker, Named};
use super::edit::edit_step;
use super::fields::{field_problems, var_field, VarField};
use crate::components::CodeArea;

/// The highest `$n` placeholder of a statement (0 when none), outside string literals,
/// quoted names, dollar-quoted strings and comments.
fn highest_placeholder(sql: &str) -> usize {
    let b = sql.as_bytes();
    let (mut i, mut most) = (0, 0);
    let skip_to = |from: usize, end: &[u8]| {
        b.get(from..)
            .and_then(|rest| rest.windows(end.len()).position(|w| w == end))
            .map_or(b.len(), |at| from + at + end.len())
    };
    while i < b.len() {
        match b[i] {
            b'\'' => i = skip_to(i + 1, b"'"),
            b'"' => i = skip_to(i + 1, b"\""),
            b'-' if b.get(i + 1) == Some(&b'-') => i = skip_to(i + 2, b"\n"),
            b'/' if b.get(i + 1) == Some(&b'*') => i = skip_to(i + 2, b"*/"),
            b'$' => {
                let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
                let after_word = i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
                if digits > 0 && !after_word {
                    let n = sql[i + 1..i + 1 + digits].parse().unwrap_or(0);
                    most = most.max(n);
                    i += 1 + digits;
                } else if let Some(tag_len) = b[i + 1..]
                    .iter()
                    .position(|c| *c == b'$')
                    .filter(|n| {
                        b[i + 1..i + 1 + n]
                            .iter()
                            .all(|c| c.is_ascii_alphanumeric() || *c == b'_')
                    })
                    .filter(|_| !after_word)
                {
                    // $$...$$ or $tag$...$tag$
                    let tag = &b[i..i + tag_len + 2];
                    i = skip_to(i + tag.len(), tag);
                } else {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    most
}

/// What is wrong between the placeholders the statement uses and the parameters given.
fn count_problem(sql: &str, given: usize) -> Option<String> {
    let used = highest_placeholder(sql);
    if used > given {
        Some(format!(
            "The statement uses ${used}: give {} parameter{}.",
            used,
            if used == 1 { "" } else { "s" }
        ))
    } else if given > used {
        Some(if used == 0 {
            "The statement uses no placeholder: remove the parameters, or use $1 in it.".to_owned()
        } else {
            format!("The statement uses $1 to ${used} only: remove the parameters after ${used}.")
        })
    } else {
        None
    }
}

pub fn sql_form(ctx: Ctx, p: StoredValue<ListPath>, i: usize, s: SqlStep) -> AnyView {
    let ro = ctx.readonly;
    let connection = RwSignal::new(s.connection.clone());
    let query = RwSignal::new(s.query.clone());
    let next = StoredValue::new(s.params.len() as u32);
    let params = RwSignal::new(
        s.params
            .iter()
            .enumerate()
            .map(|(n, e)| (n as u32, e.clone()))
            .collect::<Vec<_>>(),
    );
    let edit = move |f: &dyn Fn(&mut SqlStep)| {
        edit_step(ctx, &p.get_value(), i, |s| {
            if let Step::Sql(x) = s {
                f(x)
            }
        })
    };
    let write_params = move || {
        let list: Vec<String> =
            params.with_untracked(|r| r.iter().map(|(_, e)| e.clone()).collect());
        edit(&|x| x.params = list.clone());
    };
    let position = move |id: u32| params.with(|r| r.iter().position(|x| x.0 == id).unwrap_or(0));
    view! {
        <div class="row data-row">
            <div class="field">
                <label>"Database (stored secret)"</label>
                <NamePicker ctx=ctx what=Named::Secret value=connection class="sql-connection" label="Database (stored secret)"
                    placeholder="crm-database"
                    on_change=Callback::new(move |v: String| edit(&|x| x.connection = v.clone()))/>
                {field_problems(ctx, p, i, |f| f == "connection")}
                <div class="hint">"The secret holds the database's URL: postgres://user:password@host:5432/db."</div>
            </div>
            <div class="field field-narrow">
                <label>"At most (rows)"</label>
                <input type="number" min="1" max=MAX_SQL_ROWS.to_string() class="sql-max-rows" aria-label="Most rows"
                    readonly=ro prop:value=s.max_rows.to_string()
                    on:input=move |ev| {
                        if let Ok(v) = event_target_value(&ev).trim().parse::<u32>() {
                            edit(&|x| x.max_rows = v);
                        }
                    }/>
                {field_problems(ctx, p, i, |f| f == "max_rows")}
                <div class="hint">"More is an error."</div>
            </div>
        </div>
        <div class="field sql-query">
            <label>"SQL statement"</label>
            <CodeArea value=s.query.clone() label="SQL statement" rows=4 readonly=ro
                on_input=Callback::new(move |v: String| {
                    query.set(v.clone());
                    edit(&|x| x.query = v.clone());
                })/>
            {field_problems(ctx, p, i, |f| f == "query")}
        </div>
        <div class="field">
            <label>"Parameters (Rhai expressions)"</label>
            <div class="sql-params">
                <For each=move || params.get() key=|r| r.0 let:row>
                    {
                        let (id, expr) = row;
                        let at = move || position(id);
                        view! {
                            <div class="sql-param">
                                <span class="mono sql-param-no">{move || format!("${}", at() + 1)}</span>
                                <input type="text" class="mono sql-param-value" placeholder="vars.m.email" readonly=ro
                                    aria-label=move || format!("Value of ${}", at() + 1) prop:value=expr
                                    on:input=move |ev| {
                                        let v = event_target_value(&ev);
                                        params.update_untracked(|r| if let Some(x) = r.iter_mut().find(|x| x.0 == id) { x.1 = v; });
                                        write_params();
                                    }/>
                                {(!ro).then(|| view! {
                                    <button class="icon-btn" type="button" aria-label="Remove parameter" title="Remove"
                                        on:click=move |_| { params.update(|r| r.retain(|x| x.0 != id)); write_params(); }>"×"</button>
                                })}
                            </div>
                            {field_problems(ctx, p, i, move |f| f == format!("params[{}]", at()))}
                        }
                    }
                </For>
            </div>
            {(!ro).then(|| view! {
                <button class="btn-link add-sql-param" type="button" on:click=move |_| {
                    let n = next.get_value();
                    next.set_value(n + 1);
                    params.update(|r| r.push((n, String::new())));
                    write_params();
                }>"+ Add parameter"</button>
            })}
            {move || {
                let given = params.with(Vec::len);
                query.with(|q| count_problem(q, given)).map(|m| view! { <div class="field-error sql-count">{m}</div> })
            }}
            {field_problems(ctx, p, i, |f| f == "params")}
            <div class="hint sql-bound">"Their values are bound to $1, $2, … in order, never written into the SQL (cast where a column wants a type: $1::int)."</div>
        </div>
        {var_field(ctx, p, i, VarField {
            label: "Rows into variable (optional)",
            class: "mono sql-to",
            placeholder: "found",
            hint: "vars.<name> = #{rows: [..], count: n}: the rows of a query or of RETURNING; count, the rows changed.",
            value: s.to.unwrap_or_default(),
            set: |s, v| if let Step::Sql(x) = s { x.to = v },
        })}
        <div class="hint step-hint">"One statement on an external PostgreSQL database; a database error fails the step (a try can catch it)."</div>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_counted_outside_quotes_and_comments() {
        assert_eq!(highest_placeholder("SELECT 1"), 0);
        assert_eq!(
            highest_placeholder("SELECT * FROM t WHERE a = $1 AND b = $2"),
            2
        );
        assert_eq!(
            highest_placeholder("UPDATE t SET a = $3::int WHERE id = $1"),
            3
        );
        assert_eq!(
            highest_placeholder("SELECT '$5', \"$6\" FROM t WHERE a = $1 -- $9\n"),
            1
        );
        assert_eq!(highest_placeholder("SELECT /* $4 */ $2"), 2);
        assert_eq!(
            highest_placeholder("SELECT $$ costs $7 $$, $tag$ $8 $tag$, $1"),
            1
        );
        assert_eq!(highest_placeholder("SELECT a$1 FROM t"), 0);
        assert_eq!(highest_placeholder("SELECT 'it''s $3' || $2"), 2);
        assert_eq!(highest_placeholder("SELECT $"), 0);
        assert_eq!(highest_placeholder("SELECT 'open $1"), 0);
        assert_eq!(highest_placeholder("SELECT $10"), 10);
    }

    #[test]
    fn a_missing_or_extra_parameter_is_named() {
        assert_eq!(count_problem("SELECT $1, $2", 2), None);
        assert_eq!(count_problem("SELECT 1", 0), None);
        assert!(count_problem("SELECT $1, $2", 1).is_some_and(|m| m.contains("give 2 parameters")));
        assert!(count_problem("SELECT $1", 0).is_some_and(|m| m.contains("give 1 parameter.")));
        assert!(count_problem("SELECT $1", 2).is_some_and(|m| m.contains("after $1")));
        assert!(count_problem("SELECT 1", 1).is_some_and(|m| m.contains("no placeholder")));
    }
}
