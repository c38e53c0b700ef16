//! The loop every streaming downstream connection runs (WebSocket, event stream, iframe): open
//! frame, replay and live messages in batches, heartbeats, upstream frames that arrive in-band,
//! and the reasons a connection ends. Also the much shorter loop of an upgrade probe: open frame,
//! then heartbeats only.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::{Instant, MissedTickBehavior};

use crate::clock::Timestamp;
use crate::faults::Faults;
use crate::frame::{ClientFrame, Frame};
use crate::hub::Hub;
use crate::refusal::Refusal;
use crate::session::{Attachment, Batch, ProbeClaim, Session};
use crate::tamper::{Carrier, Step, Tamper, Tampered};

/// Most messages written in one batch.
const BATCH_MESSAGES: usize = 256;
/// About the most bytes written in one batch.
const BATCH_BYTES: usize = 64 * 1024;

/// The client went away; nothing more can be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gone;

/// What a connection received from its client.
#[derive(Debug)]
pub enum Input {
    /// Upstream frames, in order (several when they arrived together, answered by one `a`).
    Frames(Vec<ClientFrame>),
    /// A frame that breaks the protocol; the connection answers `x` and ends.
    Malformed(Refusal),
    /// A message larger than the server accepts; the connection ends (WebSocket: close `1009`).
    TooBig,
    /// The client closed the connection.
    Gone,
}

/// Why a connection ends; each transport ends differently (a close frame, or just the end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// A newer connection attached to the session.
    Superseded,
    /// The `drop-every` fault: end abruptly, as a failing network would.
    Dropped,
    /// The byte budget is spent; the `r` frame was written.
    Recycled,
    /// An `x` frame was written.
    Refused,
    /// The client went away.
    Gone,
    /// An upgrade probe reached its lifetime (or its byte budget).
    ProbeOver,
    /// The client sent a message larger than the server accepts.
    TooBig,
}

/// A transport's side of a streaming connection.
pub trait Downstream: Send {
    /// Writes the frames as one batch (one chunk, or one flush of WebSocket frames).
    fn write(&mut self, frames: &[Frame<'_>]) -> impl Future<Output = Result<(), Gone>> + Send;

    /// Waits for the client to send something or go away. Must be cancel-safe: the loop drops it
    /// whenever something else happens first.
    fn input(&mut self) -> impl Future<Output = Input> + Send;

    /// Whether the response has carried its byte budget and must be recycled.
    fn budget_spent(&self) -> bool;

    /// Ends the connection.
    fn end(self, ending: Ending) -> impl Future<Output = ()> + Send;

    /// What the transport can carry besides frames, for the test hooks' hostile faults.
    fn carrier(&self) -> Carrier {
        Carrier::WEBSOCKET
    }

    /// Test hooks: writes a tampered piece (see [`crate::tamper`]) as the transport writes a
    /// frame. Only asked for what [`Downstream::carrier`] allows; the default writes nothing.
    fn write_tampered(
        &mut self,
        tampered: &Tampered<'_>,
    ) -> impl Future<Output = Result<(), Gone>> + Send {
        let _ = tampered;
        async { Ok(()) }
    }
}

/// A connection attached to its session, with what the loop needs to serve it.
#[derive(Debug)]
pub struct Link {
    /// The hub, for upstream frames received in-band.
    pub hub: Arc<Hub>,
    /// The session.
    pub session: Arc<Session>,
    /// This connection's claim on the session (released when the link is dropped).
    pub attachment: Attachment,
    /// Whether the request created the session.
    pub created: bool,
    /// The highest `s` the client said it has.
    pub after: u64,
    /// Injected faults.
    pub faults: Faults,
    /// Heartbeat interval.
    pub heartbeat: Duration,
}

impl Link {
    /// The `o` frame that starts every connection.
    pub fn open_frame(&self) -> Frame<'_> {
        open_frame(&self.session, self.heartbeat)
    }
}

/// The `o` frame for `session`, announcing `heartbeat`.
pub fn open_frame(session: &Session, heartbeat: Duration) -> Frame<'_> {
    Frame::Open {
        sid: session.sid(),
        token: session.token(),
        hb: u64::try_from(heartbeat.as_millis()).unwrap_or(u64::MAX),
        ack: session.processed(),
    }
}

/// An upgrade probe (`probe=1`): a connection that proves a transport works for a session
/// without attaching to it. It gets the `o` frame, then heartbeats only, until the client closes
/// it or its lifetime runs out.
#[derive(Debug)]
pub struct Probe {
    /// The session.
    pub session: Arc<Session>,
    /// The probe's hold on the session (released when the probe is dropped).
    pub claim: ProbeClaim,
    /// Injected faults.
    pub faults: Faults,
    /// Heartbeat interval.
    pub heartbeat: Duration,
    /// How long the probe stays open at most.
    pub lifetime: Duration,
}

/// What a streaming request turned out to be.
#[derive(Debug)]
pub enum Connection {
    /// A connection attached to its session.
    Attached(Link),
    /// An upgrade probe.
    Probe(Probe),
}

/// Serves a streaming connection or probe until it ends, then ends it the way its ending asks.
pub async fn run<D: Downstream>(conn: D, connection: Connection) {
    match connection {
        Connection::Attached(link) => pump(conn, link).await,
        Connection::Probe(probe) => probe_pump(conn, probe).await,
    }
}

/// Serves a streaming connection until it ends, then ends it the way its ending asks.
pub async fn pump<D: Downstream>(mut conn: D, link: Link) {
    let ending = serve(&mut conn, &link).await;
    conn.end(ending).await;
}

/// Serves an upgrade probe until it ends, then ends it.
pub async fn probe_pump<D: Downstream>(mut conn: D, probe: Probe) {
    let ending = serve_probe(&mut conn, &probe).await;
    conn.end(ending).await;
}

async fn serve_probe<D: Downstream>(conn: &mut D, probe: &Probe) -> Ending {
    let deadline = Instant::now() + probe.lifetime;
    let mut heartbeat = tokio::time::interval_at(Instant::now() + probe.heartbeat, probe.heartbeat);
    heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let open = open_frame(&probe.session, probe.heartbeat);
    if write(conn, &probe.faults, &[open]).await.is_err() {
        return Ending::Gone;
    }
    loop {
        if conn.budget_spent() {
            return Ending::ProbeOver;
        }
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => return Ending::ProbeOver,
            _ = heartbeat.tick() => {
                let beat = Frame::Heartbeat { ts: Timestamp::now().millis(), sent: None };
                if write(conn, &probe.faults, &[beat]).await.is_err() {
                    return Ending::Gone;
                }
            }
            input = conn.input() => match input {
                // A probe is not attached: upstream goes by the attached connection, and any
                // answer (`a`) would break the probe's promise of heartbeats only.
                Input::Frames(_) | Input::Malformed(_) => {}
                Input::TooBig => return Ending::TooBig,
                Input::Gone => return Ending::Gone,
            },
        }
    }
}

async fn serve<D: Downstream>(conn: &mut D, link: &Link) -> Ending {
    let session = &link.session;
    let mut changes = session.subscribe();
    let mut heartbeat = tokio::time::interval_at(Instant::now() + link.heartbeat, link.heartbeat);
    heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut cursor = link.after;
    let mut delivered = 0u64;
    let mut tamper = Tamper::new(&link.faults, conn.carrier());
    // The acknowledgement of upstream frames, written after the messages they produced (echoes):
    // a client that sees the ack drops the frames from its outbox, so the ack must never reach
    // it before what the frames caused, or a crash in between would lose that for good.
    let mut pending_ack: Option<u64> = None;
    if write(conn, &link.faults, &[link.open_frame()])
        .await
        .is_err()
    {
        return Ending::Gone;
    }
    loop {
        changes.borrow_and_update();
        if !link.attachment.is_current() {
            return Ending::Superseded;
        }
        // `drop-every` and `stall-after` act at an exact message count, so batches stop there.
        let cut = match (link.faults.drop_every, link.faults.stall_after) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let limit = cut.map_or(BATCH_MESSAGES, |n| {
            usize::try_from(n.saturating_sub(delivered))
                .unwrap_or(BATCH_MESSAGES)
                .min(BATCH_MESSAGES)
        });
        let batch = session.read(cursor, limit, BATCH_BYTES);
        if !batch.is_empty() {
            cursor = batch.cursor;
            match write_batch(conn, &link.faults, tamper.as_mut(), batch_frames(&batch)).await {
                Err(Gone) => return Ending::Gone,
                // `cut-mid-event`: the response ends in the middle of a frame.
                Ok(Written::Cut) => return Ending::Dropped,
                Ok(Written::Whole) => {}
            }
            if let Some(ack) = pending_ack.take() {
                if write(conn, &link.faults, &[Frame::Ack(ack)]).await.is_err() {
                    return Ending::Gone;
                }
            }
            delivered += batch.messages.len() as u64;
            if link.faults.drop_every.is_some_and(|n| delivered >= n) {
                return Ending::Dropped;
            }
            if link.faults.stall_after.is_some_and(|n| delivered >= n) {
                return stall(conn).await;
            }
            if conn.budget_spent() {
                return recycle(conn, link).await;
            }
            continue;
        }
        if let Some(ack) = pending_ack.take() {
            if write(conn, &link.faults, &[Frame::Ack(ack)]).await.is_err() {
                return Ending::Gone;
            }
        }
        tokio::select! {
            changed = changes.changed() => {
                if changed.is_err() {
                    return Ending::Gone;
                }
            }
            _ = heartbeat.tick() => {
                let beat = Frame::Heartbeat { ts: Timestamp::now().millis(), sent: Some(cursor) };
                if write(conn, &link.faults, &[beat]).await.is_err() {
                    return Ending::Gone;
                }
                if conn.budget_spent() {
                    return recycle(conn, link).await;
                }
            }
            input = conn.input() => match input {
                Input::Frames(frames) => {
                    // Downstream acks need no answer; messages and events do.
                    let answer = frames.iter().any(|f| !matches!(f, ClientFrame::Ack(_)));
                    let ack = link.hub.receive(session, frames);
                    if answer {
                        pending_ack = Some(ack);
                    }
                }
                Input::Malformed(refusal) => {
                    // The connection ends either way; a failed write changes nothing.
                    let _ = write(conn, &link.faults, &[Frame::Refused(&refusal)]).await;
                    return Ending::Refused;
                }
                Input::TooBig => return Ending::TooBig,
                Input::Gone => return Ending::Gone,
            },
        }
    }
}

/// The `stall-after` fault: writes nothing more, reads and ignores what arrives, and ends when
/// the client goes away (or after ten minutes).
async fn stall<D: Downstream>(conn: &mut D) -> Ending {
    let deadline = tokio::time::sleep(Duration::from_secs(600));
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            () = &mut deadline => return Ending::Dropped,
            input = conn.input() => if matches!(input, Input::Gone) {
                return Ending::Gone;
            },
        }
    }
}

/// A gap frame (if any), then the messages.
pub fn batch_frames(batch: &Batch) -> Vec<Frame<'_>> {
    let gap = batch.gap.map(|(from, to)| Frame::Gap { from, to });
    gap.into_iter()
        .chain(batch.messages.iter().map(|m| Frame::Message(m)))
        .collect()
}

/// How a batch went out.
enum Written {
    Whole,
    /// Cut short by `cut-mid-event`: the connection must end.
    Cut,
}

/// Writes a batch, tampered with if the test hooks' hostile faults ask for it.
async fn write_batch<D: Downstream>(
    conn: &mut D,
    faults: &Faults,
    tamper: Option<&mut Tamper>,
    frames: Vec<Frame<'_>>,
) -> Result<Written, Gone> {
    let Some(tamper) = tamper else {
        write(conn, faults, &frames).await?;
        return Ok(Written::Whole);
    };
    faults.delay().await;
    for step in tamper.apply(frames) {
        match step {
            Step::Frames(frames) => conn.write(&frames).await?,
            Step::Tampered(tampered) => {
                conn.write_tampered(&tampered).await?;
                if matches!(tampered, Tampered::Cut(_)) {
                    return Ok(Written::Cut);
                }
            }
        }
    }
    Ok(Written::Whole)
}

async fn write<D: Downstream>(
    conn: &mut D,
    faults: &Faults,
    frames: &[Frame<'_>],
) -> Result<(), Gone> {
    faults.delay().await;
    conn.write(frames).await
}

async fn recycle<D: Downstream>(conn: &mut D, link: &Link) -> Ending {
    match write(conn, &link.faults, &[Frame::Recycle]).await {
        Ok(()) => Ending::Recycled,
        Err(Gone) => Ending::Gone,
    }
}
