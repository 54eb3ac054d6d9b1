//! The live page at `/`: one HTML page, its stylesheet and its script, embedded in the binary
//! (no build step, nothing fetched from elsewhere). The script reads `/status` once a second.

use crate::state::LiveState;
use axum::http::header;
use axum::routing::get;
use axum::Router;

const INDEX: &str = include_str!("../assets/index.html");
const STYLE: &str = include_str!("../assets/page.css");
const SCRIPT: &str = include_str!("../assets/page.js");

/// The page's routes, merged into the server's router.
pub(crate) fn routes() -> Router<LiveState> {
    Router::new()
        .route(
            "/",
            get(|| async { asset("text/html; charset=utf-8", INDEX) }),
        )
        .route(
            "/page.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE) }),
        )
        .route(
            "/page.js",
            get(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }),
        )
}

/// An embedded file with its type. `no-cache`: a browser revalidates, so a node upgraded
/// under it serves its own page rather than the old one.
fn asset(
    content_type: &'static str,
    body: &'static str,
) -> ([(header::HeaderName, &'static str); 2], &'static str) {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
}
