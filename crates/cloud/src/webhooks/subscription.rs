//! A Graph change-notification subscription as the cloud keeps it, and the two print resources
//! Universal Print lets one watch: a printer's jobs becoming fetchable (`JobFetchable`) and a
//! task definition's tasks being created (`JobStarted`, pull printing).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The longest a print subscription may live before it must be renewed (PATCH).
pub const MAX_LIFETIME_MINUTES: i64 = 4230;

/// What a subscription watches, read from its `resource` and `changeType`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Watched {
    /// `print/printers/{id}/jobs`, `updated`, `$filter=isFetchable eq true`.
    JobFetchable { printer_id: String },
    /// `print/taskDefinitions/{id}/tasks`, `created`.
    JobStarted { definition_id: String },
}

impl Watched {
    /// The resource and change type Graph documents for the print events, or why not.
    pub fn parse(
        resource: &str,
        change_type: &str,
        query_options: Option<&str>,
    ) -> Result<Self, String> {
        let path = resource.trim_start_matches('/');
        let segments: Vec<&str> = path.split('/').collect();
        match segments.as_slice() {
            ["print", "printers", id, "jobs"] if !id.is_empty() => {
                if change_type != "updated" {
                    return Err(format!(
                        "changeType '{change_type}' is not supported for printer jobs: use 'updated' (JobFetchable)."
                    ));
                }
                let filter = query_options
                    .map(|q| q.replace(' ', ""))
                    .unwrap_or_default();
                if filter != "$filter=isFetchable eq true".replace(' ', "") {
                    return Err(
                        "notificationQueryOptions must be '$filter=isFetchable eq true' for printer jobs (JobFetchable)."
                            .into(),
                    );
                }
                Ok(Self::JobFetchable {
                    printer_id: (*id).to_owned(),
                })
            }
            ["print", "taskDefinitions", id, "tasks"] if !id.is_empty() => {
                if change_type != "created" {
                    return Err(format!(
                        "changeType '{change_type}' is not supported for print tasks: use 'created' (JobStarted)."
                    ));
                }
                Ok(Self::JobStarted {
                    definition_id: (*id).to_owned(),
                })
            }
            _ => Err(format!(
                "resource '{resource}' does not support change notifications here: watch print/printers/{{id}}/jobs or print/taskDefinitions/{{id}}/tasks."
            )),
        }
    }
}

/// One subscription, stored so it outlives a restart of the cloud.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionRecord {
    pub id: String,
    pub resource: String,
    pub change_type: String,
    pub notification_query_options: Option<String>,
    pub client_state: Option<String>,
    pub notification_url: String,
    pub lifecycle_notification_url: Option<String>,
    pub expiration_date_time: DateTime<Utc>,
    /// The caller's id (user or app object id).
    pub creator_id: String,
    pub application_id: Option<String>,
    pub watched: Watched,
}

impl SubscriptionRecord {
    /// The Graph `subscription` resource.
    pub fn to_graph(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "resource": self.resource,
            "applicationId": self.application_id,
            "changeType": self.change_type,
            "clientState": self.client_state,
            "notificationUrl": self.notification_url,
            "notificationQueryOptions": self.notification_query_options,
            "lifecycleNotificationUrl": self.lifecycle_notification_url,
            "expirationDateTime": self.expiration_date_time,
            "creatorId": self.creator_id,
            "includeResourceData": false,
            "latestSupportedTlsVersion": "v1_2",
            "encryptionCertificate": null,
            "encryptionCertificateId": null,
            "notificationUrlAppId": null,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_print_events_are_recognised_and_others_named() {
        assert_eq!(
            Watched::parse(
                "print/printers/p1/jobs",
                "updated",
                Some("$filter=isFetchable eq true")
            ),
            Ok(Watched::JobFetchable {
                printer_id: "p1".into()
            })
        );
        assert_eq!(
            Watched::parse("/print/taskDefinitions/d1/tasks", "created", None),
            Ok(Watched::JobStarted {
                definition_id: "d1".into()
            })
        );
        let refused = Watched::parse("print/printers/p1/jobs", "created", None).unwrap_err();
        assert!(refused.contains("use 'updated'"), "{refused}");
        let refused = Watched::parse("print/printers/p1/jobs", "updated", None).unwrap_err();
        assert!(refused.contains("isFetchable"), "{refused}");
        let refused = Watched::parse("me/messages", "created", None).unwrap_err();
        assert!(refused.contains("does not support"), "{refused}");
    }
}
