//! The list's filters: all of them live in the URL query, and the detail page's back link
//! returns to the list as it was.

use std::cell::RefCell;

use crate::api::enc;
use crate::format::{parse_time_us, rfc3339_utc};

/// Quick time ranges: URL value (also the button's label), its name, seconds. The window
/// slides with the live list.
pub const RANGES: [(&str, &str, i64); 4] = [
    ("15m", "Last 15 minutes", 15 * 60),
    ("1h", "Last hour", 3_600),
    ("24h", "Last 24 hours", 86_400),
    ("7d", "Last 7 days", 7 * 86_400),
];

thread_local! {
    /// The list's query (`?integration=..`), so the detail page's back link keeps the filters.
    static LAST_LIST_QUERY: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Remembers the list's query for [`list_href`].
pub fn remember_list_query(query: String) {
    LAST_LIST_QUERY.with(|q| *q.borrow_mut() = query);
}

/// The list, with the filters it had when it was last shown.
pub fn list_href() -> String {
    LAST_LIST_QUERY.with(|q| format!("/executions{}", q.borrow()))
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filters {
    pub integration: String,
    pub status: String,
    /// Who called: `key:<key id>` or `client:<OAuth client id>`.
    pub caller: String,
    /// A sliding window (`15m`, `1h`, `24h`, `7d`): `from` is now minus it at each request.
    pub range: String,
    /// RFC 3339 (UTC).
    pub from: String,
    pub to: String,
}

impl Filters {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let get = |k: &str| get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
        Filters {
            integration: get("integration"),
            status: get("status"),
            caller: get("caller"),
            range: get("range"),
            from: get("from"),
            to: get("to"),
        }
    }

    fn pairs(&self) -> [(&'static str, &str); 6] {
        [
            ("integration", &self.integration),
            ("status", &self.status),
            ("caller", &self.caller),
            ("range", &self.range),
            ("from", &self.from),
            ("to", &self.to),
        ]
    }

    /// The page's query string: `?integration=a&status=dead`, empty when nothing is filtered.
    pub fn to_query(&self) -> String {
        let parts: Vec<String> = self
            .pairs()
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", enc(v)))
            .collect();
        if parts.is_empty() {
            String::new()
        } else {
            format!("?{}", parts.join("&"))
        }
    }

    pub fn is_filtered(&self) -> bool {
        self.pairs().iter().any(|(_, v)| !v.is_empty())
    }

    pub fn has_time(&self) -> bool {
        !(self.range.is_empty() && self.from.is_empty() && self.to.is_empty())
    }

    /// The received-at window sent to the server, or why it cannot be.
    pub fn window(&self, now: i64) -> Result<(Option<String>, Option<String>), String> {
        let from = if !self.range.is_empty() {
            let Some((_, _, secs)) = RANGES.iter().find(|(k, _, _)| *k == self.range) else {
                return Err(format!(
                    "Unknown time range “{}”: choose one of the quick ranges.",
                    self.range
                ));
            };
            Some(now - secs * 1_000_000)
        } else if self.from.is_empty() {
            None
        } else {
            Some(
                parse_time_us(&self.from)
                    .ok_or_else(|| format!("“From” is not a valid time: {}", self.from))?,
            )
        };
        let to = if self.to.is_empty() {
            None
        } else {
            Some(
                parse_time_us(&self.to)
                    .ok_or_else(|| format!("“To” is not a valid time: {}", self.to))?,
            )
        };
        if let (Some(f), Some(t)) = (from, to) {
            if f >= t {
                return Err("“From” must be before “To”.".into());
            }
        }
        Ok((from.map(rfc3339_utc), to.map(rfc3339_utc)))
    }

    /// `/executions?integration=..&status=..&caller=..&from=..&limit=..&cursor=..` for the API.
    pub fn api_path(&self, now: i64, limit: usize, cursor: Option<&str>) -> Result<String, String> {
        let (from, to) = self.window(now)?;
        let mut q = vec![format!("limit={limit}")];
        for (k, v) in [
            ("integration", Some(self.integration.as_str())),
            ("status", Some(self.status.as_str())),
            ("caller", Some(self.caller.as_str())),
            ("from", from.as_deref()),
            ("to", to.as_deref()),
            ("cursor", cursor),
        ] {
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                q.push(format!("{k}={}", enc(v)));
            }
        }
        Ok(format!("/executions?{}", q.join("&")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_round_trip_and_window() {
        let f = Filters {
            integration: "create customer".into(),
            status: "dead".into(),
            ..Default::default()
        };
        assert_eq!(f.to_query(), "?integration=create%20customer&status=dead");
        assert_eq!(Filters::default().to_query(), "");
        let back = Filters::from_lookup(|k| match k {
            "integration" => Some("create customer".into()),
            "status" => Some("dead".into()),
            _ => None,
        });
        assert_eq!(back, f);
        let now = 1_546_300_800_000_000;
        let ranged = Filters {
            range: "1h".into(),
            ..Default::default()
        };
        assert_eq!(
            ranged.api_path(now, 50, None),
            Ok("/executions?limit=50&from=2018-12-31T23%3A00%3A00Z".to_owned())
        );
        let bad = Filters {
            from: "2019-01-02T00:00:00Z".into(),
            to: "2019-01-01T00:00:00Z".into(),
            ..Default::default()
        };
        assert!(bad.window(now).is_err());
        assert!(Filters {
            range: "1y".into(),
            ..Default::default()
        }
        .window(now)
        .is_err());
        assert_eq!(
            f.api_path(now, 50, Some("c")),
            Ok(
                "/executions?limit=50&integration=create%20customer&status=dead&cursor=c"
                    .to_owned()
            )
        );
    }

    #[test]
    fn the_caller_filter_is_in_the_url_and_the_request() {
        let f = Filters {
            caller: "key:01J9".into(),
            status: "failed".into(),
            ..Default::default()
        };
        assert_eq!(f.to_query(), "?status=failed&caller=key%3A01J9");
        assert!(f.is_filtered() && !f.has_time());
        let back = Filters::from_lookup(|k| match k {
            "caller" => Some(" key:01J9 ".into()),
            "status" => Some("failed".into()),
            _ => None,
        });
        assert_eq!(back, f);
        assert_eq!(
            f.api_path(0, 50, None),
            Ok("/executions?limit=50&status=failed&caller=key%3A01J9".to_owned())
        );
    }
}
