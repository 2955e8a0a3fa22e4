//! The dashboard's page and its two assets, compiled in with `include_str!`.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

const PAGE: &str = include_str!("assets/index.html");
const STYLE: &str = include_str!("assets/dashboard.css");
const SCRIPT: &str = include_str!("assets/dashboard.js");

/// Scripts, styles and requests from this origin only; images also from `blob:` (the sides,
/// fetched with the token); no inline script, no framing. The page builds every element from
/// text, so a printer or document name can never become markup.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' blob:; \
     object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

/// `/` (the page), `/dashboard/dashboard.css` and `/dashboard/dashboard.js`. Public: the data
/// routes they call are the control API's, which ask for the token.
pub fn dashboard_router() -> axum::Router {
    axum::Router::new()
        .route(
            "/",
            get(|| async { asset("text/html; charset=utf-8", PAGE) }),
        )
        .route(
            "/dashboard/dashboard.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE) }),
        )
        .route(
            "/dashboard/dashboard.js",
            get(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }),
        )
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_only_its_own_assets_and_inline_nothing() {
        assert!(PAGE.contains(r#"<script src="/dashboard/dashboard.js" defer></script>"#));
        assert!(PAGE.contains(r#"href="/dashboard/dashboard.css""#));
        // One script tag, the external one; no inline handlers or styles the policy would block.
        assert_eq!(PAGE.matches("<script").count(), 1);
        for inline in [" onclick=", " style=", "javascript:"] {
            assert!(!PAGE.contains(inline), "{inline}");
        }
        // Every form control has a label.
        for id in ["token-input", "panel-printer"] {
            assert!(PAGE.contains(&format!(r#"<label for="{id}">"#)), "{id}");
        }
    }
}
