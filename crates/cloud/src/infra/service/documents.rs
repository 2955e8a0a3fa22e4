//! A job's documents as a device fetches them: Fetch-Document, Acknowledge-Document and
//! Update-Document-Status.

use super::*;
use futures::StreamExt;

fn document_number(message: &Message) -> Result<(), Refusal> {
    match message.operation_attributes().integer("document-number") {
        None | Some(1) => Ok(()),
        Some(n) => Err(Refusal::new(
            StatusCode::CLIENT_ERROR_NOT_FOUND,
            format!("job has one document; document-number {n} does not exist"),
        )),
    }
}

pub(super) fn fetch_document(state: &Shared, printer_id: &str, message: &Message) -> Outcome {
    let job_id = required_integer(message, "job-id")?;
    document_number(message)?;
    let job = job_record(state, printer_id, job_id)?;
    if job.device.document_acknowledged || is_terminal(&job) {
        return Err(Refusal::new(
            StatusCode::CLIENT_ERROR_NOT_FETCHABLE,
            format!("the document of job {job_id} is no longer fetchable"),
        ));
    }
    let document = device_document(state, job_id, &job)?;
    let stream = match &document.rendition {
        Some(rendition) => state.documents.read_rendition(rendition).boxed(),
        None => state
            .documents
            .read_document(&job.document.id)
            .map_err(|e| {
                Refusal::new(
                    StatusCode::SERVER_ERROR_INTERNAL_ERROR,
                    format!("document of job {job_id} cannot be read: {}", e.message),
                )
            })?
            .boxed(),
    };
    let mut response = ok(message.request_id);
    response.groups[0].push(Attribute::new(
        "document-format",
        Value::mime_media_type(document.format),
    ));
    response.groups[0].push(Attribute::new("compression", Value::keyword("none")));
    Ok(IppReply::with_document_chunks(
        response,
        stream.map_err(std::io::Error::other).boxed(),
    ))
}

pub(super) async fn acknowledge_document(
    state: &Shared,
    printer_id: &str,
    message: &Message,
) -> Outcome {
    let job_id = required_integer(message, "job-id")?;
    document_number(message)?;
    update_job(state, printer_id, job_id, |job| {
        job.device.document_acknowledged = true;
        job.document.downloaded_date_time = Some(chrono::Utc::now());
        Ok(())
    })
    .await?;
    Ok(IppReply::new(ok(message.request_id)))
}

pub(super) async fn update_document_status(
    state: &Shared,
    printer_id: &str,
    message: &Message,
) -> Outcome {
    let job_id = required_integer(message, "job-id")?;
    document_number(message)?;
    let attrs = update_attributes(message);
    check_state_value(&attrs, "output-device-document-state")?;
    update_job(state, printer_id, job_id, |job| {
        if let Some(s) = attrs.enum_value("output-device-document-state") {
            job.device.document_state = Some(s);
        }
        Ok(())
    })
    .await?;
    Ok(IppReply::new(ok(message.request_id)))
}
