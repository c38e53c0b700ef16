//! The client's decisions, as a state machine without input or output of its own.
//!
//! A transport is a pipe; this module decides. It opens transports in the configured order, moves
//! to the next one when an attempt fails before opening (fallback), reconnects with backoff when
//! an open transport drops, probes better transports after a fallback and moves back up (upgrade),
//! notices a silent connection, and runs the session protocol: sequence numbers in, an outbox with
//! client sequence numbers out, acknowledgements both ways.
//!
//! It touches nothing. The driver (`src/js/driver.js`, bound by [`crate::client`]) tells it what
//! happened (a transport opened, a frame arrived, a timer fired) by calling its methods, and does
//! what it asks: [`Machine::next`] yields [`Command`]s, in order, until there are none. The
//! machine holds numbers only; payloads, URLs and the words of messages stay with the driver.
//! That keeps the wasm file small and every decision here testable natively, with a simulated
//! driver (`tests.rs`).
//!
//! Commands are decided when an input arrives and performed afterwards, so one may be out of
//! date by the time the driver gets it (a listener called by an earlier command closed the
//! client, say). `next` therefore drops commands of an attempt that is over, and decides what to
//! send ([`Command::Flush`]) only when it is the driver's turn to send it.

mod clock;
mod command;
// Native only: the tests set the clock, which in the browser is `Date.now()`.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
mod upgrade;

pub(crate) use command::{Command, Event, Prefix, Reason, Timer, Why};

use crate::backoff::Backoff;
use crate::error::ErrorCode;
use crate::event::{ClientState, Stats};
use crate::options::{TransportKind, MAX_MS};
use crate::session::{Accept, Inbound, Outbox};

/// How long an idle client waits before acknowledging what it received.
const ACK_IDLE_MS: u32 = 1_000;
/// The most upstream frames one HTTP POST carries.
const MAX_BATCH: u32 = 256;
/// The most bytes of messages one HTTP POST carries (base64 and framing add a third at most;
/// realtime-server takes bodies up to 4 MiB).
const MAX_BATCH_BYTES: u64 = 1 << 20;
/// The largest message `send`/`emit` accepts: realtime-server's cap on one message is 1 MiB with
/// its framing. A larger one would be refused on every resend and block everything behind it.
pub(crate) const MAX_MESSAGE_BYTES: u64 = (1 << 20) - (16 << 10);
/// The pause before retrying a failed upstream POST.
const UPLOAD_RETRY_MS: u32 = 1_000;
/// Connections in a row that drop before delivering anything, after which a transport is demoted.
pub(crate) const DEMOTE_AFTER: u32 = 3;
/// How much longer than the server's hold the client waits on a long poll before retrying it.
pub(crate) const LONG_POLL_GRACE_MS: u32 = 10_000;
/// The attempt number with which the driver reports frames of an upstream POST's answer: they
/// belong to the session, whatever the downstream connection did meanwhile.
pub(crate) const SESSION: u32 = u32::MAX;

/// The transports to try, in order (at most one of each kind).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Order {
    kinds: [TransportKind; 6],
    len: usize,
}

impl Default for Order {
    fn default() -> Order {
        Order::new(&[])
    }
}

impl Order {
    /// The order of `kinds` (the first six; callers pass distinct kinds).
    pub(crate) fn new(kinds: &[TransportKind]) -> Order {
        let mut order = Order {
            kinds: [TransportKind::WebSocket; 6],
            len: kinds.len().min(6),
        };
        order.kinds[..order.len].copy_from_slice(&kinds[..order.len]);
        order
    }

    /// The transport at `index`, if the list is that long.
    pub(crate) fn get(&self, index: usize) -> Option<TransportKind> {
        self.kinds[..self.len].get(index).copied()
    }

    /// The transport at `index`, which the machine only asks for within the list (the first one
    /// otherwise, never a panic).
    fn at(&self, index: usize) -> TransportKind {
        self.get(index).unwrap_or(self.kinds[0])
    }

    fn contains(&self, kind: TransportKind) -> bool {
        self.kinds[..self.len].contains(&kind)
    }
}

/// What the machine needs of the options (checked before: `Options::validate`, `src/js/client.js`).
/// The default is a client with no transport, until configured.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Config {
    pub transports: Order,
    pub raw: bool,
    pub connect_timeout_ms: u32,
    pub poll_interval_ms: u32,
    pub long_poll_timeout_ms: u32,
    pub heartbeat_timeout_ms: u32,
    /// `None`: no reconnection.
    pub backoff: Option<Backoff>,
    pub upgrade: bool,
    pub max_queued: u32,
    /// Raw protocol: whether `sendUrl` was given.
    pub send_url: bool,
}

/// Why `send`/`emit` refused a message (the driver words it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The client is closed.
    Closed,
    /// Raw protocol without a WebSocket or `sendUrl`: nowhere to send.
    NowhereToSend,
    /// Larger than [`MAX_MESSAGE_BYTES`] (its size in bytes).
    TooLarge(u64),
    /// The outbox holds `maxQueuedMessages` already.
    QueueFull,
}

/// Why the next open happens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reopen {
    /// The first open, or after a loss: counts as a reconnect once the client was open.
    Reconnect,
    /// The server recycled a stream on purpose: the same connection to the user.
    Recycle,
    /// Moving up to a better transport.
    Upgrade,
}

/// A failed or ended transport, as the machine weighs it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Failure {
    pub why: Why,
    /// The server's `Retry-After` in milliseconds (0: none): a floor under the next wait.
    pub retry_after_ms: u32,
    /// How to report it when more specific than a failed transport (an HTTP error, a protocol error).
    pub code: Option<ErrorCode>,
}

impl Failure {
    pub(crate) fn new(why: Why) -> Failure {
        Failure {
            why,
            retry_after_ms: 0,
            code: None,
        }
    }
}

/// What decides the wait before a reconnection attempt, besides the backoff.
#[derive(Clone, Copy, Debug, Default)]
struct Delay {
    /// The server's `Retry-After`: a floor.
    retry_after_ms: u32,
    /// The connection worked before it dropped: the first retry comes almost at once.
    quick_first: bool,
}

/// The upstream POST in flight.
#[derive(Clone, Copy, Debug)]
struct Upload {
    /// The attempt it was sent beside.
    attempt: u32,
    /// Raw protocol: the one item it carries (acknowledged by a 2xx answer).
    item: Option<u64>,
    /// A new session numbered the outbox again since it was sent: the acknowledgements in its
    /// answer count in a numbering that is no more.
    stale: bool,
}

/// The client's state and decisions. See the module documentation.
#[derive(Debug)]
pub(crate) struct Machine {
    cfg: Config,
    /// xorshift64* state, for jitter (seeded from `Math.random()` in the browser).
    seed: u64,
    phase: ClientState,
    /// Index into the transport order of the transport being tried or used.
    index: usize,
    /// Id of the current attempt; events and commands of older ones are ignored.
    attempt: u32,
    /// Whether the driver holds a transport for the current attempt.
    transport: bool,
    /// Whether the current attempt has opened.
    opened: bool,
    /// The transport that was last open, for `transport` events and the `transport` getter.
    current: Option<TransportKind>,
    /// Armed timers, one bit per [`Timer`].
    timers: u8,
    /// The constructor's connect, deferred to a task so listeners added after it see everything.
    deferred_connect: bool,
    watching_page: bool,
    upload: Option<Upload>,
    /// Whether the server has given this client a session (the driver holds its id and token).
    has_session: bool,
    inbound: Inbound,
    /// Unacknowledged messages (each item: its size for the statistics, in bytes or UTF-16 code
    /// units); the payloads are in the driver's queue, in the same order.
    outbox: Outbox<u32>,
    /// A downstream acknowledgement waiting to be sent.
    ack_pending: Option<u64>,
    /// The Ack timer is armed for the end of the task (over HTTP, see [`Machine::ack_if_due`]).
    ack_soon: bool,
    /// Failed attempts in a row, for backoff.
    failures: u32,
    /// The longest `Retry-After` (ms) heard in the current round of attempts.
    retry_floor_ms: u32,
    /// Whether the connection was ever open since `connect()` (a later open is a reconnect).
    was_open: bool,
    reopen: Reopen,
    /// The server ended the session; a new one starts once no upstream POST is in flight.
    session_ended: bool,
    /// When the current transport was last seen alive: set when it opens, and by the liveness
    /// check when frames arrived since (no clock read per frame).
    last_rx_ms: f64,
    /// Frames received, and the count the liveness check last saw.
    rx_count: u32,
    rx_seen: u32,
    /// The server's heartbeat interval, from its open frame.
    server_heartbeat_ms: u32,
    /// Frames received on the current attempt since it opened.
    frames_since_open: u32,
    /// The last sequence number the current connection delivered (numbers only grow on one).
    connection_last_seq: u64,
    /// Connections in a row on the current transport that dropped before delivering anything.
    unstable: u32,
    upgrade: upgrade::Upgrade,
    stats: Stats,
    /// Commands not yet taken by the driver: those from `taken` on.
    queue: Vec<Command>,
    taken: usize,
    /// Whether a [`Command::Flush`] is in the queue (one is enough).
    flush_queued: bool,
}

impl Machine {
    /// The options, for setting them before the client connects (then [`Machine::seed`]).
    pub(crate) fn config(&mut self) -> &mut Config {
        &mut self.cfg
    }

    /// Seeds the jitter and puts the options set through [`Machine::config`] into effect.
    pub(crate) fn seed(&mut self, seed: u64) {
        self.seed = seed | 1;
        self.outbox = Outbox::new(self.cfg.max_queued as usize);
    }

    /// A closed client; `seed` seeds the jitter.
    pub(crate) fn new(cfg: Config, seed: u64) -> Machine {
        Machine {
            cfg,
            seed: seed | 1,
            phase: ClientState::Closed,
            index: 0,
            attempt: 0,
            transport: false,
            opened: false,
            current: None,
            timers: 0,
            deferred_connect: false,
            watching_page: false,
            upload: None,
            has_session: false,
            inbound: Inbound::new(),
            outbox: Outbox::new(cfg.max_queued as usize),
            ack_pending: None,
            ack_soon: false,
            failures: 0,
            retry_floor_ms: 0,
            was_open: false,
            reopen: Reopen::Reconnect,
            session_ended: false,
            last_rx_ms: 0.0,
            rx_count: 0,
            rx_seen: 0,
            server_heartbeat_ms: 0,
            frames_since_open: 0,
            connection_last_seq: 0,
            unstable: 0,
            upgrade: upgrade::Upgrade::default(),
            stats: Stats::default(),
            queue: Vec::new(),
            taken: 0,
            flush_queued: false,
        }
    }

    // ---- what the driver performs ----

    /// The next command for the driver, or `None` when there is nothing left to do. Commands of
    /// an attempt (or a probe) that is over by now are dropped; what to send is decided here.
    pub(crate) fn next(&mut self) -> Option<Command> {
        loop {
            let Some(&command) = self.queue.get(self.taken) else {
                // All taken: start the vector over (it keeps its allocation).
                self.queue.clear();
                self.taken = 0;
                return None;
            };
            self.taken += 1;
            match command {
                Command::Flush => {
                    self.flush_queued = false;
                    if let Some(command) = self.flush_now() {
                        return Some(command);
                    }
                }
                Command::Open { attempt, .. } | Command::Emit(Event::Open { attempt, .. })
                    if !self.is_current(attempt) => {}
                Command::Probe { id, .. } if !self.upgrade.is_probe(id) => {}
                command => return Some(command),
            }
        }
    }

    /// Whether commands wait for the driver (saves the hot path asking when none do).
    pub(crate) fn pending(&self) -> bool {
        self.taken < self.queue.len()
    }

    fn push(&mut self, command: Command) {
        self.queue.push(command);
    }

    fn emit(&mut self, event: Event) {
        self.push(Command::Emit(event));
    }

    /// Reports an error (one body for every kind of reason: each instance of a generic copy of
    /// it would be shipped).
    fn error(&mut self, code: ErrorCode, reason: Reason) {
        self.emit(Event::Error { code, reason });
    }

    fn arm(&mut self, timer: Timer, ms: u32) {
        self.timers |= timer.bit();
        self.push(Command::Arm(timer, ms));
    }

    fn disarm(&mut self, timer: Timer) {
        if self.armed(timer) {
            self.timers &= !timer.bit();
            self.push(Command::Disarm(timer));
        }
    }

    fn armed(&self, timer: Timer) -> bool {
        self.timers & timer.bit() != 0
    }

    /// Asks for what is unsent to go out when the driver gets to it.
    fn flush(&mut self) {
        if !self.flush_queued {
            self.flush_queued = true;
            self.push(Command::Flush);
        }
    }

    fn now(&self) -> f64 {
        clock::now()
    }

    /// A uniform random number in `[0, 1)` (xorshift64*: jitter needs spread, not secrecy).
    fn random(&mut self) -> f64 {
        self.seed ^= self.seed >> 12;
        self.seed ^= self.seed << 25;
        self.seed ^= self.seed >> 27;
        (self.seed.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    // ---- what the user and the driver read ----

    pub(crate) fn state(&self) -> ClientState {
        self.phase
    }

    /// The open transport, if any.
    pub(crate) fn transport(&self) -> Option<TransportKind> {
        if self.phase == ClientState::Open {
            self.current
        } else {
            None
        }
    }

    pub(crate) fn stats(&self) -> Stats {
        self.stats
    }

    /// The last server sequence number received: where a request resumes the session.
    pub(crate) fn after(&self) -> u64 {
        self.inbound.after()
    }

    /// Whether `attempt` is the current one of a client that is not closed.
    pub(crate) fn is_current(&self, attempt: u32) -> bool {
        attempt == self.attempt && self.phase != ClientState::Closed
    }

    fn kind(&self) -> TransportKind {
        self.cfg.transports.at(self.index)
    }

    // ---- the user's calls ----

    /// The constructor's connect: the state says `connecting` at once, the connection starts
    /// from a task (`Timer::Retry` at 0 ms).
    pub(crate) fn auto_connect(&mut self) {
        self.phase = ClientState::Connecting;
        self.deferred_connect = true;
        self.arm(Timer::Retry, 0);
    }

    /// Connects, unless connected or connecting already.
    pub(crate) fn connect(&mut self) {
        if self.transport || self.attempt != 0 && self.phase != ClientState::Closed {
            return;
        }
        self.index = 0;
        self.failures = 0;
        self.unstable = 0;
        self.retry_floor_ms = 0;
        self.was_open = false;
        self.deferred_connect = false;
        self.disarm(Timer::Retry);
        // The phase may say Connecting already (set by `auto_connect`).
        self.phase = ClientState::Closed;
        if !self.watching_page {
            self.watching_page = true;
            self.push(Command::WatchPage(true));
        }
        self.set_phase(ClientState::Connecting);
        self.start_attempt();
    }

    /// Stops for good (`close()`, or the client dropped).
    pub(crate) fn close(&mut self, code: u16, why: Why) {
        self.stop(code, why.into(), true);
    }

    /// Queues a message of `size` (bytes, or UTF-16 code units for text: the statistics' unit)
    /// and `utf8_len` bytes as sent. On success the driver appends its payload to its queue
    /// before performing the next command.
    pub(crate) fn enqueue(&mut self, size: u32, utf8_len: u64) -> Result<(), Refusal> {
        if self.phase == ClientState::Closed {
            return Err(Refusal::Closed);
        }
        if self.cfg.raw
            && !self.cfg.send_url
            && !self.cfg.transports.contains(TransportKind::WebSocket)
        {
            return Err(Refusal::NowhereToSend);
        }
        if utf8_len > MAX_MESSAGE_BYTES {
            return Err(Refusal::TooLarge(utf8_len));
        }
        self.outbox.push(size).map_err(|_| Refusal::QueueFull)?;
        self.stats.messages_out += 1;
        self.stats.bytes_out += u64::from(size);
        self.flush();
        Ok(())
    }

    // ---- lifecycle ----

    fn set_phase(&mut self, to: ClientState) {
        let from = core::mem::replace(&mut self.phase, to);
        if from != to {
            self.emit(Event::State { from, to });
        }
    }

    /// Opens the transport at `index` as a new attempt.
    fn start_attempt(&mut self) {
        self.attempt = self.attempt.wrapping_add(1);
        self.opened = false;
        self.frames_since_open = 0;
        self.connection_last_seq = 0;
        self.disarm(Timer::Retry);
        self.transport = true;
        self.push(Command::Open {
            attempt: self.attempt,
            kind: self.kind(),
        });
        self.arm(Timer::Connect, self.cfg.connect_timeout_ms);
    }

    /// The current attempt opened: the client is open on it.
    fn opened(&mut self, attempt: u32) {
        if attempt != self.attempt || self.opened {
            return;
        }
        self.opened = true;
        // A Retry-After belongs to the round of attempts it was heard in.
        self.retry_floor_ms = 0;
        self.disarm(Timer::Connect);
        self.last_rx_ms = self.now();
        self.rx_seen = self.rx_count;
        let reopen = core::mem::replace(&mut self.reopen, Reopen::Reconnect);
        if self.was_open && reopen == Reopen::Reconnect {
            self.stats.reconnects += 1;
        }
        self.was_open = true;
        let kind = self.kind();
        self.current = Some(kind);
        self.set_phase(ClientState::Open);
        // A recycled stream is the same connection to the user: no second `open`.
        if reopen != Reopen::Recycle {
            self.emit(Event::Open { kind, attempt });
        }
        self.arm_liveness();
        self.schedule_probe();
        self.flush();
    }

    /// The current attempt failed before opening: fall back, or retry from the top after a delay.
    fn attempt_failed(&mut self, attempt: u32, failure: Failure) {
        if attempt != self.attempt || self.opened || self.phase == ClientState::Closed {
            return;
        }
        // The longest `Retry-After` of this round of attempts holds back the next round.
        self.retry_floor_ms = self.retry_floor_ms.max(failure.retry_after_ms);
        // A recycle or upgrade that did not open is a loss like any other from here on: the
        // open that follows is a reconnect, told to the listeners.
        self.reopen = Reopen::Reconnect;
        let from = self.kind();
        let next = self.cfg.transports.get(self.index + 1);
        if next.is_some() {
            self.index += 1;
            self.stats.fallbacks += 1;
        }
        self.release_transport();
        // An HTTP-level refusal is worth an `error` even while falling back: it usually means a
        // proxy or portal, not a missing feature.
        if let Some(code) = failure.code {
            self.error(code, failure.why.into());
        }
        if let Some(to) = next {
            self.emit(Event::Transport {
                from: Some(from),
                to,
                why: failure.why,
            });
            return self.start_attempt();
        }
        self.error(
            ErrorCode::ConnectFailed,
            Reason {
                prefix: Prefix::no_transport(from),
                why: failure.why,
            },
        );
        let delay = Delay {
            retry_after_ms: core::mem::take(&mut self.retry_floor_ms),
            quick_first: false,
        };
        self.schedule_retry(0, failure.why, delay);
    }

    /// An attempt's transport ended (or failed before opening).
    fn transport_closed(&mut self, attempt: u32, failure: Failure) {
        if attempt != self.attempt {
            return;
        }
        if !self.opened {
            return self.attempt_failed(attempt, failure);
        }
        let kind = self.kind();
        // A transport that keeps dropping before it delivers anything (a proxy that accepts and
        // cuts, a middlebox that kills idle streams) is demoted to the next one.
        let worked = self.frames_since_open > 0;
        if !worked {
            self.unstable += 1;
        }
        let demote_to = match self.cfg.transports.get(self.index + 1) {
            Some(next) if self.unstable >= DEMOTE_AFTER => {
                self.unstable = 0;
                self.index += 1;
                self.stats.fallbacks += 1;
                Some(next)
            }
            _ => None,
        };
        self.release_transport();
        self.error(
            failure.code.unwrap_or(ErrorCode::TransportFailed),
            failure.why.into(),
        );
        if let Some(to) = demote_to {
            self.emit(Event::Transport {
                from: Some(kind),
                to,
                why: Why::demoted(kind),
            });
        }
        let delay = Delay {
            retry_after_ms: failure.retry_after_ms,
            quick_first: worked,
        };
        self.schedule_retry(self.index, failure.why, delay);
    }

    /// Releases the current transport and everything tied to it. The upstream POST in flight,
    /// if any, is kept: it belongs to the session, and its answer acknowledges what the server
    /// processed.
    fn release_transport(&mut self) {
        self.opened = false;
        for timer in [
            Timer::Connect,
            Timer::Ack,
            Timer::UploadRetry,
            Timer::Liveness,
        ] {
            self.disarm(timer);
        }
        self.cancel_upgrade();
        if core::mem::take(&mut self.transport) {
            self.push(Command::Release);
        }
    }

    /// The server ended the session (and no upstream POST is in flight): forget it, renumber
    /// the outbox, and connect again with a new one. A client refused even a new session backs
    /// off.
    fn start_new_session(&mut self) {
        self.session_ended = false;
        let had = core::mem::take(&mut self.has_session);
        self.renumber();
        self.push(Command::NewSession);
        if self.phase == ClientState::Closed {
            return;
        }
        if had {
            self.start_attempt();
        } else {
            // Refused before any session: the round's Retry-After still holds.
            let delay = Delay {
                retry_after_ms: core::mem::take(&mut self.retry_floor_ms),
                quick_first: false,
            };
            self.schedule_retry(self.index, Why::NEW_SESSION_REFUSED, delay);
        }
    }

    /// Forgets what was received and acknowledged in the session, and numbers the pending
    /// messages again from 1, for a new one.
    fn renumber(&mut self) {
        self.inbound.reset();
        self.outbox.reset();
        self.ack_pending = None;
        if let Some(upload) = &mut self.upload {
            upload.stale = true;
        }
    }

    /// Waits (backoff) and tries again from transport `index`; gives up when attempts run out.
    fn schedule_retry(&mut self, index: usize, why: Why, delay: Delay) {
        let Some(backoff) = self.cfg.backoff else {
            return self.stop(1006, why.into(), false);
        };
        self.failures = self.failures.saturating_add(1);
        let random = self.random();
        let Some(delay_ms) = backoff.delay_ms(self.failures, random) else {
            let reason = Reason {
                prefix: Prefix::gave_up(self.failures - 1),
                why,
            };
            return self.stop(1006, reason, false);
        };
        // A connection that worked and then dropped is retried almost at once (most drops are
        // transient), spread over a quarter of the first delay so a fleet cut off together by a
        // restart does not come back in lock-step.
        let delay_ms = if delay.quick_first && self.failures == 1 {
            (self.random() * f64::from(backoff.initial_delay_ms) / 4.0) as u32
        } else {
            delay_ms
        };
        // Capped like the options: from 2^31 ms, setTimeout fires at once.
        let delay_ms = delay_ms.max(delay.retry_after_ms.min(MAX_MS));
        self.index = index;
        self.attempt = self.attempt.wrapping_add(1);
        self.set_phase(ClientState::Reconnecting);
        self.arm(Timer::Retry, delay_ms);
        self.emit(Event::Reconnecting {
            attempt: self.failures,
            delay_ms,
            transport: self.kind(),
        });
    }

    /// Stops for good.
    fn stop(&mut self, code: u16, reason: Reason, clean: bool) {
        if self.phase == ClientState::Closed && !self.transport && !self.armed(Timer::Retry) {
            return;
        }
        self.attempt = self.attempt.wrapping_add(1);
        self.deferred_connect = false;
        self.disarm(Timer::Retry);
        if core::mem::take(&mut self.watching_page) {
            self.push(Command::WatchPage(false));
        }
        self.release_transport();
        if self.upload.take().is_some() {
            // Whether the server got what it carried is unknown: it goes again (the session
            // protocol's server drops what it processed already; the raw one may get it twice).
            self.push(Command::AbortPost);
            self.outbox.rewind();
        }
        let from = self.phase;
        self.set_phase(ClientState::Closed);
        // A session end waiting for that POST's answer waits no more.
        if self.session_ended {
            self.start_new_session();
        }
        if from != ClientState::Closed || !clean {
            self.emit(Event::Close {
                code,
                clean,
                reason,
            });
        }
    }

    // ---- timers and the page ----

    /// A timer fired.
    pub(crate) fn timer(&mut self, timer: Timer) {
        if !self.armed(timer) {
            return;
        }
        self.timers &= !timer.bit();
        match timer {
            Timer::Retry if core::mem::take(&mut self.deferred_connect) => self.connect(),
            Timer::Retry => {
                if self.phase != ClientState::Closed {
                    self.start_attempt();
                }
            }
            Timer::Connect => {
                let why = Why::connect_timeout(self.kind(), self.cfg.connect_timeout_ms);
                self.attempt_failed(self.attempt, Failure::new(why));
            }
            Timer::Ack => {
                self.ack_soon = false;
                let now = self.now();
                if let Some(seq) = self.inbound.ack_due(now) {
                    self.ack_pending = Some(seq);
                }
                self.flush();
                // Still something to acknowledge later (the clock said not yet): look again.
                self.ack_if_due(self.attempt);
            }
            Timer::UploadRetry => self.flush(),
            Timer::Liveness => self.check_liveness(),
            Timer::Probe => self.start_probe(),
            Timer::ProbeTimeout => self.probe_timed_out(),
        }
    }

    /// The page became visible or the network came back: look now rather than wait for a
    /// throttled timer.
    pub(crate) fn wake(&mut self) {
        match self.phase {
            ClientState::Reconnecting if self.armed(Timer::Retry) => self.start_attempt(),
            ClientState::Open => self.check_liveness(),
            _ => {}
        }
    }

    /// How long the current transport may stay silent before it is considered dead.
    fn silence_limit_ms(&self) -> u32 {
        let cfg = &self.cfg;
        // Never stricter than the server's own heartbeat allows: two missed beats and a second.
        let limit = cfg.heartbeat_timeout_ms.max(
            self.server_heartbeat_ms
                .saturating_mul(2)
                .saturating_add(1_000),
        );
        match self.kind() {
            TransportKind::LongPolling => {
                limit.max(cfg.long_poll_timeout_ms.saturating_add(LONG_POLL_GRACE_MS))
            }
            TransportKind::Polling => {
                limit.max(cfg.poll_interval_ms.saturating_add(cfg.connect_timeout_ms))
            }
            _ => limit,
        }
    }

    /// Arms the silence deadline (session protocol only: raw servers send no heartbeats, so
    /// silence proves nothing there). Deadlines are judged by the clock: browsers throttle timers
    /// in background tabs, so a timer only says when to look.
    fn arm_liveness(&mut self) {
        if self.cfg.raw {
            return;
        }
        // Looked at every half limit, so a silence is found between one and one and a half
        // limits after the last frame, without reading the clock for every frame.
        self.arm(Timer::Liveness, self.silence_limit_ms() / 2 + 1);
    }

    /// Closes the transport if it has been silent too long; otherwise looks again later.
    fn check_liveness(&mut self) {
        if !self.opened {
            return;
        }
        let now = self.now();
        if self.rx_count != self.rx_seen {
            self.rx_seen = self.rx_count;
            self.last_rx_ms = now;
        }
        let silent = now - self.last_rx_ms;
        if silent >= f64::from(self.silence_limit_ms()) {
            let why = Why::silent(self.kind(), silent as u64);
            self.transport_closed(self.attempt, Failure::new(why));
        } else {
            self.arm_liveness();
        }
    }

    // ---- downstream ----

    /// The attempt's transport connected (for the raw protocol this is "open"; the session
    /// protocol waits for the server's open frame).
    pub(crate) fn transport_opened(&mut self, attempt: u32) {
        if self.cfg.raw && self.is_current(attempt) {
            self.opened(attempt);
        }
    }

    /// The attempt's transport ended, or failed to open.
    pub(crate) fn transport_failed(&mut self, attempt: u32, failure: Failure) {
        if self.is_current(attempt) {
            self.transport_closed(attempt, failure);
        }
    }

    /// Counts a unit of `bytes` arriving on `attempt` (anything shows the connection is alive);
    /// `None` if that attempt is over, else the attempt. Units of an upstream POST's answer
    /// ([`SESSION`]) count bytes only, and stand for the current attempt.
    fn arrived(&mut self, attempt: u32, bytes: u32) -> Option<u32> {
        if attempt == SESSION {
            self.stats.bytes_in += u64::from(bytes);
            return (self.phase != ClientState::Closed).then_some(self.attempt);
        }
        if !self.is_current(attempt) {
            return None;
        }
        self.stats.bytes_in += u64::from(bytes);
        self.rx_count = self.rx_count.wrapping_add(1);
        Some(attempt)
    }

    /// A frame that shows the connection works, not just opens (a message, an acknowledgement,
    /// a heartbeat; not a refusal or garbage): after the first since it opened, the backoff
    /// starts over, and a later drop is retried at once.
    fn worked(&mut self, attempt: u32) {
        if attempt == self.attempt && self.opened {
            self.frames_since_open = self.frames_since_open.saturating_add(1);
            if self.frames_since_open == 1 {
                self.failures = 0;
                self.unstable = 0;
            }
        }
    }

    /// Something arrived that is not a frame the machine reads (an empty poll answer, a frame
    /// type this client does not know): it still shows the connection is alive.
    pub(crate) fn received(&mut self, attempt: u32, bytes: u32) {
        if let Some(attempt) = self.arrived(attempt, bytes) {
            self.worked(attempt);
        }
    }

    /// A raw-protocol message of `bytes`: whether to deliver it.
    pub(crate) fn raw_message(&mut self, attempt: u32, bytes: u32) -> bool {
        if self.arrived(attempt, 0).is_none() {
            return false;
        }
        self.worked(attempt);
        // A raw poll or iframe may deliver before its "open" was seen.
        self.opened(attempt);
        self.stats.messages_in += 1;
        self.stats.bytes_in += u64::from(bytes);
        true
    }

    /// The session protocol's open frame: the session is `same` as the one the driver held, or
    /// a new one; the server processed upstream messages up to `ack` and beats every `hb` ms.
    pub(crate) fn open_frame(&mut self, attempt: u32, bytes: u32, same: bool, ack: u64, hb: u64) {
        let Some(attempt) = self.arrived(attempt, bytes) else {
            return;
        };
        // Polling repeats `o` on every answer: a later one shows the polls work.
        self.worked(attempt);
        let replaced = !same && self.has_session;
        if !same {
            // A new session has processed nothing: renumber what is pending, and acknowledge
            // nothing of the old one to it.
            self.renumber();
        }
        self.has_session = true;
        // Capped like the options: from 2^31 ms, setTimeout fires at once.
        self.server_heartbeat_ms = u32::try_from(hb).unwrap_or(u32::MAX).min(MAX_MS);
        if self.acknowledged(ack).is_err() {
            return self.protocol_error(attempt, Why::ACK_BEYOND_SENT);
        }
        // Polling repeats `o` on every answer; only a connection's first one means "resend
        // what I have not processed".
        if !self.opened {
            self.outbox.rewind();
        }
        if replaced {
            self.error(ErrorCode::Gap, Why::REPLACED.into());
        }
        self.opened(attempt);
        self.flush();
        self.ack_if_due(attempt);
    }

    /// A sequenced message (text, binary or named event) of `bytes`: whether the driver is to
    /// deliver it. Exactly once and in order: repeats are dropped, a skip reconnects to fetch
    /// what was skipped, a loss the server announced is reported first.
    pub(crate) fn message(&mut self, attempt: u32, bytes: u32, seq: u64) -> bool {
        let Some(attempt) = self.arrived(attempt, bytes) else {
            return false;
        };
        self.worked(attempt);
        let deliver = self.deliver(attempt, seq);
        self.ack_if_due(attempt);
        deliver
    }

    fn deliver(&mut self, attempt: u32, seq: u64) -> bool {
        let last = core::mem::replace(&mut self.connection_last_seq, seq);
        if seq <= last {
            // Within one connection numbers only grow; a repeat across connections is a normal
            // replay, but here the server broke the protocol. The message is not delivered twice.
            self.error(ErrorCode::Protocol, Why::seq_back(seq).into());
            return false;
        }
        let accept = self.inbound.accept(seq);
        if !self.missing(attempt, accept) {
            return false;
        }
        self.stats.messages_in += 1;
        true
    }

    /// Acts on what [`Inbound`] says of a message or heartbeat; returns whether the message is
    /// to be delivered. Skipped messages are fetched again by resuming (the server still has
    /// them: it numbers every message in turn); lost ones are reported.
    fn missing(&mut self, attempt: u32, accept: Accept) -> bool {
        match accept {
            Accept::Deliver => true,
            Accept::Duplicate => false,
            Accept::Skipped { from, to } => {
                self.protocol_error(attempt, Why::skipped(from, to));
                false
            }
            Accept::Gap { from, to } => {
                self.error(ErrorCode::Gap, Why::lost(from, to).into());
                true
            }
        }
    }

    /// The server acknowledged upstream messages up to `ack`.
    pub(crate) fn ack_frame(&mut self, attempt: u32, bytes: u32, ack: u64) {
        let stale = attempt == SESSION && self.upload.is_some_and(|upload| upload.stale);
        let Some(attempt) = self.arrived(attempt, bytes) else {
            return;
        };
        if stale {
            // The answer to a POST of a session replaced since: its numbers are not the
            // outbox's any more. The new session acknowledges what it gets.
        } else if self.acknowledged(ack).is_err() {
            self.protocol_error(attempt, Why::ACK_BEYOND_SENT);
        } else {
            self.worked(attempt);
            self.flush();
            self.ack_if_due(attempt);
        }
    }

    /// A heartbeat: the connection has carried every message up to `sent`. Less here means the
    /// last messages were skipped, which no later message would reveal.
    pub(crate) fn heartbeat(&mut self, attempt: u32, bytes: u32, sent: Option<u64>) {
        let Some(attempt) = self.arrived(attempt, bytes) else {
            return;
        };
        self.worked(attempt);
        if let Some(accept) = sent.and_then(|sent| self.inbound.sent_through(sent)) {
            self.missing(attempt, accept);
        }
        self.ack_if_due(attempt);
    }

    /// The server announced messages `from..=to` lost (they left its replay window).
    pub(crate) fn gap(&mut self, attempt: u32, bytes: u32, from: u64, to: u64) {
        let Some(attempt) = self.arrived(attempt, bytes) else {
            return;
        };
        self.worked(attempt);
        // Only what had not arrived is lost (a stale or empty gap reports nothing).
        if let Some(lost) = self.inbound.on_gap_frame(from, to) {
            self.error(ErrorCode::Gap, Why::lost(*lost.start(), *lost.end()).into());
        }
        self.ack_if_due(attempt);
    }

    /// The server recycled the response on purpose: reopen at once, same transport.
    pub(crate) fn recycle(&mut self, attempt: u32, bytes: u32) {
        let Some(attempt) = self.arrived(attempt, bytes) else {
            return;
        };
        // The server ends a stream on purpose after a byte budget: it worked.
        self.worked(attempt);
        self.reopen = Reopen::Recycle;
        self.release_transport();
        if self.is_current(attempt) {
            self.start_attempt();
        }
    }

    /// The server refused this connection but not the session (a concurrent long poll, a busy
    /// server): drop it and reconnect with backoff, same session.
    pub(crate) fn refused(&mut self, attempt: u32, bytes: u32, why: Why) {
        if let Some(attempt) = self.arrived(attempt, bytes) {
            self.transport_closed(attempt, Failure::new(why));
        }
    }

    /// The server ended the session (unknown session, bad token): report it and start a new one
    /// once no POST is in flight. A POST in flight may carry the old session's acknowledgement
    /// of messages it processed: renumbering the outbox before that answer is in would send
    /// (and have the server act on) them twice.
    pub(crate) fn ended(&mut self, attempt: u32, bytes: u32, why: Why) {
        let Some(attempt) = self.arrived(attempt, bytes) else {
            return;
        };
        self.release_transport();
        self.error(ErrorCode::Gap, why.into());
        self.session_ended = true;
        if self.upload.is_none() && self.is_current(attempt) {
            self.start_new_session();
        }
    }

    /// The driver found a frame it cannot read (not JSON, damaged, a field missing).
    pub(crate) fn malformed(&mut self, attempt: u32, bytes: u32, why: Why) {
        if let Some(attempt) = self.arrived(attempt, bytes) {
            self.protocol_error(attempt, why);
        }
    }

    /// A transport that speaks garbage cannot be trusted with what follows: reconnect. The
    /// close reports the error, once, as a protocol error.
    fn protocol_error(&mut self, attempt: u32, why: Why) {
        if !self.is_current(attempt) {
            return self.error(ErrorCode::Protocol, why.into());
        }
        let failure = Failure {
            why,
            retry_after_ms: 0,
            code: Some(ErrorCode::Protocol),
        };
        self.transport_closed(attempt, failure);
    }

    /// Acknowledges what arrived, now if due (every 64 messages), otherwise after a pause. The
    /// hot path reads no clock and sets no timer more than once a second.
    fn ack_if_due(&mut self, attempt: u32) {
        let kind = self.kind();
        if attempt != self.attempt
            || matches!(
                kind,
                // Every poll's `after` parameter acknowledges.
                TransportKind::Polling | TransportKind::LongPolling
            )
        {
            return;
        }
        let due = self.inbound.count_due();
        if due && !kind.is_duplex() {
            // Over HTTP an acknowledgement costs a request: it waits for the end of the task (a
            // timer of 0 ms), and then covers everything the task delivered (a stream's chunk
            // may hold thousands of messages).
            if !(self.ack_soon && self.armed(Timer::Ack)) {
                self.ack_soon = true;
                self.arm(Timer::Ack, 0);
            }
            return;
        }
        if due {
            let now = self.now();
            self.ack_pending = self.inbound.ack_due(now);
        }
        if !self.armed(Timer::Ack) && self.inbound.has_unacked() {
            self.arm(Timer::Ack, ACK_IDLE_MS);
        }
        if due {
            self.flush();
        }
    }

    // ---- upstream ----

    /// Records the server's acknowledgement of upstream messages up to `seq`; the driver drops
    /// their payloads.
    fn acknowledged(&mut self, seq: u64) -> Result<(), crate::session::AckBeyondSent> {
        let before = self.outbox.len();
        self.outbox.ack(seq)?;
        let dropped = before - self.outbox.len();
        if dropped > 0 {
            self.push(Command::Acked(dropped as u32));
        }
        Ok(())
    }

    /// What to hand to the transport now: the unsent messages (and a due acknowledgement), over
    /// the WebSocket or by one HTTP POST.
    fn flush_now(&mut self) -> Option<Command> {
        // Paused during an upgrade until the switch, and until a transport is open.
        if self.phase != ClientState::Open
            || !self.opened
            || !self.transport
            || self.upgrade.is_switching()
        {
            return None;
        }
        if self.kind().is_duplex() {
            // Raw protocol: a POST of the transport before may still be out; the items it carries
            // count as sent, and nothing numbers them, so the socket goes on after its answer.
            if self.cfg.raw && self.upload.is_some() {
                return None;
            }
            return self.flush_duplex();
        }
        if self.upload.is_some() || self.armed(Timer::UploadRetry) {
            return None;
        }
        if self.cfg.raw {
            return self.flush_raw_post();
        }
        // One POST at a time, at most MAX_BATCH frames, at least one, then only while the body
        // stays well under the server's cap.
        let mut count = 0;
        let mut bytes = 0;
        for (_, &size) in self.outbox.unsent().take(MAX_BATCH as usize) {
            bytes += u64::from(size);
            if count > 0 && bytes > MAX_BATCH_BYTES {
                break;
            }
            count += 1;
        }
        let ack = self.ack_pending.take();
        if count == 0 && ack.is_none() {
            return None;
        }
        let (from, first) = self.mark_sent(count);
        self.upload = Some(Upload {
            attempt: self.attempt,
            item: None,
            stale: false,
        });
        Some(Command::Post {
            ack,
            from,
            count,
            first,
        })
    }

    fn flush_duplex(&mut self) -> Option<Command> {
        let count = self.outbox.unsent_len() as u32;
        let ack = self.ack_pending.take();
        if count == 0 && ack.is_none() {
            return None;
        }
        let (from, first) = self.mark_sent(count);
        if self.cfg.raw && count > 0 {
            // The raw protocol has no acknowledgements: handed to the socket is done.
            let _ = self.outbox.ack(first + u64::from(count) - 1);
        }
        Some(Command::Send {
            ack,
            from,
            count,
            first,
        })
    }

    fn flush_raw_post(&mut self) -> Option<Command> {
        if !self.cfg.send_url {
            return None;
        }
        let (item, _) = self.outbox.unsent().next()?;
        let (from, first) = self.mark_sent(1);
        self.upload = Some(Upload {
            attempt: self.attempt,
            item: Some(item),
            stale: false,
        });
        Some(Command::Post {
            ack: None,
            from,
            count: 1,
            first,
        })
    }

    /// Marks the next `count` unsent messages sent; returns the queue position and sequence
    /// number of the first.
    fn mark_sent(&mut self, count: u32) -> (u32, u64) {
        let first = self.outbox.unsent().next().map_or(0, |(first, _)| first);
        let from = (self.outbox.len() - self.outbox.unsent_len()) as u32;
        if count > 0 {
            self.outbox.mark_sent(first + u64::from(count) - 1);
        }
        (from, first)
    }

    /// The POST in flight was answered with a 2xx status (its body's frames, if any, were
    /// reported before, with [`SESSION`] as their attempt).
    pub(crate) fn upload_done(&mut self) {
        let Some(upload) = self.upload.take() else {
            return;
        };
        if let Some(item) = upload.item {
            // Raw protocol: the server took it.
            let _ = self.acknowledged(item);
            return self.flush();
        }
        self.finish_switch_if_idle();
        self.finish_session_end_if_idle();
        self.flush();
    }

    /// The POST in flight failed. `ended`: its answer ended the session (an `x` frame, reported
    /// before with [`Machine::ended`]); then nothing else is said of it.
    pub(crate) fn upload_failed(&mut self, why: Why, retry_after_ms: u32, ended: bool) {
        let Some(upload) = self.upload.take() else {
            return;
        };
        if ended {
            self.finish_session_end_if_idle();
            if !self.is_current(upload.attempt) {
                return;
            }
        }
        self.error(
            ErrorCode::Http,
            Reason {
                prefix: Prefix::UPLOAD,
                why,
            },
        );
        self.outbox.rewind();
        // Retried after a pause, whichever connection is up by then: the transport it was sent
        // beside may be gone, the messages are not.
        let delay_ms = UPLOAD_RETRY_MS.max(retry_after_ms.min(MAX_MS));
        self.arm(Timer::UploadRetry, delay_ms);
        // Nothing is in flight any more: a pending upgrade or new session may go ahead.
        self.finish_switch_if_idle();
        self.finish_session_end_if_idle();
    }

    /// Starts the new session an `x` frame asked for, once the POST it waited for answered.
    fn finish_session_end_if_idle(&mut self) {
        if self.session_ended && self.upload.is_none() {
            self.start_new_session();
        }
    }
}
