//! Durations and sizes.

/// An execution's run time: `0.41 ms`, `12 ms`, `1.25 s`, `2 min 5 s`, `1 h 3 min`.
pub fn fmt_duration_us(us: i64) -> String {
    let us = us.max(0);
    match us {
        0..=999 => format!("{:.2} ms", us as f64 / 1_000.0),
        1_000..=9_999 => format!("{:.1} ms", us as f64 / 1_000.0),
        10_000..=999_999 => format!("{} ms", us / 1_000),
        1_000_000..=59_999_999 => format!("{:.2} s", us as f64 / 1_000_000.0),
        60_000_000..=3_599_999_999 => {
            let s = us / 1_000_000;
            format!("{} min {} s", s / 60, s % 60)
        }
        _ => {
            let m = us / 60_000_000;
            format!("{} h {} min", m / 60, m % 60)
        }
    }
}

/// A step's duration, always in milliseconds: `0.041 ms`, `3.25 ms`, `120 ms`.
pub fn fmt_step_ms(us: u64) -> String {
    let ms = us as f64 / 1_000.0;
    match us {
        0..=999 => format!("{ms:.3} ms"),
        1_000..=9_999 => format!("{ms:.2} ms"),
        10_000..=99_999 => format!("{ms:.1} ms"),
        _ => format!("{ms:.0} ms"),
    }
}

/// A delivery attempt's duration: `245 ms`, `1.2 s`.
pub fn fmt_ms(ms: i64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

/// `512 bytes`, `1.5 KB`, `2.0 MB`.
pub fn fmt_bytes(n: usize) -> String {
    match n {
        0..=1_023 => format!("{n} bytes"),
        1_024..=1_048_575 => format!("{:.1} KB", n as f64 / 1_024.0),
        _ => format!("{:.1} MB", n as f64 / 1_048_576.0),
    }
}

/// A token bucket in words: `10 calls/s`, `10 calls/s, bursts of 50`.
pub fn fmt_rate(per_second: u32, burst: u32) -> String {
    let calls = if per_second == 1 { "call" } else { "calls" };
    if burst == per_second {
        format!("{per_second} {calls}/s")
    } else {
        format!("{per_second} {calls}/s, bursts of {burst}")
    }
}

/// A share (0..1) as a percentage: `0 %`, `< 0.1 %`, `2.5 %`, `12 %`, `100 %`.
pub fn fmt_percent(rate: f64) -> String {
    let pct = if rate.is_finite() {
        (rate * 100.0).clamp(0.0, 100.0)
    } else {
        0.0
    };
    if pct == 0.0 {
        "0 %".to_owned()
    } else if pct < 0.1 {
        "< 0.1 %".to_owned()
    } else if pct < 10.0 {
        // One decimal, without a trailing `.0`.
        let s = format!("{pct:.1}");
        format!("{} %", s.strip_suffix(".0").unwrap_or(&s))
    } else {
        format!("{pct:.0} %")
    }
}

/// A latency in milliseconds (a percentile): `0.41 ms`, `12 ms`, `1.25 s`; `—` when unknown.
pub fn fmt_latency_ms(ms: Option<f64>) -> String {
    match ms {
        Some(ms) if ms.is_finite() => fmt_duration_us((ms * 1_000.0).round() as i64),
        _ => "—".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_durations() {
        assert_eq!(fmt_duration_us(410), "0.41 ms");
        assert_eq!(fmt_duration_us(12_300), "12 ms");
        assert_eq!(fmt_duration_us(1_250_000), "1.25 s");
        assert_eq!(fmt_duration_us(125_000_000), "2 min 5 s");
        assert_eq!(fmt_duration_us(3_780_000_000), "1 h 3 min");
        assert_eq!(fmt_duration_us(-5), "0.00 ms");
        assert_eq!(fmt_step_ms(41), "0.041 ms");
        assert_eq!(fmt_step_ms(3_250), "3.25 ms");
        assert_eq!(fmt_step_ms(120_400), "120 ms");
        assert_eq!(fmt_ms(245), "245 ms");
        assert_eq!(fmt_ms(1_234), "1.2 s");
    }

    #[test]
    fn formats_sizes() {
        assert_eq!(fmt_bytes(512), "512 bytes");
        assert_eq!(fmt_bytes(1_536), "1.5 KB");
        assert_eq!(fmt_bytes(2 * 1_048_576), "2.0 MB");
    }

    #[test]
    fn formats_rates() {
        assert_eq!(fmt_rate(10, 10), "10 calls/s");
        assert_eq!(fmt_rate(1, 5), "1 call/s, bursts of 5");
    }

    #[test]
    fn formats_percentages_and_latencies() {
        assert_eq!(fmt_percent(0.0), "0 %");
        assert_eq!(fmt_percent(0.000_4), "< 0.1 %");
        assert_eq!(fmt_percent(0.025), "2.5 %");
        assert_eq!(fmt_percent(0.05), "5 %");
        assert_eq!(fmt_percent(0.123), "12 %");
        assert_eq!(fmt_percent(1.0), "100 %");
        assert_eq!(fmt_percent(f64::NAN), "0 %");
        assert_eq!(fmt_percent(3.0), "100 %");
        assert_eq!(fmt_latency_ms(Some(0.41)), "0.41 ms");
        assert_eq!(fmt_latency_ms(Some(12.3)), "12 ms");
        assert_eq!(fmt_latency_ms(Some(1250.0)), "1.25 s");
        assert_eq!(fmt_latency_ms(None), "—");
    }
}
