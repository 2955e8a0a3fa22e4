//! How long a request line and how large a header section the Graph surface takes, enforced
//! by the cloud so that a request over a limit gets an OData error (414, 431) like every other
//! Graph error.
//!
//! hyper refuses requests over its own limits before any service sees them, with an empty body:
//! a URI over 65,534 bytes (414, fixed in hyper), a header section over its read buffer
//! (about 400 KiB by default) or with more than 100 fields (431). The limits here are well
//! under those, so every request a Graph client could plausibly send is answered by the cloud.
//! Real Graph sits behind front ends with similar limits (URLs of a few KiB, headers of tens of
//! KiB). A serve loop that configures hyper itself keeps hyper's limits above these.

use super::GraphError;
use axum::http::{HeaderMap, StatusCode, Uri};

/// The longest request target (path and query), in bytes.
pub const MAX_URI_BYTES: usize = 16 * 1024;
/// The largest header section (names and values), in bytes.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;
/// The most header fields a request may carry.
pub const MAX_HEADER_FIELDS: usize = 64;

/// The OData error for a request over a limit, if it is.
pub fn check(uri: &Uri, headers: &HeaderMap) -> Result<(), GraphError> {
    let target = uri.path_and_query().map_or(0, |pq| pq.as_str().len());
    if target > MAX_URI_BYTES {
        return Err(GraphError::with_status(
            StatusCode::URI_TOO_LONG,
            format!(
                "The request URI is {target} bytes long; at most {MAX_URI_BYTES} are accepted."
            ),
        ));
    }
    if headers.len() > MAX_HEADER_FIELDS {
        return Err(GraphError::with_status(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            format!(
                "The request has {} header fields; at most {MAX_HEADER_FIELDS} are accepted.",
                headers.len()
            ),
        ));
    }
    let bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if bytes > MAX_HEADER_BYTES {
        return Err(GraphError::with_status(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            format!(
                "The request's headers take {bytes} bytes; at most {MAX_HEADER_BYTES} are accepted."
            ),
        ));
    }
    Ok(())
}
