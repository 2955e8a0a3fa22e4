//! The read-only properties of the print entities a client may send in a body (POST, PATCH):
//! the service sets them, and Graph ignores them when a client sends them back (for instance
//! an object read, changed and sent whole). Dotted names are properties of a complex property
//! (`createdBy.appId`). Per the v1.0 resource pages ("read-only") and the CSDL keys.

/// `printer` (PATCH): key, and what the service records about the device.
pub const PRINTER: &[&str] = &[
    "id",
    "hasPhysicalDevice",
    "isShared",
    "lastSeenDateTime",
    "registeredDateTime",
];

/// `printerShare` (POST, PATCH): key, creation time, the caller's own view, and what comes from
/// the shared printer.
pub const PRINTER_SHARE: &[&str] = &[
    "id",
    "createdDateTime",
    "viewPoint",
    "manufacturer",
    "model",
    "isAcceptingJobs",
    "status",
    "capabilities",
    "defaults",
    "location",
];

/// `printJob` (POST): everything but the configuration is the service's.
pub const PRINT_JOB: &[&str] = &[
    "id",
    "createdDateTime",
    "createdBy",
    "status",
    "isFetchable",
    "redirectedFrom",
    "redirectedTo",
    "errorCode",
    "acknowledgedDateTime",
];

/// `printTaskDefinition` (POST, PATCH): key, and the app identity the token proves (only
/// `createdBy.displayName` is the client's).
pub const PRINT_TASK_DEFINITION: &[&str] = &[
    "id",
    "createdBy.appId",
    "createdBy.servicePrincipalId",
    "createdBy.servicePrincipalName",
];

/// `printTask` (PATCH): key, and the job the task is about.
pub const PRINT_TASK: &[&str] = &["id", "parentUrl"];

/// `printTaskTrigger` (POST): key.
pub const PRINT_TASK_TRIGGER: &[&str] = &["id"];
