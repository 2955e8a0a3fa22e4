//! Printing shared by several subcommands, so that no subcommand reaches into another: the
//! output macros, tables and the one-line form of a job's state.

use printlab_graph::PrintJob;
use std::io::Write;

/// `print!` for a command's output on stdout; see [`write_out`].
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::output::write_out(format_args!($($arg)*))
    };
}

/// `println!` for a command's output on stdout; see [`write_out`].
macro_rules! outln {
    () => {
        $crate::cli::output::write_out(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::cli::output::write_out(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprintln!` for messages and errors on stderr; see [`write_err`].
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::cli::output::write_err(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use {errln, out, outln};

/// Writes a message or an error to stderr. A stderr nobody reads any more (a pipe whose reader
/// exited) cannot be told anything, so the message is dropped rather than panicking as
/// `eprintln!` does, which would turn the command's real outcome into a crash.
pub fn write_err(text: std::fmt::Arguments<'_>) {
    let _ = std::io::stderr().lock().write_fmt(text);
}

/// An error and its causes on one line, `error: cause: cause`, as anyhow's `{:#}` writes them,
/// leaving out a cause that the line already ends with: many errors quote their cause in their
/// own message (so that a log line, which shows only the message, has it) and also keep it as
/// their source, and `{:#}` then said it twice (`cannot read f: No such file: No such file`).
pub fn error_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if line.ends_with(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// The log's writer: stderr, dropping what cannot be written, as [`write_err`] does; tracing's
/// own stderr writer would report the failure through `eprintln!` and panic.
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = std::io::stderr().lock().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}

/// Writes command output. A reader that has gone away (`printlab media --json | head -1`) has
/// all it wanted, so the command ends there, quietly and with status 0, instead of the panic
/// `println!` gives on a closed pipe; any other failure to write is an error (status 1).
pub fn write_out(text: std::fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    if let Err(err) = stdout.write_fmt(text) {
        if err.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        errln!("printlab: writing the output: {err}");
        std::process::exit(1);
    }
}

/// Left-aligned columns, two spaces apart.
pub fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let text: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        outln!("{}", text.join("  ").trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

/// `state (detail, detail): description`.
pub fn describe(job: &PrintJob) -> String {
    let details: Vec<String> = job.status.details.iter().map(|d| d.to_string()).collect();
    let mut out = job.status.state.to_string();
    if !details.is_empty() {
        out.push_str(&format!(" ({})", details.join(", ")));
    }
    if !job.status.description.is_empty() {
        out.push_str(&format!(": {}", job.status.description));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::error_line;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot read f: {source}")]
    struct Quoting {
        source: std::io::Error,
    }

    #[test]
    fn a_cause_is_said_once_whether_or_not_its_wrapper_quotes_it() {
        let missing = || std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let quoted = anyhow::Error::new(Quoting { source: missing() }).context("starting");
        assert_eq!(error_line(&quoted), "starting: cannot read f: no such file");
        let chained = anyhow::Error::new(missing()).context("cannot read f");
        assert_eq!(error_line(&chained), "cannot read f: no such file");
    }
}
