//! Noticing a dead connection, and waking up when the page or network comes back.
//!
//! Deadlines are wall-clock (`Date.now()`), never "N timer ticks": browsers throttle timers in
//! background tabs to once a minute or less, so a timer only says *when to look*; what it finds is
//! judged by the clock. Coming back to the foreground or online looks at once.

use gloo_events::EventListener;
use wasm_bindgen::JsCast;

use super::{Inner, LONG_POLL_GRACE_MS};
use crate::event::ClientState;
use crate::options::{Protocol, TransportKind};
use crate::text::dec;
use crate::transport::Closed;
use crate::web::page;

impl Inner {
    /// How long the current transport may stay silent before it is considered dead.
    fn silence_limit_ms(&self, kind: TransportKind) -> f64 {
        let options = &self.options;
        let heartbeat = self.state.borrow().server_heartbeat_ms;
        // Never stricter than the server's own heartbeat allows: two missed beats and a second.
        let limit = options
            .heartbeat_timeout_ms
            .max(heartbeat.saturating_mul(2).saturating_add(1_000));
        let limit = match kind {
            TransportKind::LongPolling => limit.max(
                options
                    .long_poll_timeout_ms
                    .saturating_add(LONG_POLL_GRACE_MS),
            ),
            TransportKind::Polling => limit.max(
                options
                    .poll_interval_ms
                    .saturating_add(options.connect_timeout_ms),
            ),
            _ => limit,
        };
        f64::from(limit)
    }

    /// Arms the silence deadline of `attempt` (session protocol only: raw servers send no
    /// heartbeats, so silence proves nothing there).
    pub(super) fn arm_liveness(&self, attempt: u64) {
        if self.options.protocol == Protocol::Raw {
            return;
        }
        let kind = self.transport_kind();
        // Looked at every half limit, so a silence is found between one and one and a half
        // limits after the last frame, without reading the clock for every frame.
        let period = self.silence_limit_ms(kind) / 2.0;
        let weak = self.me.clone();
        let timer = page::timeout(period as u32 + 1, move || {
            if let Some(inner) = weak.upgrade() {
                inner.check_liveness(attempt);
            }
        });
        let mut state = self.state.borrow_mut();
        if state.attempt == attempt && state.opened {
            state.liveness_timer = Some(timer);
        }
    }

    /// Closes the transport of `attempt` if it has been silent too long; otherwise re-arms.
    pub(super) fn check_liveness(&self, attempt: u64) {
        let (silent, kind) = {
            let mut state = self.state.borrow_mut();
            if state.attempt != attempt || !state.opened {
                return;
            }
            let now = page::now_ms();
            if state.rx_count != state.rx_seen {
                state.rx_seen = state.rx_count;
                state.last_rx_ms = now;
            }
            (now - state.last_rx_ms, self.options.transports[state.index])
        };
        let limit = self.silence_limit_ms(kind);
        if silent >= limit {
            let reason = [
                kind.name(),
                " silent for ",
                &dec(silent as u64),
                " ms (heartbeat timeout)",
            ]
            .concat();
            self.transport_closed(attempt, Closed::new(reason));
        } else {
            self.arm_liveness(attempt);
        }
    }

    /// Listens for the network coming back and the page becoming visible, while connected.
    pub(super) fn watch_page(&self) {
        let global: web_sys::EventTarget = js_sys::global().unchecked_into();
        let weak = self.me.clone();
        let mut listeners = vec![EventListener::new(&global, "online", move |_| {
            if let Some(inner) = weak.upgrade() {
                inner.wake();
            }
        })];
        if let Some(document) = page::window().and_then(|w| w.document()) {
            let weak = self.me.clone();
            let target = document.clone();
            listeners.push(EventListener::new(
                &document,
                "visibilitychange",
                move |_| {
                    if target.visibility_state() == web_sys::VisibilityState::Visible {
                        if let Some(inner) = weak.upgrade() {
                            inner.wake();
                        }
                    }
                },
            ));
        }
        let old = core::mem::replace(&mut self.state.borrow_mut().page_listeners, listeners);
        drop(old);
    }

    /// Something suggests the connection may work again (or be dead): look now rather than
    /// wait for a throttled timer.
    fn wake(&self) {
        let (phase, attempt, waiting) = {
            let state = self.state.borrow();
            (state.phase, state.attempt, state.retry_timer.is_some())
        };
        match phase {
            ClientState::Reconnecting if waiting => {
                let timer = self.state.borrow_mut().retry_timer.take();
                drop(timer);
                self.start_attempt();
            }
            ClientState::Open => self.check_liveness(attempt),
            _ => {}
        }
    }
}
