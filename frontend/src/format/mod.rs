//! Pure formatting, one implementation of each: text (`sentence`, `plural`), times (one
//! calendar: parsing, RFC 3339, `datetime-local` values, "3 min ago", "in 4 min"), durations,
//! sizes and rates, and shell snippets (quoting; how a consumer calls a trigger). Nothing here
//! touches the DOM; everything but the clock (`now_us`, and `ago` and `until`, which read it)
//! is unit-tested on the host.

mod snippets;
mod text;
mod time;
mod units;

pub use snippets::{
    how_to_call, preset_label, preset_name, shell_quote, signs_timestamp, token_request,
    CallTarget, HowToCall,
};
pub use text::{plural, sentence};
pub use time::{
    ago, from_input, full_time, input_at, now_us, parse_time_us, rfc3339_utc, short_time, to_input,
    until, until_at,
};
pub use units::{
    fmt_bytes, fmt_duration_us, fmt_latency_ms, fmt_ms, fmt_percent, fmt_rate, fmt_step_ms,
};
