//! What the machine asks of the world: commands for the driver, events for the listeners, and the
//! reasons those events give. Numbers only: payloads, URLs, session ids and the words of every
//! message stay on the JavaScript side (`src/js/driver.js`), which is where they are used.

use crate::error::ErrorCode;
use crate::event::ClientState;
use crate::options::TransportKind;

/// The driver's timers, one timeout each. Arming one that is armed replaces it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Timer {
    /// The wait before the next connection attempt (also the constructor's deferred connect).
    Retry,
    /// An opening transport's deadline (`connectTimeoutMs`).
    Connect,
    /// The idle acknowledgement of downstream messages.
    Ack,
    /// The pause before retrying a failed upstream POST.
    UploadRetry,
    /// When to look whether the open transport has gone silent.
    Liveness,
    /// When to start the next upgrade probe.
    Probe,
    /// An upgrade probe's deadline.
    ProbeTimeout,
}

impl Timer {
    /// Every timer, in slot order (the driver keeps them in an array by this index).
    pub(crate) const ALL: [Timer; 7] = [
        Timer::Retry,
        Timer::Connect,
        Timer::Ack,
        Timer::UploadRetry,
        Timer::Liveness,
        Timer::Probe,
        Timer::ProbeTimeout,
    ];

    /// The bit of this timer in the machine's set of armed timers.
    pub(crate) fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// Why something happened: a code the driver turns into words (`reason` in `src/js/client.js`,
/// in the order of the constructors below) and the numbers those words need. One shape for every
/// reason, so handing one to the driver is copying three numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Why {
    pub code: u8,
    pub a: u64,
    pub b: u64,
}

impl Why {
    const fn of(code: u8, a: u64, b: u64) -> Why {
        Why { code, a, b }
    }

    /// A text the driver reported with a failure (its number among the driver's recent texts):
    /// a closed socket, an HTTP status, a malformed frame, a refusal by the server.
    pub(crate) const fn text(number: u32) -> Why {
        Why::of(0, number as u64, 0)
    }

    /// The transport did not open within `ms`.
    pub(crate) const fn connect_timeout(kind: TransportKind, ms: u32) -> Why {
        Why::of(1, kind as u64, ms as u64)
    }

    /// The transport was silent for `ms` (the heartbeat deadline).
    pub(crate) const fn silent(kind: TransportKind, ms: u64) -> Why {
        Why::of(2, kind as u64, ms)
    }

    /// The server acknowledged upstream messages never sent.
    pub(crate) const ACK_BEYOND_SENT: Why = Why::of(3, 0, 0);

    /// Server messages `from..=to` were left out of the connection; they are fetched again.
    pub(crate) const fn skipped(from: u64, to: u64) -> Why {
        Why::of(4, from, to)
    }

    /// Server messages `from..=to` are lost for good.
    pub(crate) const fn lost(from: u64, to: u64) -> Why {
        Why::of(5, from, to)
    }

    /// The sequence went back to `seq` on one connection.
    pub(crate) const fn seq_back(seq: u64) -> Why {
        Why::of(6, seq, 0)
    }

    /// The server replaced the session with a new one.
    pub(crate) const REPLACED: Why = Why::of(7, 0, 0);

    /// The transport dropped [`super::DEMOTE_AFTER`] times in a row before delivering anything.
    pub(crate) const fn demoted(kind: TransportKind) -> Why {
        Why::of(8, kind as u64, 0)
    }

    /// An upgrade probe of the transport succeeded.
    pub(crate) const fn upgrade(kind: TransportKind) -> Why {
        Why::of(9, kind as u64, 0)
    }

    /// The server refused to start a new session.
    pub(crate) const NEW_SESSION_REFUSED: Why = Why::of(10, 0, 0);

    /// The user closed the client (the driver keeps the reason given to `close`).
    pub(crate) const USER: Why = Why::of(11, 0, 0);

    /// The client was freed (or the Rust value owning it dropped).
    pub(crate) const DROPPED: Why = Why::of(12, 0, 0);
}

/// Words put before a [`Why`] when it is the cause of something bigger: a code (`reason` in
/// `src/js/client.js`) and a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Prefix {
    pub code: u8,
    pub a: u32,
}

impl Prefix {
    /// The reason alone.
    pub(crate) const NONE: Prefix = Prefix { code: 0, a: 0 };
    /// `no transport could connect (last: KIND: ...)`.
    pub(crate) const fn no_transport(kind: TransportKind) -> Prefix {
        Prefix {
            code: 1,
            a: kind as u32,
        }
    }
    /// `gave up after N attempts: ...`.
    pub(crate) const fn gave_up(attempts: u32) -> Prefix {
        Prefix {
            code: 2,
            a: attempts,
        }
    }
    /// `upstream POST failed: ...`.
    pub(crate) const UPLOAD: Prefix = Prefix { code: 3, a: 0 };
}

/// A reason with its prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Reason {
    pub prefix: Prefix,
    pub why: Why,
}

impl From<Why> for Reason {
    fn from(why: Why) -> Reason {
        Reason {
            prefix: Prefix::NONE,
            why,
        }
    }
}

/// An event for the listeners (messages are not among them: the driver delivers those itself
/// when the machine says so, see [`super::Machine::message`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// A transport opened (`attempt`: the event is dropped if that attempt is over by then).
    Open { kind: TransportKind, attempt: u32 },
    /// The lifecycle state changed.
    State { from: ClientState, to: ClientState },
    /// A move to another transport.
    Transport {
        from: Option<TransportKind>,
        to: TransportKind,
        why: Why,
    },
    /// A reconnection attempt is scheduled.
    Reconnecting {
        attempt: u32,
        delay_ms: u32,
        transport: TransportKind,
    },
    /// Something went wrong; the client goes on.
    Error { code: ErrorCode, reason: Reason },
    /// The client stopped for good.
    Close {
        code: u16,
        clean: bool,
        reason: Reason,
    },
}

/// What the driver is asked to do, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Command {
    /// Open a transport of `kind` for `attempt`, replacing the current one. Its requests resume
    /// the session the driver holds after [`super::Machine::after`].
    Open { attempt: u32, kind: TransportKind },
    /// Release the current transport: no event of it may reach the machine any more.
    Release,
    /// Open upgrade probe `id` of `kind`.
    Probe { id: u32, kind: TransportKind },
    /// Release the upgrade probe.
    ReleaseProbe,
    /// Arm a timer for `ms` milliseconds (replacing it if armed).
    Arm(Timer, u32),
    /// Disarm a timer.
    Disarm(Timer),
    /// Hand outbox items `from..from + count` (positions in the driver's queue), numbered from
    /// `first`, to the duplex transport; an acknowledgement of server messages up to `ack` first.
    /// Raw protocol: the items go as they are, and leave the queue once handed over.
    Send {
        ack: Option<u64>,
        from: u32,
        count: u32,
        first: u64,
    },
    /// The same by one HTTP POST (raw protocol: one item, to `sendUrl`). Its answer is reported
    /// with [`super::Machine::upload_done`] or [`super::Machine::upload_failed`].
    Post {
        ack: Option<u64>,
        from: u32,
        count: u32,
        first: u64,
    },
    /// Abort the POST in flight.
    AbortPost,
    /// The server acknowledged the first `n` items of the queue: forget them.
    Acked(u32),
    /// The session is over: forget its id and token (the next connection starts a new one).
    NewSession,
    /// Start or stop listening for the page becoming visible and the network coming back.
    WatchPage(bool),
    /// Tell the listeners.
    Emit(Event),
    /// Hand what is unsent to the transport: resolved by the machine itself when it is next
    /// (so what goes out is decided with the state of that moment); never reaches the driver.
    Flush,
}
