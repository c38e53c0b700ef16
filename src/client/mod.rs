//! The client core: one state machine over every transport.
//!
//! A transport is a pipe; this module decides. It opens transports in the configured order, moves to
//! the next one when an attempt fails before opening (fallback), reconnects with backoff when an
//! open transport drops, and runs the session protocol on top: sequence numbers in, an outbox with
//! client sequence numbers out, acknowledgements both ways.
//!
//! Re-entrancy rules, which every function here follows: no `RefCell` borrow is held while calling
//! into JavaScript (a transport, a timer, a listener), because a listener may call back into the
//! client (`send`, `close`) and the browser may dispatch nested events. State changes are made in
//! short borrow scopes; events are emitted after the scope ends. Every transport callback carries
//! the id of the attempt it belongs to, and events from superseded attempts are ignored.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use gloo_timers::callback::Timeout;
use js_sys::{JsString, JSON};
use wasm_bindgen::JsValue;

mod downstream;
mod liveness;
mod upgrade;
mod upstream;

use crate::backoff::Backoff;
use crate::error::{Error, ErrorCode};
use crate::event::{ClientEvent, ClientState, Stats};
use crate::options::{Options, Protocol, TransportKind};
use crate::session::{Inbound, Outbox};
use crate::text::dec;
use crate::transport::{Closed, Ctx, Frame, Sink, Transport, TransportEvent, Uploader};

use crate::web::page;
use upstream::Outgoing;

/// How long an idle client waits before acknowledging what it received.
const ACK_IDLE_MS: u32 = 1_000;
/// The most upstream frames one HTTP POST carries.
const MAX_BATCH: usize = 256;
/// The most bytes of messages one HTTP POST carries (base64 and framing add a third at most;
/// realtime-server takes bodies up to 4 MiB).
const MAX_BATCH_BYTES: u64 = 1 << 20;
/// The largest message `send`/`emit` accepts: realtime-server's cap on one message is 1 MiB with
/// its framing. A larger one would be refused on every resend and block everything behind it.
const MAX_MESSAGE_BYTES: u64 = (1 << 20) - (16 << 10);
/// The pause before retrying a failed upstream POST.
const UPLOAD_RETRY_MS: u32 = 1_000;
/// Connections in a row that drop before delivering anything, after which a transport is demoted.
const DEMOTE_AFTER: u32 = 3;
/// How much longer than the server's hold the client waits on a long poll before retrying it.
const LONG_POLL_GRACE_MS: u32 = 10_000;

/// A realtime connection to a server, over the best transport that works.
///
/// Dropping the client closes it. See the [crate documentation](crate) for an example.
#[derive(Debug)]
pub struct RealtimeClient {
    inner: Rc<Inner>,
}

/// A listener registration; dropping it removes the listener.
#[must_use = "dropping a Subscription removes the listener"]
#[derive(Debug)]
pub struct Subscription {
    inner: Weak<Inner>,
    id: u64,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.upgrade() {
            let mut listeners = inner.listeners.borrow_mut();
            let kept = listeners.iter().filter(|(id, _)| *id != self.id).cloned();
            *listeners = kept.collect::<Vec<_>>().into();
        }
    }
}

type Listener = Rc<dyn Fn(&ClientEvent)>;
/// The registered listeners, replaced (never changed in place) when one is added or removed: an
/// event is dispatched to the list of the moment by cloning one `Rc`, so listeners may subscribe
/// and unsubscribe while it runs and no message pays for a copy of the list.
type Listeners = Rc<[(u64, Listener)]>;

struct Inner {
    options: Options,
    endpoint: Endpoint,
    backoff: Option<Backoff>,
    state: RefCell<State>,
    listeners: RefCell<Listeners>,
    next_listener: Cell<u64>,
    event_names: RefCell<Vec<String>>,
    me: Weak<Inner>,
}

impl core::fmt::Debug for Inner {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RealtimeClient")
            .field("url", &self.endpoint.href)
            .field("state", &self.state.try_borrow().map(|s| s.phase).ok())
            .finish_non_exhaustive()
    }
}

/// The validated server URL.
#[derive(Debug)]
struct Endpoint {
    href: String,
    origin: String,
}

/// What decides the wait before a reconnection attempt, besides the backoff.
#[derive(Clone, Copy, Debug, Default)]
struct Delay {
    /// The server's `Retry-After`: a floor.
    retry_after_ms: Option<u32>,
    /// The connection worked before it dropped: the first retry comes almost at once.
    quick_first: bool,
}

/// Why a transport is being (re)opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reopen {
    /// The first open, or after a loss: counts as a reconnect once the client was open.
    Reconnect,
    /// The server recycled a stream on purpose.
    Recycle,
    /// Moving up to a better transport.
    Upgrade,
}

#[derive(Debug)]
struct SessionIds {
    sid: String,
    token: String,
}

#[derive(Debug)]
struct State {
    phase: ClientState,
    /// Index into `options.transports` of the transport being tried or used.
    index: usize,
    /// Id of the current attempt; callbacks of older attempts are ignored.
    attempt: u64,
    transport: Option<Rc<Transport>>,
    /// Whether the current attempt has opened.
    opened: bool,
    /// The transport that was last open, for `transport` events and the `transport` getter.
    current: Option<TransportKind>,
    connect_timer: Option<Timeout>,
    retry_timer: Option<Timeout>,
    ack_timer: Option<Timeout>,
    upload: Option<Uploader>,
    upload_retry: Option<Timeout>,
    session: Option<SessionIds>,
    inbound: Inbound,
    outbox: Outbox<Outgoing>,
    /// A downstream acknowledgement waiting to be sent.
    ack_pending: Option<u64>,
    /// Failed attempts in a row, for backoff.
    failures: u32,
    /// The longest `Retry-After` (ms) heard in the current round of attempts.
    retry_floor_ms: u32,
    /// Whether the connection was ever open since `connect()` (a later open is a reconnect).
    was_open: bool,
    /// Why the next open happens, when it is planned rather than a reconnect.
    reopen: Reopen,
    /// The server ended the session; a new one starts once no upstream POST is in flight.
    session_ended: bool,
    /// Wall-clock time (ms since the epoch) the current transport was last seen alive: set when
    /// it opens, and by the liveness check when frames arrived since (no clock read per frame).
    last_rx_ms: f64,
    /// Frames received on the current transport, and the count the liveness check last saw.
    rx_count: u64,
    rx_seen: u64,
    /// The server's heartbeat interval, from its open frame.
    server_heartbeat_ms: u32,
    /// Frames received on the current attempt since it opened.
    frames_since_open: u64,
    /// The last sequence number the current connection delivered (numbers only grow on one).
    connection_last_seq: u64,
    /// Connections in a row on the current transport that dropped before delivering anything.
    unstable: u32,
    liveness_timer: Option<Timeout>,
    /// `online` and `visibilitychange` listeners, while connected.
    page_listeners: Vec<gloo_events::EventListener>,
    upgrade: upgrade::Upgrade,
    stats: Stats,
}

impl RealtimeClient {
    /// Creates a client for `url` (absolute, or relative to the page). Connects at once unless
    /// `options.auto_connect` is false.
    ///
    /// # Errors
    /// An [`ErrorCode::InvalidArgument`] error naming the bad URL or option.
    pub fn new(url: &str, options: Options) -> Result<RealtimeClient, Error> {
        options.validate()?;
        let endpoint = parse_url(url)?;
        let backoff = options.reconnect.map(|r| Backoff {
            initial_delay_ms: r.initial_delay_ms,
            max_delay_ms: r.max_delay_ms,
            max_attempts: r.max_attempts,
        });
        let capacity = options.max_queued_messages as usize;
        let auto_connect = options.auto_connect;
        let inner = Rc::new_cyclic(|me| Inner {
            options,
            endpoint,
            backoff,
            state: RefCell::new(State {
                phase: ClientState::Closed,
                index: 0,
                attempt: 0,
                transport: None,
                opened: false,
                current: None,
                connect_timer: None,
                retry_timer: None,
                ack_timer: None,
                upload: None,
                upload_retry: None,
                session: None,
                inbound: Inbound::default(),
                outbox: Outbox::new(capacity),
                ack_pending: None,
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
                liveness_timer: None,
                page_listeners: Vec::new(),
                upgrade: upgrade::Upgrade::default(),
                stats: Stats::default(),
            }),
            listeners: RefCell::new(Rc::new([])),
            next_listener: Cell::new(0),
            event_names: RefCell::new(Vec::new()),
            me: me.clone(),
        });
        let client = RealtimeClient { inner };
        if auto_connect {
            // Deferred to a task, so listeners registered right after the constructor see `open`
            // and every `state` change, whatever the transport does synchronously.
            let weak = Rc::downgrade(&client.inner);
            let timer = page::timeout(0, move || {
                if let Some(inner) = weak.upgrade() {
                    inner.connect();
                }
            });
            client.inner.state.borrow_mut().retry_timer = Some(timer);
            client.inner.state.borrow_mut().phase = ClientState::Connecting;
        }
        Ok(client)
    }

    /// Calls `listener` with every event until the returned [`Subscription`] is dropped.
    pub fn subscribe(&self, listener: impl Fn(&ClientEvent) + 'static) -> Subscription {
        let id = self.inner.next_listener.get() + 1;
        self.inner.next_listener.set(id);
        let mut listeners = self.inner.listeners.borrow_mut();
        let mut list = listeners.to_vec();
        list.push((id, Rc::new(listener)));
        *listeners = list.into();
        drop(listeners);
        Subscription {
            inner: Rc::downgrade(&self.inner),
            id,
        }
    }

    /// Makes transports that need it (raw EventSource) deliver server events named `name`.
    pub fn watch_event(&self, name: &str) {
        {
            let mut names = self.inner.event_names.borrow_mut();
            if names.iter().any(|n| n == name) {
                return;
            }
            names.push(name.to_owned());
        }
        let transport = self.inner.state.borrow().transport.clone();
        if let Some(transport) = transport {
            transport.watch_event(name);
        }
    }

    /// Connects, if not connected or connecting already. Needed only with `auto_connect: false`
    /// or after [`close`](Self::close).
    pub fn connect(&self) {
        self.inner.connect();
    }

    /// Sends a text message. Queued while not open.
    ///
    /// # Errors
    /// [`ErrorCode::QueueFull`] when `max_queued_messages` are waiting; [`ErrorCode::Closed`]
    /// after `close()`; [`ErrorCode::InvalidArgument`] when the raw protocol has no way to send.
    pub fn send_text(&self, text: &JsString) -> Result<(), Error> {
        self.inner.enqueue(Outgoing::Text(text.clone()))
    }

    /// Sends a binary message. Queued while not open. Errors as for [`send_text`](Self::send_text).
    pub fn send_binary(&self, bytes: &[u8]) -> Result<(), Error> {
        self.inner.enqueue(Outgoing::Binary(bytes.into()))
    }

    /// Emits a named event with a JSON value (session protocol).
    ///
    /// # Errors
    /// As for [`send_text`](Self::send_text), and [`ErrorCode::InvalidArgument`] when `value`
    /// cannot be serialised to JSON or the raw protocol is in use.
    pub fn emit(&self, event: &str, value: &JsValue) -> Result<(), Error> {
        if self.inner.options.protocol == Protocol::Raw {
            return Err(Error::invalid(
                "emit: named events need the session protocol; with protocol \"raw\" use send",
            ));
        }
        if event.is_empty() {
            return Err(Error::invalid("emit: the event name must not be empty"));
        }
        let json = match JSON::stringify(value) {
            Ok(json) if json.is_string() => json,
            _ => {
                return Err(Error::invalid(
                    [
                        "emit(\"",
                        event,
                        "\"): the value cannot be serialised to JSON",
                    ]
                    .concat(),
                ))
            }
        };
        self.inner.enqueue(Outgoing::Event(event.to_owned(), json))
    }

    /// Stops for good: releases the transport and emits `close`. `code` defaults to 1000.
    pub fn close(&self, code: Option<u16>, reason: Option<&str>) {
        self.inner
            .stop(code.unwrap_or(1000), reason.unwrap_or(""), true);
    }

    /// The lifecycle state.
    pub fn state(&self) -> ClientState {
        self.inner.state.borrow().phase
    }

    /// The open transport, if any.
    pub fn transport(&self) -> Option<TransportKind> {
        let state = self.inner.state.borrow();
        if state.phase == ClientState::Open {
            state.current
        } else {
            None
        }
    }

    /// The session id (session protocol, once the server issued one).
    pub fn session_id(&self) -> Option<String> {
        self.inner
            .state
            .borrow()
            .session
            .as_ref()
            .map(|s| s.sid.clone())
    }

    /// Counters since the client was created.
    pub fn stats(&self) -> Stats {
        self.inner.state.borrow().stats
    }
}

impl Drop for RealtimeClient {
    fn drop(&mut self) {
        self.inner.stop(1000, "client dropped", true);
    }
}

impl Inner {
    fn raw(&self) -> bool {
        self.options.protocol == Protocol::Raw
    }

    fn emit(&self, event: &ClientEvent) {
        // The list of the moment: a listener may subscribe or unsubscribe while we iterate.
        let listeners = Rc::clone(&self.listeners.borrow());
        for (_, listener) in listeners.iter() {
            listener(event);
        }
    }

    fn set_phase(&self, to: ClientState) {
        let from = {
            let mut state = self.state.borrow_mut();
            core::mem::replace(&mut state.phase, to)
        };
        if from != to {
            self.emit(&ClientEvent::State { from, to });
        }
    }

    fn error(&self, code: ErrorCode, message: impl Into<String>) {
        self.emit(&ClientEvent::Error(Error::new(code, message)));
    }

    fn is_current(&self, attempt: u64) -> bool {
        let state = self.state.borrow();
        state.attempt == attempt && state.phase != ClientState::Closed
    }

    fn connect(&self) {
        {
            let mut state = self.state.borrow_mut();
            if state.transport.is_some() || state.attempt != 0 && state.phase != ClientState::Closed
            {
                return;
            }
            state.index = 0;
            state.failures = 0;
            state.unstable = 0;
            state.was_open = false;
            state.retry_timer = None;
            // The phase may already say Connecting (set by an auto-connecting constructor).
            state.phase = ClientState::Closed;
        }
        self.watch_page();
        self.set_phase(ClientState::Connecting);
        self.start_attempt();
    }

    /// Opens the transport at `state.index`.
    fn start_attempt(&self) {
        let (attempt, kind) = {
            let mut state = self.state.borrow_mut();
            state.attempt += 1;
            state.opened = false;
            state.frames_since_open = 0;
            state.connection_last_seq = 0;
            state.retry_timer = None;
            (state.attempt, self.options.transports[state.index])
        };
        let ctx = self.transport_ctx(kind, false);
        let weak = self.me.clone();
        let sink: Sink = Rc::new(move |event| {
            if let Some(inner) = weak.upgrade() {
                inner.on_transport_event(attempt, event);
            }
        });
        match Transport::open(kind, ctx, sink) {
            Ok(transport) => {
                let weak = self.me.clone();
                let timeout_ms = self.options.connect_timeout_ms;
                let timer = page::timeout(timeout_ms, move || {
                    if let Some(inner) = weak.upgrade() {
                        let reason = [
                            kind.name(),
                            " did not open within ",
                            &dec(timeout_ms.into()),
                            " ms",
                        ]
                        .concat();
                        inner.attempt_failed(attempt, Closed::new(reason));
                    }
                });
                let mut state = self.state.borrow_mut();
                if state.attempt == attempt {
                    state.transport = Some(Rc::new(transport));
                    state.connect_timer = Some(timer);
                }
            }
            Err(error) => self.attempt_failed(attempt, Closed::new(error.message())),
        }
    }

    /// What a transport of `kind` needs to open; `probe` marks an upgrade probe's requests.
    fn transport_ctx(&self, kind: TransportKind, probe: bool) -> Ctx {
        Ctx {
            url: self.url_fn(kind, probe),
            raw: self.raw(),
            with_credentials: self.options.with_credentials,
            poll_interval_ms: self.options.poll_interval_ms,
            long_poll_wait_ms: Some(self.options.long_poll_timeout_ms),
            long_poll_client_timeout_ms: self
                .options
                .long_poll_timeout_ms
                .saturating_add(LONG_POLL_GRACE_MS),
            server_origin: self.endpoint.origin.clone(),
            event_names: self.event_names.borrow().clone(),
        }
    }

    /// The URL builder for `kind`: called by the transport for every request, so it always
    /// carries the current session and resume position.
    fn url_fn(&self, kind: TransportKind, probe: bool) -> Rc<dyn Fn() -> String> {
        let weak = self.me.clone();
        Rc::new(move || {
            weak.upgrade()
                .map(|inner| inner.url_for(kind, probe))
                .unwrap_or_default()
        })
    }

    fn url_for(&self, kind: TransportKind, probe: bool) -> String {
        let Ok(url) = web_sys::Url::new(&self.endpoint.href) else {
            return self.endpoint.href.clone();
        };
        let params = url.search_params();
        for (key, value) in &self.options.query {
            params.append(key, value);
        }
        if !self.raw() {
            let path = url.pathname();
            let path = path.trim_end_matches('/');
            let endpoint = match kind {
                TransportKind::WebSocket => "/ws",
                TransportKind::EventSource | TransportKind::Streaming => "/sse",
                TransportKind::Iframe => "/iframe",
                TransportKind::LongPolling | TransportKind::Polling => "/poll",
            };
            url.set_pathname(&[path, endpoint].concat());
            // Read out first: no borrow is held while calling into JavaScript.
            let session = {
                let state = self.state.borrow();
                let after = state.inbound.after();
                state
                    .session
                    .as_ref()
                    .map(|s| (s.sid.clone(), s.token.clone(), after))
            };
            if let Some((sid, token, after)) = session {
                params.append("sid", &sid);
                params.append("token", &token);
                params.append("after", &dec(after));
            }
            if kind == TransportKind::Iframe {
                params.append("origin", &page::origin().unwrap_or_default());
            }
            if probe {
                params.append("probe", "1");
            }
        }
        if kind == TransportKind::WebSocket {
            let secure = url.protocol() == "https:";
            url.set_protocol(if secure { "wss:" } else { "ws:" });
        }
        url.href()
    }

    fn send_url(&self) -> Option<String> {
        if self.raw() {
            return self.options.send_url.clone();
        }
        let url = web_sys::Url::new(&self.endpoint.href).ok()?;
        let path = url.pathname();
        url.set_pathname(&[path.trim_end_matches('/'), "/send"].concat());
        let params = url.search_params();
        for (key, value) in &self.options.query {
            params.append(key, value);
        }
        let state = self.state.borrow();
        let session = state.session.as_ref()?;
        params.append("sid", &session.sid);
        params.append("token", &session.token);
        drop(state);
        Some(url.href())
    }

    fn on_transport_event(&self, attempt: u64, event: TransportEvent) {
        if !self.is_current(attempt) {
            return;
        }
        match event {
            TransportEvent::Opened => {
                if self.raw() {
                    self.opened(attempt);
                }
            }
            TransportEvent::Frame(frame) => {
                // A batch counts its frames one by one (`session_text`): the open frame may be
                // among them.
                let batch = match frame {
                    #[cfg(feature = "streaming")]
                    Frame::Batch { .. } => true,
                    _ => false,
                };
                if !batch {
                    self.frame_arrived();
                }
                if self.raw() {
                    self.raw_frame(attempt, frame);
                } else {
                    self.session_frame(attempt, frame);
                }
            }
            TransportEvent::Closed(closed) => self.transport_closed(attempt, closed),
        }
    }

    /// Counts a frame received on the current connection. The first one after the connection
    /// opened shows that it works, not just opens: the backoff starts over.
    fn frame_arrived(&self) {
        let mut state = self.state.borrow_mut();
        state.rx_count = state.rx_count.wrapping_add(1);
        if state.opened {
            state.frames_since_open += 1;
            if state.frames_since_open == 1 {
                state.failures = 0;
                state.unstable = 0;
            }
        }
    }

    /// The current attempt opened: the client is open on it.
    fn opened(&self, attempt: u64) {
        let (kind, quiet) = {
            let mut state = self.state.borrow_mut();
            if state.attempt != attempt || state.opened {
                return;
            }
            state.opened = true;
            state.connect_timer = None;
            state.last_rx_ms = page::now_ms();
            state.rx_seen = state.rx_count;
            let reopen = core::mem::replace(&mut state.reopen, Reopen::Reconnect);
            if state.was_open && reopen == Reopen::Reconnect {
                state.stats.reconnects += 1;
            }
            // A recycled stream is the same connection to the user: no second `open`.
            let quiet = reopen == Reopen::Recycle;
            state.was_open = true;
            let kind = self.options.transports[state.index];
            state.current = Some(kind);
            (kind, quiet)
        };
        self.set_phase(ClientState::Open);
        if !quiet && self.is_current(attempt) {
            self.emit(&ClientEvent::Open { transport: kind });
        }
        if self.is_current(attempt) {
            self.arm_liveness(attempt);
            self.schedule_probe();
            self.flush();
        }
    }

    /// The current attempt failed before opening: fall back, or retry from the top after a delay.
    fn attempt_failed(&self, attempt: u64, closed: Closed) {
        let reason = closed.reason;
        let (from, next) = {
            let mut state = self.state.borrow_mut();
            if state.attempt != attempt || state.opened || state.phase == ClientState::Closed {
                return;
            }
            // The longest `Retry-After` of this round of attempts holds back the next round.
            state.retry_floor_ms = state.retry_floor_ms.max(closed.retry_after_ms.unwrap_or(0));
            let from = self.options.transports[state.index];
            let next = self.options.transports.get(state.index + 1).copied();
            if next.is_some() {
                state.index += 1;
                state.stats.fallbacks += 1;
            }
            (from, next)
        };
        self.release_transport();
        // An HTTP-level refusal is worth an `error` even while falling back: it usually means a
        // proxy or portal, not a missing feature.
        if let Some(code) = closed.error {
            self.error(code, reason.clone());
        }
        if let Some(to) = next {
            self.emit(&ClientEvent::Transport {
                from: Some(from),
                to,
                reason,
            });
            if self.state.borrow().phase != ClientState::Closed {
                self.start_attempt();
            }
            return;
        }
        self.error(
            ErrorCode::ConnectFailed,
            [
                "no transport could connect (last: ",
                from.name(),
                ": ",
                &reason,
                ")",
            ]
            .concat(),
        );
        let floor = core::mem::take(&mut self.state.borrow_mut().retry_floor_ms);
        let delay = Delay {
            retry_after_ms: Some(floor),
            quick_first: false,
        };
        self.schedule_retry(0, &reason, delay);
    }

    /// An attempt's transport ended.
    fn transport_closed(&self, attempt: u64, closed: Closed) {
        let was_opened = {
            let state = self.state.borrow();
            if state.attempt != attempt {
                return;
            }
            state.opened
        };
        if !was_opened {
            return self.attempt_failed(attempt, closed);
        }
        let kind = self.transport_kind();
        // A transport that keeps dropping before it delivers anything (a proxy that accepts and
        // cuts, a middlebox that kills idle streams) is demoted to the next one.
        let worked = self.state.borrow().frames_since_open > 0;
        let demote_to = {
            let mut state = self.state.borrow_mut();
            if !worked {
                state.unstable += 1;
            }
            let next = self.options.transports.get(state.index + 1).copied();
            match next {
                Some(next) if state.unstable >= DEMOTE_AFTER => {
                    state.unstable = 0;
                    state.index += 1;
                    state.stats.fallbacks += 1;
                    Some(next)
                }
                _ => None,
            }
        };
        self.release_transport();
        let code = closed.error.unwrap_or(ErrorCode::TransportFailed);
        self.error(code, closed.reason.clone());
        if let Some(to) = demote_to {
            self.emit(&ClientEvent::Transport {
                from: Some(kind),
                to,
                reason: [
                    kind.name(),
                    " dropped ",
                    &dec(DEMOTE_AFTER.into()),
                    " times in a row before delivering anything",
                ]
                .concat(),
            });
        }
        let index = self.state.borrow().index;
        let delay = Delay {
            retry_after_ms: closed.retry_after_ms,
            quick_first: worked,
        };
        self.schedule_retry(index, &closed.reason, delay);
    }

    /// Drops the current transport and everything tied to it, outside any borrow.
    fn release_transport(&self) {
        // The upstream POST in flight, if any, is kept: it belongs to the session, not to the
        // transport, and its answer acknowledges what the server processed.
        let (transport, timers, probe) = {
            let mut state = self.state.borrow_mut();
            state.opened = false;
            let timers = (
                state.connect_timer.take(),
                state.ack_timer.take(),
                state.upload_retry.take(),
                state.liveness_timer.take(),
            );
            let probe = state.upgrade.cancel();
            (state.transport.take(), timers, probe)
        };
        drop(transport);
        drop(timers);
        drop(probe);
    }

    /// The server ended the session (and no upstream answer is pending): forget it, renumber the
    /// outbox, and connect again with a new one. A client refused even a new session backs off.
    fn start_new_session(&self) {
        let (had, index) = {
            let mut state = self.state.borrow_mut();
            state.session_ended = false;
            let had = state.session.take().is_some();
            state.inbound.reset();
            state.outbox.reset();
            (had, state.index)
        };
        if self.state.borrow().phase == ClientState::Closed {
            return;
        }
        if had {
            self.start_attempt();
        } else {
            self.schedule_retry(index, "the server refused a new session", Delay::default());
        }
    }

    /// Waits (backoff) and tries again from transport `index`; gives up when attempts run out.
    /// `retry_after_ms`: the server's `Retry-After`, a floor under the backoff delay.
    fn schedule_retry(&self, index: usize, reason: &str, delay: Delay) {
        let Some(backoff) = self.backoff else {
            return self.stop(1006, reason, false);
        };
        let failures = {
            let mut state = self.state.borrow_mut();
            state.failures = state.failures.saturating_add(1);
            state.failures
        };
        let Some(delay_ms) = backoff.delay_ms(failures, js_sys::Math::random()) else {
            return self.stop(
                1006,
                &[
                    "gave up after ",
                    &dec((failures - 1).into()),
                    " attempts: ",
                    reason,
                ]
                .concat(),
                false,
            );
        };
        // A connection that worked and then dropped is retried almost at once (most drops are
        // transient), spread over a quarter of the first delay so a fleet cut off together by a
        // restart does not come back in lock-step.
        let delay_ms = if delay.quick_first && failures == 1 {
            (js_sys::Math::random() * f64::from(backoff.initial_delay_ms) / 4.0) as u32
        } else {
            delay_ms
        };
        let delay_ms = delay_ms.max(delay.retry_after_ms.unwrap_or(0));
        let attempt = {
            let mut state = self.state.borrow_mut();
            state.index = index;
            state.attempt += 1;
            state.attempt
        };
        self.set_phase(ClientState::Reconnecting);
        let weak = self.me.clone();
        let timer = page::timeout(delay_ms, move || {
            if let Some(inner) = weak.upgrade() {
                if inner.is_current(attempt) {
                    inner.start_attempt();
                }
            }
        });
        self.state.borrow_mut().retry_timer = Some(timer);
        let transport = self.options.transports[index];
        self.emit(&ClientEvent::Reconnecting {
            attempt: failures,
            delay_ms,
            transport,
        });
    }

    /// Stops for good.
    fn stop(&self, code: u16, reason: &str, was_clean: bool) {
        let (from, retry) = {
            let mut state = self.state.borrow_mut();
            if state.phase == ClientState::Closed
                && state.transport.is_none()
                && state.retry_timer.is_none()
            {
                return;
            }
            state.attempt += 1;
            let listeners = core::mem::take(&mut state.page_listeners);
            (state.phase, (state.retry_timer.take(), listeners))
        };
        drop(retry);
        self.release_transport();
        let upload = self.state.borrow_mut().upload.take();
        drop(upload);
        self.set_phase(ClientState::Closed);
        if from != ClientState::Closed || !was_clean {
            self.emit(&ClientEvent::Close {
                code,
                reason: reason.to_owned(),
                was_clean,
            });
        }
    }
}

/// Validates the server URL against the page.
fn parse_url(url: &str) -> Result<Endpoint, Error> {
    let parsed = match page::base_href() {
        Some(base) => web_sys::Url::new_with_base(url, &base),
        None => web_sys::Url::new(url),
    }
    .map_err(|_| Error::invalid(["url: \"", url, "\" is not a valid URL"].concat()))?;
    let protocol = parsed.protocol();
    if protocol != "http:" && protocol != "https:" {
        return Err(Error::invalid(
            [
                "url: \"",
                url,
                "\" must be an http: or https: URL (got ",
                &protocol,
                "; WebSocket URLs are derived from it)",
            ]
            .concat(),
        ));
    }
    parsed.set_hash("");
    Ok(Endpoint {
        href: parsed.href(),
        origin: parsed.origin(),
    })
}
