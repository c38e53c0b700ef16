//! WebSocket: one frame per message in both directions.

use gloo_events::EventListener;
use js_sys::{ArrayBuffer, JsString, Uint8Array};
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, CloseEvent, MessageEvent, WebSocket};

use wasm_bindgen::prelude::wasm_bindgen;

use super::{Closed, Ctx, Frame, Sink, TransportEvent};
use crate::error::Error;
use crate::web::xhr::js_error;

/// An open or opening WebSocket. Dropping it removes its listeners and closes the socket.
#[derive(Debug)]
pub(crate) struct WebSocketTransport {
    socket: WebSocket,
    _listeners: [EventListener; 3],
}

impl WebSocketTransport {
    pub(crate) fn open(ctx: &Ctx, sink: Sink) -> Result<Self, Error> {
        let url = (ctx.url)();
        let socket = WebSocket::new(&url).map_err(|e| js_error(&url, &e))?;
        socket.set_binary_type(BinaryType::Arraybuffer);
        let on_open = sink.clone();
        let on_message = sink.clone();
        let listeners = [
            EventListener::new(&socket, "open", move |_| on_open(TransportEvent::Opened)),
            EventListener::new(&socket, "message", move |event| {
                let Some(event) = event.dyn_ref::<MessageEvent>() else {
                    return;
                };
                let data = event.data();
                let frame = match data.dyn_into::<JsString>() {
                    Ok(text) => Frame::text(text),
                    Err(data) => match data.dyn_into::<ArrayBuffer>() {
                        Ok(buffer) => Frame::Binary(Uint8Array::new(&buffer)),
                        Err(_) => return,
                    },
                };
                on_message(TransportEvent::Frame(frame));
            }),
            // `error` is always followed by `close`, which carries the code: listen to that alone.
            EventListener::new(&socket, "close", move |event| {
                let (code, reason) = match event.dyn_ref::<CloseEvent>() {
                    Some(e) => (e.code(), e.reason()),
                    None => (1006, String::new()),
                };
                sink(TransportEvent::Closed(Closed::new(close_reason(
                    code, &reason,
                ))));
            }),
        ];
        Ok(WebSocketTransport {
            socket,
            _listeners: listeners,
        })
    }

    pub(crate) fn send_text(&self, text: &JsString) -> Result<(), Error> {
        send_js_string(&self.socket, text).map_err(|e| js_error("websocket send", &e))
    }

    pub(crate) fn send_binary(&self, bytes: &[u8]) -> Result<(), Error> {
        self.socket
            .send_with_u8_array(bytes)
            .map_err(|e| js_error("websocket send", &e))
    }
}

impl Drop for WebSocketTransport {
    fn drop(&mut self) {
        // The listeners are removed right after this body runs; the `close` event this call
        // causes is dispatched later, so it never reaches the client.
        let state = self.socket.ready_state();
        if state == WebSocket::CONNECTING || state == WebSocket::OPEN {
            let _ = self.socket.close_with_code(1000);
        }
    }
}

#[wasm_bindgen]
extern "C" {
    /// A WebSocket seen through the one method web-sys types too narrowly.
    type StringSocket;
    /// `WebSocket.send` with a JS string, so text is not copied through Rust on its way out.
    #[wasm_bindgen(method, catch, js_name = send)]
    fn send(this: &StringSocket, data: &JsString) -> Result<(), wasm_bindgen::JsValue>;
}

fn send_js_string(socket: &WebSocket, text: &JsString) -> Result<(), wasm_bindgen::JsValue> {
    socket.unchecked_ref::<StringSocket>().send(text)
}

/// The reason a closed WebSocket reports: `websocket closed (1006)`, or with the server's reason
/// `websocket closed (4000 going away)`.
fn close_reason(code: u16, reason: &str) -> String {
    let mut text = String::from("websocket closed (");
    crate::text::push_dec(&mut text, code.into());
    if !reason.is_empty() {
        text.push(' ');
        text.push_str(reason);
    }
    text.push(')');
    text
}

#[cfg(test)]
mod tests {
    use super::close_reason;

    #[test]
    fn close_reason_text() {
        assert_eq!(close_reason(1006, ""), "websocket closed (1006)");
        assert_eq!(close_reason(0, ""), "websocket closed (0)");
        assert_eq!(
            close_reason(4000, "going away"),
            "websocket closed (4000 going away)"
        );
        assert_eq!(
            close_reason(u16::MAX, " x "),
            "websocket closed (65535  x )"
        );
    }
}
