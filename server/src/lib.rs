//! `realtime-server`: the reference server of realtime-wasm.
//!
//! It speaks the session protocol of `docs/PROTOCOL.md` under `/rt` on every browser push
//! transport (WebSocket, event stream, hidden iframe, long and short polling, with `POST /send`
//! upstream), serves the plain demo patterns under `/raw/`, the demo page at `/` and the wasm
//! package at `/pkg/`, and injects faults for tests when asked to.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! println!("listening on http://{}", listener.local_addr()?);
//! realtime_server::serve(listener, realtime_server::Config::default()).await
//! # }
//! ```

pub mod chunk_sink;
pub mod cli;
pub mod clock;
pub mod config;
pub mod connections;
pub mod downstream;
pub mod faults;
pub mod frame;
pub mod hub;
pub mod message;
pub mod origin_policy;
pub mod refusal;
pub mod routes;
pub mod session;
pub mod stream_downstream;
pub mod tamper;

use std::sync::Arc;

use axum::middleware;
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;

pub use crate::config::Config;
use crate::faults::FaultSwitches;
use crate::hub::Hub;
use crate::origin_policy::OriginPolicy;
use crate::routes::{hooks, iframe, poll, raw, send, sse, static_files, ws};

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The settings.
    pub config: Arc<Config>,
    /// The sessions.
    pub hub: Arc<Hub>,
    /// The allowed origins.
    pub policy: Arc<OriginPolicy>,
    /// Lifted fault keys.
    pub switches: Arc<FaultSwitches>,
}

impl AppState {
    /// Fresh state for `config`.
    pub fn new(config: Config) -> AppState {
        AppState {
            hub: Arc::new(Hub::with_limits(
                config.replay_window,
                config.session_idle,
                config.session_buffer_bytes,
                config.max_sessions,
            )),
            policy: Arc::new(OriginPolicy::new(&config.allowed_origins)),
            switches: Arc::new(FaultSwitches::default()),
            config: Arc::new(config),
        }
    }
}

/// The whole server as a router: `/rt` and `/raw/` behind the origin policy, `/pkg/` and the
/// static directories.
pub fn app(config: Config) -> Router {
    let state = AppState::new(config);
    let transports = Router::new()
        .route("/rt/ws", get(ws::ws))
        .route("/rt/sse", get(sse::sse))
        .route("/rt/iframe", get(iframe::iframe))
        .route("/rt/poll", get(poll::poll))
        .route("/rt/send", post(send::send))
        .route("/rt/_hooks/lift", post(hooks::lift))
        .route("/rt/_hooks/arm", post(hooks::arm))
        .route("/raw/time", get(raw::time))
        .route("/raw/longpoll", get(raw::longpoll))
        .route("/raw/sse", get(raw::sse))
        .route("/raw/stream", get(raw::stream))
        .route("/raw/iframe", get(raw::iframe))
        .route("/raw/ws", get(raw::ws))
        .route("/raw/send", post(raw::send))
        .layer(middleware::from_fn_with_state(
            state.policy.clone(),
            origin_policy::gate,
        ))
        // Outermost, so the gate's own refusals get it too.
        .layer(middleware::map_response(routes::nosniff));
    let pkg = get(static_files::pkg).with_state(state.clone());
    Router::new()
        .merge(transports)
        .nest_service("/pkg", pkg)
        .fallback(static_files::serve)
        .with_state(state)
}

/// Serves [`app`] on `listener` until the process ends, with the protections `axum::serve` lacks
/// (see [`connections`]): a header-read timeout, connection caps answered `503` with
/// `Retry-After`, and a cut-off for clients that stop reading. Sockets get `TCP_NODELAY`.
pub async fn serve(listener: TcpListener, config: Config) -> std::io::Result<()> {
    let router = app(config.clone());
    connections::accept_loop(listener, router, &config).await
}
