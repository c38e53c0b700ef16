//! An `XMLHttpRequest` that is aborted when its owner drops it.

use gloo_events::EventListener;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::XmlHttpRequest;

use crate::error::{Error, ErrorCode};

/// What an in-flight request reports.
#[derive(Debug)]
pub(crate) enum XhrEvent {
    /// The status line and headers arrived (readyState 2).
    Headers,
    /// More of the body arrived (readyState 3 and `progress`).
    Progress,
    /// The response is complete with this HTTP status (never 0).
    Done(u16),
    /// The request failed without a response: network error, refused, CORS.
    Failed,
}

/// A request in flight. Dropping it removes its listeners first, then aborts it, so an owner that
/// drops it never hears from it again.
#[must_use = "dropping an Xhr aborts the request"]
#[derive(Debug)]
pub(crate) struct Xhr {
    xhr: XmlHttpRequest,
    listeners: Vec<EventListener>,
}

/// The callback of a request in flight.
type OnEvent = Box<dyn FnMut(&XmlHttpRequest, XhrEvent)>;

/// What to send.
#[derive(Debug)]
pub(crate) struct XhrRequest<'a> {
    pub method: &'a str,
    pub url: &'a str,
    pub body: Option<&'a str>,
    pub with_credentials: bool,
}

impl Xhr {
    /// Starts `request`; `on_event` gets the request and each event until the request ends.
    pub(crate) fn send(
        request: &XhrRequest<'_>,
        on_event: impl FnMut(&XmlHttpRequest, XhrEvent) + 'static,
    ) -> Result<Xhr, Error> {
        // One copy of the machinery for every caller: generic code is duplicated per callback
        // type, and every byte of wasm is downloaded by every user.
        Xhr::send_boxed(request, Box::new(on_event))
    }

    fn send_boxed(request: &XhrRequest<'_>, mut on_event: OnEvent) -> Result<Xhr, Error> {
        let xhr = XmlHttpRequest::new().map_err(|e| js_error("XMLHttpRequest", &e))?;
        xhr.open(request.method, request.url)
            .map_err(|e| js_error(request.url, &e))?;
        xhr.set_with_credentials(request.with_credentials);
        if request.body.is_some() {
            // text/plain keeps the POST a "simple" cross-origin request: no preflight round trip.
            let _ = xhr.set_request_header("Content-Type", "text/plain;charset=UTF-8");
        }
        let target = xhr.clone();
        let mut headers_seen = false;
        let on_state = move || match target.ready_state() {
            XmlHttpRequest::HEADERS_RECEIVED => {
                headers_seen = true;
                on_event(&target, XhrEvent::Headers);
            }
            XmlHttpRequest::LOADING => {
                if !headers_seen {
                    headers_seen = true;
                    on_event(&target, XhrEvent::Headers);
                }
                on_event(&target, XhrEvent::Progress);
            }
            XmlHttpRequest::DONE => match target.status() {
                Ok(status) if status != 0 => {
                    if !headers_seen {
                        headers_seen = true;
                        on_event(&target, XhrEvent::Headers);
                    }
                    on_event(&target, XhrEvent::Done(status));
                }
                _ => on_event(&target, XhrEvent::Failed),
            },
            _ => {}
        };
        // One handler for both events: `progress` carries the later chunks of a streaming body,
        // `readystatechange` the transitions. `try_borrow_mut` skips a nested dispatch (a handler
        // that makes the browser fire another event synchronously) instead of panicking.
        let shared = std::rc::Rc::new(core::cell::RefCell::new(on_state));
        let a = shared.clone();
        let b = shared;
        let listeners = vec![
            EventListener::new(&xhr, "readystatechange", move |_| {
                if let Ok(mut f) = a.try_borrow_mut() {
                    f();
                }
            }),
            EventListener::new(&xhr, "progress", move |_| {
                if let Ok(mut f) = b.try_borrow_mut() {
                    f();
                }
            }),
        ];
        xhr.send_with_opt_str(request.body)
            .map_err(|e| js_error(request.url, &e))?;
        Ok(Xhr { xhr, listeners })
    }
}

impl Drop for Xhr {
    fn drop(&mut self) {
        // Listeners go first: abort() fires readystatechange synchronously.
        self.listeners.clear();
        if self.xhr.ready_state() != XmlHttpRequest::DONE {
            let _ = self.xhr.abort();
        }
    }
}

/// The body received so far, as a JS string (never copied into Rust whole).
pub(crate) fn response_text(xhr: &XmlHttpRequest) -> js_sys::JsString {
    xhr.response()
        .ok()
        .and_then(|v| v.dyn_into::<js_sys::JsString>().ok())
        .unwrap_or_else(|| js_sys::JsString::from(""))
}

/// An error for a browser call that threw, naming what it was about.
pub(crate) fn js_error(context: &str, error: &JsValue) -> Error {
    let detail = error
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| error.as_string())
        .unwrap_or_default();
    Error::new(
        ErrorCode::TransportFailed,
        [context, ": ", &detail].concat(),
    )
}
