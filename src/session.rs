//! The session layer's bookkeeping: sequence numbers, acknowledgements and the outbox (see
//! `docs/PROTOCOL.md`).
//!
//! Transports lose connections; sessions must not lose messages. Downstream, [`Inbound`] drops what a
//! resumed connection replays twice, notices what the server could no longer replay, and decides
//! when to acknowledge so the server can trim its replay window. Upstream, [`Outbox`] numbers each
//! message and keeps it until the server acknowledges it, so a new connection resends exactly what
//! may not have arrived; the server drops repeats, which makes upstream exactly-once.
//!
//! Nothing here touches the browser or a clock (time is an argument), so it is tested natively.

use std::fmt;
use std::ops::RangeInclusive;

/// Acknowledge downstream messages at least this often, counted in messages...
const ACK_EVERY_MESSAGES: u32 = 64;
/// ...or in time: an ack goes out at most this long after the last one, if anything is unacknowledged.
const ACK_INTERVAL_MS: f64 = 1000.0;

/// What to do with a downstream message, by its sequence number: see [`Inbound::accept`].
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// The next message in order: deliver it.
    Deliver,
    /// Already delivered (a resumed connection replayed it): drop it.
    Duplicate,
    /// Messages `from..=to` were left out of the stream, which only a broken server or middlebox
    /// does. Nothing is recorded: drop this message and the connection, and resume after
    /// [`Inbound::after`] so the server replays them. A second skip at the same place on the next
    /// connection is a [`Accept::Gap`] instead: the server no longer has them.
    Skipped {
        /// The first missing sequence number.
        from: u64,
        /// The last missing sequence number.
        to: u64,
    },
    /// Messages `from..=to` never arrived and never will: report them lost, then deliver this one.
    Gap {
        /// The first lost sequence number.
        from: u64,
        /// The last lost sequence number.
        to: u64,
    },
}

/// Downstream bookkeeping for one session: the highest sequence number received, and acks.
#[derive(Debug, Clone)]
pub struct Inbound {
    last_seq: u64,
    /// Messages delivered since the last ack.
    unacked: u32,
    acked_seq: u64,
    last_ack_ms: f64,
    /// The sequence number a resume was started to fetch again after a skip, until it arrives.
    refetching: Option<u64>,
}

impl Default for Inbound {
    fn default() -> Self {
        Self {
            last_seq: 0,
            unacked: 0,
            acked_seq: 0,
            refetching: None,
            // Never acknowledged: the first ack is due as soon as there is something to acknowledge.
            last_ack_ms: f64::NEG_INFINITY,
        }
    }
}

impl Inbound {
    /// A new session's tracker: nothing received yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Classifies downstream message `seq` and records it as received unless it is a duplicate
    /// or skipped.
    ///
    /// Sequence numbers start at 1, so `seq == 0` is a [`Accept::Duplicate`] and dropped. Within
    /// a session the server sends every number in turn (losses are announced by a gap frame, see
    /// [`Inbound::on_gap_frame`]), so a number further on is [`Accept::Skipped`] the first time
    /// and a [`Accept::Gap`] only if the resume that followed skipped the same messages again.
    pub fn accept(&mut self, seq: u64) -> Accept {
        if seq <= self.last_seq {
            return Accept::Duplicate;
        }
        // `seq > last_seq`, so neither `last_seq + 1` nor `seq - 1` can overflow.
        let expected = self.last_seq + 1;
        if seq == expected {
            self.refetching = None;
            self.record(seq);
            return Accept::Deliver;
        }
        self.hole(expected, seq - 1, seq)
    }

    /// Records a heartbeat's `s`: the connection has carried every message up to `seq`. `None`
    /// if they all arrived; otherwise, as [`Inbound::accept`] says of a message that comes after
    /// missing ones, [`Accept::Skipped`] the first time (resume and fetch them again) and
    /// [`Accept::Gap`] when the resume skipped them again (recorded as lost).
    pub fn sent_through(&mut self, seq: u64) -> Option<Accept> {
        (seq > self.last_seq).then(|| self.hole(self.last_seq + 1, seq, seq))
    }

    /// Messages `from..=to` never arrived, as `shown_by` (a message or a heartbeat's `s`) shows:
    /// skipped the first time, so nothing is recorded; lost, and recorded up to `shown_by`, if the
    /// resume that followed skipped them again.
    fn hole(&mut self, from: u64, to: u64, shown_by: u64) -> Accept {
        if self.refetching.take() == Some(from) {
            self.record(shown_by);
            Accept::Gap { from, to }
        } else {
            self.refetching = Some(from);
            Accept::Skipped { from, to }
        }
    }

    fn record(&mut self, seq: u64) {
        self.last_seq = seq;
        self.unacked = self.unacked.saturating_add(1);
    }

    /// Records a gap frame (`{"t":"g","from":A,"to":B}`): messages `from..=to` are lost.
    ///
    /// Returns the part of the range not already received, to report as lost, or `None` if there
    /// is none (a stale or empty gap).
    pub fn on_gap_frame(&mut self, from: u64, to: u64) -> Option<RangeInclusive<u64>> {
        if to <= self.last_seq || to < from {
            return None;
        }
        // `last_seq < to`, so this cannot overflow.
        let from = from.max(self.last_seq + 1);
        self.last_seq = to;
        Some(from..=to)
    }

    /// The sequence number to acknowledge now (`{"t":"a","a":S}`), if an ack is due: after 64
    /// messages, or when something is unacknowledged and the last ack was at least 1000 ms ago.
    /// Returning `Some` counts as sending the ack.
    ///
    /// `now_ms` is any millisecond clock; call this after delivering messages and from a timer, so
    /// a quiet stream is still acknowledged. A clock that goes backwards makes the ack due rather
    /// than holding it back.
    pub fn ack_due(&mut self, now_ms: f64) -> Option<u64> {
        if self.last_seq == self.acked_seq {
            return None;
        }
        let elapsed = now_ms - self.last_ack_ms;
        if self.unacked < ACK_EVERY_MESSAGES && (0.0..ACK_INTERVAL_MS).contains(&elapsed) {
            return None;
        }
        self.acked_seq = self.last_seq;
        self.unacked = 0;
        self.last_ack_ms = now_ms;
        Some(self.last_seq)
    }

    /// Whether enough messages arrived since the last ack that one is due whatever the clock
    /// says: lets the caller skip reading the clock for every message.
    pub fn count_due(&self) -> bool {
        self.last_seq != self.acked_seq && self.unacked >= ACK_EVERY_MESSAGES
    }

    /// Whether anything received is not acknowledged yet.
    pub fn has_unacked(&self) -> bool {
        self.last_seq != self.acked_seq
    }

    /// The highest sequence number received: the `after` parameter of a resume request.
    pub fn after(&self) -> u64 {
        self.last_seq
    }

    /// Forgets everything, for a new session (whose numbering starts again at 1).
    pub fn reset(&mut self) {
        *self = Self::default();
    }
}

/// [`Outbox::push`] failed: the outbox holds its maximum of unacknowledged messages. The message is
/// handed back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueFull<T>(pub T);

impl<T> fmt::Display for QueueFull<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("too many messages not yet acknowledged by the server")
    }
}

impl<T: fmt::Debug> std::error::Error for QueueFull<T> {}

/// The server acknowledged an upstream message that was never sent: a protocol violation. The ack
/// was ignored; the session cannot be trusted and should be replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AckBeyondSent {
    /// The acknowledged client sequence number.
    pub ack: u64,
    /// The highest client sequence number handed to a transport in this session.
    pub sent: u64,
}

impl fmt::Display for AckBeyondSent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "server acknowledged message {} but only {} were sent",
            self.ack, self.sent
        )
    }
}

impl std::error::Error for AckBeyondSent {}

/// Upstream messages not yet acknowledged by the server, numbered from 1 in sending order.
///
/// A message is pushed, handed to a transport ([`unsent`](Self::unsent) then
/// [`mark_sent`](Self::mark_sent)) and dropped when the server acknowledges it ([`ack`](Self::ack)).
/// A new connection [`rewind`](Self::rewind)s: whatever is unacknowledged may be lost and is sent
/// again, in order.
#[derive(Debug, Clone)]
pub struct Outbox<T> {
    /// Unacknowledged messages from `head` on (those before it are acknowledged, and go when
    /// the vector is compacted); the one at index `head + i` has sequence number `acked + 1 + i`.
    /// A vector and an index compile to far less than a `VecDeque`.
    items: Vec<T>,
    head: usize,
    /// The highest sequence number acknowledged.
    acked: u64,
    /// How many of `items`, from the front, the current transport has been given.
    sent: usize,
    /// The highest sequence number ever given to a transport in this session: acks above it are
    /// protocol violations. Not lowered by `rewind`, as earlier connections may have delivered them.
    max_sent: u64,
    capacity: usize,
}

impl<T: Copy> Outbox<T> {
    /// An empty outbox that holds at most `capacity` unacknowledged messages (`maxQueuedMessages`).
    pub fn new(capacity: usize) -> Self {
        Self {
            items: Vec::new(),
            head: 0,
            acked: 0,
            sent: 0,
            max_sent: 0,
            capacity,
        }
    }

    /// Queues a message and returns its sequence number, or hands it back if the outbox is full.
    pub fn push(&mut self, item: T) -> Result<u64, QueueFull<T>> {
        if self.len() >= self.capacity {
            return Err(QueueFull(item));
        }
        self.items.push(item);
        Ok(self.acked + self.len() as u64)
    }

    /// Records that the server processed every message up to `seq`, dropping them.
    ///
    /// An ack at or below an earlier one changes nothing (acks may arrive out of date, as in the
    /// open frame of a resumed connection).
    pub fn ack(&mut self, seq: u64) -> Result<(), AckBeyondSent> {
        if seq > self.max_sent {
            return Err(AckBeyondSent {
                ack: seq,
                sent: self.max_sent,
            });
        }
        if seq <= self.acked {
            return Ok(());
        }
        // `max_sent` never exceeds the last number pushed, so `count <= len`; `min` keeps the
        // count honest regardless.
        let count = usize::try_from(seq - self.acked)
            .unwrap_or(usize::MAX)
            .min(self.len());
        self.head += count;
        // Acknowledged items go at once when none is left, otherwise once they are the bigger
        // half: each item is moved at most once on average.
        if self.head == self.items.len() {
            self.items.clear();
            self.head = 0;
        } else if self.head > self.items.len() / 2 {
            // The rest to the front, in one move (far less code than `drain`).
            self.items.copy_within(self.head.., 0);
            self.items.truncate(self.items.len() - self.head);
            self.head = 0;
        }
        self.acked = seq;
        self.sent = self.sent.saturating_sub(count);
        Ok(())
    }

    /// The messages the current transport has not been given yet, in order, with their numbers.
    pub fn unsent(&self) -> impl Iterator<Item = (u64, &T)> + '_ {
        let first = self.acked + 1 + self.sent as u64;
        (first..).zip(&self.items[self.head + self.sent..])
    }

    /// Records that the current transport has been given every message up to `seq`.
    pub fn mark_sent(&mut self, seq: u64) {
        let count = usize::try_from(seq.saturating_sub(self.acked))
            .unwrap_or(usize::MAX)
            .min(self.len());
        if count > self.sent {
            self.sent = count;
            self.max_sent = self.max_sent.max(self.acked + count as u64);
        }
    }

    /// For a new connection of the same session: every unacknowledged message counts as unsent.
    pub fn rewind(&mut self) {
        self.sent = 0;
    }

    /// For a new session, which has processed nothing: the pending messages are kept, unsent, and
    /// numbered again from 1.
    pub fn reset(&mut self) {
        self.acked = 0;
        self.sent = 0;
        self.max_sent = 0;
    }

    /// How many messages the current transport has not been given yet.
    pub fn unsent_len(&self) -> usize {
        self.len() - self.sent
    }

    /// How many messages are unacknowledged (sent or not).
    pub fn len(&self) -> usize {
        self.items.len() - self.head
    }

    /// Whether every message has been acknowledged.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inbound_in_order_and_duplicates() {
        let mut inbound = Inbound::new();
        assert_eq!(inbound.accept(0), Accept::Duplicate);
        assert_eq!(inbound.accept(1), Accept::Deliver);
        assert_eq!(inbound.accept(2), Accept::Deliver);
        assert_eq!(inbound.accept(2), Accept::Duplicate);
        assert_eq!(inbound.accept(1), Accept::Duplicate);
        assert_eq!(inbound.accept(3), Accept::Deliver);
        assert_eq!(inbound.after(), 3);
    }

    #[test]
    fn inbound_skip_is_fetched_again() {
        let mut inbound = Inbound::new();
        assert_eq!(inbound.accept(1), Accept::Deliver);
        // 2 to 4 left out: nothing recorded, the resume asks again after 1.
        assert_eq!(inbound.accept(5), Accept::Skipped { from: 2, to: 4 });
        assert_eq!(inbound.after(), 1);
        assert!(!inbound.count_due() && inbound.has_unacked());
        // The resumed connection replays them.
        for seq in 2..=6 {
            assert_eq!(inbound.accept(seq), Accept::Deliver);
        }
        // A later skip elsewhere is fetched again too.
        assert_eq!(inbound.accept(9), Accept::Skipped { from: 7, to: 8 });
        assert_eq!(inbound.accept(7), Accept::Deliver);
        assert_eq!(inbound.accept(9), Accept::Skipped { from: 8, to: 8 });
        assert_eq!(inbound.accept(8), Accept::Deliver);
        assert_eq!(inbound.after(), 8);
    }

    #[test]
    fn inbound_skip_twice_at_the_same_place_is_a_gap() {
        let mut inbound = Inbound::new();
        assert_eq!(inbound.accept(1), Accept::Deliver);
        assert_eq!(inbound.accept(5), Accept::Skipped { from: 2, to: 4 });
        // The resume skipped them again (the server no longer has them): lost.
        assert_eq!(inbound.accept(4), Accept::Gap { from: 2, to: 3 });
        assert_eq!(inbound.after(), 4);
        assert_eq!(inbound.accept(5), Accept::Deliver);
        // A late arrival from inside the gap stays lost: delivering it now would break the order.
        assert_eq!(inbound.accept(3), Accept::Duplicate);
        let mut inbound = Inbound::new();
        assert_eq!(inbound.accept(3), Accept::Skipped { from: 1, to: 2 });
        assert_eq!(inbound.accept(3), Accept::Gap { from: 1, to: 2 });
        let mut inbound = Inbound::new();
        let max = Accept::Skipped {
            from: 1,
            to: u64::MAX - 1,
        };
        assert_eq!(inbound.accept(u64::MAX), max);
        assert!(matches!(inbound.accept(u64::MAX), Accept::Gap { .. }));
        assert_eq!(inbound.accept(u64::MAX), Accept::Duplicate);
    }

    #[test]
    fn inbound_heartbeat_reveals_a_skipped_tail() {
        let mut inbound = Inbound::new();
        assert_eq!(inbound.sent_through(0), None);
        assert_eq!(inbound.accept(1), Accept::Deliver);
        assert_eq!(inbound.sent_through(1), None);
        // The last messages never came: fetch them again.
        assert_eq!(
            inbound.sent_through(3),
            Some(Accept::Skipped { from: 2, to: 3 })
        );
        assert_eq!(inbound.after(), 1);
        assert_eq!(inbound.accept(2), Accept::Deliver);
        assert_eq!(inbound.accept(3), Accept::Deliver);
        assert_eq!(inbound.sent_through(3), None);
        // Skipped twice at the same place: lost, and acknowledged like received ones.
        assert_eq!(
            inbound.sent_through(5),
            Some(Accept::Skipped { from: 4, to: 5 })
        );
        assert_eq!(
            inbound.sent_through(5),
            Some(Accept::Gap { from: 4, to: 5 })
        );
        assert_eq!(inbound.after(), 5);
        assert_eq!(inbound.accept(5), Accept::Duplicate);
        assert_eq!(inbound.accept(6), Accept::Deliver);
    }

    #[test]
    fn inbound_gap_frame_ends_a_refetch() {
        let mut inbound = Inbound::new();
        assert_eq!(inbound.accept(1), Accept::Deliver);
        assert_eq!(inbound.accept(4), Accept::Skipped { from: 2, to: 3 });
        // The resume announces them lost, then goes on.
        assert_eq!(inbound.on_gap_frame(2, 3), Some(2..=3));
        assert_eq!(inbound.accept(4), Accept::Deliver);
        // The refetch is over: a skip further on is fetched again, not a gap at once.
        assert_eq!(inbound.accept(6), Accept::Skipped { from: 5, to: 5 });
    }

    #[test]
    fn inbound_gap_frame() {
        let mut inbound = Inbound::new();
        assert_eq!(inbound.accept(1), Accept::Deliver);
        assert_eq!(inbound.on_gap_frame(2, 4), Some(2..=4));
        assert_eq!(inbound.accept(5), Accept::Deliver);
        // Overlapping what was received: only the new part is lost.
        assert_eq!(inbound.on_gap_frame(3, 8), Some(6..=8));
        assert_eq!(inbound.on_gap_frame(2, 8), None);
        assert_eq!(inbound.on_gap_frame(10, 9), None);
        assert_eq!(inbound.after(), 8);
        assert_eq!(inbound.accept(9), Accept::Deliver);
    }

    #[test]
    fn inbound_acks_by_count() {
        let mut inbound = Inbound::new();
        assert_eq!(inbound.ack_due(0.0), None, "nothing to acknowledge");
        assert_eq!(inbound.accept(1), Accept::Deliver);
        assert_eq!(
            inbound.ack_due(0.0),
            Some(1),
            "the first ack is not held back"
        );
        for seq in 2..=64 {
            assert_eq!(inbound.accept(seq), Accept::Deliver);
            assert_eq!(inbound.ack_due(10.0), None);
        }
        assert_eq!(inbound.accept(65), Accept::Deliver);
        assert_eq!(inbound.ack_due(10.0), Some(65));
        assert_eq!(inbound.ack_due(5000.0), None, "already acknowledged");
        // Duplicates do not count.
        for _ in 0..100 {
            assert_eq!(inbound.accept(65), Accept::Duplicate);
        }
        assert_eq!(inbound.ack_due(20.0), None);
    }

    #[test]
    fn inbound_acks_by_time() {
        let mut inbound = Inbound::new();
        assert_eq!(inbound.accept(1), Accept::Deliver);
        assert_eq!(inbound.ack_due(100.0), Some(1));
        assert_eq!(inbound.accept(2), Accept::Deliver);
        assert_eq!(inbound.ack_due(1099.0), None);
        assert_eq!(inbound.ack_due(1100.0), Some(2));
        // A gap frame leaves something to acknowledge too.
        assert_eq!(inbound.on_gap_frame(3, 9), Some(3..=9));
        assert_eq!(inbound.ack_due(2100.0), Some(9));
        // A clock that jumps back does not hold acks back.
        assert_eq!(inbound.accept(10), Accept::Deliver);
        assert_eq!(inbound.ack_due(-5.0), Some(10));
    }

    #[test]
    fn inbound_reset() {
        let mut inbound = Inbound::new();
        assert_eq!(inbound.accept(1), Accept::Deliver);
        assert_eq!(inbound.accept(2), Accept::Deliver);
        inbound.reset();
        assert_eq!(inbound.after(), 0);
        assert_eq!(inbound.ack_due(0.0), None);
        assert_eq!(inbound.accept(1), Accept::Deliver);
    }

    fn unsent(outbox: &Outbox<&'static str>) -> Vec<(u64, &'static str)> {
        outbox.unsent().map(|(seq, item)| (seq, *item)).collect()
    }

    #[test]
    fn outbox_numbers_sends_and_acks() {
        let mut outbox = Outbox::new(10);
        assert!(outbox.is_empty());
        assert_eq!(outbox.push("a"), Ok(1));
        assert_eq!(outbox.push("b"), Ok(2));
        assert_eq!(outbox.push("c"), Ok(3));
        assert_eq!(unsent(&outbox), [(1, "a"), (2, "b"), (3, "c")]);
        outbox.mark_sent(2);
        assert_eq!(unsent(&outbox), [(3, "c")]);
        assert_eq!(outbox.ack(0), Ok(()));
        assert_eq!(outbox.ack(1), Ok(()));
        assert_eq!((outbox.len(), unsent(&outbox)), (2, vec![(3, "c")]));
        // Duplicate and backward acks change nothing.
        assert_eq!(outbox.ack(1), Ok(()));
        assert_eq!(outbox.ack(0), Ok(()));
        assert_eq!(outbox.len(), 2);
        outbox.mark_sent(3);
        assert_eq!(unsent(&outbox), []);
        assert_eq!(outbox.ack(3), Ok(()));
        assert!(outbox.is_empty());
        assert_eq!(outbox.push("d"), Ok(4));
    }

    #[test]
    fn outbox_rejects_acks_beyond_what_was_sent() {
        let mut outbox = Outbox::new(10);
        assert_eq!(outbox.ack(1), Err(AckBeyondSent { ack: 1, sent: 0 }));
        assert_eq!(outbox.push("a"), Ok(1));
        assert_eq!(outbox.push("b"), Ok(2));
        // Pushed is not sent.
        assert_eq!(outbox.ack(1), Err(AckBeyondSent { ack: 1, sent: 0 }));
        outbox.mark_sent(1);
        assert_eq!(outbox.ack(2), Err(AckBeyondSent { ack: 2, sent: 1 }));
        assert_eq!(outbox.len(), 2, "a rejected ack drops nothing");
        assert_eq!(
            outbox.ack(u64::MAX),
            Err(AckBeyondSent {
                ack: u64::MAX,
                sent: 1
            })
        );
        assert_eq!(outbox.ack(1), Ok(()));
        assert_eq!(outbox.len(), 1);
    }

    #[test]
    fn outbox_rewind_resends_everything_unacknowledged() {
        let mut outbox = Outbox::new(10);
        for item in ["a", "b", "c", "d"] {
            assert!(outbox.push(item).is_ok());
        }
        outbox.mark_sent(4);
        assert_eq!(outbox.ack(1), Ok(()));
        outbox.rewind();
        assert_eq!(unsent(&outbox), [(2, "b"), (3, "c"), (4, "d")]);
        // The new connection's open frame acknowledges what the old one delivered: still valid,
        // though this connection has sent nothing yet.
        assert_eq!(outbox.ack(3), Ok(()));
        assert_eq!(unsent(&outbox), [(4, "d")]);
        outbox.mark_sent(4);
        assert_eq!(unsent(&outbox), []);
        // Marking sent never goes backwards nor past the end.
        outbox.mark_sent(2);
        outbox.mark_sent(100);
        assert_eq!(outbox.push("e"), Ok(5));
        assert_eq!(unsent(&outbox), [(5, "e")]);
        assert_eq!(outbox.ack(5), Err(AckBeyondSent { ack: 5, sent: 4 }));
    }

    #[test]
    fn outbox_full_at_exactly_capacity() {
        let mut outbox = Outbox::new(2);
        assert_eq!(outbox.push("a"), Ok(1));
        assert_eq!(outbox.push("b"), Ok(2));
        assert_eq!(outbox.push("c"), Err(QueueFull("c")));
        // Sent but unacknowledged messages still count.
        outbox.mark_sent(2);
        assert_eq!(outbox.push("c"), Err(QueueFull("c")));
        assert_eq!(outbox.ack(1), Ok(()));
        assert_eq!(outbox.push("c"), Ok(3));
        assert_eq!(outbox.push("d"), Err(QueueFull("d")));
        assert_eq!(Outbox::new(0).push("a"), Err(QueueFull("a")));
    }

    /// Acknowledged items leave the vector in bulk (all of them, or the bigger half): the rest
    /// keep their order and numbers whichever way the acks come.
    #[test]
    fn outbox_compacts_without_losing_or_reordering() {
        let mut outbox = Outbox::new(100);
        for item in ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"] {
            assert!(outbox.push(item).is_ok());
        }
        outbox.mark_sent(4);
        assert_eq!(outbox.ack(2), Ok(())); // 2 of 10: kept in place
        assert_eq!(outbox.len(), 8);
        assert_eq!(outbox.ack(6).map_err(|e| e.ack), Err(6), "only 4 were sent");
        assert_eq!(outbox.ack(4), Ok(()));
        outbox.mark_sent(7);
        assert_eq!(outbox.ack(7), Ok(())); // 7 of 10: compacted
        assert_eq!(unsent(&outbox), [(8, "h"), (9, "i"), (10, "j")]);
        assert_eq!(outbox.push("k"), Ok(11));
        outbox.rewind();
        assert_eq!(unsent(&outbox), [(8, "h"), (9, "i"), (10, "j"), (11, "k")]);
        outbox.mark_sent(11);
        assert_eq!(outbox.ack(11), Ok(())); // all: emptied
        assert!(outbox.is_empty());
        assert_eq!(outbox.push("l"), Ok(12));
        assert_eq!(unsent(&outbox), [(12, "l")]);
    }

    #[test]
    fn outbox_reset_renumbers_pending_messages() {
        let mut outbox = Outbox::new(10);
        for item in ["a", "b", "c"] {
            assert!(outbox.push(item).is_ok());
        }
        outbox.mark_sent(3);
        assert_eq!(outbox.ack(1), Ok(()));
        outbox.reset();
        assert_eq!(unsent(&outbox), [(1, "b"), (2, "c")]);
        assert_eq!(outbox.push("d"), Ok(3));
        // The old session's numbers mean nothing to the new one.
        assert_eq!(outbox.ack(2), Err(AckBeyondSent { ack: 2, sent: 0 }));
        outbox.mark_sent(2);
        assert_eq!(outbox.ack(2), Ok(()));
        assert_eq!(unsent(&outbox), [(3, "d")]);
    }
}
