//! Upstream for the HTTP transports: one POST at a time, so what is sent arrives in order.

use js_sys::JsString;

use super::Closed;
use crate::error::Error;
use crate::web::xhr::{response_text, Xhr, XhrEvent, XhrRequest};

/// A POST in flight. Dropping it aborts the request; the client then resends what it carried.
#[must_use = "dropping an Uploader aborts the POST"]
#[derive(Debug)]
pub(crate) struct Uploader {
    _request: Xhr,
}

impl Uploader {
    /// POSTs `body` to `url`; `on_done` gets the answer's body, or why there is none.
    pub(crate) fn post(
        url: &str,
        body: &str,
        with_credentials: bool,
        on_done: impl FnOnce(Result<JsString, Closed>) + 'static,
    ) -> Result<Uploader, Error> {
        let on_done: Box<dyn FnOnce(Result<JsString, Closed>)> = Box::new(on_done);
        let mut on_done = Some(on_done);
        let request = XhrRequest {
            method: "POST",
            url,
            body: Some(body),
            with_credentials,
        };
        let request = Xhr::send(&request, move |xhr, event| {
            let result = match event {
                XhrEvent::Headers | XhrEvent::Progress => return,
                XhrEvent::Done(status) if (200..300).contains(&status) => Ok(response_text(xhr)),
                XhrEvent::Done(status) => Err(Closed::http("send", xhr, status)),
                XhrEvent::Failed => Err(Closed::new("send request failed")),
            };
            if let Some(on_done) = on_done.take() {
                on_done(result);
            }
        })?;
        Ok(Uploader { _request: request })
    }
}
