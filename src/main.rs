//! The `printlab` command line: parse, call the workspace's crates, print. Nothing else lives
//! here; the subcommands live in `src/cli/`, one file each.

mod cli;

fn main() -> std::process::ExitCode {
    cli::run()
}
