//! Text on its way to the database: PostgreSQL's `text` refuses the NUL character, so text
//! that a caller or a remote server controls has it replaced before it is written.

use std::borrow::Cow;

/// The text with every NUL replaced by U+FFFD (unchanged, without a copy, when it has none).
pub fn without_nul(s: &str) -> Cow<'_, str> {
    if s.contains('\0') {
        Cow::Owned(s.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// [`without_nul`] of an optional owned text.
pub fn opt_without_nul(s: Option<String>) -> Option<String> {
    s.map(|t| match without_nul(&t) {
        Cow::Borrowed(_) => t,
        Cow::Owned(o) => o,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_replaced_and_other_text_kept() {
        assert_eq!(without_nul("a\0b"), "a\u{FFFD}b");
        assert!(matches!(without_nul("plain"), Cow::Borrowed("plain")));
        assert_eq!(
            opt_without_nul(Some("\0".into())).as_deref(),
            Some("\u{FFFD}")
        );
        assert_eq!(opt_without_nul(None), None);
    }
}
