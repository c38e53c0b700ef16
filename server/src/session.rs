//! One session: its sequenced downstream log and replay window, upstream dedupe, and which
//! downstream connection is attached.

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::message::{Body, Message};

/// A session as the hub keeps it. Shared as `Arc<Session>` by the hub and every request using it.
///
/// The state sits behind a std `Mutex` that is only ever held for short, non-async stretches;
/// connections learn about changes (new messages, a superseding connection) through a `watch`
/// channel, so nothing awaits while holding a lock.
#[derive(Debug)]
pub struct Session {
    sid: String,
    token: String,
    state: Mutex<State>,
    /// The highest upstream `c` processed. Held while a batch of upstream frames is processed, so
    /// two requests carrying frames (a WebSocket and a POST during an upgrade) apply them in order.
    upstream: Mutex<u64>,
    changes: watch::Sender<u64>,
}

#[derive(Debug)]
struct State {
    /// Most unacknowledged messages kept; beyond it the oldest are dropped (a gap).
    window: usize,
    /// About the most bytes (by [`Body::weight`]) the log may hold, and separately the waiting
    /// queue; beyond it the oldest are dropped as beyond `window`.
    max_bytes: usize,
    /// Bytes of the messages in `log`.
    log_bytes: usize,
    /// Bytes of the `Pending::Body` entries in `pending`.
    pending_bytes: usize,
    /// The attached poll that is being held (waiting for messages), by generation.
    held: Option<u64>,
    /// Messages `front.seq ..= last_seq`, contiguous, not yet acknowledged.
    log: VecDeque<Arc<Message>>,
    /// Produced but not yet numbered: waits for room in the window, so a burst follows the
    /// client's acknowledgements instead of overrunning the window it is being read from.
    pending: VecDeque<Pending>,
    /// How many `Pending::Body` entries `pending` holds (bursts cost no memory while pending).
    pending_bodies: usize,
    last_seq: u64,
    acked: u64,
    attached: Option<u64>,
    generations: u64,
    /// Open upgrade probes: they do not attach, but keep the session from expiring.
    probes: usize,
    /// Whether the most recent connection to attach was a poll.
    polled_last: bool,
    last_seen: Instant,
    rooms: BTreeSet<String>,
}

#[derive(Debug)]
enum Pending {
    Body(Body),
    Burst(Burst),
}

/// The rest of an `emit("burst")`, produced lazily one message at a time.
#[derive(Debug)]
struct Burst {
    next: u64,
    count: u64,
    /// The `pad` value as JSON text, shared by every message of the burst.
    pad: Arc<str>,
}

impl Burst {
    /// About the weight of each of its messages (an upper bound).
    fn weight(&self) -> usize {
        Body::Event {
            name: "burst".into(),
            value: format!("{{\"n\":{},\"pad\":{}}}", u64::MAX, self.pad),
        }
        .weight()
    }

    fn remaining(&self) -> u64 {
        (self.count + 1).saturating_sub(self.next)
    }

    fn take(&mut self) -> Option<Body> {
        if self.next > self.count {
            return None;
        }
        let n = self.next;
        self.next += 1;
        Some(Body::Event {
            name: "burst".into(),
            value: format!("{{\"n\":{n},\"pad\":{}}}", self.pad),
        })
    }
}

/// What a connection should write next: maybe a gap, then messages in order.
#[derive(Debug, Default)]
pub struct Batch {
    /// Messages `from ..= to` were dropped from the window before the client acknowledged them.
    pub gap: Option<(u64, u64)>,
    /// The messages, in sequence order.
    pub messages: Vec<Arc<Message>>,
    /// The highest `s` this batch accounts for (the reader's next `after`).
    pub cursor: u64,
}

impl Batch {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.gap.is_none() && self.messages.is_empty()
    }
}

impl Session {
    /// A fresh session keeping at most `window` unacknowledged messages (at least one), with
    /// no byte budget.
    pub fn new(sid: String, token: String, window: usize) -> Session {
        Session::with_budget(sid, token, window, usize::MAX)
    }

    /// A fresh session keeping at most `window` unacknowledged messages (at least one) of about
    /// `max_bytes` in all, and as many waiting behind them.
    pub fn with_budget(sid: String, token: String, window: usize, max_bytes: usize) -> Session {
        Session {
            sid,
            token,
            state: Mutex::new(State {
                window: window.max(1),
                max_bytes,
                log_bytes: 0,
                pending_bytes: 0,
                held: None,
                log: VecDeque::new(),
                pending: VecDeque::new(),
                pending_bodies: 0,
                last_seq: 0,
                acked: 0,
                attached: None,
                generations: 0,
                probes: 0,
                polled_last: false,
                last_seen: Instant::now(),
                rooms: BTreeSet::new(),
            }),
            upstream: Mutex::new(0),
            changes: watch::channel(0).0,
        }
    }

    /// The session id.
    pub fn sid(&self) -> &str {
        &self.sid
    }

    /// The resume token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Compares `token` with the session's in constant time (for equal lengths), so response
    /// timing does not leak how much of a guess was right.
    pub fn token_matches(&self, token: &str) -> bool {
        let (a, b) = (self.token.as_bytes(), token.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves the state consistent enough to go on with (every
        // update is a few field writes), and one failed request must not take the session down.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Locks upstream processing; the guarded value is the highest processed client seq `c`.
    pub fn upstream(&self) -> MutexGuard<'_, u64> {
        self.upstream.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The highest processed client seq `c`.
    pub fn processed(&self) -> u64 {
        *self.upstream()
    }

    fn changed(&self) {
        self.changes
            .send_modify(|version| *version = version.wrapping_add(1));
    }

    /// Notified whenever messages arrive or the attached connection changes.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Makes a new downstream connection (a poll if `polling`) the attached one; the previous
    /// one sees [`Attachment::is_current`] turn false and ends.
    pub fn attach(self: &Arc<Self>, polling: bool) -> Attachment {
        let (generation, follows_poll) = {
            let mut state = self.state();
            state.generations += 1;
            state.attached = Some(state.generations);
            state.last_seen = Instant::now();
            let follows_poll = std::mem::replace(&mut state.polled_last, polling);
            (state.generations, follows_poll)
        };
        self.changed();
        Attachment {
            session: Arc::clone(self),
            generation,
            follows_poll,
        }
    }

    /// Registers an upgrade probe: it counts as activity (the session does not expire while one
    /// is open) but does not attach, so the attached connection is neither superseded nor woken,
    /// and the next poll still follows the last real connection.
    pub fn probe(self: &Arc<Self>) -> ProbeClaim {
        {
            let mut state = self.state();
            state.probes += 1;
            state.last_seen = Instant::now();
        }
        ProbeClaim {
            session: Arc::clone(self),
        }
    }

    fn unprobe(&self) {
        let mut state = self.state();
        state.probes = state.probes.saturating_sub(1);
        state.last_seen = Instant::now();
    }

    fn detach(&self, generation: u64) {
        let mut state = self.state();
        if state.attached == Some(generation) {
            state.attached = None;
        }
        state.last_seen = Instant::now();
    }

    fn is_current(&self, generation: u64) -> bool {
        self.state().attached == Some(generation)
    }

    /// Records activity (any request), postponing expiry.
    pub fn touch(&self) {
        self.state().last_seen = Instant::now();
    }

    /// Whether the session has had no attached connection, no open probe and no request for
    /// `idle`.
    pub fn is_idle(&self, now: Instant, idle: Duration) -> bool {
        let state = self.state();
        state.attached.is_none()
            && state.probes == 0
            && now.saturating_duration_since(state.last_seen) >= idle
    }

    /// Queues a message for the client.
    pub fn push(&self, body: Body) {
        {
            let mut state = self.state();
            state.pending_bytes += body.weight();
            state.pending.push_back(Pending::Body(body));
            state.pending_bodies += 1;
            state.fill();
            // A client that stopped acknowledging must not make us hold an unbounded queue: past
            // a window's worth of waiting messages (by count or by bytes), the oldest are pushed
            // through, overflowing the window (the client gets a gap frame for them).
            while state.pending_bodies > state.window
                || (state.pending_bodies > 0 && state.pending_bytes > state.max_bytes)
            {
                state.force_front();
            }
        }
        self.changed();
    }

    /// Queues `count` `burst` events padded with `size` characters, produced as the window allows.
    pub fn push_burst(&self, count: u64, size: usize) {
        if count == 0 {
            return;
        }
        let pad: Arc<str> = format!("\"{}\"", "x".repeat(size)).into();
        {
            let mut state = self.state();
            state.pending.push_back(Pending::Burst(Burst {
                next: 1,
                count,
                pad,
            }));
            state.fill();
        }
        self.changed();
    }

    /// The client has every message up to `seq`: drop them from the window and let pending ones in.
    pub fn acknowledge(&self, seq: u64) {
        let grew = {
            let mut state = self.state();
            let seq = seq.min(state.last_seq);
            if seq <= state.acked {
                return;
            }
            state.acked = seq;
            while state.log.front().is_some_and(|m| m.seq <= seq) {
                state.pop_front();
            }
            let before = state.last_seq;
            state.fill();
            state.last_seq != before
        };
        if grew {
            self.changed();
        }
    }

    /// What follows `after` (the highest `s` the reader has): a gap if the window moved past it,
    /// then up to `max_messages` messages totalling about `max_bytes` (always at least one).
    pub fn read(&self, after: u64, max_messages: usize, max_bytes: usize) -> Batch {
        let state = self.state();
        let from = after.max(state.acked).min(state.last_seq);
        let front = state.log.front().map_or(state.last_seq + 1, |m| m.seq);
        let mut batch = Batch {
            cursor: from,
            ..Batch::default()
        };
        if from + 1 < front {
            batch.gap = Some((from + 1, front - 1));
            batch.cursor = front - 1;
        }
        // The log is contiguous, so the first unread message sits at a computable index.
        let skip = usize::try_from(batch.cursor + 1 - front).unwrap_or(usize::MAX);
        let mut bytes = 0;
        for message in state.log.range(skip.min(state.log.len())..) {
            if batch.messages.len() >= max_messages
                || (bytes >= max_bytes && !batch.messages.is_empty())
            {
                break;
            }
            bytes += message.body.weight();
            batch.cursor = message.seq;
            batch.messages.push(Arc::clone(message));
        }
        batch
    }

    /// The highest `s` issued so far.
    pub fn last_seq(&self) -> u64 {
        self.state().last_seq
    }

    /// About the bytes of messages the session holds (numbered and waiting).
    pub fn buffered_bytes(&self) -> usize {
        let state = self.state();
        state.log_bytes + state.pending_bytes
    }

    /// Whether an attached poll is being held (see [`Attachment::hold`]).
    pub fn poll_held(&self) -> bool {
        let state = self.state();
        state.held.is_some() && state.held == state.attached
    }

    fn release_hold(&self, generation: u64) {
        let released = {
            let mut state = self.state();
            let mine = state.held == Some(generation);
            if mine {
                state.held = None;
            }
            mine
        };
        if released {
            self.changed();
        }
    }

    /// Adds `room` to the session's rooms; false if it was there.
    pub fn join(&self, room: &str) -> bool {
        self.state().rooms.insert(room.to_owned())
    }

    /// Removes `room` from the session's rooms; false if it was not there.
    pub fn leave(&self, room: &str) -> bool {
        self.state().rooms.remove(room)
    }

    /// The rooms the session is in.
    pub fn rooms(&self) -> Vec<String> {
        self.state().rooms.iter().cloned().collect()
    }
}

impl State {
    /// Numbers pending messages while the window has room (by count and by bytes; an empty
    /// window always takes one, however large).
    fn fill(&mut self) {
        while self.log.len() < self.window {
            let Some(front) = self.pending.front_mut() else {
                break;
            };
            let weight = match front {
                Pending::Body(body) => body.weight(),
                Pending::Burst(burst) => burst.weight(),
            };
            if !self.log.is_empty() && self.log_bytes.saturating_add(weight) > self.max_bytes {
                break;
            }
            let body = match front {
                Pending::Body(_) => match self.pending.pop_front() {
                    Some(Pending::Body(body)) => {
                        self.pending_bodies -= 1;
                        self.pending_bytes -= body.weight();
                        body
                    }
                    _ => break,
                },
                Pending::Burst(burst) => match burst.take() {
                    Some(body) => body,
                    None => {
                        self.pending.pop_front();
                        continue;
                    }
                },
            };
            self.append(body);
        }
    }

    /// Numbers the front pending entry whatever the window holds, dropping the oldest messages.
    fn force_front(&mut self) {
        match self.pending.pop_front() {
            None => {}
            Some(Pending::Body(body)) => {
                self.pending_bodies -= 1;
                self.pending_bytes -= body.weight();
                self.append(body);
            }
            Some(Pending::Burst(mut burst)) => {
                // Of a long burst only the last messages that fit the window (by count and by
                // bytes) can survive; the ones before are numbered and lost at once without being
                // built.
                let fit = (self.max_bytes / burst.weight().max(1)).clamp(1, self.window);
                let skip = burst.remaining().saturating_sub(fit as u64);
                if skip > 0 {
                    self.log.clear();
                    self.log_bytes = 0;
                    self.last_seq += skip;
                    burst.next += skip;
                }
                while let Some(body) = burst.take() {
                    self.append(body);
                }
            }
        }
    }

    /// Numbers `body`, dropping the oldest messages as needed to stay within the window.
    fn append(&mut self, body: Body) {
        let weight = body.weight();
        while !self.log.is_empty()
            && (self.log.len() >= self.window
                || self.log_bytes.saturating_add(weight) > self.max_bytes)
        {
            self.pop_front();
        }
        self.last_seq += 1;
        self.log_bytes += weight;
        self.log.push_back(Arc::new(Message {
            seq: self.last_seq,
            body,
        }));
    }

    fn pop_front(&mut self) {
        if let Some(message) = self.log.pop_front() {
            self.log_bytes -= message.body.weight();
        }
    }
}

/// A downstream connection's claim on its session; dropping it detaches the connection (if it is
/// still the attached one), whichever way the connection's task ends.
#[derive(Debug)]
pub struct Attachment {
    session: Arc<Session>,
    generation: u64,
    follows_poll: bool,
}

impl Attachment {
    /// Whether the connection attached before this one was a poll too.
    pub fn follows_poll(&self) -> bool {
        self.follows_poll
    }

    /// False once a newer connection has attached.
    pub fn is_current(&self) -> bool {
        self.session.is_current(self.generation)
    }

    /// Marks this (poll) connection as held, waiting for messages, until the returned guard is
    /// dropped; meanwhile [`Session::poll_held`] is true (while it is still attached).
    pub fn hold(&self) -> Hold<'_> {
        self.session.state().held = Some(self.generation);
        Hold { attachment: self }
    }
}

/// A held poll's mark (see [`Attachment::hold`]); dropping it clears the mark and notifies
/// whoever waits for it to go.
#[derive(Debug)]
pub struct Hold<'a> {
    attachment: &'a Attachment,
}

impl Drop for Hold<'_> {
    fn drop(&mut self) {
        self.attachment
            .session
            .release_hold(self.attachment.generation);
    }
}

impl Drop for Attachment {
    fn drop(&mut self) {
        self.session.detach(self.generation);
    }
}

/// An open upgrade probe's hold on its session (see [`Session::probe`]); dropping it ends the
/// probe's claim, whichever way the probe's task ends.
#[derive(Debug)]
pub struct ProbeClaim {
    session: Arc<Session>,
}

impl Drop for ProbeClaim {
    fn drop(&mut self) {
        self.session.unprobe();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Body {
        Body::Text(s.into())
    }

    fn seqs(batch: &Batch) -> Vec<u64> {
        batch.messages.iter().map(|m| m.seq).collect()
    }

    #[test]
    fn numbers_and_replays_until_acknowledged() {
        let session = Session::new("s".into(), "t".into(), 10);
        for i in 0..3 {
            session.push(text(&i.to_string()));
        }
        assert_eq!(seqs(&session.read(0, 100, 1 << 20)), [1, 2, 3]);
        assert_eq!(seqs(&session.read(1, 100, 1 << 20)), [2, 3]);
        session.acknowledge(2);
        let batch = session.read(0, 100, 1 << 20);
        assert_eq!((batch.gap, seqs(&batch)), (None, vec![3]));
    }

    #[test]
    fn overflow_becomes_a_gap() {
        let session = Session::new("s".into(), "t".into(), 3);
        // Three fill the window, three more wait unnumbered, the seventh pushes the first out.
        for i in 0..7 {
            session.push(text(&i.to_string()));
        }
        let batch = session.read(0, 100, 1 << 20);
        assert_eq!(batch.gap, Some((1, 1)));
        assert_eq!(seqs(&batch), [2, 3, 4]);
        assert_eq!(batch.cursor, 4);
    }

    #[test]
    fn burst_waits_for_acknowledgements() {
        let session = Session::new("s".into(), "t".into(), 4);
        session.push_burst(10, 2);
        let mut after = 0;
        let mut seen = Vec::new();
        while seen.len() < 10 {
            let batch = session.read(after, 100, 1 << 20);
            assert_eq!(batch.gap, None);
            assert!(!batch.messages.is_empty());
            seen.extend(batch.messages.iter().cloned());
            after = batch.cursor;
            session.acknowledge(after);
        }
        assert_eq!(
            seen.iter().map(|m| m.seq).collect::<Vec<_>>(),
            (1..=10).collect::<Vec<_>>()
        );
        let Body::Event { name, value } = &seen[9].body else {
            panic!("expected an event")
        };
        assert_eq!(
            (name.as_str(), value.as_str()),
            ("burst", r#"{"n":10,"pad":"xx"}"#)
        );
    }

    #[test]
    fn messages_queue_behind_a_burst_in_order() {
        let session = Session::new("s".into(), "t".into(), 2);
        session.push_burst(3, 0);
        session.push(text("after"));
        let mut after = 0;
        let mut bodies = Vec::new();
        for _ in 0..4 {
            let batch = session.read(after, 1, 1 << 20);
            bodies.push(batch.messages[0].body.clone());
            after = batch.cursor;
            session.acknowledge(after);
        }
        assert_eq!(bodies[3], text("after"));
    }

    #[test]
    fn a_stalled_client_bounds_memory_and_gets_a_gap() {
        let session = Session::new("s".into(), "t".into(), 3);
        session.push_burst(1_000_000, 10);
        for i in 0..4 {
            session.push(text(&i.to_string()));
        }
        let batch = session.read(0, 100, 1 << 20);
        // The burst's last three survive the skip, then the first text pushes one of them out;
        // the other three texts wait for room.
        assert_eq!(batch.gap, Some((1, 999_998)));
        assert_eq!(seqs(&batch), [999_999, 1_000_000, 1_000_001]);
    }

    #[test]
    fn the_byte_budget_bounds_what_a_session_holds() {
        let session = Session::with_budget("s".into(), "t".into(), 1000, 1000);
        let one = text(&"x".repeat(100)).weight();
        for i in 0..100 {
            session.push(text(&format!("{i:0>100}")));
            assert!(session.buffered_bytes() <= 2 * 1000 + one, "{i}");
        }
        let batch = session.read(0, usize::MAX, usize::MAX);
        let (from, to) = batch.gap.expect("the oldest were dropped");
        assert_eq!(from, 1);
        assert_eq!(to + 1, batch.messages[0].seq);
        assert!(batch.messages.len() * one <= 1000);
    }

    #[test]
    fn a_burst_of_big_messages_follows_the_acks_within_the_byte_budget() {
        let session = Session::with_budget("s".into(), "t".into(), 1000, 50_000);
        session.push_burst(200, 10_000);
        let mut after = 0;
        let mut seen = 0;
        while seen < 200 {
            assert!(session.buffered_bytes() <= 50_000 + 10_100);
            let batch = session.read(after, usize::MAX, usize::MAX);
            assert_eq!(batch.gap, None);
            assert!(!batch.messages.is_empty(), "stalled at {after}");
            seen += batch.messages.len();
            after = batch.cursor;
            session.acknowledge(after);
        }
        assert_eq!(after, 200);
    }

    #[test]
    fn a_stalled_client_of_a_big_burst_keeps_only_what_fits() {
        let session = Session::with_budget("s".into(), "t".into(), 1000, 50_000);
        session.push_burst(1_000_000, 10_000);
        session.push(text("then"));
        assert!(session.buffered_bytes() <= 50_000 + 10_100);
    }

    #[test]
    fn attach_supersedes() {
        let session = Arc::new(Session::new("s".into(), "t".into(), 3));
        let first = session.attach(false);
        let second = session.attach(false);
        assert!(!first.is_current());
        assert!(second.is_current());
        drop(first);
        assert!(second.is_current());
        drop(second);
        assert!(session.is_idle(
            Instant::now() + Duration::from_secs(2),
            Duration::from_secs(1)
        ));
    }

    #[test]
    fn a_probe_neither_attaches_nor_lets_the_session_expire() {
        let session = Arc::new(Session::new("s".into(), "t".into(), 3));
        let poll = session.attach(true);
        let probe = session.probe();
        assert!(poll.is_current(), "not superseded by the probe");
        let later = || Instant::now() + Duration::from_secs(2);
        drop(poll);
        assert!(!session.is_idle(later(), Duration::from_secs(1)));
        drop(probe);
        assert!(session.is_idle(later(), Duration::from_secs(1)));
        assert!(
            session.attach(true).follows_poll(),
            "the probe did not count as the last connection"
        );
    }

    #[test]
    fn token_comparison() {
        let session = Session::new("s".into(), "abcd".into(), 3);
        assert!(session.token_matches("abcd"));
        assert!(!session.token_matches("abce"));
        assert!(!session.token_matches("abc"));
    }
}
