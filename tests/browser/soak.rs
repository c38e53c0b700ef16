//! Connect/close cycles leak nothing: wasm memory (which never shrinks, so any leak shows) and
//! the JS heap stay flat after a warm-up.

use js_sys::{Reflect, WebAssembly};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

use crate::harness::{json, server};
use realtime_wasm::js::{JsOptions, JsRealtimeClient};

fn wasm_memory_bytes() -> f64 {
    let memory: WebAssembly::Memory = wasm_bindgen::memory().unchecked_into();
    memory
        .buffer()
        .unchecked_into::<js_sys::ArrayBuffer>()
        .byte_length() as f64
}

/// `performance.memory.usedJSHeapSize` where the browser has it (Chromium), else `None`.
fn js_heap_bytes() -> Option<f64> {
    let performance = Reflect::get(&js_sys::global(), &"performance".into()).ok()?;
    let memory = Reflect::get(&performance, &"memory".into()).ok()?;
    Reflect::get(&memory, &"usedJSHeapSize".into())
        .ok()?
        .as_f64()
}

/// One client: connect over `transport`, wait for it to open, close it.
async fn cycle(transport: &str) {
    let options = json(&format!(r#"{{"transports":["{transport}"]}}"#));
    let client = JsRealtimeClient::new(
        format!("{}/rt", server()).into(),
        Some(options.unchecked_into::<JsOptions>()),
    )
    .expect("constructor");
    let start = js_sys::Date::now();
    while client
        .state()
        .unchecked_into::<JsValue>()
        .as_string()
        .as_deref()
        != Some("open")
    {
        assert!(
            js_sys::Date::now() - start < 5_000.0,
            "cycle did not open over {transport}"
        );
        gloo_timers::future::TimeoutFuture::new(1).await;
    }
    client.close(None, None);
}

#[wasm_bindgen_test]
async fn a_thousand_connect_close_cycles_do_not_grow_memory() {
    for _ in 0..100 {
        cycle("websocket").await;
    }
    let (wasm_before, heap_before) = (wasm_memory_bytes(), js_heap_bytes());
    for i in 0..1_000 {
        // Mostly WebSocket (fast); every tenth over an HTTP transport, whose resources differ.
        cycle(if i % 10 == 0 {
            "longpolling"
        } else {
            "websocket"
        })
        .await;
    }
    let (wasm_after, heap_after) = (wasm_memory_bytes(), js_heap_bytes());
    web_sys::console::log_1(
        &format!(
            "[soak] 1,000 cycles: wasm memory {wasm_before} -> {wasm_after} bytes; JS heap {heap_before:?} -> {heap_after:?}"
        )
        .into(),
    );
    // A leak of even 64 bytes a cycle would grow the wasm memory by a 64 KiB page.
    assert!(
        wasm_after - wasm_before <= 65_536.0,
        "wasm memory grew from {wasm_before} to {wasm_after}"
    );
}
