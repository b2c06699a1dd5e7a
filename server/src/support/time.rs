//! Timestamps: Unix microseconds (UTC) in the database, RFC 3339 on the wire.

pub fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

pub fn rfc3339(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
        .unwrap_or_default()
}

pub fn rfc3339_opt(us: Option<i64>) -> Option<String> {
    us.map(rfc3339)
}

/// Parses an RFC 3339 timestamp from the API into Unix microseconds.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.timestamp_micros())
}

/// Milliseconds (a setting) as microseconds (the clock), saturating far from overflow.
pub fn ms_to_us(ms: u64) -> i64 {
    i64::try_from(ms.saturating_mul(1000)).unwrap_or(i64::MAX / 4)
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_utc_with_micros() {
        assert_eq!(
            super::rfc3339(1_546_300_800_000_001),
            "2019-01-01T00:00:00.000001Z"
        );
    }
}
