//! The `stream` endpoints (being built).

use crate::state::LiveState;
use axum::Router;

/// The routes of this part, merged into the server's router.
pub(crate) fn routes() -> Router<LiveState> {
    Router::new()
}
