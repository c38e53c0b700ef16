//! Hidden-iframe streaming: a never-ending HTML document whose `<script>` chunks hand each message
//! to the page.
//!
//! Session protocol: the server's scripts `postMessage` each frame to this page's origin, so the
//! frame never touches the page; only messages whose `source` is this transport's own frame and
//! whose `origin` is the server's are accepted. Raw protocol: the seeds' style, where the scripts
//! call `parent[NAME](data)` on a global function this transport installs and removes.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gloo_timers::callback::Timeout;

use gloo_events::EventListener;
use js_sys::{JsString, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{HtmlIFrameElement, MessageEvent};

use super::{Closed, Ctx, Frame, Sink, TransportEvent};
use crate::error::{Error, ErrorCode};
use crate::web::page;
use crate::web::xhr::js_error;

/// How long the frame must stay quiet after its `load` before its end is reported, raw protocol:
/// a message still on its way when the end is reported is lost.
const END_GRACE_MS: u32 = 500;
/// The same with the session protocol, where such a message is only sent again by the resume: a
/// long grace would delay every reconnect for nothing.
const SESSION_END_GRACE_MS: u32 = 50;

/// The global function a raw iframe's scripts call.
type RawCallback = Closure<dyn FnMut(JsValue)>;

thread_local! {
    static NEXT_CALLBACK: Cell<u32> = const { Cell::new(0) };
}

/// A hidden iframe and its message listener. Dropping it removes both (and the raw callback).
#[derive(Debug)]
pub(crate) struct IframeTransport {
    frame: HtmlIFrameElement,
    window: web_sys::Window,
    listeners: Vec<EventListener>,
    callback: Option<(String, RawCallback)>,
    end: Rc<EndWatch>,
}

/// Reports the end of the frame's document only once its last messages have arrived.
///
/// The frame's `postMessage`s and its `load` event reach the page by different paths (with site
/// isolation, from another process), so the last messages may arrive after `load`. The end is
/// reported once the frame has loaded and nothing arrived for a grace period ([`END_GRACE_MS`],
/// [`SESSION_END_GRACE_MS`]).
struct EndWatch {
    sink: Sink,
    grace_ms: u32,
    loaded: Cell<bool>,
    timer: RefCell<Option<Timeout>>,
}

impl core::fmt::Debug for EndWatch {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EndWatch")
            .field("loaded", &self.loaded.get())
            .finish_non_exhaustive()
    }
}

impl EndWatch {
    /// Something arrived, or the document loaded: (re)starts the quiet period once loaded.
    fn activity(self: &Rc<Self>) {
        if !self.loaded.get() {
            return;
        }
        let weak = Rc::downgrade(self);
        let timer = page::timeout(self.grace_ms, move || {
            if let Some(watch) = weak.upgrade() {
                (watch.sink)(TransportEvent::Closed(Closed::new("iframe stream ended")));
            }
        });
        let old = self.timer.borrow_mut().replace(timer);
        drop(old);
    }
}

impl IframeTransport {
    pub(crate) fn open(ctx: &Ctx, sink: &Sink) -> Result<Self, Error> {
        let unavailable = || {
            Error::new(
                ErrorCode::TransportFailed,
                "iframe: needs a page with a document",
            )
        };
        let window = page::window().ok_or_else(unavailable)?;
        let document = window.document().ok_or_else(unavailable)?;
        let frame: HtmlIFrameElement = document
            .create_element("iframe")
            .map_err(|e| js_error("iframe", &e))?
            .unchecked_into();
        let _ = frame.set_attribute("aria-hidden", "true");
        let _ = frame.set_attribute("tabindex", "-1");
        let _ = frame.style().set_property("display", "none");

        let end = Rc::new(EndWatch {
            sink: sink.clone(),
            grace_ms: if ctx.raw {
                END_GRACE_MS
            } else {
                SESSION_END_GRACE_MS
            },
            loaded: Cell::new(false),
            timer: RefCell::new(None),
        });
        let mut url = (ctx.url)();
        let mut listeners = Vec::new();
        let mut callback = None;
        if ctx.raw {
            let name = NEXT_CALLBACK.with(|n| {
                n.set(n.get().wrapping_add(1));
                let mut name = String::from("__realtimeWasmIframe");
                crate::text::push_dec(&mut name, n.get().into());
                name
            });
            let on_data = sink.clone();
            let watch = end.clone();
            let opened = Cell::new(false);
            let closure = Closure::<dyn FnMut(JsValue)>::new(move |data: JsValue| {
                if !opened.replace(true) {
                    on_data(TransportEvent::Opened);
                }
                let data = match data.dyn_into::<JsString>() {
                    Ok(text) => text,
                    Err(other) => {
                        js_sys::JSON::stringify(&other).unwrap_or_else(|_| JsString::from(""))
                    }
                };
                on_data(TransportEvent::Frame(Frame::text(data)));
                watch.activity();
            });
            Reflect::set(&window, &JsValue::from_str(&name), closure.as_ref())
                .map_err(|e| js_error("iframe callback", &e))?;
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str("callback=");
            url.push_str(&name);
            callback = Some((name, closure));
        } else {
            let on_message = sink.clone();
            let watch = end.clone();
            let own = frame.clone();
            let server_origin = ctx.server_origin.clone();
            listeners.push(EventListener::new(&window, "message", move |event| {
                let Some(event) = event.dyn_ref::<MessageEvent>() else {
                    return;
                };
                if event.origin() != server_origin {
                    return;
                }
                let from_own_frame = match (event.source(), own.content_window()) {
                    (Some(source), Some(own)) => JsValue::from(source) == JsValue::from(own),
                    _ => false,
                };
                if !from_own_frame {
                    return;
                }
                if let Ok(data) = event.data().dyn_into::<JsString>() {
                    on_message(TransportEvent::Frame(Frame::text(data)));
                    watch.activity();
                }
            }));
        }
        // The document finishing means the stream ended (or an error page loaded instead).
        let watch = end.clone();
        listeners.push(EventListener::new(&frame, "load", move |_| {
            watch.loaded.set(true);
            watch.activity();
        }));
        frame.set_src(&url);
        let parent = document
            .body()
            .map(web_sys::Node::from)
            .or_else(|| document.document_element().map(Into::into));
        parent
            .ok_or_else(unavailable)?
            .append_child(&frame)
            .map_err(|e| js_error("iframe", &e))?;
        Ok(IframeTransport {
            frame,
            window,
            listeners,
            callback,
            end,
        })
    }
}

impl Drop for IframeTransport {
    fn drop(&mut self) {
        self.listeners.clear();
        self.end.timer.borrow_mut().take();
        // Stop the load before removing the frame, so the browser drops the connection now.
        self.frame.set_src("about:blank");
        self.frame.remove();
        if let Some((name, _closure)) = self.callback.take() {
            let _ = Reflect::delete_property(&self.window, &JsValue::from_str(&name));
        }
    }
}
