//! The `printlab` command line: parse, call the library, print. Everything else lives in the
//! library (`src/lib.rs`); the subcommands live in `src/cli/`, one file each.

mod cli;

fn main() -> std::process::ExitCode {
    cli::run()
}
