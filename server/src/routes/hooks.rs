//! `POST /rt/_hooks/lift?key=K` and `POST /rt/_hooks/arm?key=K`: switch the faults of requests
//! carrying `fault_key=K` off and on while a client runs. Only with `--test-hooks`.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;

use crate::AppState;

/// The `key` parameter.
#[derive(Debug, Deserialize)]
pub struct HookQuery {
    key: String,
}

/// Lifts the faults keyed `key`: `204`, or `404` without `--test-hooks`.
pub async fn lift(State(state): State<AppState>, Query(query): Query<HookQuery>) -> StatusCode {
    if !state.config.test_hooks {
        return StatusCode::NOT_FOUND;
    }
    state.switches.lift(&query.key);
    StatusCode::NO_CONTENT
}

/// Re-arms the faults keyed `key`: `204`, or `404` without `--test-hooks`.
pub async fn arm(State(state): State<AppState>, Query(query): Query<HookQuery>) -> StatusCode {
    if !state.config.test_hooks {
        return StatusCode::NOT_FOUND;
    }
    state.switches.arm(&query.key);
    StatusCode::NO_CONTENT
}
