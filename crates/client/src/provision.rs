//! Registering printers through Graph `printers/create`: the long-running operation is followed
//! to its end, so callers get the printer or the reason it was not created.

use super::{ClientError, GraphClient, decode, odata_error};
use printlab_graph::{
    PrintCertificateSigningRequest, PrintOperationProcessingState, PrintOperationStatus, Printer,
};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The body of `POST /print/printers/create`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatePrinter {
    pub display_name: String,
    pub manufacturer: String,
    pub model: String,
    pub physical_device_id: Option<String>,
    pub has_physical_device: bool,
    pub certificate_signing_request: PrintCertificateSigningRequest,
    /// printlab's instance annotation: the printer is served by an INFRA proxy at
    /// `/ipp/print/{name}` with HTTP Basic credentials (other clouds reject it).
    #[serde(
        rename = "@printlab.proxyCredential",
        skip_serializing_if = "Option::is_none"
    )]
    pub proxy_credential: Option<ProxyCredential>,
}

/// An INFRA proxy's credential for one printer URI name.
#[derive(Debug, Clone, Serialize)]
pub struct ProxyCredential {
    pub name: String,
    pub username: String,
    pub password: String,
}

#[derive(Deserialize)]
struct CreateOperation {
    status: PrintOperationStatus,
    printer: Option<Printer>,
}

/// How often, at most, the operation is asked about before giving up.
const OPERATION_POLLS: u32 = 60;

impl GraphClient {
    /// Registers a printer and waits for the `printerCreateOperation` to finish.
    pub async fn create_printer(&self, request: &CreatePrinter) -> Result<Printer, ClientError> {
        let url = self.url("print/printers/create");
        let call = self.request(Method::POST, &url).json(request);
        let transport = |source| ClientError::Transport {
            url: url.clone(),
            source,
        };
        let response = self.execute(call, &url).await?;
        let status = response.status();
        let location = response
            .headers()
            .get("Operation-Location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let retry = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
            .unwrap_or(1)
            .clamp(1, 10);
        let bytes = response.bytes().await.map_err(transport)?;
        if !status.is_success() {
            let wait = Some(retry as u16);
            return Err(odata_error(Method::POST, &url, (status, wait), &bytes));
        }
        let location = location.ok_or_else(|| ClientError::Unexpected {
            url: url.clone(),
            status,
            expected: "an Operation-Location header",
            detail: "the header is missing".into(),
        })?;
        for _ in 0..OPERATION_POLLS {
            let (status, bytes, url) = self.send(Method::GET, &location, None).await?;
            let operation: CreateOperation =
                decode(&url, status, &bytes, "a printerCreateOperation")?;
            match (operation.status.state, operation.printer) {
                (PrintOperationProcessingState::Succeeded, Some(printer)) => return Ok(printer),
                (PrintOperationProcessingState::Failed, _) => {
                    return Err(ClientError::Unexpected {
                        url,
                        status,
                        expected: "a succeeded printerCreateOperation",
                        detail: operation.status.description,
                    });
                }
                _ => tokio::time::sleep(Duration::from_secs(retry)).await,
            }
        }
        Err(ClientError::Unexpected {
            url: location,
            status,
            expected: "a finished printerCreateOperation",
            detail: format!("still running after {OPERATION_POLLS} polls"),
        })
    }
}
