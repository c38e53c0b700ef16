//! What an idle WebSocket costs the server: a few kilobytes of heap, not tungstenite's default
//! 128 KiB read buffer. Its own test binary, so the counting allocator sees no other test.

use std::alloc::System;
use std::time::Duration;

use cap::Cap;
use futures_util::StreamExt as _;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

/// Idle sockets opened.
const SOCKETS: usize = 200;
/// Most heap bytes one idle session WebSocket may cost, server and test client together (the
/// client's own buffers are kept small too).
const BUDGET: usize = 48 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_websocket_costs_kilobytes() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("ws://{}/rt/ws", listener.local_addr().expect("addr"));
    tokio::spawn(realtime_server::serve(
        listener,
        realtime_server::Config {
            static_dirs: Vec::new(),
            ..realtime_server::Config::default()
        },
    ));
    let small = WebSocketConfig::default()
        .read_buffer_size(1024)
        .write_buffer_size(0);
    // Warm up (lazily initialised runtime and server state), then measure.
    let mut sockets = Vec::new();
    for _ in 0..10 {
        sockets.push(open(&url, small).await);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = ALLOCATOR.allocated();
    for _ in 0..SOCKETS {
        sockets.push(open(&url, small).await);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let per_socket = ALLOCATOR.allocated().saturating_sub(before) / SOCKETS;
    println!("an idle session WebSocket: {per_socket} heap bytes (server and client)");
    assert!(per_socket < BUDGET, "{per_socket} bytes per idle WebSocket");
    drop(sockets);
}

async fn open(
    url: &str,
    config: WebSocketConfig,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), false)
        .await
        .expect("connect");
    // The `o` frame: the server side is set up and waiting.
    ws.next().await.expect("open frame").expect("ok");
    ws
}
