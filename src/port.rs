//! The machine as JavaScript drives it: three functions the wasm file exports, over the
//! machines of a page's clients ([`Port`]s, by number).
//!
//! `src/js/client.js` makes a machine with `rt_new()`, tells it what happened with
//! `rt_i(port, op, a, b, c, d, e)` (the [`op`] codes), takes the commands it answers with one by
//! one (`rt_i(port, NEXT)` gives a command's code, [`cmd`], and `rt_i(port, ARG, k)` its
//! arguments), and frees it with `rt_free(port)`. Everything goes through one function of
//! numbers: wasm-bindgen's glue for an exported class or method costs tens of bytes per
//! parameter, and the class's own bookkeeping (a borrow flag, a finalizer, error strings) more.
//! Numbers only cross: payloads, URLs, session ids and words stay in JavaScript, and nothing in
//! the wasm file calls into JavaScript but the clock. That keeps the package small and the
//! machine's input and output exactly the calls a native test makes (`src/machine/tests.rs`).
//!
//! JavaScript calls the raw exports (`exports.rt_i(...)`): the package's class finds them in the
//! glue it is inlined into, Rust code passes [`wasm_bindgen::exports`].

use std::sync::{Mutex, MutexGuard, PoisonError};

use wasm_bindgen::prelude::*;

use crate::backoff::Backoff;
use crate::error::ErrorCode;
use crate::machine::{
    Command, Config, Event, Failure, Machine, Order, Reason, Refusal, Timer, Why,
};
use crate::options::TransportKind;

/// What JavaScript tells the machine (`port.i(op, ...)`; the same numbers in `src/js/client.js`).
pub(crate) mod op {
    /// `(attempt)`: the attempt's transport connected.
    pub const OPENED: u32 = 0;
    /// `(attempt, bytes)` → 1 to deliver a raw-protocol message, plus 2 if commands wait.
    pub const RAW: u32 = 1;
    /// `(attempt, bytes, seq)` → 1 to deliver a sequenced message or named event, plus 2 if
    /// commands wait (the driver asks for them only then: one call per message).
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
    /// `(what)` → 0 the state, 1 the open transport (-1: none), 2.. 8 the statistics, 9 the
    /// transports this build carries (a bit each, `TransportKind as u32`).
    pub const READ: u32 = 24;
    /// → the next command's code ([`super::cmd`]), or -1 when there is nothing left to do.
    pub const NEXT: u32 = 25;
    /// `(k)` → argument `k` of the command `NEXT` gave last.
    pub const ARG: u32 = 26;
    /// `(flags, order, connect timeout, poll interval, long-poll timeout)`, then
    /// `CONFIGURE_MORE`: the options of a client that has not connected. `flags`: raw protocol
    /// 1, upgrade 2, reconnect 4, a limit of attempts 8, `sendUrl` given 16; `order`: the
    /// transports, three bits each from the lowest, kind + 1.
    pub const CONFIGURE: u32 = 27;
    /// `(max queued, max attempts, heartbeat timeout, initial delay, max delay)`; then `SEED`.
    pub const CONFIGURE_MORE: u32 = 28;
    /// `(0, 0, seed)`: seeds the jitter and puts the options set before into effect.
    pub const SEED: u32 = 29;
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

/// One client's state machine, for `src/js/client.js`. Made fresh, then configured with the
/// checked options ([`op::CONFIGURE`], [`op::CONFIGURE_MORE`], [`op::SEED`]).
#[derive(Debug)]
pub(crate) struct Port {
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

/// The transports this build carries, a bit each (`TransportKind as u32`).
const BUILT: u32 = {
    let mut bits = 0;
    let mut i = 0;
    while i < TransportKind::ALL.len() {
        if TransportKind::ALL[i].is_built() {
            bits |= 1 << i;
        }
        i += 1;
    }
    bits
};

/// The page's machines, by number; `None`: freed, the number free for the next one. A page's
/// wasm runs on one thread: the lock is a flag (and a `thread_local!` would cost every call an
/// indirect call and its arguments on the stack). Nothing here calls back into the exports, so it
/// is never taken twice.
static PORTS: Mutex<Vec<Option<Port>>> = Mutex::new(Vec::new());

fn ports() -> MutexGuard<'static, Vec<Option<Port>>> {
    // Panics abort, so the lock is never poisoned; taking it over anyway is the safe reading.
    PORTS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A new machine (unconfigured: a client with no transport, closed); returns its number.
#[wasm_bindgen(skip_typescript)]
pub fn rt_new() -> u32 {
    let mut ports = ports();
    let free = ports.iter().position(Option::is_none);
    let index = free.unwrap_or(ports.len());
    if free.is_none() {
        ports.push(None);
    }
    ports[index] = Some(Port::new());
    index as u32
}

/// Reports `op` with its arguments to machine `port` (see [`Port::i`]); 0 for a machine that is
/// not there (freed).
#[wasm_bindgen(skip_typescript)]
pub fn rt_i(port: u32, op: u32, a: u32, b: u32, c: f64, d: f64, e: f64) -> f64 {
    match ports().get_mut(port as usize) {
        Some(Some(machine)) => machine.i(op, a, b, c, d, e),
        _ => 0.0,
    }
}

/// Frees machine `port` (its number may be given to the next one).
#[wasm_bindgen(skip_typescript)]
pub fn rt_free(port: u32) {
    if let Some(slot) = ports().get_mut(port as usize) {
        *slot = None;
    }
}

impl Port {
    /// An unconfigured machine (a client with no transport, closed).
    pub(crate) fn new() -> Port {
        Port {
            machine: Machine::new(Config::default(), 1),
            args: [0.0; 9],
        }
    }

    /// Tells the machine what happened (`op` with its arguments, see [`op`]); returns its answer:
    /// whether to deliver a message, a refusal, the resume point, a reading, a command.
    pub(crate) fn i(&mut self, op: u32, a: u32, b: u32, c: f64, d: f64, e: f64) -> f64 {
        let m = &mut self.machine;
        let text = Why::text(c as u32);
        match op {
            op::OPENED => m.transport_opened(a),
            op::RAW | op::MSG => {
                let deliver = if op == op::RAW {
                    m.raw_message(a, b)
                } else {
                    m.message(a, b, whole(c))
                };
                return f64::from(u8::from(deliver) | u8::from(m.pending()) << 1);
            }
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
                    why: Why::text(b),
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
            op::POST_FAILED => m.upload_failed(Why::text(b), c as u32, d != 0.0),
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
            op::CLOSE => m.close(a as u16, if b != 0 { Why::DROPPED } else { Why::USER }),
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
                    8 => s.upgrades as f64,
                    _ => BUILT.into(),
                };
            }
            op::NEXT => {
                let Some(command) = m.next() else {
                    return -1.0;
                };
                let (code, args) = encode(command);
                self.args = args;
                return code.into();
            }
            op::ARG => return self.args.get(a as usize).copied().unwrap_or(0.0),
            op::CONFIGURE => {
                let mut kinds = [TransportKind::WebSocket; 6];
                let mut count = 0;
                let mut order = b;
                while order & 7 != 0 && count < 6 {
                    kinds[count] = TransportKind::ALL[((order & 7) as usize - 1).min(5)];
                    count += 1;
                    order >>= 3;
                }
                let cfg = m.config();
                cfg.transports = Order::new(&kinds[..count]);
                cfg.raw = a & 1 != 0;
                cfg.upgrade = a & 2 != 0;
                cfg.send_url = a & 16 != 0;
                // The backoff is filled in by CONFIGURE_MORE; `None`: no reconnection.
                cfg.backoff = (a & 4 != 0).then_some(Backoff {
                    initial_delay_ms: 0,
                    max_delay_ms: 0,
                    max_attempts: (a & 8 != 0).then_some(0),
                });
                cfg.connect_timeout_ms = c as u32;
                cfg.poll_interval_ms = d as u32;
                cfg.long_poll_timeout_ms = e as u32;
            }
            op::CONFIGURE_MORE => {
                let cfg = m.config();
                cfg.max_queued = a;
                cfg.heartbeat_timeout_ms = c as u32;
                if let Some(backoff) = &mut cfg.backoff {
                    backoff.initial_delay_ms = d as u32;
                    backoff.max_delay_ms = e as u32;
                    if let Some(max) = &mut backoff.max_attempts {
                        *max = b;
                    }
                }
            }
            op::SEED => m.seed(whole(c)),
            _ => {}
        }
        0.0
    }
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
    let Some(Reason { prefix, why }) = reason else {
        return;
    };
    a[4..].copy_from_slice(&[
        why.code.into(),
        why.a as f64,
        why.b as f64,
        prefix.code.into(),
        prefix.a.into(),
    ]);
}
