//! The machine as JavaScript drives it: [`Port`], the one class the wasm file exports.
//!
//! `src/js/client.js` tells the machine what happened with `port.i(op, a, b, c, d, e)` (the
//! [`op`] codes), then takes the commands it answers with one by one: `port.next()` gives a
//! command's code ([`cmd`]) and `port.arg(i)` its arguments. Numbers only cross: payloads, URLs,
//! session ids and words stay in JavaScript, and nothing in the wasm file calls into JavaScript
//! but the clock. That keeps the package small and the machine's input and output exactly the
//! calls a native test makes (`src/machine/tests.rs`).

use wasm_bindgen::prelude::*;

use crate::backoff::Backoff;
use crate::error::ErrorCode;
use crate::machine::{Command, Config, Event, Failure, Machine, Order, Prefix, Refusal, Timer, Why};
use crate::options::TransportKind;

/// What JavaScript tells the machine (`port.i(op, ...)`; the same numbers in `src/js/client.js`).
pub(crate) mod op {
    /// `(attempt)`: the attempt's transport connected.
    pub const OPENED: u32 = 0;
    /// `(attempt, bytes)` → deliver?: a raw-protocol message.
    pub const RAW: u32 = 1;
    /// `(attempt, bytes, seq)` → deliver?: a sequenced message or named event.
    pub const MSG: u32 = 2;
    /// `(attempt, bytes, same session, ack, heartbeat ms)`: an open frame.
    pub const OPEN: u32 = 3;
    /// `(attempt, bytes, ack)`: an acknowledgement of upstream messages.
    pub const ACK: u32 = 4;
    /// `(attempt, bytes, highest seq sent or -1)`: a heartbeat.
    pub const BEAT: u32 = 5;
    /// `(attempt, bytes, from, to)`: messages the server lost.
    pub const GAP: u32 = 6;
    /// `(attempt, bytes)`: the server recycles the response.
    pub const RECYCLE: u32 = 7;
    /// `(attempt, bytes, text)`: the server refused the connection.
    pub const REFUSED: u32 = 8;
    /// `(attempt, bytes, text)`: the server ended the session.
    pub const ENDED: u32 = 9;
    /// `(attempt, bytes, text)`: a frame that cannot be read.
    pub const BAD: u32 = 10;
    /// `(attempt, bytes)`: something else arrived.
    pub const RX: u32 = 11;
    /// `(attempt, text, retry-after ms, HTTP error?)`: the transport ended or failed.
    pub const CLOSED: u32 = 12;
    /// `(slot)`: a timer fired.
    pub const TIMER: u32 = 13;
    /// The page became visible or came online.
    pub const WAKE: u32 = 14;
    /// The POST in flight was answered 2xx.
    pub const POSTED: u32 = 15;
    /// `(0, text, retry-after ms, ended the session?)`: the POST in flight failed.
    pub const POST_FAILED: u32 = 16;
    /// `(probe)`: the upgrade probe reached the session.
    pub const PROBE_OK: u32 = 17;
    /// `(probe)`: the upgrade probe failed.
    pub const PROBE_FAILED: u32 = 18;
    /// → the resume point (the last server sequence number received).
    pub const AFTER: u32 = 19;
    /// `(0, size, bytes)` → 0, or the refusal: 1 closed, 2 nowhere to send, 3 too large, 4 full.
    pub const SEND: u32 = 20;
    /// `connect()`.
    pub const CONNECT: u32 = 21;
    /// The constructor's connect (deferred to a task).
    pub const AUTO: u32 = 22;
    /// `(code, dropped?)`: `close()`, or `free()`.
    pub const CLOSE: u32 = 23;
    /// `(what)` → 0 the state, 1 the open transport (-1: none), 2.. 8 the statistics.
    pub const READ: u32 = 24;
}

/// What the machine asks of JavaScript (`port.next()`, with `port.arg(0..)`).
pub(crate) mod cmd {
    /// `(attempt, kind)`.
    pub const OPEN: i32 = 0;
    pub const RELEASE: i32 = 1;
    /// `(probe, kind)`.
    pub const PROBE: i32 = 2;
    pub const RELEASE_PROBE: i32 = 3;
    /// `(slot, ms or -1 to disarm)`.
    pub const TIMER: i32 = 4;
    /// `(ack or -1, from, count, first)`.
    pub const SEND: i32 = 5;
    /// `(ack or -1, from, count, first)`.
    pub const POST: i32 = 6;
    pub const ABORT_POST: i32 = 7;
    /// `(count)`.
    pub const ACKED: i32 = 8;
    pub const NEW_SESSION: i32 = 9;
    /// `(on)`.
    pub const PAGE: i32 = 10;
    /// `(kind, x, y, z, why, why a, why b, prefix, prefix a)`.
    pub const EVENT: i32 = 11;
}

/// One client's state machine, for `src/js/client.js`. Made fresh, then [configured](Port::configure)
/// with the checked options.
#[wasm_bindgen(skip_typescript)]
#[derive(Debug)]
pub struct Port {
    machine: Machine,
    args: [f64; 9],
}

impl Default for Port {
    fn default() -> Port {
        Port::new()
    }
}

/// A whole number JavaScript sent (`as` saturates; NaN is 0).
fn whole(n: f64) -> u64 {
    n as u64
}

fn kind(kind: TransportKind) -> f64 {
    f64::from(kind as u32)
}

#[wasm_bindgen]
impl Port {
    /// An unconfigured machine (a client with no transport, closed).
    #[wasm_bindgen(constructor)]
    pub fn new() -> Port {
        Port {
            machine: Machine::new(Config::default(), now, 1),
            args: [0.0; 9],
        }
    }

    /// The transports this build carries, a bit each (`TransportKind as u32`).
    pub fn built(&self) -> u32 {
        TransportKind::ALL
            .into_iter()
            .filter(|kind| kind.is_built())
            .fold(0, |bits, kind| bits | 1 << kind as u32)
    }

    /// Sets the options. `flags`: raw protocol 1, upgrade 2, reconnect 4, a limit of attempts 8,
    /// `sendUrl` given 16; `order`: the transports, three bits each from the lowest, kind + 1.
    #[allow(clippy::too_many_arguments)]
    pub fn configure(
        &mut self,
        flags: u32,
        connect_timeout_ms: u32,
        poll_interval_ms: u32,
        long_poll_timeout_ms: u32,
        heartbeat_timeout_ms: u32,
        max_queued: u32,
        initial_delay_ms: u32,
        max_delay_ms: u32,
        max_attempts: u32,
        order: u32,
        seed: f64,
    ) {
        let mut kinds = [TransportKind::WebSocket; 6];
        let mut count = 0;
        let mut rest = order;
        while rest & 7 != 0 && count < 6 {
            kinds[count] = TransportKind::ALL[((rest & 7) as usize - 1).min(5)];
            count += 1;
            rest >>= 3;
        }
        let on = |bit: u32| flags & bit != 0;
        let cfg = Config {
            transports: Order::new(&kinds[..count]),
            raw: on(1),
            connect_timeout_ms,
            poll_interval_ms,
            long_poll_timeout_ms,
            heartbeat_timeout_ms,
            backoff: on(4).then_some(Backoff {
                initial_delay_ms,
                max_delay_ms,
                max_attempts: on(8).then_some(max_attempts),
            }),
            upgrade: on(2),
            max_queued,
            send_url: on(16),
        };
        self.machine = Machine::new(cfg, now, seed as u64);
    }

    /// Tells the machine what happened (`op` with its arguments, see [`op`]); returns its answer:
    /// whether to deliver a message, a refusal, the resume point, a reading.
    pub fn i(&mut self, op: u32, a: u32, b: u32, c: f64, d: f64, e: f64) -> f64 {
        let m = &mut self.machine;
        let text = Why::Text(c as u32);
        let yes = |answer: bool| f64::from(u8::from(answer));
        match op {
            op::OPENED => m.transport_opened(a),
            op::RAW => return yes(m.raw_message(a, b)),
            op::MSG => return yes(m.message(a, b, whole(c))),
            op::OPEN => m.open_frame(a, b, c != 0.0, whole(d), whole(e)),
            op::ACK => m.ack_frame(a, b, whole(c)),
            op::BEAT => m.heartbeat(a, b, (c >= 0.0).then(|| whole(c))),
            op::GAP => m.gap(a, b, whole(c), whole(d)),
            op::RECYCLE => m.recycle(a, b),
            op::REFUSED => m.refused(a, b, text),
            op::ENDED => m.ended(a, b, text),
            op::BAD => m.malformed(a, b, text),
            op::RX => m.received(a, b),
            op::CLOSED => {
                let failure = Failure {
                    why: Why::Text(b),
                    retry_after_ms: c as u32,
                    code: (d != 0.0).then_some(ErrorCode::Http),
                };
                m.transport_failed(a, failure);
            }
            op::TIMER => {
                if let Some(&timer) = Timer::ALL.get(a as usize) {
                    m.timer(timer);
                }
            }
            op::WAKE => m.wake(),
            op::POSTED => m.upload_done(),
            op::POST_FAILED => m.upload_failed(Why::Text(b), c as u32, d != 0.0),
            op::PROBE_OK => m.probe_succeeded(a),
            op::PROBE_FAILED => m.probe_failed(a),
            op::AFTER => return m.after() as f64,
            op::SEND => {
                return match m.enqueue(b, whole(c)) {
                    Ok(()) => 0.0,
                    Err(Refusal::Closed) => 1.0,
                    Err(Refusal::NowhereToSend) => 2.0,
                    Err(Refusal::TooLarge(_)) => 3.0,
                    Err(Refusal::QueueFull) => 4.0,
                }
            }
            op::CONNECT => m.connect(),
            op::AUTO => m.auto_connect(),
            op::CLOSE => m.close(a as u16, if b != 0 { Why::Dropped } else { Why::User }),
            op::READ => {
                let s = m.stats();
                return match a {
                    0 => f64::from(m.state() as u32),
                    1 => m.transport().map_or(-1.0, kind),
                    2 => s.messages_in as f64,
                    3 => s.messages_out as f64,
                    4 => s.bytes_in as f64,
                    5 => s.bytes_out as f64,
                    6 => s.reconnects as f64,
                    7 => s.fallbacks as f64,
                    _ => s.upgrades as f64,
                };
            }
            _ => {}
        }
        0.0
    }

    /// The next command's code ([`cmd`]; its arguments by [`Port::arg`]), or -1 when there is
    /// nothing left to do.
    pub fn next(&mut self) -> i32 {
        let Some(command) = self.machine.next() else {
            return -1;
        };
        let (code, args) = encode(command);
        self.args = args;
        code
    }

    /// Argument `i` of the command [`Port::next`] gave last.
    pub fn arg(&self, i: usize) -> f64 {
        self.args.get(i).copied().unwrap_or(0.0)
    }
}

/// The clock: wall-clock milliseconds (`Instant::now` panics on wasm32; deadlines must survive
/// timers throttled in background tabs, so they are judged by the clock, not by timer ticks).
fn now() -> f64 {
    js_sys::Date::now()
}

/// A command as JavaScript gets it: its code and up to nine numbers.
fn encode(command: Command) -> (i32, [f64; 9]) {
    let mut a = [0.0; 9];
    let code = match command {
        Command::Open { attempt, kind: k } => {
            a[..2].copy_from_slice(&[attempt.into(), kind(k)]);
            cmd::OPEN
        }
        Command::Release => cmd::RELEASE,
        Command::Probe { id, kind: k } => {
            a[..2].copy_from_slice(&[id.into(), kind(k)]);
            cmd::PROBE
        }
        Command::ReleaseProbe => cmd::RELEASE_PROBE,
        Command::Arm(timer, ms) => {
            a[..2].copy_from_slice(&[f64::from(timer as u32), ms.into()]);
            cmd::TIMER
        }
        Command::Disarm(timer) => {
            a[..2].copy_from_slice(&[f64::from(timer as u32), -1.0]);
            cmd::TIMER
        }
        Command::Send {
            ack,
            from,
            count,
            first,
        }
        | Command::Post {
            ack,
            from,
            count,
            first,
        } => {
            a[..4].copy_from_slice(&[
                ack.map_or(-1.0, |ack| ack as f64),
                from.into(),
                count.into(),
                first as f64,
            ]);
            if matches!(command, Command::Send { .. }) {
                cmd::SEND
            } else {
                cmd::POST
            }
        }
        Command::AbortPost => cmd::ABORT_POST,
        Command::Acked(count) => {
            a[0] = count.into();
            cmd::ACKED
        }
        Command::NewSession => cmd::NEW_SESSION,
        Command::WatchPage(on) => {
            a[0] = f64::from(u8::from(on));
            cmd::PAGE
        }
        Command::Emit(event) => {
            encode_event(event, &mut a);
            cmd::EVENT
        }
        // Resolved by `Machine::next`; never returned.
        Command::Flush => -1,
    };
    (code, a)
}

/// An event's numbers: `[kind, x, y, z, why, why a, why b, prefix, prefix a]` (the order of
/// `event` in `src/js/client.js`).
fn encode_event(event: Event, a: &mut [f64; 9]) {
    let mut reason = None;
    let numbers = match event {
        Event::Open { kind: k, .. } => [0.0, kind(k), 0.0, 0.0],
        Event::State { from, to } => [1.0, f64::from(from as u32), f64::from(to as u32), 0.0],
        Event::Transport { from, to, why } => {
            reason = Some(why.into());
            [2.0, from.map_or(-1.0, kind), kind(to), 0.0]
        }
        Event::Reconnecting {
            attempt,
            delay_ms,
            transport,
        } => [3.0, attempt.into(), delay_ms.into(), kind(transport)],
        Event::Error { code, reason: r } => {
            reason = Some(r);
            [4.0, f64::from(code as u32), 0.0, 0.0]
        }
        Event::Close {
            code,
            clean,
            reason: r,
        } => {
            reason = Some(r);
            [5.0, code.into(), f64::from(u8::from(clean)), 0.0]
        }
    };
    a[..4].copy_from_slice(&numbers);
    let Some(reason) = reason else { return };
    let (why, x, y) = match reason.why {
        Why::Text(n) => (0, f64::from(n), 0.0),
        Why::ConnectTimeout(k, ms) => (1, kind(k), f64::from(ms)),
        Why::Silent(k, ms) => (2, kind(k), ms as f64),
        Why::AckBeyondSent => (3, 0.0, 0.0),
        Why::Skipped(from, to) => (4, from as f64, to as f64),
        Why::Lost(from, to) => (5, from as f64, to as f64),
        Why::SeqBack(seq) => (6, seq as f64, 0.0),
        Why::Replaced => (7, 0.0, 0.0),
        Why::Demoted(k) => (8, kind(k), 0.0),
        Why::Upgrade(k) => (9, kind(k), 0.0),
        Why::NewSessionRefused => (10, 0.0, 0.0),
        Why::User => (11, 0.0, 0.0),
        Why::Dropped => (12, 0.0, 0.0),
    };
    let (prefix, p) = match reason.prefix {
        Prefix::None => (0.0, 0.0),
        Prefix::NoTransport(k) => (1.0, kind(k)),
        Prefix::GaveUp(n) => (2.0, n.into()),
        Prefix::Upload => (3.0, 0.0),
    };
    a[4..].copy_from_slice(&[f64::from(why), x, y, prefix, p]);
}
