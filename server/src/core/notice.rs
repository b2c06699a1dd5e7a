//! What instances tell each other on the PostgreSQL channel (LISTEN/NOTIFY): one short text
//! payload per notice. The one place that knows the wire format.

/// A notice to the other instances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// API keys changed: reload them.
    Keys,
    /// Integrations changed: reload the routes.
    Integrations,
    /// Subscriptions changed: reload the enabled set.
    Subscriptions,
    /// Deliveries are due: the delivery worker looks again.
    Deliveries,
    /// New asynchronous unordered work is on disk.
    Unordered,
    /// New work for this ordered lane (a lane id) is on disk.
    Lane(String),
    /// This execution ended; a caller waiting for it gets the stored answer.
    Done(String),
}

impl Notice {
    /// The payload sent on the channel.
    pub fn payload(&self) -> String {
        match self {
            Notice::Keys => "k".to_owned(),
            Notice::Integrations => "i".to_owned(),
            Notice::Subscriptions => "s".to_owned(),
            Notice::Deliveries => "w".to_owned(),
            Notice::Unordered => "u".to_owned(),
            Notice::Lane(id) => format!("l:{id}"),
            Notice::Done(id) => format!("d:{id}"),
        }
    }

    /// The notice a payload carries; `None` for one this version does not know.
    pub fn parse(payload: &str) -> Option<Notice> {
        Some(match payload {
            "k" => Notice::Keys,
            "i" => Notice::Integrations,
            "s" => Notice::Subscriptions,
            "w" => Notice::Deliveries,
            "u" => Notice::Unordered,
            p => {
                if let Some(id) = p.strip_prefix("l:") {
                    Notice::Lane(id.to_owned())
                } else if let Some(id) = p.strip_prefix("d:") {
                    Notice::Done(id.to_owned())
                } else {
                    return None;
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_notice_survives_the_wire() {
        for n in [
            Notice::Keys,
            Notice::Integrations,
            Notice::Subscriptions,
            Notice::Deliveries,
            Notice::Unordered,
            Notice::Lane("int-1/customer:42".to_owned()),
            Notice::Done("019a-exec".to_owned()),
        ] {
            assert_eq!(Notice::parse(&n.payload()), Some(n));
        }
        assert_eq!(Notice::parse("zz"), None);
        assert_eq!(Notice::parse(""), None);
    }
}
