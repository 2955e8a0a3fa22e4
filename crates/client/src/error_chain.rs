//! An error and its sources on one line, for reports and refusals that show one line: reqwest's
//! own message ("error sending request for url …") leaves the reason (a refused connection, a
//! certificate whose issuer is unknown) to its sources.

/// `error`, then each of its sources, joined by ": ".
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        line.push_str(": ");
        line.push_str(&cause.to_string());
        source = cause.source();
    }
    line
}
