//! Short polling and long polling: a loop of GET requests.
//!
//! Short polling waits `pollIntervalMs` after each answer; long polling asks again at once, because
//! the server holds each request until it has something. A long poll the client has waited on longer
//! than the server may hold it is abandoned and retried ("timeout retry"), not counted as a failure:
//! some proxies swallow held requests silently.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use gloo_timers::callback::Timeout;

use super::{Closed, Ctx, Frame, Sink, TransportEvent};
use crate::error::Error;
use crate::web::page;
use crate::web::xhr::{response_text, Xhr, XhrEvent, XhrRequest};

/// Which kind of polling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    Short,
    Long,
}

/// A running poll loop. Dropping it aborts the request in flight and clears its timer.
#[derive(Debug)]
pub(crate) struct PollingTransport {
    _state: Rc<RefCell<Loop>>,
}

struct Loop {
    ctx: Ctx,
    sink: Sink,
    mode: Mode,
    opened: bool,
    request: Option<Xhr>,
    timer: Option<Timeout>,
}

impl core::fmt::Debug for Loop {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Loop")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl PollingTransport {
    pub(crate) fn open(ctx: Ctx, sink: Sink, mode: Mode) -> Result<Self, Error> {
        let state = Rc::new(RefCell::new(Loop {
            ctx,
            sink,
            mode,
            opened: false,
            request: None,
            timer: None,
        }));
        poll(&state)?;
        Ok(PollingTransport { _state: state })
    }
}

/// Starts one poll.
fn poll(state: &Rc<RefCell<Loop>>) -> Result<(), Error> {
    let (url, with_credentials, mode, timeout_ms) = {
        let s = state.borrow();
        let mut url = (s.ctx.url)();
        // The first poll of a session-protocol attempt is answered at once (it opens the
        // transport); only the later ones ask the server to hold them.
        if let (Mode::Long, false, true, Some(wait)) =
            (s.mode, s.ctx.raw, s.opened, s.ctx.long_poll_wait_ms)
        {
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str("wait=");
            crate::text::push_dec(&mut url, wait.into());
        }
        (
            url,
            s.ctx.with_credentials,
            s.mode,
            s.ctx.long_poll_client_timeout_ms,
        )
    };
    let weak = Rc::downgrade(state);
    let request = XhrRequest {
        method: "GET",
        url: &url,
        body: None,
        with_credentials,
    };
    let xhr = Xhr::send(&request, move |xhr, event| match event {
        XhrEvent::Headers | XhrEvent::Progress => {}
        XhrEvent::Done(status) if (200..300).contains(&status) => {
            answered(&weak, status, response_text(xhr));
        }
        XhrEvent::Done(status) => {
            failed(&weak, Closed::http("poll", xhr, status), response_text(xhr));
        }
        XhrEvent::Failed => finish(&weak, Closed::new("poll request failed")),
    })?;
    let mut s = state.borrow_mut();
    s.request = Some(xhr);
    s.timer = (mode == Mode::Long).then(|| {
        let weak = Rc::downgrade(state);
        page::timeout(timeout_ms, move || {
            // The server should have answered by now: abandon this poll and ask again.
            if let Some(state) = weak.upgrade() {
                let stale = state.borrow_mut().request.take();
                drop(stale);
                if let Err(e) = poll(&state) {
                    finish(&Rc::downgrade(&state), Closed::new(e.message()));
                }
            }
        })
    });
    Ok(())
}

/// A poll was answered with `status` and `body`.
fn answered(weak: &Weak<RefCell<Loop>>, status: u16, body: js_sys::JsString) {
    let Some(state) = weak.upgrade() else { return };
    // Take what is needed and release the borrow before calling the sink: the client may drop
    // this transport, or read its state, from inside the call.
    let (sink, first, raw) = {
        let mut s = state.borrow_mut();
        s.request = None;
        s.timer = None;
        let first = !s.opened;
        s.opened = true;
        (s.sink.clone(), first, s.ctx.raw)
    };
    if first && raw {
        sink(TransportEvent::Opened);
    }
    // Raw protocol: an empty answer (204) is "no message".
    if !(raw && (status == 204 || body.length() == 0)) {
        sink(TransportEvent::Frame(Frame::text(body)));
    }
    // The sink may have dropped the transport: only go on if it is still alive.
    let Some(state) = weak.upgrade() else { return };
    let (mode, interval) = {
        let s = state.borrow();
        (s.mode, s.ctx.poll_interval_ms)
    };
    match mode {
        Mode::Long => {
            if let Err(e) = poll(&state) {
                finish(weak, Closed::new(e.message()));
            }
        }
        Mode::Short => {
            let next = Rc::downgrade(&state);
            let timer = page::timeout(interval, move || {
                if let Some(state) = next.upgrade() {
                    if let Err(e) = poll(&state) {
                        finish(&next, Closed::new(e.message()));
                    }
                }
            });
            state.borrow_mut().timer = Some(timer);
        }
    }
}

/// A poll failed with an HTTP status. The session protocol's refusals carry an `x` frame in the
/// body (unknown session, bad token), which the client must see to start over.
fn failed(weak: &Weak<RefCell<Loop>>, closed: Closed, body: js_sys::JsString) {
    let Some(state) = weak.upgrade() else { return };
    let (sink, raw) = {
        let s = state.borrow();
        (s.sink.clone(), s.ctx.raw)
    };
    let is_frame = body.length() > 0 && body.char_code_at(0) == f64::from(b'{');
    if !raw && is_frame {
        sink(TransportEvent::Frame(Frame::text(body)));
    }
    finish(weak, closed);
}

/// The loop ends: release the request and timer, then report.
fn finish(weak: &Weak<RefCell<Loop>>, closed: Closed) {
    let Some(state) = weak.upgrade() else { return };
    let (sink, request, timer) = {
        let mut s = state.borrow_mut();
        (s.sink.clone(), s.request.take(), s.timer.take())
    };
    drop(request);
    drop(timer);
    sink(TransportEvent::Closed(closed));
}
