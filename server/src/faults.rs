//! Test-hook fault injection: the `fault` query parameter of `/rt` requests, honoured only when
//! the server runs with `--test-hooks` (otherwise every request sees [`Faults::default`], none).
//!
//! Faults are stateless per request: the client repeats its `query` on every request, so each
//! request carries its own faults. To lift them while a client runs, a request may also carry
//! `fault_until=EPOCH_MS` (the faults apply only while the server clock is before it) and/or
//! `fault_key=KEY` (the faults apply until `POST /rt/_hooks/lift?key=KEY`, and again after
//! `POST /rt/_hooks/arm?key=KEY`).

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::clock::Timestamp;
use crate::AppState;

/// The faults one request asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    /// `ws-refuse`: the WebSocket upgrade is answered `403`.
    pub ws_refuse: bool,
    /// `ws-hang`: the WebSocket upgrade request is read and never answered.
    pub ws_hang: bool,
    /// `ws-drop-open`: the upgrade succeeds, then the connection is dropped at once.
    pub ws_drop_open: bool,
    /// `sse-refuse`: `/rt/sse` is answered `503` (EventSource and XHR streaming alike: they share
    /// the endpoint).
    pub sse_refuse: bool,
    /// `eventsource-refuse`: `/rt/sse` requests with `Accept: text/event-stream` (what a browser's
    /// EventSource sends, XHR streaming does not) are answered `503`.
    pub eventsource_refuse: bool,
    /// `stream-buffer`: event stream and iframe bodies are held back until the response ends.
    pub stream_buffer: bool,
    /// `drop-every=N`: a downstream connection ends after N messages; a poll answers at most N.
    pub drop_every: Option<u64>,
    /// `http-error=CODE`: `/sse`, `/iframe`, `/poll` and `/send` are answered with CODE.
    pub http_error: Option<StatusCode>,
    /// `latency=MS`: every downstream write waits this long first.
    pub latency: Option<Duration>,
}

impl Faults {
    /// Parses a comma-separated list such as `ws-refuse,latency=200`.
    pub fn parse(list: &str) -> Result<Faults, String> {
        let mut faults = Faults::default();
        for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (name, value) = match item.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (item, None),
            };
            let number = || {
                value
                    .and_then(|v| v.parse::<u64>().ok())
                    .ok_or_else(|| format!("fault {name} needs a number, as in {name}=100"))
            };
            match (name, value) {
                ("ws-refuse", None) => faults.ws_refuse = true,
                ("ws-hang", None) => faults.ws_hang = true,
                ("ws-drop-open", None) => faults.ws_drop_open = true,
                ("sse-refuse", None) => faults.sse_refuse = true,
                ("eventsource-refuse", None) => faults.eventsource_refuse = true,
                ("stream-buffer", None) => faults.stream_buffer = true,
                ("drop-every", _) => match number()? {
                    0 => return Err("drop-every needs N >= 1".into()),
                    n => faults.drop_every = Some(n),
                },
                ("http-error", _) => {
                    let code = u16::try_from(number()?)
                        .ok()
                        .and_then(|c| StatusCode::from_u16(c).ok());
                    match code {
                        Some(code) if code.as_u16() >= 200 => faults.http_error = Some(code),
                        _ => return Err("http-error needs a status code 200..=999".into()),
                    }
                }
                ("latency", _) => faults.latency = Some(Duration::from_millis(number()?)),
                _ => return Err(format!("unknown fault {item:?}")),
            }
        }
        Ok(faults)
    }

    /// The `http-error` answer, for the HTTP transports to return before doing anything else.
    pub fn http_refusal(&self) -> Option<Response> {
        self.http_error.map(|code| {
            (
                code,
                format!("fault injected: http-error={}\n", code.as_u16()),
            )
                .into_response()
        })
    }

    /// Sleeps for `latency`, if set; called before every downstream write.
    pub async fn delay(&self) {
        if let Some(latency) = self.latency {
            tokio::time::sleep(latency).await;
        }
    }
}

/// Fault keys lifted through `POST /rt/_hooks/lift`.
#[derive(Debug, Default)]
pub struct FaultSwitches {
    lifted: Mutex<HashSet<String>>,
}

impl FaultSwitches {
    /// Requests carrying `fault_key=key` stop seeing their faults.
    pub fn lift(&self, key: &str) {
        self.lifted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.to_owned());
    }

    /// Requests carrying `fault_key=key` see their faults again.
    pub fn arm(&self, key: &str) {
        self.lifted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }

    /// Whether `key` was lifted.
    pub fn is_lifted(&self, key: &str) -> bool {
        self.lifted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(key)
    }
}

#[derive(Debug, Deserialize)]
struct FaultQuery {
    fault: Option<String>,
    fault_until: Option<u64>,
    fault_key: Option<String>,
}

impl FromRequestParts<AppState> for Faults {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Faults, Response> {
        if !state.config.test_hooks {
            return Ok(Faults::default());
        }
        let bad = |why: String| {
            (
                StatusCode::BAD_REQUEST,
                format!("bad fault parameter: {why}\n"),
            )
                .into_response()
        };
        let Query(query) =
            Query::<FaultQuery>::try_from_uri(&parts.uri).map_err(|e| bad(e.body_text()))?;
        let Some(list) = query.fault else {
            return Ok(Faults::default());
        };
        let faults = Faults::parse(&list).map_err(bad)?;
        let expired = query
            .fault_until
            .is_some_and(|until| Timestamp::now().millis() >= until);
        let lifted = query
            .fault_key
            .is_some_and(|key| state.switches.is_lifted(&key));
        Ok(if expired || lifted {
            Faults::default()
        } else {
            faults
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_fault() {
        let faults = Faults::parse(
            "ws-refuse,ws-hang,ws-drop-open,sse-refuse,eventsource-refuse,stream-buffer,drop-every=3,\
             http-error=502,latency=20",
        )
        .expect("valid list");
        assert_eq!(
            faults,
            Faults {
                ws_refuse: true,
                ws_hang: true,
                ws_drop_open: true,
                sse_refuse: true,
                eventsource_refuse: true,
                stream_buffer: true,
                drop_every: Some(3),
                http_error: Some(StatusCode::BAD_GATEWAY),
                latency: Some(Duration::from_millis(20)),
            }
        );
        assert_eq!(Faults::parse(""), Ok(Faults::default()));
    }

    #[test]
    fn rejects_nonsense() {
        for bad in [
            "nope",
            "drop-every",
            "drop-every=0",
            "http-error=99",
            "latency=x",
            "ws-refuse=1",
        ] {
            assert!(Faults::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn switches() {
        let switches = FaultSwitches::default();
        switches.lift("k");
        assert!(switches.is_lifted("k"));
        switches.arm("k");
        assert!(!switches.is_lifted("k"));
    }
}
