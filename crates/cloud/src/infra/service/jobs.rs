//! Jobs as a device sees them: Get-Jobs, Fetch-Job, Acknowledge-Job, and the status updates a
//! device reports (Update-Job-Status, Update-Active-Jobs).

use super::*;

/// The job's IPP state as devices see it: a job waiting to be fetched is `pending` with the
/// `job-fetchable` reason (PWG 5100.18 §5), whatever Graph calls its processing.
pub(super) fn job_summary(state: &Shared, printer_id: &str, job_id: i32, job: &JobRecord) -> Group {
    let owner = job
        .job
        .created_by
        .as_ref()
        .and_then(|c| c.user_principal_name.clone())
        .unwrap_or_else(|| job.owner_id.clone());
    let name = job
        .document
        .display_name
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| format!("job {job_id}"));
    let printer_uri = state.printer_uri(printer_id);
    let mut group = Group::new(GroupTag::JOB)
        .with("job-id", Value::Integer(job_id))
        .with("job-uri", Value::uri(format!("{printer_uri}/{job_id}")))
        .with("job-printer-uri", Value::uri(printer_uri))
        .with("job-name", Value::name(name))
        .with("job-originating-user-name", Value::name(owner));
    if job.job.is_fetchable {
        group.push(Attribute::new("job-state", Value::Enum(3)));
        group.push(Attribute::new(
            "job-state-reasons",
            Value::keyword("job-fetchable"),
        ));
    } else {
        for a in job_status_to_ipp(&job.job.status).value {
            group.push(a);
        }
    }
    group
}

pub(super) fn get_jobs(state: &Shared, printer_id: &str, message: &Message) -> Outcome {
    let attrs = message.operation_attributes();
    let which = attrs.keyword("which-jobs").unwrap_or("not-completed");
    let keep: fn(&JobRecord) -> bool = match which {
        "fetchable" => |j| j.job.is_fetchable,
        "not-completed" => |j| !is_terminal(j),
        "completed" => is_terminal,
        "all" => |_| true,
        other => {
            return Err(Refusal::unsupported_value(
                Attribute::new("which-jobs", Value::keyword(other)),
                format!(
                    "which-jobs `{other}` is not supported (fetchable, not-completed, completed, all)"
                ),
            ));
        }
    };
    let limit = attrs
        .integer("limit")
        .filter(|l| *l > 0)
        .map(|l| l as usize);
    // A fetchable job has not ended: the devices' question on every job reads only those.
    let jobs = match which {
        "fetchable" | "not-completed" => state.store.unfinished_jobs_of(printer_id),
        _ => state.store.jobs_of(printer_id),
    }
    .map_err(store_failed)?;
    let mut response = ok(message.request_id);
    for (job_id, job) in jobs
        .iter()
        .filter(|j| is_handed_over(j) && keep(j))
        .filter_map(|j| ipp_job_id(j).map(|id| (id, j)))
        .take(limit.unwrap_or(usize::MAX))
    {
        response.push_group(job_summary(state, printer_id, job_id, job));
    }
    Ok(IppReply::new(response))
}

/// The document as the device gets it: the upload, or the rendition the cloud made of it (OXPS
/// converted to PDF for a printer that only takes PDF), whose format and size are the device's.
pub(super) struct DeviceDocument {
    pub format: String,
    pub size: u64,
    pub rendition: Option<Rendition>,
}

pub(super) fn device_document(
    state: &Shared,
    job_id: i32,
    job: &JobRecord,
) -> Result<DeviceDocument, Refusal> {
    let rendition = state.documents.rendition(&job.document.id).map_err(|e| {
        Refusal::new(
            StatusCode::SERVER_ERROR_INTERNAL_ERROR,
            format!("document of job {job_id} cannot be read: {e}"),
        )
    })?;
    Ok(match rendition {
        Some(r) => DeviceDocument {
            format: r.content_type.clone(),
            size: r.size,
            rendition: Some(r),
        },
        None => DeviceDocument {
            format: job
                .document
                .content_type
                .clone()
                .filter(|t| !t.is_empty())
                .or_else(|| job.declared_content_type.clone())
                .unwrap_or_else(|| "application/octet-stream".to_owned()),
            size: u64::try_from(job.document.size).unwrap_or(0),
            rendition: None,
        },
    })
}

pub(super) fn fetch_job(state: &Shared, printer_id: &str, message: &Message) -> Outcome {
    let job_id = required_integer(message, "job-id")?;
    let job = job_record(state, printer_id, job_id)?;
    if !job.job.is_fetchable {
        return Err(Refusal::new(
            StatusCode::CLIENT_ERROR_NOT_FETCHABLE,
            format!("job {job_id} is not fetchable (already acknowledged, canceled or finished)"),
        ));
    }
    let mut group = job_summary(state, printer_id, job_id, &job);
    group.push(Attribute::new("number-of-documents", Value::Integer(1)));
    let document = device_document(state, job_id, &job)?;
    group.push(Attribute::new(
        "job-k-octets",
        Value::Integer(i32::try_from(document.size.div_ceil(1024)).unwrap_or(i32::MAX)),
    ));
    group.push(Attribute::new(
        "document-format",
        Value::mime_media_type(document.format),
    ));
    let template = job_template_from_graph(&job.job.configuration);
    for u in &template.unmapped {
        tracing::debug!(job_id, attribute = %u.attribute, value = %u.value, reason = u.reason, "job setting not sent to the device");
    }
    for a in template.value {
        group.push(a);
    }
    let mut response = ok(message.request_id);
    response.push_group(group);
    Ok(IppReply::new(response))
}

pub(super) async fn acknowledge_job(
    state: &Shared,
    printer_id: &str,
    message: &Message,
) -> Outcome {
    let job_id = required_integer(message, "job-id")?;
    let fetch_status = message
        .operation_attributes()
        .enum_value("fetch-status-code");
    let refused = update_job(state, printer_id, job_id, |job| {
        if !job.job.is_fetchable && !job.device.acknowledged {
            return Err(Refusal::new(
                StatusCode::CLIENT_ERROR_NOT_FETCHABLE,
                format!("job {job_id} is not fetchable"),
            ));
        }
        acknowledge(job, fetch_status);
        Ok(job.job.status.state == PrintJobProcessingState::Aborted)
    })
    .await?;
    if refused {
        state.raise(
            printer_id,
            EventKind::JobStateChanged,
            Some(job_id),
            Some(ipp_job_state(PrintJobProcessingState::Aborted)),
            &format!("job {job_id} was refused by the printer"),
        );
    }
    Ok(IppReply::new(ok(message.request_id)))
}

fn announce_job_state(state: &Shared, printer_id: &str, job_id: i32, moved_to: Option<i32>) {
    if let Some(ipp_state) = moved_to {
        state.raise(
            printer_id,
            EventKind::JobStateChanged,
            Some(job_id),
            Some(ipp_state),
            &format!("job {job_id} is now in job-state {ipp_state}"),
        );
    }
}

pub(super) async fn update_job_status(
    state: &Shared,
    printer_id: &str,
    message: &Message,
) -> Outcome {
    let job_id = required_integer(message, "job-id")?;
    let attrs = update_attributes(message);
    check_state_value(&attrs, "output-device-job-state")?;
    let moved = update_job(state, printer_id, job_id, |job| {
        Ok(apply_job_status(job, &attrs))
    })
    .await?;
    announce_job_state(state, printer_id, job_id, moved);
    Ok(IppReply::new(ok(message.request_id)))
}

/// Update-Active-Jobs: the device lists the jobs it is working on with their states; the
/// answer lists those the cloud sees differently (e.g. canceled) and, in the unsupported
/// group, ids the cloud does not know for this printer.
pub(super) async fn update_active_jobs(
    state: &Shared,
    printer_id: &str,
    message: &Message,
) -> Outcome {
    let attrs = message.operation_attributes();
    let ids: Vec<i32> = attrs
        .attr("job-ids")
        .map(|a| a.integers().collect())
        .unwrap_or_default();
    let states: Vec<i32> = attrs
        .attr("output-device-job-states")
        .map(|a| a.enums().collect())
        .unwrap_or_default();
    if ids.len() != states.len() {
        return Err(Refusal::bad_request(
            "job-ids and output-device-job-states must have the same number of values",
        ));
    }
    let mut differing = Vec::new();
    let mut unknown = Vec::new();
    let mut moved = Vec::new();
    {
        let _guard = state.write_lock();
        for (job_id, device_state) in ids.into_iter().zip(states) {
            let mut job = match job_record(state, printer_id, job_id) {
                Ok(job) => job,
                Err(r) if r.status == StatusCode::SERVER_ERROR_INTERNAL_ERROR => return Err(r),
                Err(_) => {
                    unknown.push(Value::Integer(job_id));
                    continue;
                }
            };
            let update = [Attribute::new(
                "output-device-job-state",
                Value::Enum(device_state),
            )];
            if let Some(to) = apply_job_status(&mut job, &update) {
                moved.push((job_id, to));
            }
            state.store.put_job(&job).map_err(store_failed)?;
            let cloud_state = ipp_job_state(job.job.status.state);
            if cloud_state != device_state {
                differing.push((job_id, cloud_state));
            }
        }
    }
    state.store.flush().await.map_err(store_failed)?;
    for (job_id, to) in moved {
        announce_job_state(state, printer_id, job_id, Some(to));
    }
    let mut response = ok(message.request_id);
    if !differing.is_empty() {
        response.groups[0].push(Attribute::set(
            "job-ids",
            differing.iter().map(|(j, _)| Value::Integer(*j)),
        ));
        response.groups[0].push(Attribute::set(
            "output-device-job-states",
            differing.iter().map(|(_, s)| Value::Enum(*s)),
        ));
    }
    if !unknown.is_empty() {
        response.push_group(Group::new(GroupTag::UNSUPPORTED).with_set("job-ids", unknown));
    }
    Ok(IppReply::new(response))
}
