//! Operation ids and status codes (IANA "IPP Registrations", RFC 8011, PWG 5100.18 INFRA,
//! PWG 5100.22 System Service).
//!
//! Both are open sets on the wire: a server must be able to receive an operation it does not
//! implement and answer `server-error-operation-not-supported`, and a client must survive a
//! status code registered after it was written. So both are `u16` newtypes with named
//! constants rather than closed enums.

use std::fmt;

macro_rules! code_table {
    ($(#[$meta:meta])* $ty:ident { $($konst:ident = $code:literal, $name:literal;)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $ty(pub u16);

        impl $ty {
            $(#[doc = $name] pub const $konst: Self = Self($code);)+

            /// Every registered code with its IANA name.
            pub const ALL: &'static [(Self, &'static str)] = &[$((Self($code), $name)),+];

            /// The registered name, if this code is registered.
            pub fn name(self) -> Option<&'static str> {
                Self::ALL.iter().find(|(c, _)| *c == self).map(|(_, n)| *n)
            }

            /// Looks a code up by its registered name.
            pub fn from_name(name: &str) -> Option<Self> {
                Self::ALL.iter().find(|(_, n)| *n == name).map(|(c, _)| *c)
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(name) => write!(f, "{name} (0x{:04X})", self.0),
                    None => write!(f, "0x{:04X}", self.0),
                }
            }
        }
    };
}

code_table!(
    /// An IPP operation id (request header bytes 2–3).
    Operation {
        PRINT_JOB = 0x0002, "Print-Job";
        PRINT_URI = 0x0003, "Print-URI";
        VALIDATE_JOB = 0x0004, "Validate-Job";
        CREATE_JOB = 0x0005, "Create-Job";
        SEND_DOCUMENT = 0x0006, "Send-Document";
        SEND_URI = 0x0007, "Send-URI";
        CANCEL_JOB = 0x0008, "Cancel-Job";
        GET_JOB_ATTRIBUTES = 0x0009, "Get-Job-Attributes";
        GET_JOBS = 0x000A, "Get-Jobs";
        GET_PRINTER_ATTRIBUTES = 0x000B, "Get-Printer-Attributes";
        HOLD_JOB = 0x000C, "Hold-Job";
        RELEASE_JOB = 0x000D, "Release-Job";
        RESTART_JOB = 0x000E, "Restart-Job";
        PAUSE_PRINTER = 0x0010, "Pause-Printer";
        RESUME_PRINTER = 0x0011, "Resume-Printer";
        PURGE_JOBS = 0x0012, "Purge-Jobs";
        SET_PRINTER_ATTRIBUTES = 0x0013, "Set-Printer-Attributes";
        SET_JOB_ATTRIBUTES = 0x0014, "Set-Job-Attributes";
        GET_PRINTER_SUPPORTED_VALUES = 0x0015, "Get-Printer-Supported-Values";
        CREATE_PRINTER_SUBSCRIPTIONS = 0x0016, "Create-Printer-Subscriptions";
        CREATE_JOB_SUBSCRIPTIONS = 0x0017, "Create-Job-Subscriptions";
        GET_SUBSCRIPTION_ATTRIBUTES = 0x0018, "Get-Subscription-Attributes";
        GET_SUBSCRIPTIONS = 0x0019, "Get-Subscriptions";
        RENEW_SUBSCRIPTION = 0x001A, "Renew-Subscription";
        CANCEL_SUBSCRIPTION = 0x001B, "Cancel-Subscription";
        GET_NOTIFICATIONS = 0x001C, "Get-Notifications";
        ENABLE_PRINTER = 0x0022, "Enable-Printer";
        DISABLE_PRINTER = 0x0023, "Disable-Printer";
        PAUSE_PRINTER_AFTER_CURRENT_JOB = 0x0024, "Pause-Printer-After-Current-Job";
        HOLD_NEW_JOBS = 0x0025, "Hold-New-Jobs";
        RELEASE_HELD_NEW_JOBS = 0x0026, "Release-Held-New-Jobs";
        DEACTIVATE_PRINTER = 0x0027, "Deactivate-Printer";
        ACTIVATE_PRINTER = 0x0028, "Activate-Printer";
        RESTART_PRINTER = 0x0029, "Restart-Printer";
        SHUTDOWN_PRINTER = 0x002A, "Shutdown-Printer";
        STARTUP_PRINTER = 0x002B, "Startup-Printer";
        REPROCESS_JOB = 0x002C, "Reprocess-Job";
        CANCEL_CURRENT_JOB = 0x002D, "Cancel-Current-Job";
        SUSPEND_CURRENT_JOB = 0x002E, "Suspend-Current-Job";
        RESUME_JOB = 0x002F, "Resume-Job";
        PROMOTE_JOB = 0x0030, "Promote-Job";
        SCHEDULE_JOB_AFTER = 0x0031, "Schedule-Job-After";
        CANCEL_DOCUMENT = 0x0033, "Cancel-Document";
        GET_DOCUMENT_ATTRIBUTES = 0x0034, "Get-Document-Attributes";
        GET_DOCUMENTS = 0x0035, "Get-Documents";
        DELETE_DOCUMENT = 0x0036, "Delete-Document";
        SET_DOCUMENT_ATTRIBUTES = 0x0037, "Set-Document-Attributes";
        CANCEL_JOBS = 0x0038, "Cancel-Jobs";
        CANCEL_MY_JOBS = 0x0039, "Cancel-My-Jobs";
        RESUBMIT_JOB = 0x003A, "Resubmit-Job";
        CLOSE_JOB = 0x003B, "Close-Job";
        IDENTIFY_PRINTER = 0x003C, "Identify-Printer";
        VALIDATE_DOCUMENT = 0x003D, "Validate-Document";
        ADD_DOCUMENT_IMAGES = 0x003E, "Add-Document-Images";
        ACKNOWLEDGE_DOCUMENT = 0x003F, "Acknowledge-Document";
        ACKNOWLEDGE_IDENTIFY_PRINTER = 0x0040, "Acknowledge-Identify-Printer";
        ACKNOWLEDGE_JOB = 0x0041, "Acknowledge-Job";
        FETCH_DOCUMENT = 0x0042, "Fetch-Document";
        FETCH_JOB = 0x0043, "Fetch-Job";
        GET_OUTPUT_DEVICE_ATTRIBUTES = 0x0044, "Get-Output-Device-Attributes";
        UPDATE_ACTIVE_JOBS = 0x0045, "Update-Active-Jobs";
        DEREGISTER_OUTPUT_DEVICE = 0x0046, "Deregister-Output-Device";
        UPDATE_DOCUMENT_STATUS = 0x0047, "Update-Document-Status";
        UPDATE_JOB_STATUS = 0x0048, "Update-Job-Status";
        UPDATE_OUTPUT_DEVICE_ATTRIBUTES = 0x0049, "Update-Output-Device-Attributes";
        GET_NEXT_DOCUMENT_DATA = 0x004A, "Get-Next-Document-Data";
        ALLOCATE_PRINTER_RESOURCES = 0x004B, "Allocate-Printer-Resources";
        CREATE_PRINTER = 0x004C, "Create-Printer";
        DEALLOCATE_PRINTER_RESOURCES = 0x004D, "Deallocate-Printer-Resources";
        DELETE_PRINTER = 0x004E, "Delete-Printer";
        GET_PRINTERS = 0x004F, "Get-Printers";
        SHUTDOWN_ONE_PRINTER = 0x0050, "Shutdown-One-Printer";
        STARTUP_ONE_PRINTER = 0x0051, "Startup-One-Printer";
        CANCEL_RESOURCE = 0x0052, "Cancel-Resource";
        CREATE_RESOURCE = 0x0053, "Create-Resource";
        INSTALL_RESOURCE = 0x0054, "Install-Resource";
        SEND_RESOURCE_DATA = 0x0055, "Send-Resource-Data";
        SET_RESOURCE_ATTRIBUTES = 0x0056, "Set-Resource-Attributes";
        CREATE_RESOURCE_SUBSCRIPTIONS = 0x0057, "Create-Resource-Subscriptions";
        CREATE_SYSTEM_SUBSCRIPTIONS = 0x0058, "Create-System-Subscriptions";
        DISABLE_ALL_PRINTERS = 0x0059, "Disable-All-Printers";
        ENABLE_ALL_PRINTERS = 0x005A, "Enable-All-Printers";
        GET_SYSTEM_ATTRIBUTES = 0x005B, "Get-System-Attributes";
        GET_SYSTEM_SUPPORTED_VALUES = 0x005C, "Get-System-Supported-Values";
        PAUSE_ALL_PRINTERS = 0x005D, "Pause-All-Printers";
        PAUSE_ALL_PRINTERS_AFTER_CURRENT_JOB = 0x005E, "Pause-All-Printers-After-Current-Job";
        REGISTER_OUTPUT_DEVICE = 0x005F, "Register-Output-Device";
        RESTART_SYSTEM = 0x0060, "Restart-System";
        RESUME_ALL_PRINTERS = 0x0061, "Resume-All-Printers";
        SET_SYSTEM_ATTRIBUTES = 0x0062, "Set-System-Attributes";
        SHUTDOWN_ALL_PRINTERS = 0x0063, "Shutdown-All-Printers";
        STARTUP_ALL_PRINTERS = 0x0064, "Startup-All-Printers";
    }
);

code_table!(
    /// An IPP status code (response header bytes 2–3).
    StatusCode {
        SUCCESSFUL_OK = 0x0000, "successful-ok";
        SUCCESSFUL_OK_IGNORED_OR_SUBSTITUTED_ATTRIBUTES = 0x0001, "successful-ok-ignored-or-substituted-attributes";
        SUCCESSFUL_OK_CONFLICTING_ATTRIBUTES = 0x0002, "successful-ok-conflicting-attributes";
        SUCCESSFUL_OK_IGNORED_SUBSCRIPTIONS = 0x0003, "successful-ok-ignored-subscriptions";
        SUCCESSFUL_OK_TOO_MANY_EVENTS = 0x0005, "successful-ok-too-many-events";
        SUCCESSFUL_OK_EVENTS_COMPLETE = 0x0007, "successful-ok-events-complete";
        CLIENT_ERROR_BAD_REQUEST = 0x0400, "client-error-bad-request";
        CLIENT_ERROR_FORBIDDEN = 0x0401, "client-error-forbidden";
        CLIENT_ERROR_NOT_AUTHENTICATED = 0x0402, "client-error-not-authenticated";
        CLIENT_ERROR_NOT_AUTHORIZED = 0x0403, "client-error-not-authorized";
        CLIENT_ERROR_NOT_POSSIBLE = 0x0404, "client-error-not-possible";
        CLIENT_ERROR_TIMEOUT = 0x0405, "client-error-timeout";
        CLIENT_ERROR_NOT_FOUND = 0x0406, "client-error-not-found";
        CLIENT_ERROR_GONE = 0x0407, "client-error-gone";
        CLIENT_ERROR_REQUEST_ENTITY_TOO_LARGE = 0x0408, "client-error-request-entity-too-large";
        CLIENT_ERROR_REQUEST_VALUE_TOO_LONG = 0x0409, "client-error-request-value-too-long";
        CLIENT_ERROR_DOCUMENT_FORMAT_NOT_SUPPORTED = 0x040A, "client-error-document-format-not-supported";
        CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED = 0x040B, "client-error-attributes-or-values-not-supported";
        CLIENT_ERROR_URI_SCHEME_NOT_SUPPORTED = 0x040C, "client-error-uri-scheme-not-supported";
        CLIENT_ERROR_CHARSET_NOT_SUPPORTED = 0x040D, "client-error-charset-not-supported";
        CLIENT_ERROR_CONFLICTING_ATTRIBUTES = 0x040E, "client-error-conflicting-attributes";
        CLIENT_ERROR_COMPRESSION_NOT_SUPPORTED = 0x040F, "client-error-compression-not-supported";
        CLIENT_ERROR_COMPRESSION_ERROR = 0x0410, "client-error-compression-error";
        CLIENT_ERROR_DOCUMENT_FORMAT_ERROR = 0x0411, "client-error-document-format-error";
        CLIENT_ERROR_DOCUMENT_ACCESS_ERROR = 0x0412, "client-error-document-access-error";
        CLIENT_ERROR_ATTRIBUTES_NOT_SETTABLE = 0x0413, "client-error-attributes-not-settable";
        CLIENT_ERROR_IGNORED_ALL_SUBSCRIPTIONS = 0x0414, "client-error-ignored-all-subscriptions";
        CLIENT_ERROR_TOO_MANY_SUBSCRIPTIONS = 0x0415, "client-error-too-many-subscriptions";
        CLIENT_ERROR_DOCUMENT_PASSWORD_ERROR = 0x0418, "client-error-document-password-error";
        CLIENT_ERROR_DOCUMENT_PERMISSION_ERROR = 0x0419, "client-error-document-permission-error";
        CLIENT_ERROR_DOCUMENT_SECURITY_ERROR = 0x041A, "client-error-document-security-error";
        CLIENT_ERROR_DOCUMENT_UNPRINTABLE_ERROR = 0x041B, "client-error-document-unprintable-error";
        CLIENT_ERROR_ACCOUNT_INFO_NEEDED = 0x041C, "client-error-account-info-needed";
        CLIENT_ERROR_ACCOUNT_CLOSED = 0x041D, "client-error-account-closed";
        CLIENT_ERROR_ACCOUNT_LIMIT_REACHED = 0x041E, "client-error-account-limit-reached";
        CLIENT_ERROR_ACCOUNT_AUTHORIZATION_FAILED = 0x041F, "client-error-account-authorization-failed";
        CLIENT_ERROR_NOT_FETCHABLE = 0x0420, "client-error-not-fetchable";
        SERVER_ERROR_INTERNAL_ERROR = 0x0500, "server-error-internal-error";
        SERVER_ERROR_OPERATION_NOT_SUPPORTED = 0x0501, "server-error-operation-not-supported";
        SERVER_ERROR_SERVICE_UNAVAILABLE = 0x0502, "server-error-service-unavailable";
        SERVER_ERROR_VERSION_NOT_SUPPORTED = 0x0503, "server-error-version-not-supported";
        SERVER_ERROR_DEVICE_ERROR = 0x0504, "server-error-device-error";
        SERVER_ERROR_TEMPORARY_ERROR = 0x0505, "server-error-temporary-error";
        SERVER_ERROR_NOT_ACCEPTING_JOBS = 0x0506, "server-error-not-accepting-jobs";
        SERVER_ERROR_BUSY = 0x0507, "server-error-busy";
        SERVER_ERROR_JOB_CANCELED = 0x0508, "server-error-job-canceled";
        SERVER_ERROR_MULTIPLE_DOCUMENT_JOBS_NOT_SUPPORTED = 0x0509, "server-error-multiple-document-jobs-not-supported";
        SERVER_ERROR_PRINTER_IS_DEACTIVATED = 0x050A, "server-error-printer-is-deactivated";
        SERVER_ERROR_TOO_MANY_JOBS = 0x050B, "server-error-too-many-jobs";
        SERVER_ERROR_TOO_MANY_DOCUMENTS = 0x050C, "server-error-too-many-documents";
    }
);

impl StatusCode {
    /// The `successful-ok*` class (0x0000–0x00FF).
    pub fn is_success(self) -> bool {
        self.0 <= 0x00FF
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infra_operation_ids_match_pwg_5100_18() {
        // PWG 5100.18 Table 3 / IANA; these are the codes INFRA proxies put on the wire.
        let expected = [
            ("Acknowledge-Document", 0x3F),
            ("Acknowledge-Identify-Printer", 0x40),
            ("Acknowledge-Job", 0x41),
            ("Fetch-Document", 0x42),
            ("Fetch-Job", 0x43),
            ("Get-Output-Device-Attributes", 0x44),
            ("Update-Active-Jobs", 0x45),
            ("Deregister-Output-Device", 0x46),
            ("Update-Document-Status", 0x47),
            ("Update-Job-Status", 0x48),
            ("Update-Output-Device-Attributes", 0x49),
            ("Register-Output-Device", 0x5F),
            ("Create-Printer-Subscriptions", 0x16),
            ("Cancel-Subscription", 0x1B),
            ("Get-Notifications", 0x1C),
            ("Get-Jobs", 0x0A),
            ("Get-Printer-Attributes", 0x0B),
        ];
        for (name, code) in expected {
            assert_eq!(Operation::from_name(name), Some(Operation(code)), "{name}");
            assert_eq!(Operation(code).name(), Some(name));
        }
    }

    #[test]
    fn codes_and_names_are_unique() {
        for table in [
            Operation::ALL
                .iter()
                .map(|(c, n)| (c.0, *n))
                .collect::<Vec<_>>(),
            StatusCode::ALL
                .iter()
                .map(|(c, n)| (c.0, *n))
                .collect::<Vec<_>>(),
        ] {
            let mut codes: Vec<_> = table.iter().map(|(c, _)| *c).collect();
            let mut names: Vec<_> = table.iter().map(|(_, n)| *n).collect();
            codes.sort();
            codes.dedup();
            names.sort();
            names.dedup();
            assert_eq!(codes.len(), table.len());
            assert_eq!(names.len(), table.len());
        }
    }

    #[test]
    fn unregistered_codes_display_in_hex() {
        assert_eq!(Operation(0x5000).to_string(), "0x5000");
        assert_eq!(
            StatusCode::CLIENT_ERROR_NOT_FETCHABLE.to_string(),
            "client-error-not-fetchable (0x0420)"
        );
        assert!(StatusCode::SUCCESSFUL_OK_EVENTS_COMPLETE.is_success());
        assert!(!StatusCode::CLIENT_ERROR_BAD_REQUEST.is_success());
    }
}
