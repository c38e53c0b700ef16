//! Test-hook fault injection: the `fault` query parameter of `/rt` requests, honoured only when
//! the server runs with `--test-hooks` (otherwise every request sees [`Faults::default`], none).
//!
//! Faults are stateless per request: the client repeats its `query` on every request, so each
//! request carries its own faults. To lift them while a client runs, a request may also carry
//! `fault_until=EPOCH_MS` (the faults apply only while the server clock is before it) and/or
//! `fault_key=KEY` (the faults apply until `POST /rt/_hooks/lift?key=KEY`, and again after
//! `POST /rt/_hooks/arm?key=KEY`). `fault_on=ENDPOINTS` (say `send` or `poll,send`) keeps them to
//! requests for those endpoints, and an item ending in `@ENDPOINT+ENDPOINT` keeps that one fault to
//! them.
//!
//! Besides refusing, hanging, dropping and delaying, some faults are hostile: they write what a
//! broken server or proxy would (a page of HTML, frames that are not JSON, numbers that jump),
//! for the client to survive. Those that tamper with frames act once per connection (see
//! [`crate::tamper`]).

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use axum::extract::{FromRequestParts, Query};
use axum::http::header::{self, HeaderValue};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::clock::Timestamp;
use crate::refusal::Refusal;
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
    /// `crlf`: `/rt/sse` ends its lines with CR LF after its first write (the padding and the
    /// first frames), as a proxy rewriting line ends would: a stream that changes midway.
    pub crlf: bool,
    /// `drop-every=N`: a downstream connection ends after N messages; a poll answers at most N.
    pub drop_every: Option<u64>,
    /// `stall-after=N`: a streaming connection (WebSocket, event stream, iframe) goes silent
    /// after N messages, heartbeats included, but stays open: a dead connection the network
    /// does not report, which only the client's heartbeat deadline can find.
    pub stall_after: Option<u64>,
    /// `heartbeat=MS`: this connection's heartbeat interval (announced in its `o` frame), so
    /// tests of heartbeat deadlines need not wait for the server's default.
    pub heartbeat: Option<Duration>,
    /// `http-error=CODE`: `/sse`, `/iframe`, `/poll` and `/send` are answered with CODE.
    pub http_error: Option<StatusCode>,
    /// `latency=MS`: every downstream write waits this long first.
    pub latency: Option<Duration>,
    /// `retry-after=SECS`: the `Retry-After` of `http-error` answers (default: 1 for 429 and 503,
    /// none for other codes).
    pub retry_after: Option<u64>,
    /// `html-200`: `/sse`, `/iframe`, `/poll` and `/send` answer `200` with an HTML error page, as
    /// a captive portal or a misconfigured proxy does.
    pub html_200: bool,
    /// `unknown-session`: a request carrying `sid` is refused as if the session did not exist
    /// (code `unknown_session`, in its endpoint's style); the session itself is untouched.
    pub unknown_session: bool,
    /// `garbage-frame`: a frame that is not JSON, once per connection (see [`crate::tamper`]).
    pub garbage_frame: bool,
    /// `bad-frame[=KIND]`: a JSON frame that breaks the protocol, once per connection.
    pub bad_frame: Option<BadFrame>,
    /// `seq-repeat`: the connection's first message is written again after its second.
    pub seq_repeat: bool,
    /// `seq-skip`: the connection's second message is left out (its `s` is skipped).
    pub seq_skip: bool,
    /// `bad-utf8`: the connection's second message carries an invalid UTF-8 byte in its text.
    pub bad_utf8: bool,
    /// `cut-mid-event`: the response ends in the middle of the connection's second message.
    pub cut_mid_event: bool,
    /// `send-delay=MS`: `/send` processes its frames at once, then holds its answer this long.
    pub send_delay: Option<Duration>,
}

/// What `bad-frame=KIND` writes (see [`BadFrame::frame`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadFrame {
    /// `no-t` (the default): `{"s":S,"d":"bad-frame"}`, no type.
    NoType,
    /// `no-s`: `{"t":"m","d":"bad-frame"}`, a message without a sequence number.
    NoSeq,
    /// `bad-s`: `{"t":"m","s":"S","d":"bad-frame"}`, the sequence number as a string.
    BadSeq,
    /// `bad-b64`: `{"t":"m","s":S,"b":"not base64!"}`, a binary message that does not decode.
    BadBase64,
    /// `not-object`: `"bad-frame"`, valid JSON that is not an object.
    NotObject,
}

impl BadFrame {
    fn parse(kind: Option<&str>) -> Result<BadFrame, String> {
        Ok(match kind {
            None | Some("no-t") => BadFrame::NoType,
            Some("no-s") => BadFrame::NoSeq,
            Some("bad-s") => BadFrame::BadSeq,
            Some("bad-b64") => BadFrame::BadBase64,
            Some("not-object") => BadFrame::NotObject,
            Some(other) => {
                return Err(format!(
                    "bad-frame={other}: the kinds are no-t, no-s, bad-s, bad-b64 and not-object"
                ))
            }
        })
    }

    /// The frame's JSON, standing in for the message numbered `seq` (so a client that took it
    /// for a message would then drop the real one as a repeat).
    pub fn frame(self, seq: u64) -> String {
        match self {
            BadFrame::NoType => format!(r#"{{"s":{seq},"d":"bad-frame"}}"#),
            BadFrame::NoSeq => r#"{"t":"m","d":"bad-frame"}"#.to_owned(),
            BadFrame::BadSeq => format!(r#"{{"t":"m","s":"{seq}","d":"bad-frame"}}"#),
            BadFrame::BadBase64 => format!(r#"{{"t":"m","s":{seq},"b":"not base64!"}}"#),
            BadFrame::NotObject => r#""bad-frame""#.to_owned(),
        }
    }
}

/// The HTML page `html-200` answers with.
pub const HTML_PAGE: &str = "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n\
    <body><h1>Bad Gateway</h1><p>The proxy server received an invalid response from an upstream \
    server.</p></body></html>\n";

impl Faults {
    /// Parses a comma-separated list such as `ws-refuse,latency=200`, every item included
    /// whatever its `@ENDPOINTS` (see [`Faults::parse_for`]).
    pub fn parse(list: &str) -> Result<Faults, String> {
        Faults::parse_for(list, None)
    }

    /// Parses the list for a request to `endpoint` (`ws`, `sse`, `iframe`, `poll`, `send`): an
    /// item may end with `@ENDPOINT+ENDPOINT...` to apply only to requests for those.
    pub fn parse_for(list: &str, endpoint: Option<&str>) -> Result<Faults, String> {
        let mut faults = Faults::default();
        // Items for other endpoints are parsed all the same, so a mistake in one is an error.
        let mut elsewhere = Faults::default();
        for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (item, applies) = match item.rsplit_once('@') {
                Some((item, scope)) => (item, in_scope(scope, '+', endpoint)?),
                None => (item, true),
            };
            let target = if applies { &mut faults } else { &mut elsewhere };
            target.add(item)?;
        }
        Ok(faults)
    }

    /// Adds one item, `NAME` or `NAME=VALUE`.
    fn add(&mut self, item: &str) -> Result<(), String> {
        let faults = self;
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
            ("crlf", None) => faults.crlf = true,
            ("drop-every", _) => match number()? {
                0 => return Err("drop-every needs N >= 1".into()),
                n => faults.drop_every = Some(n),
            },
            ("stall-after", _) => match number()? {
                0 => return Err("stall-after needs N >= 1".into()),
                n => faults.stall_after = Some(n),
            },
            ("heartbeat", _) => match number()? {
                0 => return Err("heartbeat needs MS >= 1".into()),
                ms => faults.heartbeat = Some(Duration::from_millis(ms)),
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
            ("retry-after", _) => faults.retry_after = Some(number()?),
            ("html-200", None) => faults.html_200 = true,
            ("unknown-session", None) => faults.unknown_session = true,
            ("garbage-frame", None) => faults.garbage_frame = true,
            ("bad-frame", kind) => faults.bad_frame = Some(BadFrame::parse(kind)?),
            ("seq-repeat", None) => faults.seq_repeat = true,
            ("seq-skip", None) => faults.seq_skip = true,
            ("bad-utf8", None) => faults.bad_utf8 = true,
            ("cut-mid-event", None) => faults.cut_mid_event = true,
            ("send-delay", _) => faults.send_delay = Some(Duration::from_millis(number()?)),
            _ => return Err(format!("unknown fault {item:?}")),
        }
        Ok(())
    }

    /// The `http-error` answer (with `Retry-After` for 429 and 503, or as `retry-after` says),
    /// else the `html-200` page: for the HTTP transports to return before doing anything else.
    pub fn http_refusal(&self) -> Option<Response> {
        if let Some(code) = self.http_error {
            let mut response = (
                code,
                format!("fault injected: http-error={}\n", code.as_u16()),
            )
                .into_response();
            let busy = matches!(
                code,
                StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
            );
            let retry_after = self.retry_after.or(busy.then_some(1));
            if let Some(seconds) = retry_after {
                let headers = response.headers_mut();
                headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
                // A cross-origin page reads only the safelisted response headers unless told.
                headers.insert(
                    header::ACCESS_CONTROL_EXPOSE_HEADERS,
                    HeaderValue::from_static("Retry-After"),
                );
            }
            return Some(response);
        }
        self.html_200.then(|| {
            let content_type = (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            (StatusCode::OK, [content_type], HTML_PAGE).into_response()
        })
    }

    /// `unknown-session`: refuses a request naming a session (`sid`) as if it did not exist.
    pub fn session_check(&self, sid: Option<&str>) -> Result<(), Refusal> {
        if self.unknown_session && sid.is_some_and(|sid| !sid.is_empty()) {
            Err(Refusal::UnknownSession)
        } else {
            Ok(())
        }
    }

    /// Whether any fault that tampers with the frames of a connection is set (see
    /// [`crate::tamper`]).
    pub fn tampers(&self) -> bool {
        self.garbage_frame
            || self.bad_frame.is_some()
            || self.seq_repeat
            || self.seq_skip
            || self.bad_utf8
            || self.cut_mid_event
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
    fault_on: Option<String>,
}

/// The endpoints `fault_on` may name.
const ENDPOINTS: [&str; 5] = ["ws", "sse", "iframe", "poll", "send"];

/// The endpoint a request is for: the last segment of its path (`/rt/send`: `send`).
fn endpoint(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or_default()
}

/// Whether a list of endpoint names separated by `separator` (`fault_on=poll,send`, or an
/// item's `@poll+send`) includes `endpoint` (`None`: any); an unknown name is an error.
fn in_scope(list: &str, separator: char, endpoint: Option<&str>) -> Result<bool, String> {
    let mut applies = endpoint.is_none();
    for name in list
        .split(separator)
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        if !ENDPOINTS.contains(&name) {
            return Err(format!(
                "unknown endpoint {name:?} (ws, sse, iframe, poll, send)"
            ));
        }
        applies |= Some(name) == endpoint;
    }
    Ok(applies)
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
        let endpoint = endpoint(parts.uri.path());
        let faults = Faults::parse_for(&list, Some(endpoint)).map_err(bad)?;
        let elsewhere = match &query.fault_on {
            Some(on) => {
                !in_scope(on, ',', Some(endpoint)).map_err(|e| bad(format!("fault_on: {e}")))?
            }
            None => false,
        };
        let expired = query
            .fault_until
            .is_some_and(|until| Timestamp::now().millis() >= until);
        let lifted = query
            .fault_key
            .is_some_and(|key| state.switches.is_lifted(&key));
        Ok(if expired || lifted || elsewhere {
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
            "ws-refuse,ws-hang,ws-drop-open,sse-refuse,eventsource-refuse,stream-buffer,crlf,drop-every=3,\
             http-error=502,latency=20,retry-after=4,html-200,unknown-session,garbage-frame,\
             bad-frame=no-s,seq-repeat,seq-skip,bad-utf8,cut-mid-event,send-delay=5,\
             stall-after=2,heartbeat=250",
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
                crlf: true,
                drop_every: Some(3),
                stall_after: Some(2),
                heartbeat: Some(Duration::from_millis(250)),
                http_error: Some(StatusCode::BAD_GATEWAY),
                latency: Some(Duration::from_millis(20)),
                retry_after: Some(4),
                html_200: true,
                unknown_session: true,
                garbage_frame: true,
                bad_frame: Some(BadFrame::NoSeq),
                seq_repeat: true,
                seq_skip: true,
                bad_utf8: true,
                cut_mid_event: true,
                send_delay: Some(Duration::from_millis(5)),
            }
        );
        assert_eq!(
            Faults::parse("bad-frame").map(|f| f.bad_frame),
            Ok(Some(BadFrame::NoType))
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
            "bad-frame=nope",
            "seq-skip=2",
            "retry-after",
        ] {
            assert!(Faults::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn fault_on_names_endpoints() {
        let on = |list, path| in_scope(list, ',', Some(endpoint(path)));
        assert_eq!(on("send", "/rt/send"), Ok(true));
        assert_eq!(on("poll, send", "/rt/poll"), Ok(true));
        assert_eq!(on("send", "/rt/poll"), Ok(false));
        assert!(on("sse,nope", "/rt/sse").is_err());
    }

    #[test]
    fn items_scoped_to_endpoints() {
        let list = "unknown-session@ws+sse,send-delay=300@send,latency=5";
        let sse = Faults::parse_for(list, Some("sse")).expect("valid");
        assert!(sse.unknown_session && sse.send_delay.is_none());
        assert_eq!(sse.latency, Some(Duration::from_millis(5)));
        let send = Faults::parse_for(list, Some("send")).expect("valid");
        assert!(!send.unknown_session);
        assert_eq!(send.send_delay, Some(Duration::from_millis(300)));
        let all = Faults::parse(list).expect("valid");
        assert!(all.unknown_session && all.send_delay.is_some());
        assert!(Faults::parse_for("latency=5@nope", Some("sse")).is_err());
        assert!(Faults::parse_for("nope@send", Some("sse")).is_err());
    }

    #[test]
    fn retry_after_on_busy_answers() {
        let header = |list: &str| {
            let response = Faults::parse(list)
                .expect("valid")
                .http_refusal()
                .expect("an answer");
            response
                .headers()
                .get(header::RETRY_AFTER)
                .map(|v| v.to_str().unwrap_or_default().to_owned())
        };
        assert_eq!(header("http-error=429").as_deref(), Some("1"));
        assert_eq!(header("http-error=503").as_deref(), Some("1"));
        assert_eq!(header("http-error=500"), None);
        assert_eq!(header("http-error=500,retry-after=3").as_deref(), Some("3"));
        assert_eq!(header("html-200"), None);
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
