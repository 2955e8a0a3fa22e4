//! The envelope every request to a printer or the system service must have before its operation
//! runs: RFC 8011's checks ([`printlab_ipp::check_request`]: request-id, charset and
//! natural-language first) and the target URI (RFC 8011 §4.1.5: `printer-uri`, or `job-uri`
//! for an operation on one job; `system-uri` on the system service).

use super::*;
use printlab_ipp::{RequestRefusal, check_request, required_uri};

impl From<RequestRefusal> for Refusal {
    fn from(refusal: RequestRefusal) -> Self {
        Refusal::new(refusal.status, refusal.message)
    }
}

/// The operations whose target may be one job (`job-uri` instead of `printer-uri` + `job-id`).
const JOB_TARGET_OPERATIONS: [Operation; 4] = [
    Operation::SEND_DOCUMENT,
    Operation::CANCEL_JOB,
    Operation::GET_JOB_ATTRIBUTES,
    Operation::CREATE_JOB_SUBSCRIPTIONS,
];

/// The envelope of a request whose target is the operation attribute `target`.
pub(super) fn check(message: &Message, target: &str) -> Result<(), Refusal> {
    check_request(message)?;
    required_uri(message, target)?;
    Ok(())
}

/// The envelope of a request to a printer: `printer-uri`, or `job-uri` where one job is the
/// target.
pub(super) fn check_printer_request(message: &Message) -> Result<(), Refusal> {
    let job_target = JOB_TARGET_OPERATIONS.contains(&message.operation())
        && message.operation_attributes().attr("job-uri").is_some();
    check(message, if job_target { "job-uri" } else { "printer-uri" })
}

/// The job an operation on one job names: the last path segment of `job-uri`, else `job-id`
/// (which then goes with `printer-uri`).
pub(super) fn target_job_id(message: &Message) -> Result<i32, Refusal> {
    if message.operation_attributes().attr("job-uri").is_none() {
        return required_integer(message, "job-id");
    }
    let uri = required_uri(message, "job-uri")?;
    uri.rsplit('/')
        .next()
        .and_then(|last| last.parse::<i32>().ok())
        .filter(|id| *id > 0)
        .ok_or_else(|| {
            Refusal::new(
                StatusCode::CLIENT_ERROR_NOT_FOUND,
                format!("job-uri {uri} names no job of this printer"),
            )
        })
}
