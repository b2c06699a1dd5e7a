//! Templates of HTTP steps: text with `${<rhai expression>}` pieces, like Rhai's own
//! interpolated strings (`` `id ${vars.m.id}` ``). Always compiled (the UI checks them).

/// A piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplatePart {
    Text(String),
    /// The Rhai expression between `${` and `}`.
    Expr(String),
}

/// Splits a template into text and expressions. `$${` is a literal `${`.
pub fn parse_template(template: &str) -> Result<Vec<TemplatePart>, String> {
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut rest = template;
    while let Some(at) = rest.find("${") {
        let (before, after) = rest.split_at(at);
        if before.ends_with('$') {
            text.push_str(before.get(..before.len() - 1).unwrap_or_default());
            text.push_str("${");
            rest = after.get(2..).unwrap_or_default();
            continue;
        }
        text.push_str(before);
        let inner = after.get(2..).unwrap_or_default();
        let end = closing_brace(inner).ok_or_else(|| {
            format!(
                "`${{` at position {} is not closed by `}}`",
                template.len() - rest.len() + at + 1
            )
        })?;
        let expr = inner.get(..end).unwrap_or_default();
        if expr.trim().is_empty() {
            return Err("`${}` has no expression inside".to_owned());
        }
        if !text.is_empty() {
            parts.push(TemplatePart::Text(std::mem::take(&mut text)));
        }
        parts.push(TemplatePart::Expr(expr.to_owned()));
        rest = inner.get(end + 1..).unwrap_or_default();
    }
    text.push_str(rest);
    if !text.is_empty() {
        parts.push(TemplatePart::Text(text));
    }
    Ok(parts)
}

/// Position of the `}` closing an expression (nested braces and string literals skipped).
fn closing_brace(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' | '`' => quote = Some(c),
            '{' => depth += 1,
            '}' if depth == 0 => return Some(i),
            '}' => depth -= 1,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use TemplatePart::{Expr, Text};

    #[test]
    fn splits_text_and_expressions() {
        assert_eq!(parse_template("").unwrap(), []);
        assert_eq!(
            parse_template("https://x/users/${vars.m.id}/roles").unwrap(),
            [
                Text("https://x/users/".into()),
                Expr("vars.m.id".into()),
                Text("/roles".into())
            ]
        );
        assert_eq!(
            parse_template("${vars.base}${ #{a: \"}\"}.a }").unwrap(),
            [Expr("vars.base".into()), Expr(" #{a: \"}\"}.a ".into())]
        );
        assert_eq!(
            parse_template("cost $${x}").unwrap(),
            [Text("cost ${x}".into())]
        );
        assert!(parse_template("a ${vars.x")
            .unwrap_err()
            .contains("position 3"));
        assert!(parse_template("a ${ }").is_err());
    }
}
