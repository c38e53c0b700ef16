//! The writing end of a streaming HTTP response body (event stream, iframe, raw streams).

use std::convert::Infallible;

use axum::body::{Body, Bytes};
use tokio::sync::mpsc;

use crate::downstream::Gone;

/// Feeds a response body chunk by chunk. Each [`ChunkSink::write`] becomes one chunk on the wire,
/// so a writer batches frames into one write instead of one syscall per message.
///
/// The channel holds a single chunk: when the client reads slowly, `write` waits, so a slow
/// reader slows the writer down instead of growing a queue.
#[derive(Debug)]
pub struct ChunkSink {
    tx: mpsc::Sender<Bytes>,
    /// `stream-buffer` fault: everything is kept here and sent when the response ends.
    held: Option<Vec<u8>>,
    written: usize,
}

impl ChunkSink {
    /// A sink and the response body it feeds; with `hold`, nothing reaches the body before
    /// [`ChunkSink::finish`] (a buffering proxy).
    pub fn new(hold: bool) -> (ChunkSink, Body) {
        let (tx, rx) = mpsc::channel::<Bytes>(1);
        let chunks = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv()
                .await
                .map(|chunk| (Ok::<_, Infallible>(chunk), rx))
        });
        let sink = ChunkSink {
            tx,
            held: hold.then(Vec::new),
            written: 0,
        };
        (sink, Body::from_stream(chunks))
    }

    /// Writes one chunk; `Err(Gone)` once the client has gone away.
    pub async fn write(&mut self, chunk: Vec<u8>) -> Result<(), Gone> {
        self.written += chunk.len();
        match &mut self.held {
            Some(held) if !self.tx.is_closed() => {
                held.extend_from_slice(&chunk);
                Ok(())
            }
            Some(_) => Err(Gone),
            None => self.tx.send(Bytes::from(chunk)).await.map_err(|_| Gone),
        }
    }

    /// Bytes written so far (held ones included).
    pub fn written(&self) -> usize {
        self.written
    }

    /// Resolves when the client has gone away (the body was dropped).
    pub async fn closed(&self) {
        self.tx.closed().await;
    }

    /// Ends the response, releasing whatever was held back.
    pub async fn finish(mut self) {
        if let Some(held) = self.held.take().filter(|h| !h.is_empty()) {
            // The client may be gone already; then there is no one to tell.
            let _ = self.tx.send(Bytes::from(held)).await;
        }
    }
}
