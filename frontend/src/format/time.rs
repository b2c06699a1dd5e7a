//! Time: RFC 3339 in UTC on the wire, parsed here (to the microsecond) rather than by
//! `Date.parse`, which is not required to read six fractional digits. The pure functions take
//! "now" as an argument; `now_us` is the only one that reads the clock.

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `2026-11-23T12:01:02.123456Z`, `…+02:00`, or a zone-less `2026-11-23T12:01` (read as UTC,
/// what a `datetime-local` input gives) → Unix microseconds.
pub fn parse_time_us(s: &str) -> Option<i64> {
    let s = s.trim();
    let at = |i: usize| s.as_bytes().get(i).copied();
    let digits = |from: usize, len: usize| -> Option<i64> {
        let part = s.get(from..from + len)?;
        if part.bytes().all(|b| b.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let year = digits(0, 4)?;
    if at(4)? != b'-' || at(7)? != b'-' || !matches!(at(10)?, b'T' | b't' | b' ') || at(13)? != b':'
    {
        return None;
    }
    let (month, day, hour, minute) = (digits(5, 2)?, digits(8, 2)?, digits(11, 2)?, digits(14, 2)?);
    let mut i = 16;
    let mut second = 0;
    if at(i) == Some(b':') {
        second = digits(i + 1, 2)?;
        i += 3;
    }
    let mut micros = 0;
    if matches!(at(i), Some(b'.' | b',')) {
        i += 1;
        let start = i;
        while at(i).is_some_and(|b| b.is_ascii_digit()) {
            i += 1;
        }
        let frac = s.get(start..i)?;
        if frac.is_empty() {
            return None;
        }
        let six: String = frac.chars().chain(std::iter::repeat('0')).take(6).collect();
        micros = six.parse::<i64>().ok()?;
    }
    let offset = match at(i) {
        None => 0,
        Some(b'Z' | b'z') if i + 1 == s.len() => 0,
        Some(sign @ (b'+' | b'-')) if i + 6 == s.len() && at(i + 3) == Some(b':') => {
            let o = digits(i + 1, 2)? * 3_600 + digits(i + 4, 2)? * 60;
            if sign == b'+' {
                o
            } else {
                -o
            }
        }
        _ => return None,
    };
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let secs =
        days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second - offset;
    Some(secs * 1_000_000 + micros)
}

fn utc_parts(us: i64) -> (i64, i64, i64, i64, i64, i64) {
    let secs = us.div_euclid(1_000_000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    (y, m, d, rem / 3_600, rem % 3_600 / 60, rem % 60)
}

/// Unix µs → `2026-11-23T12:01:02Z`.
pub fn rfc3339_utc(us: i64) -> String {
    let (y, m, d, h, mi, s) = utc_parts(us);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// The clock, in Unix microseconds.
pub fn now_us() -> i64 {
    (js_sys::Date::now() * 1_000.0) as i64
}

/// `2026-11-23T12:01:02.123Z` → `2026-11-23 12:01:02` (UTC, what the server stores).
pub fn short_time(rfc3339: &str) -> String {
    let s = rfc3339.replace('T', " ");
    s.chars().take(19).collect()
}

/// `2026-11-23 12:01:02 UTC`.
pub fn full_time(rfc3339: &str) -> String {
    format!("{} UTC", short_time(rfc3339))
}

/// "3 min ago" from an RFC 3339 time.
pub fn ago(rfc3339: &str) -> String {
    ago_at(rfc3339, now_us())
}

/// "3 min ago" at `now` (Unix µs); a time that does not parse is shown as it is.
pub fn ago_at(rfc3339: &str, now: i64) -> String {
    let Some(then) = parse_time_us(rfc3339) else {
        return rfc3339.to_owned();
    };
    let secs = ((now - then) / 1_000_000).max(0);
    match secs {
        0..=9 => "just now".into(),
        10..=59 => format!("{secs} s ago"),
        60..=3599 => format!("{} min ago", secs / 60),
        3600..=86399 => format!("{} h ago", secs / 3600),
        _ => format!("{} d ago", secs / 86400),
    }
}

/// "in 4 min" for a time to come, "due now" once it has come.
pub fn until(rfc3339: &str) -> String {
    until_at(rfc3339, now_us())
}

/// "in 25 s", "in 4 min", "in 2 h 5 min" (up to two days), "in 3 d", or "due now", at `now`
/// (Unix µs); a time that does not parse is shown as it is.
pub fn until_at(rfc3339: &str, now: i64) -> String {
    let Some(then) = parse_time_us(rfc3339) else {
        return rfc3339.to_owned();
    };
    let secs = ((then - now) as f64 / 1_000_000.0).round();
    if secs <= 0.0 {
        return "due now".into();
    }
    let s = secs as u64;
    match s {
        0..=59 => format!("in {s} s"),
        60..=3599 => format!("in {} min", s / 60),
        3600..=172_799 => match s % 3600 / 60 {
            0 => format!("in {} h", s / 3600),
            m => format!("in {} h {m} min", s / 3600),
        },
        _ => format!("in {} d", s / 86400),
    }
}

/// A time (RFC 3339) → the value of a `datetime-local` input (UTC), with seconds only when
/// there are some; empty when it does not parse.
pub fn to_input(rfc3339: &str) -> String {
    let Some(us) = parse_time_us(rfc3339) else {
        return String::new();
    };
    let (y, m, d, h, mi, s) = utc_parts(us);
    if s == 0 {
        format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}")
    } else {
        format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}")
    }
}

/// The value of a `datetime-local` input (read as UTC) → RFC 3339 (`2026-11-23T08:00:00Z`).
pub fn from_input(value: &str) -> Option<String> {
    parse_time_us(value).map(rfc3339_utc)
}

/// Unix µs → the value of a `datetime-local` input (UTC), to the minute.
pub fn input_at(us: i64) -> String {
    rfc3339_utc(us).chars().take(16).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOON: i64 = 1_795_435_200_000_000; // 2026-11-23T12:00:00Z

    #[test]
    fn parses_and_formats_times() {
        assert_eq!(parse_time_us("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_time_us("2019-01-01T00:00:00.000001Z"),
            Some(1_546_300_800_000_001)
        );
        assert_eq!(
            parse_time_us("2019-01-01T02:00:00+02:00"),
            Some(1_546_300_800_000_000)
        );
        assert_eq!(
            parse_time_us("2019-01-01T00:00"),
            Some(1_546_300_800_000_000)
        );
        assert_eq!(
            parse_time_us("2019-01-01T00:00:00.5Z"),
            Some(1_546_300_800_500_000)
        );
        assert_eq!(parse_time_us("2019-13-01T00:00Z"), None);
        assert_eq!(parse_time_us("yesterday"), None);
        assert_eq!(parse_time_us("2019-01-01T00:00:00Zjunk"), None);
        assert_eq!(parse_time_us("2026-11-23T12:00:00Z"), Some(NOON));
        assert_eq!(rfc3339_utc(1_546_300_800_000_001), "2019-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(1_709_164_800_000_000), "2024-02-29T00:00:00Z");
        assert_eq!(
            short_time("2026-11-23T12:01:02.123456Z"),
            "2026-11-23 12:01:02"
        );
        assert_eq!(full_time("2026-11-23T12:01:02Z"), "2026-11-23 12:01:02 UTC");
    }

    #[test]
    fn datetime_local_values() {
        assert_eq!(to_input("2026-11-23T12:01:00.000000Z"), "2026-11-23T12:01");
        assert_eq!(to_input("2026-11-23T14:01:05+02:00"), "2026-11-23T12:01:05");
        assert_eq!(to_input("junk"), "");
        assert_eq!(
            from_input("2026-11-23T12:01").as_deref(),
            Some("2026-11-23T12:01:00Z")
        );
        assert_eq!(
            from_input("2026-11-23T08:00:07").as_deref(),
            Some("2026-11-23T08:00:07Z")
        );
        assert_eq!(from_input(""), None);
        assert_eq!(from_input("2026-11-23"), None);
        assert_eq!(input_at(NOON - 3_600_000_000), "2026-11-23T11:00");
    }

    #[test]
    fn relative_times() {
        let at = |offset_s: i64| rfc3339_utc(NOON + offset_s * 1_000_000);
        assert_eq!(ago_at(&at(-5), NOON), "just now");
        assert_eq!(ago_at(&at(30), NOON), "just now");
        assert_eq!(ago_at(&at(-42), NOON), "42 s ago");
        assert_eq!(ago_at(&at(-180), NOON), "3 min ago");
        assert_eq!(ago_at(&at(-7_300), NOON), "2 h ago");
        assert_eq!(ago_at(&at(-3 * 86_400), NOON), "3 d ago");
        assert_eq!(ago_at("never", NOON), "never");
        assert_eq!(until_at("2026-11-23T12:00:30Z", NOON), "in 30 s");
        assert_eq!(until_at(&at(0), NOON), "due now");
        assert_eq!(until_at(&at(-60), NOON), "due now");
        assert_eq!(until_at(&at(240), NOON), "in 4 min");
        assert_eq!(until_at(&at(7_200), NOON), "in 2 h");
        assert_eq!(until_at(&at(7_500), NOON), "in 2 h 5 min");
        assert_eq!(until_at(&at(30 * 3_600), NOON), "in 30 h");
        assert_eq!(until_at(&at(3 * 86_400), NOON), "in 3 d");
        assert_eq!(until_at("soon", NOON), "soon");
    }
}
