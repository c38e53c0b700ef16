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

use super::{Command, Event, Machine, Reopen, Timer, Why};
use crate::backoff::Backoff;
use crate::event::ClientState;

/// Probe backoff: the first probe after this long, doubling up to the cap.
const PROBE_BACKOFF: Backoff = Backoff {
    initial_delay_ms: 2_000,
    max_delay_ms: 60_000,
    max_attempts: None,
};

/// The upgrade machinery's state, part of the machine's.
#[derive(Debug, Default)]
pub(super) struct Upgrade {
    /// The probe in flight: its id and the transport index it tries.
    probe: Option<(u32, usize)>,
    /// Failed probes since the last upgrade: picks the candidate and the backoff.
    failures: u32,
    next_id: u32,
    /// The transport index to move to once nothing is in flight upstream.
    switching: Option<usize>,
}

impl Upgrade {
    /// Whether `id` is the probe in flight.
    pub(super) fn is_probe(&self, id: u32) -> bool {
        self.probe.is_some_and(|(probe, _)| probe == id)
    }

    /// Whether upstream is paused for a switch.
    pub(super) fn is_switching(&self) -> bool {
        self.switching.is_some()
    }
}

impl Machine {
    /// Stops probing (the transport it would replace is going away).
    pub(super) fn cancel_upgrade(&mut self) {
        self.upgrade.switching = None;
        if self.upgrade.probe.take().is_some() {
            self.push(Command::ReleaseProbe);
        }
        self.disarm(Timer::Probe);
        self.disarm(Timer::ProbeTimeout);
    }

    /// Schedules the next probe, if open below the best transport and upgrades are on.
    pub(super) fn schedule_probe(&mut self) {
        if !self.cfg.upgrade
            || self.cfg.raw
            || self.index == 0
            || self.phase != ClientState::Open
            || self.upgrade.probe.is_some()
        {
            return;
        }
        let random = self.random();
        let delay = PROBE_BACKOFF
            .delay_ms(self.upgrade.failures.saturating_add(1), random)
            .unwrap_or(PROBE_BACKOFF.max_delay_ms);
        self.arm(Timer::Probe, delay);
    }

    /// The probe timer fired: try the next candidate.
    pub(super) fn start_probe(&mut self) {
        if self.index == 0 || self.phase != ClientState::Open || !self.opened {
            return;
        }
        self.upgrade.next_id = self.upgrade.next_id.wrapping_add(1);
        let id = self.upgrade.next_id;
        // Candidates are every better transport, best first, taken in turn as probes fail.
        let index = self.upgrade.failures as usize % self.index;
        self.upgrade.probe = Some((id, index));
        self.push(Command::Probe {
            id,
            kind: self.cfg.transports.at(index),
        });
        self.arm(Timer::ProbeTimeout, self.cfg.connect_timeout_ms);
    }

    /// Probe `id` got an open frame of this session: the better transport works.
    pub(crate) fn probe_succeeded(&mut self, id: u32) {
        if !self.upgrade.is_probe(id) {
            return;
        }
        self.upgrade.switching = self.upgrade.probe.take().map(|(_, index)| index);
        self.push(Command::ReleaseProbe);
        self.disarm(Timer::ProbeTimeout);
        self.finish_switch_if_idle();
    }

    /// Probe `id` failed (closed, refused, or an `x` frame).
    pub(crate) fn probe_failed(&mut self, id: u32) {
        if !self.upgrade.is_probe(id) {
            return;
        }
        self.upgrade.failures = self.upgrade.failures.saturating_add(1);
        self.upgrade.probe = None;
        self.push(Command::ReleaseProbe);
        self.disarm(Timer::ProbeTimeout);
        self.schedule_probe();
    }

    /// The probe did not answer in time.
    pub(super) fn probe_timed_out(&mut self) {
        if let Some((id, _)) = self.upgrade.probe {
            self.probe_failed(id);
        }
    }

    /// Completes a pending switch once no upstream request is in flight.
    pub(super) fn finish_switch_if_idle(&mut self) {
        if self.upload.is_some() {
            return; // `upload_done` or `upload_failed` calls again.
        }
        let Some(to) = self.upgrade.switching.take() else {
            return;
        };
        let from = self.kind();
        self.release_transport();
        self.index = to;
        self.upgrade.failures = 0;
        self.stats.upgrades += 1;
        self.reopen = Reopen::Upgrade;
        let to = self.kind();
        self.emit(Event::Transport {
            from: Some(from),
            to,
            why: Why::upgrade(to),
        });
        if self.phase != ClientState::Closed {
            self.start_attempt();
        }
    }
}
