//! Moving back up the transport list after a fallback, without losing anything.
//!
//! While open on a transport below the best one, the client probes a better one in the background
//! (with backoff). A probe is a connection of the same session marked `probe=1`: the server answers
//! it with an open frame but does not attach it, so the working connection is not disturbed. When a
//! probe's open frame arrives, the client pauses the current transport until no upstream request is
//! in flight, then releases it and opens the better one for real, resuming after the last message
//! it delivered. Downstream nothing can be lost (the server keeps unacknowledged messages) or
//! duplicated (the session layer drops repeats); upstream the outbox keeps every unacknowledged
//! message and the server drops repeats.

use std::rc::Rc;

use super::downstream::{field, parse_frames};
use super::{Inner, Reopen};
use crate::backoff::Backoff;
use crate::event::{ClientEvent, ClientState};
use crate::options::Protocol;
use crate::transport::{Frame, Sink, Transport, TransportEvent};
use crate::web::page;
use gloo_timers::callback::Timeout;

/// Probe backoff: the first probe after this long, doubling up to the cap.
const PROBE_BACKOFF: Backoff = Backoff {
    initial_delay_ms: 2_000,
    max_delay_ms: 60_000,
    max_attempts: None,
};

/// The upgrade machinery's state, part of the client's state.
#[derive(Debug, Default)]
pub(super) struct Upgrade {
    probe: Option<Probe>,
    timer: Option<Timeout>,
    /// Failed probes since the last upgrade: picks the candidate and the backoff.
    failures: u32,
    next_id: u64,
    /// The transport index to move to once nothing is in flight upstream.
    switching: Option<usize>,
}

#[derive(Debug)]
struct Probe {
    id: u64,
    index: usize,
    _transport: Transport,
    _timeout: Timeout,
}

/// Resources released by [`Upgrade::cancel`], to be dropped outside the state borrow.
#[derive(Debug)]
pub(super) struct Cancelled {
    _probe: Option<Probe>,
    _timer: Option<Timeout>,
}

impl Upgrade {
    /// Stops probing; returns what to drop.
    pub(super) fn cancel(&mut self) -> Cancelled {
        self.switching = None;
        Cancelled {
            _probe: self.probe.take(),
            _timer: self.timer.take(),
        }
    }

    /// Whether `id` is the probe in flight.
    fn is_probe(&self, id: u64) -> bool {
        self.probe.as_ref().is_some_and(|p| p.id == id)
    }

    /// Whether upstream is paused for a switch.
    pub(super) fn is_switching(&self) -> bool {
        self.switching.is_some()
    }
}

impl Inner {
    /// Schedules the next probe, if open below the best transport and upgrades are on.
    pub(super) fn schedule_probe(&self) {
        if !self.options.upgrade || self.options.protocol == Protocol::Raw {
            return;
        }
        let failures = {
            let state = self.state.borrow();
            if state.index == 0 || state.phase != ClientState::Open || state.upgrade.probe.is_some()
            {
                return;
            }
            state.upgrade.failures
        };
        let delay = PROBE_BACKOFF
            .delay_ms(failures.saturating_add(1), js_sys::Math::random())
            .unwrap_or(PROBE_BACKOFF.max_delay_ms);
        let weak = self.me.clone();
        let timer = page::timeout(delay, move || {
            if let Some(inner) = weak.upgrade() {
                inner.start_probe();
            }
        });
        let old = self.state.borrow_mut().upgrade.timer.replace(timer);
        drop(old);
    }

    fn start_probe(&self) {
        let (id, index) = {
            let mut state = self.state.borrow_mut();
            state.upgrade.timer = None;
            if state.index == 0 || state.phase != ClientState::Open || !state.opened {
                return;
            }
            state.upgrade.next_id += 1;
            // Candidates are every better transport, best first, taken in turn as probes fail.
            let index = state.upgrade.failures as usize % state.index;
            (state.upgrade.next_id, index)
        };
        let kind = self.options.transports[index];
        let weak = self.me.clone();
        let sink: Sink = Rc::new(move |event| {
            if let Some(inner) = weak.upgrade() {
                inner.on_probe_event(id, event);
            }
        });
        let transport = match Transport::open(kind, self.transport_ctx(kind, true), sink) {
            Ok(transport) => transport,
            Err(_) => return self.probe_failed(id),
        };
        let weak = self.me.clone();
        let timeout = page::timeout(self.options.connect_timeout_ms, move || {
            if let Some(inner) = weak.upgrade() {
                inner.probe_failed(id);
            }
        });
        let mut state = self.state.borrow_mut();
        state.upgrade.probe = Some(Probe {
            id,
            index,
            _transport: transport,
            _timeout: timeout,
        });
    }

    fn on_probe_event(&self, id: u64, event: TransportEvent) {
        let current = self
            .state
            .borrow()
            .upgrade
            .probe
            .as_ref()
            .is_some_and(|p| p.id == id);
        if !current {
            return;
        }
        match event {
            TransportEvent::Opened => {}
            TransportEvent::Closed(_) => self.probe_failed(id),
            TransportEvent::Frame(Frame::Binary(_)) => {}
            TransportEvent::Frame(Frame::Text { data, .. }) => self.probe_frames(id, &data),
            #[cfg(feature = "streaming")]
            TransportEvent::Frame(Frame::Batch { events }) => {
                self.probe_frames(id, &super::downstream::join_events(&events));
            }
        }
    }

    /// A probe's frames: its `o` for this session means it works, an `x` that it does not.
    fn probe_frames(&self, id: u64, data: &js_sys::JsString) {
        let sid = self.state.borrow().session.as_ref().map(|s| s.sid.clone());
        let frames = parse_frames(data).unwrap_or_default();
        let kind_of = |frame: &wasm_bindgen::JsValue| field!(frame, "t").as_string();
        if frames
            .iter()
            .any(|f| kind_of(f).as_deref() == Some("o") && field!(f, "sid").as_string() == sid)
        {
            self.probe_succeeded(id);
        } else if frames.iter().any(|f| kind_of(f).as_deref() == Some("x")) {
            self.probe_failed(id);
        }
    }

    fn probe_failed(&self, id: u64) {
        let probe = {
            let mut state = self.state.borrow_mut();
            if !state.upgrade.is_probe(id) {
                return;
            }
            state.upgrade.failures = state.upgrade.failures.saturating_add(1);
            state.upgrade.probe.take()
        };
        drop(probe);
        self.schedule_probe();
    }

    fn probe_succeeded(&self, id: u64) {
        let probe = {
            let mut state = self.state.borrow_mut();
            if !state.upgrade.is_probe(id) {
                return;
            }
            let probe = state.upgrade.probe.take();
            state.upgrade.switching = probe.as_ref().map(|p| p.index);
            probe
        };
        drop(probe);
        self.finish_switch_if_idle();
    }

    /// Completes a pending switch once no upstream request is in flight.
    pub(super) fn finish_switch_if_idle(&self) {
        let (from, to) = {
            let mut state = self.state.borrow_mut();
            if state.upload.is_some() {
                return; // upload_done calls again.
            }
            let Some(to) = state.upgrade.switching.take() else {
                return;
            };
            (self.options.transports[state.index], to)
        };
        self.release_transport();
        {
            let mut state = self.state.borrow_mut();
            state.index = to;
            state.upgrade.failures = 0;
            state.stats.upgrades += 1;
            state.reopen = Reopen::Upgrade;
        }
        let to_kind = self.options.transports[to];
        self.emit(&ClientEvent::Transport {
            from: Some(from),
            to: to_kind,
            reason: ["upgrade: ", to_kind.name(), " is reachable"].concat(),
        });
        if self.state.borrow().phase != ClientState::Closed {
            self.start_attempt();
        }
    }
}
