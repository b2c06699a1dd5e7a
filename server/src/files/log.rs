//! What `export` and `apply` say, printed as it comes and kept.

/// What a command says: lines for standard output and for standard error, printed as they
/// come (`echo`) and kept (for tests and summaries).
#[derive(Debug, Default)]
pub struct Log {
    pub out: Vec<String>,
    pub err: Vec<String>,
    echo: bool,
}

impl Log {
    /// A log that also prints each line at once (the command line).
    pub fn printing() -> Log {
        Log {
            echo: true,
            ..Log::default()
        }
    }

    /// A log that only keeps the lines (tests).
    pub fn quiet() -> Log {
        Log::default()
    }

    /// A line (or several) for standard output.
    pub fn say(&mut self, text: impl Into<String>) {
        let text = text.into();
        if self.echo {
            println!("{}", text.trim_end_matches('\n'));
        }
        self.out.push(text);
    }

    /// A note or an error for standard error.
    pub fn warn(&mut self, text: impl Into<String>) {
        let text = text.into();
        if self.echo {
            eprintln!("{text}");
        }
        self.err.push(text);
    }

    /// Everything said on standard output, one string.
    pub fn stdout(&self) -> String {
        self.out.join("\n")
    }

    /// Everything said on standard error, one string.
    pub fn stderr(&self) -> String {
        self.err.join("\n")
    }
}
