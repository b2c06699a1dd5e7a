//! Words: messages and counts.

/// The server's messages start in lower case (they read well after "Could not …: "): the
/// first letter in upper case and a full stop at the end, unless it has one.
pub fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default();
    out.push_str(chars.as_str());
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// `1 key`, `3 keys`.
pub fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_and_plurals() {
        assert_eq!(
            sentence("a key with this secret exists"),
            "A key with this secret exists."
        );
        assert_eq!(sentence("done!"), "Done!");
        assert_eq!(sentence("Already."), "Already.");
        assert_eq!(sentence(""), ".");
        assert_eq!(plural(1, "key", "keys"), "1 key");
        assert_eq!(plural(0, "key", "keys"), "0 keys");
        assert_eq!(plural(12, "delivery", "deliveries"), "12 deliveries");
    }
}
