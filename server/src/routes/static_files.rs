//! The static directories at `/` (the demo page) and the package at `/pkg/`.

use std::convert::Infallible;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{self, HeaderValue};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tower::ServiceExt as _;
use tower_http::services::ServeDir;

use crate::routes::EMBEDDABLE;
use crate::AppState;

/// Serves the request from the first static directory that has the file (`index.html` for a
/// directory), else `404`.
pub async fn serve(State(state): State<AppState>, request: Request) -> Response {
    let (parts, _body) = request.into_parts();
    for dir in &state.config.static_dirs {
        let response = from_dir(
            ServeDir::new(dir),
            Request::from_parts(parts.clone(), Body::empty()),
        )
        .await;
        if response.status() != StatusCode::NOT_FOUND {
            return response;
        }
    }
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

/// Serves the request from `dir` with `Cache-Control: no-cache`: during development a rebuilt
/// package must be picked up on reload (the browser still revalidates with `If-Modified-Since`).
/// The files are also embeddable by cross-origin isolated pages (see [`EMBEDDABLE`]), so the demo
/// and test pages work inside one.
pub async fn from_dir(dir: ServeDir, request: Request) -> Response {
    let result: Result<_, Infallible> = dir.oneshot(request).await;
    let mut response = match result {
        Ok(response) => response.map(Body::new),
        Err(never) => match never {},
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    for (name, value) in EMBEDDABLE {
        headers.insert(name, value);
    }
    response
}

/// Serves `/pkg/...` from the package directory (`.wasm` as `application/wasm`, which
/// `WebAssembly.instantiateStreaming` insists on).
pub async fn pkg(State(state): State<AppState>, request: Request) -> Response {
    from_dir(ServeDir::new(&state.config.pkg_dir), request).await
}
