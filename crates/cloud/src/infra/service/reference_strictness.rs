//! The strict reference mode ([`crate::CloudOptions::infra_strict_reference`]): the service
//! refuses what PWG's reference peers refuse where printlab's own service is lenient, so
//! printlab's device can be tested against those rules on loopback.
//!
//! - **Update-Active-Jobs** must carry `job-ids` (integers) and `output-device-job-states`
//!   (enums) in the operation group, as ippsample's ippserver requires; it answers
//!   `client-error-bad-request` "Bad job-ids attribute." to a `no-value` `job-ids` and "Missing
//!   required job-ids attribute." when there is none.
//! - **Media collections**, in every request and every answer, keep the rule of their use
//!   (`printlab_mapping::check_media_cols`): a job's `media-col` names its size once, which
//!   output printers behind PWG's reference proxy insist on. A request that breaks it is
//!   refused with the attribute in the unsupported group; an answer of the service's own that
//!   breaks it is a fault of the service, answered `server-error-internal-error` instead of being
//!   handed on.

use super::Refusal;
use printlab_ipp::http::IppReply;
use printlab_ipp::{Attribute, AttributeLookup, GroupTag, Message, Operation, StatusCode, Value};
use printlab_mapping::check_media_cols;

/// Refuses a request the reference infrastructure printer would refuse.
pub(super) fn check_request(message: &Message) -> Result<(), Refusal> {
    if message.operation() == Operation::UPDATE_ACTIVE_JOBS {
        let op = message.operation_attributes();
        require_all(op, "job-ids", |v| matches!(v, Value::Integer(_)))?;
        require_all(op, "output-device-job-states", |v| {
            matches!(v, Value::Enum(_))
        })?;
    }
    for group in &message.groups {
        if let Some(problem) = check_media_cols(&group.attributes).into_iter().next() {
            let attribute = group
                .attributes
                .attr(&problem.attribute)
                .cloned()
                .expect("the problem names an attribute of this group");
            return Err(Refusal::unsupported_value(attribute, problem.to_string()));
        }
    }
    Ok(())
}

/// Refuses to hand on an answer whose media collections break their rule.
pub(super) fn check_reply(operation: Operation, reply: &IppReply) -> Result<(), Refusal> {
    let problems: Vec<String> = reply
        .message
        .groups
        .iter()
        .filter(|g| g.tag != GroupTag::UNSUPPORTED)
        .flat_map(|g| check_media_cols(&g.attributes))
        .map(|p| p.to_string())
        .collect();
    if problems.is_empty() {
        return Ok(());
    }
    let message = format!(
        "the service's own {operation} answer breaks the media-col rules: {}",
        problems.join("; ")
    );
    tracing::error!(%message, "strict reference mode");
    Err(Refusal::new(
        StatusCode::SERVER_ERROR_INTERNAL_ERROR,
        message,
    ))
}

fn require_all(attrs: &[Attribute], name: &str, fits: fn(&Value) -> bool) -> Result<(), Refusal> {
    match attrs.attr(name) {
        None => Err(Refusal::bad_request(format!(
            "Missing required {name} attribute."
        ))),
        Some(a) if a.values.is_empty() || !a.values.iter().all(fits) => {
            Err(Refusal::bad_request(format!("Bad {name} attribute.")))
        }
        Some(_) => Ok(()),
    }
}
