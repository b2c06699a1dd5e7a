//! Version history: every published version, a line diff between any two, and roll back
//! (publishes an old version's document again as a new version).

use flowgate_api::integrations::{PublishIn, VersionOut};
use flowgate_api::{IntegrationOut, Page};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::ctx::Ctx;
use crate::api::{self, enc, ApiError};
use crate::components::{confirm, Loading, Modal, Notify};
use crate::format::{plural, short_time};

#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    Same(String),
    Added(String),
    Removed(String),
}

/// A line diff (longest common subsequence). Very long inputs fall back to "all removed,
/// all added" rather than using quadratic memory.
pub fn diff_lines(a: &str, b: &str) -> Vec<Line> {
    let a: Vec<&str> = a.lines().collect();
    let b: Vec<&str> = b.lines().collect();
    let (n, m) = (a.len(), b.len());
    if n.saturating_mul(m) > 4_000_000 {
        return a
            .iter()
            .map(|l| Line::Removed((*l).into()))
            .chain(b.iter().map(|l| Line::Added((*l).into())))
            .collect();
    }
    // lcs[i][j]: LCS length of a[i..] and b[j..].
    let mut lcs = vec![0u32; (n + 1) * (m + 1)];
    let at = |i: usize, j: usize| i * (m + 1) + j;
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[at(i, j)] = if a[i] == b[j] {
                lcs[at(i + 1, j + 1)] + 1
            } else {
                lcs[at(i + 1, j)].max(lcs[at(i, j + 1)])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::with_capacity(n.max(m));
    while i < n && j < m {
        if a[i] == b[j] {
            out.push(Line::Same(a[i].into()));
            i += 1;
            j += 1;
        } else if lcs[at(i + 1, j)] >= lcs[at(i, j + 1)] {
            out.push(Line::Removed(a[i].into()));
            i += 1;
        } else {
            out.push(Line::Added(b[j].into()));
            j += 1;
        }
    }
    out.extend(a[i..].iter().map(|l| Line::Removed((*l).into())));
    out.extend(b[j..].iter().map(|l| Line::Added((*l).into())));
    out
}

/// Keeps `context` unchanged lines around each change and folds longer unchanged runs into a
/// count.
pub fn fold(lines: Vec<Line>, context: usize) -> Vec<Result<Line, usize>> {
    let changed: Vec<bool> = lines.iter().map(|l| !matches!(l, Line::Same(_))).collect();
    let near = |i: usize| {
        let lo = i.saturating_sub(context);
        let hi = (i + context + 1).min(changed.len());
        changed[lo..hi].iter().any(|c| *c)
    };
    let mut out = Vec::new();
    let mut hidden = 0;
    for (i, l) in lines.into_iter().enumerate() {
        if near(i) {
            if hidden > 0 {
                out.push(Err(hidden));
                hidden = 0;
            }
            out.push(Ok(l));
        } else {
            hidden += 1;
        }
    }
    if hidden > 0 {
        out.push(Err(hidden));
    }
    out
}

#[component]
pub fn Versions(
    ctx: Ctx,
    #[prop(into)] current: Signal<i64>,
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_published: Callback<()>,
) -> impl IntoView {
    let notify = Notify::new();
    let list = RwSignal::new(None::<Result<Vec<VersionOut>, ApiError>>);
    let left = RwSignal::new(None::<i64>);
    let right = RwSignal::new(None::<i64>);
    let slug = ctx.slug.get_value();
    let path = StoredValue::new(format!("/integrations/{}", enc(&slug)));
    spawn_local(async move {
        let r = api::get::<Page<VersionOut>>(&format!("{}/versions", path.get_value()))
            .await
            .map(|p| p.items);
        if let Ok(v) = &r {
            right.set(v.first().map(|x| x.version));
            left.set(v.get(1).map(|x| x.version));
        }
        list.try_set(Some(r));
    });
    let rollback = move |v: i64| {
        confirm(
            format!("Roll back to version {v}?"),
            format!("Version {v}'s flow is published again as a new version; callers get it at once. Your draft, if any, is replaced."),
            "Roll back",
            move || spawn_local(async move {
                match api::post::<IntegrationOut, _>(&format!("{}/publish", path.get_value()), &PublishIn { version: Some(v) }).await {
                    Ok(out) => {
                        notify.ok(format!("Version {v} published again as version {}", out.version));
                        on_published.run(());
                    }
                    Err(e) => notify.error(format!("Roll back failed: {e}")),
                }
            }),
        );
    };
    let doc_text = move |v: i64| {
        list.with(|l| match l {
            Some(Ok(l)) => l
                .iter()
                .find(|x| x.version == v)
                .map(|x| serde_json::to_string_pretty(&x.document).unwrap_or_default())
                .unwrap_or_default(),
            _ => String::new(),
        })
    };
    view! {
        <Modal title="Version history".to_owned() on_close=on_close wide=true>
            {move || match list.get() {
                None => view! { <Loading what="versions"/> }.into_any(),
                Some(Err(e)) => view! { <div class="error-box">{e.describe()}</div> }.into_any(),
                Some(Ok(l)) if l.is_empty() => view! {
                    <div class="empty"><div class="empty-title">"Not published yet"</div>"Publish the draft to create version 1."</div>
                }.into_any(),
                Some(Ok(l)) => view! {
                    <div class="versions-grid">
                        <table class="table versions" id="versions">
                            <thead><tr><th>"Version"</th><th>"Published"</th><th title="Compare from">"A"</th><th title="Compare to">"B"</th><th></th></tr></thead>
                            <tbody>
                                {l.into_iter().map(|v| {
                                    let n = v.version;
                                    view! {
                                        <tr data-version=n.to_string()>
                                            <td><b>{format!("v{n}")}</b>{move || (current.get() == n).then(|| view! { <span class="badge badge-published" style="margin-left: 6px">"live"</span> })}</td>
                                            <td class="small">{short_time(&v.created_at)}<div class="muted">{v.created_by_email.clone().unwrap_or_default()}</div></td>
                                            <td><input type="radio" name="diff-a" aria-label=format!("Compare from v{n}") prop:checked=move || left.get() == Some(n) on:change=move |_| left.set(Some(n))/></td>
                                            <td><input type="radio" name="diff-b" aria-label=format!("Compare to v{n}") prop:checked=move || right.get() == Some(n) on:change=move |_| right.set(Some(n))/></td>
                                            <td class="actions">
                                                <Show when=move || !ctx.readonly && current.get() != n>
                                                    <button class="btn btn-small rollback" on:click=move |_| rollback(n)>"Roll back"</button>
                                                </Show>
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                        <div class="diff-wrap">
                            {move || match (left.get(), right.get()) {
                                (Some(a), Some(b)) if a != b => {
                                    let lines = diff_lines(&doc_text(a), &doc_text(b));
                                    let changed = lines.iter().filter(|l| !matches!(l, Line::Same(_))).count();
                                    view! {
                                        <div class="section-title">{format!("v{a} → v{b} · {}", plural(changed, "changed line", "changed lines"))}</div>
                                        <pre class="diff" id="diff">{fold(lines, 3).into_iter().map(|l| match l {
                                            Ok(Line::Same(s)) => view! { <div class="d-same">{format!("  {s}")}</div> },
                                            Ok(Line::Added(s)) => view! { <div class="d-add">{format!("+ {s}")}</div> },
                                            Ok(Line::Removed(s)) => view! { <div class="d-del">{format!("- {s}")}</div> },
                                            Err(n) => view! { <div class="d-fold">{format!("  ⋯ {}", plural(n, "unchanged line", "unchanged lines"))}</div> },
                                        }).collect_view()}</pre>
                                    }.into_any()
                                }
                                _ => view! { <div class="muted">"Pick two different versions (A and B) to see what changed."</div> }.into_any(),
                            }}
                        </div>
                    </div>
                }.into_any(),
            }}
        </Modal>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_marks_changed_lines_only() {
        let d = diff_lines("a\nb\nc\nd", "a\nB\nc\nd\ne");
        assert_eq!(
            d,
            vec![
                Line::Same("a".into()),
                Line::Removed("b".into()),
                Line::Added("B".into()),
                Line::Same("c".into()),
                Line::Same("d".into()),
                Line::Added("e".into()),
            ]
        );
        assert!(diff_lines("x\ny", "x\ny")
            .iter()
            .all(|l| matches!(l, Line::Same(_))));
    }

    #[test]
    fn folding_keeps_context_around_changes() {
        let a: String = (0..20).map(|i| format!("{i}\n")).collect();
        let b = a.replace("10\n", "ten\n");
        let folded = fold(diff_lines(&a, &b), 2);
        assert_eq!(folded.first(), Some(&Err(8)));
        assert_eq!(folded.last(), Some(&Err(7)));
        let shown: Vec<&Line> = folded.iter().filter_map(|l| l.as_ref().ok()).collect();
        assert_eq!(shown.len(), 6); // 2 before, removed, added, 2 after
    }
}
