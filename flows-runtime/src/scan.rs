//! A small lexical scan of Rhai snippets that already compiled on their own.
//!
//! It finds the identifiers (outside strings and comments) and the top-level function
//! definitions, so the code generator can hoist functions out of step blocks (Rhai allows
//! `fn` only at the global level) and refuse names reserved for generated code.

use std::ops::Range;

/// An identifier and where it starts (byte offset in the snippet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ident {
    pub name: String,
    pub at: usize,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Scanned {
    pub idents: Vec<Ident>,
    /// Byte ranges of top-level `fn` definitions (with a leading `private`).
    pub functions: Vec<Range<usize>>,
}

struct Lexer<'a> {
    src: &'a str,
    chars: Vec<(usize, char)>,
    i: usize,
    out: Scanned,
}

pub(crate) fn scan(src: &str) -> Scanned {
    let mut lx = Lexer {
        src,
        chars: src.char_indices().collect(),
        i: 0,
        out: Scanned::default(),
    };
    lx.code(false);
    lx.out
}

/// The snippet with its function definitions blanked out (newlines kept, so every other
/// token keeps its line and column).
pub(crate) fn blank_out(src: &str, ranges: &[Range<usize>]) -> String {
    let mut out = String::with_capacity(src.len());
    // Blanks not yet written: dropped if only a line end follows them.
    let mut pending = 0usize;
    for (at, c) in src.char_indices() {
        let line_end = c == '\n' || c == '\r';
        if !line_end && ranges.iter().any(|r| r.contains(&at)) {
            pending += 1;
            continue;
        }
        if !line_end {
            out.extend(std::iter::repeat_n(' ', pending));
        }
        pending = 0;
        out.push(c);
    }
    out
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_col(src: &str, at: usize) -> (usize, usize) {
    let before = src.get(..at).unwrap_or(src);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

impl Lexer<'_> {
    fn peek(&self, k: usize) -> Option<char> {
        self.chars.get(self.i + k).map(|&(_, c)| c)
    }

    fn offset(&self) -> usize {
        self.chars.get(self.i).map_or(self.src.len(), |&(o, _)| o)
    }

    /// Scans code until the end, or (inside `${ }`) until the closing brace.
    fn code(&mut self, in_interpolation: bool) {
        let mut depth = 0usize;
        let mut fn_start: Option<usize> = None;
        let mut fn_opened = false;
        let mut private_at: Option<usize> = None;
        while let Some(c) = self.peek(0) {
            let at = self.offset();
            match c {
                '/' if self.peek(1) == Some('/') => self.skip_line(),
                '/' if self.peek(1) == Some('*') => self.skip_block_comment(),
                '"' => {
                    self.i += 1;
                    self.skip_string('"', true);
                }
                '`' => {
                    self.i += 1;
                    self.skip_backtick();
                }
                '\'' => {
                    self.i += 1;
                    self.skip_string('\'', true);
                }
                '#' if matches!(self.peek(1), Some('"' | '#')) => self.skip_raw_string(),
                '#' if self.peek(1) == Some('{') => {
                    self.i += 2;
                    depth += 1;
                }
                '{' => {
                    self.i += 1;
                    if depth == 0 && fn_start.is_some() {
                        fn_opened = true;
                    }
                    depth += 1;
                }
                '}' => {
                    if depth == 0 && in_interpolation {
                        self.i += 1;
                        return;
                    }
                    self.i += 1;
                    depth = depth.saturating_sub(1);
                    if depth == 0 && fn_opened {
                        if let Some(start) = fn_start.take() {
                            self.out.functions.push(start..self.offset());
                        }
                        fn_opened = false;
                    }
                }
                c if c.is_ascii_alphabetic() || c == '_' => {
                    let name = self.take_while(|c| c.is_ascii_alphanumeric() || c == '_');
                    if depth == 0 && !in_interpolation && fn_start.is_none() {
                        match name.as_str() {
                            "private" => private_at = Some(at),
                            "fn" => fn_start = Some(private_at.take().unwrap_or(at)),
                            _ => private_at = None,
                        }
                    }
                    self.out.idents.push(Ident { name, at });
                }
                c if c.is_ascii_digit() => {
                    self.take_while(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
                }
                _ => self.i += 1,
            }
        }
    }

    fn take_while(&mut self, f: impl Fn(char) -> bool) -> String {
        let mut s = String::new();
        while let Some(c) = self.peek(0).filter(|&c| f(c)) {
            s.push(c);
            self.i += 1;
        }
        s
    }

    fn skip_line(&mut self) {
        while let Some(c) = self.peek(0) {
            self.i += 1;
            if c == '\n' {
                break;
            }
        }
    }

    fn skip_block_comment(&mut self) {
        self.i += 2;
        let mut depth = 1usize;
        while let Some(c) = self.peek(0) {
            match (c, self.peek(1)) {
                ('/', Some('*')) => {
                    depth += 1;
                    self.i += 2;
                }
                ('*', Some('/')) => {
                    depth -= 1;
                    self.i += 2;
                    if depth == 0 {
                        return;
                    }
                }
                _ => self.i += 1,
            }
        }
    }

    /// After the opening quote: up to the closing one (a doubled quote is an escaped quote).
    fn skip_string(&mut self, quote: char, escapes: bool) {
        while let Some(c) = self.peek(0) {
            self.i += 1;
            if escapes && c == '\\' {
                self.i += 1;
            } else if c == quote {
                if quote == '"' && self.peek(0) == Some('"') {
                    self.i += 1;
                } else {
                    return;
                }
            }
        }
    }

    /// After the opening backtick: text and `${ code }` up to the closing backtick.
    fn skip_backtick(&mut self) {
        while let Some(c) = self.peek(0) {
            match (c, self.peek(1)) {
                ('`', Some('`')) => self.i += 2,
                ('`', _) => {
                    self.i += 1;
                    return;
                }
                ('\\', Some('$')) => self.i += 2,
                ('$', Some('{')) => {
                    self.i += 2;
                    self.code(true);
                }
                _ => self.i += 1,
            }
        }
    }

    /// `#"..."#`, `##"..."##`, ...
    fn skip_raw_string(&mut self) {
        let mut hashes = 0usize;
        while self.peek(0) == Some('#') {
            hashes += 1;
            self.i += 1;
        }
        if self.peek(0) != Some('"') {
            return;
        }
        self.i += 1;
        while let Some(c) = self.peek(0) {
            self.i += 1;
            if c == '"' && (0..hashes).all(|k| self.peek(k) == Some('#')) {
                self.i += hashes;
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(s: &Scanned) -> Vec<&str> {
        s.idents.iter().map(|i| i.name.as_str()).collect()
    }

    #[test]
    fn identifiers_outside_strings_and_comments() {
        let src = r##"let a = "b \" c"; // d
/* e /* f */ g */ let h = `i ${j + "k"} l`; let m = #"n"# + 'o' + 12e3;"##;
        assert_eq!(names(&scan(src)), ["let", "a", "let", "h", "j", "let", "m"]);
    }

    #[test]
    fn finds_top_level_functions_only() {
        let src = "fn add(a, b) { if a > b { a } else { b } }\nlet x = #{f: 1};\nprivate fn two() { `${ #{a: 1}.a }` }\nlet g = |x| { x };\nif true { let fn_name = 1; }";
        let s = scan(src);
        let fns: Vec<&str> = s.functions.iter().map(|r| &src[r.clone()]).collect();
        assert_eq!(
            fns,
            [
                "fn add(a, b) { if a > b { a } else { b } }",
                "private fn two() { `${ #{a: 1}.a }` }"
            ]
        );
        let blanked = blank_out(src, &s.functions);
        assert_eq!(blanked.lines().count(), src.lines().count());
        assert!(blanked.starts_with('\n'), "{blanked:?}");
        assert!(blanked.contains("let x = #{f: 1};"));
        assert!(!blanked.contains("fn two"));
        assert_eq!(line_col(src, s.functions[1].start), (3, 1));
    }

    #[test]
    fn strings_with_braces_do_not_confuse_depth() {
        let src = "fn f() { \"}\" + `}${ \"{\" }` + '}' }\nlet y = 1;";
        let s = scan(src);
        assert_eq!(s.functions.len(), 1);
        assert_eq!(
            &src[s.functions[0].clone()],
            "fn f() { \"}\" + `}${ \"{\" }` + '}' }"
        );
        assert!(names(&s).contains(&"y"));
    }

    #[test]
    fn line_and_column() {
        let src = "ab\ncdé\nf";
        assert_eq!(line_col(src, 0), (1, 1));
        assert_eq!(line_col(src, 4), (2, 2));
        assert_eq!(line_col(src, src.len() - 1), (3, 1));
    }
}
