//! EventSource: the browser's own server-sent events client.

use std::cell::RefCell;

use gloo_events::EventListener;
use js_sys::JsString;
use wasm_bindgen::JsCast;
use web_sys::{EventSource, EventSourceInit, MessageEvent};

use super::{Closed, Ctx, Frame, Sink, TransportEvent};
use crate::error::Error;
use crate::web::xhr::js_error;

/// An open or opening EventSource. Dropping it removes its listeners and closes it.
pub(crate) struct EventSourceTransport {
    source: EventSource,
    sink: Sink,
    /// Raw protocol: events' ids are passed on.
    raw: bool,
    listeners: RefCell<Vec<EventListener>>,
    watched: RefCell<Vec<String>>,
}

impl EventSourceTransport {
    pub(crate) fn open(ctx: &Ctx, sink: Sink) -> Result<Self, Error> {
        let url = (ctx.url)();
        let init = EventSourceInit::new();
        init.set_with_credentials(ctx.with_credentials);
        let source = EventSource::new_with_event_source_init_dict(&url, &init)
            .map_err(|e| js_error(&url, &e))?;
        let on_open = sink.clone();
        let on_error = sink.clone();
        let target = source.clone();
        let listeners = vec![
            EventListener::new(&source, "open", move |_| on_open(TransportEvent::Opened)),
            // The browser would reconnect on its own, but with the URL it first had: the client
            // decides about reconnection (and resumes with current parameters), so stop here.
            EventListener::new(&source, "error", move |_| {
                // CONNECTING: the stream dropped and the browser is retrying; CLOSED: the browser
                // gave up (an HTTP error status or a wrong content type).
                let dropped = target.ready_state() == EventSource::CONNECTING;
                target.close();
                let reason = if dropped {
                    "event stream dropped"
                } else {
                    "event stream refused"
                };
                on_error(TransportEvent::Closed(Closed::new(reason)));
            }),
        ];
        let transport = EventSourceTransport {
            source,
            sink,
            raw: ctx.raw,
            listeners: RefCell::new(listeners),
            watched: RefCell::new(Vec::new()),
        };
        transport.watch_event("message");
        for name in &ctx.event_names {
            transport.watch_event(name);
        }
        Ok(transport)
    }

    /// Delivers events named `name` from now on.
    pub(crate) fn watch_event(&self, name: &str) {
        if self.watched.borrow().iter().any(|w| w == name) {
            return;
        }
        let sink = self.sink.clone();
        let event_name = (name != "message").then(|| JsString::from(name));
        let raw = self.raw;
        let listener = EventListener::new(&self.source, name.to_owned(), move |event| {
            // Not checked with `instanceof`, once per message: anything else has no string
            // `data` (a plain property read) and is ignored below.
            let event = event.unchecked_ref::<MessageEvent>();
            let Ok(data) = event.data().dyn_into::<JsString>() else {
                return;
            };
            // Session frames carry their own sequence number: the id is only read for raw streams.
            let id = raw
                .then(|| event.last_event_id())
                .filter(|id| !id.is_empty());
            sink(TransportEvent::Frame(Frame::Text {
                data,
                event: event_name.clone(),
                id,
            }));
        });
        self.listeners.borrow_mut().push(listener);
        self.watched.borrow_mut().push(name.to_owned());
    }
}

impl Drop for EventSourceTransport {
    fn drop(&mut self) {
        self.listeners.borrow_mut().clear();
        self.source.close();
    }
}

impl core::fmt::Debug for EventSourceTransport {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EventSourceTransport")
            .field("url", &self.source.url())
            .finish_non_exhaustive()
    }
}
