//! Integration tests of `realtime-server` on real sockets: each test binds `127.0.0.1:0`, serves
//! `app(config)` and talks to it with an HTTP client and a WebSocket client.

mod cli;
mod faults;
mod harness;
mod hostile;
mod iframe;
mod limits;
mod nosniff;
mod origin;
mod poll;
mod probe;
mod raw;
mod sse;
mod static_files;
mod ws;
