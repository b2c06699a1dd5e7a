//! A rate limit typed in a form: calls per second and an optional burst.

use flowgate_api::RateLimit;
use leptos::prelude::*;

/// What was typed: nothing (both blank: no limit), a limit, or why it is not one.
pub fn parse_rate_limit(per_second: &str, burst: &str) -> Result<Option<RateLimit>, String> {
    let (per_second, burst) = (per_second.trim(), burst.trim());
    if per_second.is_empty() && burst.is_empty() {
        return Ok(None);
    }
    let number = |s: &str, what: &str| {
        s.parse::<u32>().map_err(|_| {
            format!(
                "{what} must be a whole number from 1 to {}.",
                RateLimit::MAX
            )
        })
    };
    if per_second.is_empty() {
        return Err("Give the number of calls per second too.".into());
    }
    let limit = RateLimit {
        per_second: number(per_second, "Calls per second")?,
        burst: if burst.is_empty() {
            None
        } else {
            Some(number(burst, "The burst")?)
        },
    };
    match limit.problem() {
        Some(_) if limit.per_second == 0 || limit.per_second > RateLimit::MAX => {
            Err(format!("Calls per second must be 1 to {}.", RateLimit::MAX))
        }
        Some(_) => Err(format!("The burst must be 1 to {}.", RateLimit::MAX)),
        None => Ok(Some(limit)),
    }
}

/// The two fields (`{id}-per-second`, `{id}-burst`), what is wrong with them, and a hint.
/// `on_change` runs after each keystroke, once the signals hold the new text.
#[component]
pub fn RateLimitFields(
    id: &'static str,
    per_second: RwSignal<String>,
    burst: RwSignal<String>,
    #[prop(into)] hint: String,
    #[prop(optional)] readonly: bool,
    #[prop(optional, into)] on_change: Option<Callback<()>>,
) -> impl IntoView {
    let problem = move || parse_rate_limit(&per_second.get(), &burst.get()).err();
    let changed = move || {
        if let Some(cb) = on_change {
            cb.run(());
        }
    };
    let per_id = format!("{id}-per-second");
    let burst_id = format!("{id}-burst");
    view! {
        <div class="field rate-limit-fields">
        <div class="row">
            <div class="field" style="max-width: 190px; margin-bottom: 0">
                <label for=per_id.clone()>"Calls per second"</label>
                <input id=per_id type="number" min="1" max=RateLimit::MAX.to_string() placeholder="10"
                    readonly=readonly prop:value=per_second
                    on:input=move |ev| { per_second.set(event_target_value(&ev)); changed(); }/>
            </div>
            <div class="field" style="max-width: 190px; margin-bottom: 0">
                <label for=burst_id.clone()>"Burst (optional)"</label>
                <input id=burst_id type="number" min="1" max=RateLimit::MAX.to_string() placeholder="same"
                    readonly=readonly prop:value=burst
                    on:input=move |ev| { burst.set(event_target_value(&ev)); changed(); }/>
            </div>
        </div>
        {move || problem().map(|p| view! { <div class="field-error" role="alert">{p}</div> })}
        <div class="hint">{hint}</div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_limits() {
        assert_eq!(parse_rate_limit(" ", ""), Ok(None));
        assert_eq!(
            parse_rate_limit("10", ""),
            Ok(Some(RateLimit {
                per_second: 10,
                burst: None
            }))
        );
        assert_eq!(
            parse_rate_limit("5", "20"),
            Ok(Some(RateLimit {
                per_second: 5,
                burst: Some(20)
            }))
        );
        assert!(parse_rate_limit("", "20").is_err());
        assert!(parse_rate_limit("0", "").is_err());
        assert!(parse_rate_limit("2.5", "").is_err());
        assert!(parse_rate_limit("10", "0").is_err());
        assert!(parse_rate_limit("2000000", "").is_err());
    }
}
