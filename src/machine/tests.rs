//! Native tests of the machine, driven by [`Sim`], a simulated driver.
//!
//! `Sim` plays the part of `src/js/client.js`: after every input it drains [`Machine::next`] and
//! performs each command on a model of what the driver holds: the armed timers (with their
//! delays), the transport and its attempt, the upgrade probe, the payload queue (each payload is
//! a number, in the order it was enqueued), the POST in flight, and the wire (every payload handed
//! to a transport, with the number it went out with). After every drain it checks that the model
//! agrees with the machine's own bookkeeping. Time is a thread-local fake clock.

use std::collections::VecDeque;

use super::*;

// ---- the simulated driver ----

fn clock() -> f64 {
    super::clock::now()
}

fn set_now(ms: f64) {
    super::clock::set(ms);
}

fn advance(ms: u32) {
    set_now(clock() + f64::from(ms));
}

const WS: TransportKind = TransportKind::WebSocket;
const ES: TransportKind = TransportKind::EventSource;
const LP: TransportKind = TransportKind::LongPolling;
const POLL: TransportKind = TransportKind::Polling;

use ClientState::{Closed, Connecting, Reconnecting};
/// `Open` alone would be ambiguous beside `Command::Open` and `Event::Open`.
const OPEN: ClientState = ClientState::Open;

const CONNECT_MS: u32 = 10_000;
const HEARTBEAT_MS: u32 = 40_000;
/// The liveness timer with the default silence limit (looked at every half limit).
const LIVENESS_MS: u32 = HEARTBEAT_MS / 2 + 1;
/// `Backoff::default().initial_delay_ms`.
const INITIAL_MS: u32 = 500;

/// A session-protocol client with the default backoff and upgrades on.
fn cfg(kinds: &[TransportKind]) -> Config {
    Config {
        transports: Order::new(kinds),
        raw: false,
        connect_timeout_ms: CONNECT_MS,
        poll_interval_ms: 2_000,
        long_poll_timeout_ms: 25_000,
        heartbeat_timeout_ms: HEARTBEAT_MS,
        backoff: Some(Backoff::default()),
        upgrade: true,
        max_queued: 1_000,
        send_url: false,
    }
}

/// A raw-protocol client.
fn raw_cfg(kinds: &[TransportKind], send_url: bool) -> Config {
    Config {
        raw: true,
        send_url,
        ..cfg(kinds)
    }
}

/// A raw client of WebSocket then long polling whose WebSocket failed, on long polling with
/// payload 1 in a POST in flight. The queue is checked by what goes out, not by the helper.
fn raw_post_in_flight_over_long_polling() -> Sim {
    let mut sim = Sim::new(raw_cfg(&[WS, LP], true));
    sim.check_queue = false;
    sim.connect();
    sim.fail(1);
    sim.transport_opened();
    sim.enqueue(1).unwrap();
    assert_eq!(sim.post, Some(vec![1]));
    sim
}

/// What `src/js/client.js` holds, as far as the machine's commands shape it.
struct Sim {
    m: Machine,
    /// Armed timers and their delays, by [`Timer`] slot.
    timers: [Option<u32>; 7],
    /// The transport held: its attempt and kind.
    transport: Option<(u32, TransportKind)>,
    /// The upgrade probe held: its id and kind.
    probe: Option<(u32, TransportKind)>,
    watching: bool,
    /// The payload queue (payloads are numbered from 1 in the order they were enqueued).
    queue: VecDeque<u32>,
    enqueued: u32,
    /// The payloads of the POST in flight.
    post: Option<Vec<u32>>,
    /// Every payload handed to a transport, with its number.
    wire: Vec<(u32, u64)>,
    /// Every downstream acknowledgement sent.
    acks: Vec<u64>,
    new_sessions: u32,
    /// Every command performed, and those of the last drain.
    log: Vec<Command>,
    last: Vec<Command>,
    /// Whether to check after each drain that the queue and the outbox have the same length.
    check_queue: bool,
}

impl Sim {
    fn new(cfg: Config) -> Sim {
        Sim::seeded(cfg, 0x5eed)
    }

    fn seeded(cfg: Config, seed: u64) -> Sim {
        Sim {
            m: Machine::new(cfg, seed),
            timers: [None; 7],
            transport: None,
            probe: None,
            watching: false,
            queue: VecDeque::new(),
            enqueued: 0,
            post: None,
            wire: Vec::new(),
            acks: Vec::new(),
            new_sessions: 0,
            log: Vec::new(),
            last: Vec::new(),
            check_queue: true,
        }
    }

    /// Performs the machine's commands until there are none; returns them.
    fn drain(&mut self) -> Vec<Command> {
        let mut batch = Vec::new();
        while let Some(command) = self.m.next() {
            self.perform(command);
            batch.push(command);
        }
        self.check();
        self.log.extend_from_slice(&batch);
        self.last.clone_from(&batch);
        batch
    }

    fn perform(&mut self, command: Command) {
        match command {
            Command::Open { attempt, kind } => self.transport = Some((attempt, kind)),
            Command::Release => self.transport = None,
            Command::Probe { id, kind } => self.probe = Some((id, kind)),
            Command::ReleaseProbe => self.probe = None,
            Command::Arm(timer, ms) => self.timers[timer as usize] = Some(ms),
            Command::Disarm(timer) => {
                assert!(
                    self.timers[timer as usize].take().is_some(),
                    "{timer:?} disarmed but not armed"
                );
            }
            Command::Send {
                ack,
                from,
                count,
                first,
            } => {
                let kind = self.transport.map(|(_, kind)| kind);
                assert_eq!(kind, Some(WS), "Send without a WebSocket");
                self.out(ack, from, count, first);
                // As the driver does: raw items leave the queue once handed over.
                if self.m.cfg.raw {
                    self.queue.drain(..count as usize);
                }
            }
            Command::Post {
                ack,
                from,
                count,
                first,
            } => {
                assert!(self.post.is_none(), "a second POST while one is in flight");
                let kind = self.transport.map(|(_, kind)| kind);
                assert!(kind.is_some_and(|k| !k.is_duplex()), "Post over {kind:?}");
                let items = self.out(ack, from, count, first);
                self.post = Some(items);
            }
            Command::AbortPost => self.post = None,
            Command::Acked(count) => {
                assert!(
                    count as usize <= self.queue.len(),
                    "Acked({count}) too many"
                );
                self.queue.drain(..count as usize);
            }
            Command::NewSession => self.new_sessions += 1,
            Command::WatchPage(on) => self.watching = on,
            Command::Emit(_) => {}
            Command::Flush => panic!("Flush reached the driver"),
        }
    }

    /// Hands queue items `from..from + count` to the wire; returns them.
    fn out(&mut self, ack: Option<u64>, from: u32, count: u32, first: u64) -> Vec<u32> {
        let (from, count) = (from as usize, count as usize);
        assert!(
            from + count <= self.queue.len(),
            "items {from}..{} of a queue of {}",
            from + count,
            self.queue.len()
        );
        self.acks.extend(ack);
        let items: Vec<u32> = self.queue.range(from..from + count).copied().collect();
        self.wire
            .extend(items.iter().zip(first..).map(|(&item, seq)| (item, seq)));
        items
    }

    /// The model and the machine agree.
    fn check(&self) {
        for timer in Timer::ALL {
            assert_eq!(
                self.timers[timer as usize].is_some(),
                self.m.armed(timer),
                "{timer:?}: armed for the driver and for the machine"
            );
        }
        assert_eq!(self.transport.is_some(), self.m.transport, "transport held");
        assert_eq!(
            self.post.is_some(),
            self.m.upload.is_some(),
            "POST in flight"
        );
        if self.check_queue {
            assert_eq!(self.queue.len(), self.m.outbox.len(), "queue and outbox");
        }
    }

    // ---- reading the model ----

    /// The attempt of the transport held.
    fn attempt(&self) -> u32 {
        self.transport.expect("no transport is held").0
    }

    fn kind(&self) -> Option<TransportKind> {
        self.transport.map(|(_, kind)| kind)
    }

    /// The delay `timer` is armed with.
    fn armed_ms(&self, timer: Timer) -> u32 {
        self.timers[timer as usize].unwrap_or_else(|| panic!("{timer:?} is not armed"))
    }

    fn armed(&self, timer: Timer) -> bool {
        self.timers[timer as usize].is_some()
    }

    // ---- inputs ----

    fn connect(&mut self) -> Vec<Command> {
        self.m.connect();
        self.drain()
    }

    fn close(&mut self) -> Vec<Command> {
        self.m.close(1000, Why::USER);
        self.drain()
    }

    /// `timer` fires (it must be armed), without draining.
    fn fire_only(&mut self, timer: Timer) {
        assert!(
            self.timers[timer as usize].take().is_some(),
            "{timer:?} is not armed"
        );
        self.m.timer(timer);
    }

    fn fire(&mut self, timer: Timer) -> Vec<Command> {
        self.fire_only(timer);
        self.drain()
    }

    /// Lets `timer`'s delay pass on the clock, then fires it.
    fn wait_for(&mut self, timer: Timer) -> Vec<Command> {
        advance(self.armed_ms(timer));
        self.fire(timer)
    }

    fn wake(&mut self) -> Vec<Command> {
        self.m.wake();
        self.drain()
    }

    fn open_frame(&mut self, same: bool, ack: u64) -> Vec<Command> {
        self.open_frame_hb(same, ack, 0)
    }

    fn open_frame_hb(&mut self, same: bool, ack: u64, hb: u64) -> Vec<Command> {
        let attempt = self.attempt();
        self.m.open_frame(attempt, 30, same, ack, hb);
        self.drain()
    }

    /// The raw protocol's "open".
    fn transport_opened(&mut self) -> Vec<Command> {
        let attempt = self.attempt();
        self.m.transport_opened(attempt);
        self.drain()
    }

    /// The transport held ends (or fails to open), with the driver's text `text`.
    fn fail(&mut self, text: u32) -> Vec<Command> {
        self.fail_with(Failure::new(Why::text(text)))
    }

    fn fail_with(&mut self, failure: Failure) -> Vec<Command> {
        let attempt = self.attempt();
        self.m.transport_failed(attempt, failure);
        self.drain()
    }

    /// Message `seq` on the transport held: whether it is delivered.
    fn msg(&mut self, seq: u64) -> bool {
        let attempt = self.attempt();
        let deliver = self.m.message(attempt, 10, seq);
        self.drain();
        deliver
    }

    fn beat(&mut self, sent: Option<u64>) -> Vec<Command> {
        let attempt = self.attempt();
        self.m.heartbeat(attempt, 8, sent);
        self.drain()
    }

    fn gap(&mut self, from: u64, to: u64) -> Vec<Command> {
        let attempt = self.attempt();
        self.m.gap(attempt, 20, from, to);
        self.drain()
    }

    /// An acknowledgement frame on the transport held.
    fn ack(&mut self, ack: u64) -> Vec<Command> {
        let attempt = self.attempt();
        self.m.ack_frame(attempt, 12, ack);
        self.drain()
    }

    /// An acknowledgement frame in the answer to the POST in flight.
    fn post_ack(&mut self, ack: u64) -> Vec<Command> {
        self.m.ack_frame(SESSION, 12, ack);
        self.drain()
    }

    fn recycle(&mut self) -> Vec<Command> {
        let attempt = self.attempt();
        self.m.recycle(attempt, 9);
        self.drain()
    }

    fn ended(&mut self, text: u32) -> Vec<Command> {
        let attempt = self.attempt();
        self.m.ended(attempt, 40, Why::text(text));
        self.drain()
    }

    /// Enqueues a payload of `size` bytes; returns its number in the model.
    fn enqueue(&mut self, size: u32) -> Result<u32, Refusal> {
        self.m.enqueue(size, u64::from(size))?;
        self.enqueued += 1;
        self.queue.push_back(self.enqueued);
        self.drain();
        Ok(self.enqueued)
    }

    fn upload_done(&mut self) -> Vec<Command> {
        assert!(self.post.take().is_some(), "no POST in flight");
        self.m.upload_done();
        self.drain()
    }

    fn upload_failed(&mut self, text: u32, retry_after_ms: u32, ended: bool) -> Vec<Command> {
        assert!(self.post.take().is_some(), "no POST in flight");
        self.m.upload_failed(Why::text(text), retry_after_ms, ended);
        self.drain()
    }

    fn probe_succeeded(&mut self, id: u32) -> Vec<Command> {
        self.m.probe_succeeded(id);
        self.drain()
    }

    fn probe_failed(&mut self, id: u32) -> Vec<Command> {
        self.m.probe_failed(id);
        self.drain()
    }

    /// The transport held drops; the retry opens and gets an open frame.
    fn resume(&mut self, same: bool, ack: u64) -> Vec<Command> {
        self.fail(99);
        self.fire(Timer::Retry);
        self.open_frame(same, ack)
    }
}

/// A client open on the first transport of `cfg` (its first session).
fn start(cfg: Config) -> Sim {
    let mut sim = Sim::new(cfg);
    sim.connect();
    sim.open_frame(false, 0);
    assert_eq!(sim.m.state(), ClientState::Open);
    sim
}

/// A client open on the second transport of `cfg`, the first having failed to open.
fn fallen_back(cfg: Config) -> Sim {
    let mut sim = Sim::new(cfg);
    sim.connect();
    sim.fail(1);
    sim.open_frame(false, 0);
    assert_eq!(sim.m.state(), ClientState::Open);
    sim
}

fn events(commands: &[Command]) -> Vec<Event> {
    commands
        .iter()
        .filter_map(|command| match command {
            Command::Emit(event) => Some(*event),
            _ => None,
        })
        .collect()
}

fn state(from: ClientState, to: ClientState) -> Command {
    Command::Emit(Event::State { from, to })
}

fn error(code: ErrorCode, reason: impl Into<Reason>) -> Command {
    Command::Emit(Event::Error {
        code,
        reason: reason.into(),
    })
}

fn open_event(kind: TransportKind, attempt: u32) -> Command {
    Command::Emit(Event::Open { kind, attempt })
}

fn reconnecting(attempt: u32, delay_ms: u32, transport: TransportKind) -> Command {
    Command::Emit(Event::Reconnecting {
        attempt,
        delay_ms,
        transport,
    })
}

fn send(ack: Option<u64>, from: u32, count: u32, first: u64) -> Command {
    Command::Send {
        ack,
        from,
        count,
        first,
    }
}

fn post(ack: Option<u64>, from: u32, count: u32, first: u64) -> Command {
    Command::Post {
        ack,
        from,
        count,
        first,
    }
}

fn is_post(command: &Command) -> bool {
    matches!(command, Command::Post { .. })
}

/// The jittered backoff range of reconnect `attempt` with the default backoff.
fn backoff_range(attempt: u32) -> std::ops::RangeInclusive<u32> {
    let base = Backoff::default().base_delay_ms(attempt);
    base / 2..=base
}

// ---- 1. connect ----

mod connect {
    use super::*;

    #[test]
    fn auto_connect_says_connecting_and_defers_the_first_attempt() {
        let mut sim = Sim::new(cfg(&[WS, ES]));
        sim.m.auto_connect();
        assert_eq!(sim.drain(), [Command::Arm(Timer::Retry, 0)]);
        assert_eq!(sim.m.state(), Connecting);
        assert_eq!(sim.transport, None);
        assert_eq!(
            sim.fire(Timer::Retry),
            [
                Command::WatchPage(true),
                state(Closed, Connecting),
                Command::Open {
                    attempt: 1,
                    kind: WS
                },
                Command::Arm(Timer::Connect, CONNECT_MS),
            ]
        );
        assert!(sim.watching);
        assert_eq!(sim.m.transport(), None, "not open yet");
    }

    #[test]
    fn connect_before_the_deferred_connect_runs_replaces_it() {
        let mut sim = Sim::new(cfg(&[WS]));
        sim.m.auto_connect();
        sim.drain();
        assert_eq!(
            sim.connect(),
            [
                Command::Disarm(Timer::Retry),
                Command::WatchPage(true),
                state(Closed, Connecting),
                Command::Open {
                    attempt: 1,
                    kind: WS
                },
                Command::Arm(Timer::Connect, CONNECT_MS),
            ]
        );
        assert!(!sim.armed(Timer::Retry));
    }

    #[test]
    fn open_frame_opens_the_client() {
        let mut sim = Sim::new(cfg(&[WS, ES]));
        sim.connect();
        assert_eq!(
            sim.open_frame(false, 0),
            [
                Command::Disarm(Timer::Connect),
                state(Connecting, OPEN),
                open_event(WS, 1),
                Command::Arm(Timer::Liveness, LIVENESS_MS),
            ]
        );
        assert_eq!(sim.m.state(), OPEN);
        assert_eq!(sim.m.transport(), Some(WS));
        assert_eq!(sim.m.stats().reconnects, 0);
        assert_eq!(sim.m.stats().bytes_in, 30);
    }

    #[test]
    fn connect_while_connecting_or_open_does_nothing() {
        let mut sim = Sim::new(cfg(&[WS]));
        sim.connect();
        assert_eq!(sim.connect(), []);
        sim.open_frame(false, 0);
        assert_eq!(sim.connect(), []);
        assert_eq!(sim.attempt(), 1);
    }

    #[test]
    fn session_protocol_waits_for_the_open_frame() {
        let mut sim = Sim::new(cfg(&[WS]));
        sim.connect();
        assert_eq!(sim.transport_opened(), []);
        assert_eq!(sim.m.state(), Connecting);
        assert!(sim.armed(Timer::Connect));
    }
}

// ---- 2. fallback ----

mod fallback {
    use super::*;

    #[test]
    fn failing_before_opening_falls_back_to_the_next_transport() {
        let mut sim = Sim::new(cfg(&[WS, ES, LP]));
        sim.connect();
        assert_eq!(
            sim.fail(1),
            [
                Command::Disarm(Timer::Connect),
                Command::Release,
                Command::Emit(Event::Transport {
                    from: Some(WS),
                    to: ES,
                    why: Why::text(1)
                }),
                Command::Open {
                    attempt: 2,
                    kind: ES
                },
                Command::Arm(Timer::Connect, CONNECT_MS),
            ]
        );
        assert_eq!(sim.m.stats().fallbacks, 1);
        assert_eq!(sim.m.state(), Connecting);
    }

    #[test]
    fn connect_timeout_falls_back_too() {
        let mut sim = Sim::new(cfg(&[WS, ES, LP]));
        sim.connect();
        sim.fail(1);
        assert_eq!(
            sim.fire(Timer::Connect),
            [
                Command::Release,
                Command::Emit(Event::Transport {
                    from: Some(ES),
                    to: LP,
                    why: Why::connect_timeout(ES, CONNECT_MS)
                }),
                Command::Open {
                    attempt: 3,
                    kind: LP
                },
                Command::Arm(Timer::Connect, CONNECT_MS),
            ]
        );
        assert_eq!(sim.m.stats().fallbacks, 2);
    }

    #[test]
    fn last_transport_failing_reports_connect_failed_and_retries_from_the_first() {
        let mut sim = Sim::new(cfg(&[WS, ES]));
        sim.connect();
        sim.fail(1);
        let commands = sim.fail(2);
        let delay = sim.armed_ms(Timer::Retry);
        assert!(backoff_range(1).contains(&delay), "{delay}");
        assert_eq!(
            commands,
            [
                Command::Disarm(Timer::Connect),
                Command::Release,
                error(
                    ErrorCode::ConnectFailed,
                    Reason {
                        prefix: Prefix::no_transport(ES),
                        why: Why::text(2)
                    }
                ),
                state(Connecting, Reconnecting),
                Command::Arm(Timer::Retry, delay),
                reconnecting(1, delay, WS),
            ]
        );
        assert_eq!(sim.m.stats().fallbacks, 1, "no transport after the last");
        assert_eq!(
            sim.fire(Timer::Retry),
            [
                Command::Open {
                    attempt: 4,
                    kind: WS
                },
                Command::Arm(Timer::Connect, CONNECT_MS),
            ]
        );
        assert_eq!(sim.m.state(), Reconnecting);
        // The second round waits longer.
        sim.fail(3);
        sim.fail(4);
        let delay = sim.armed_ms(Timer::Retry);
        assert!(backoff_range(2).contains(&delay), "{delay}");
        assert_eq!(sim.last.last(), Some(&reconnecting(2, delay, WS)));
        assert_eq!(sim.m.stats().fallbacks, 2);
    }

    #[test]
    fn retry_after_heard_in_the_round_is_a_floor_under_the_delay() {
        let mut sim = Sim::new(cfg(&[WS, ES]));
        sim.connect();
        let refused = Failure {
            why: Why::text(1),
            retry_after_ms: 30_000,
            code: Some(ErrorCode::Http),
        };
        // An HTTP refusal is reported even while falling back.
        assert_eq!(
            events(&sim.fail_with(refused)),
            [
                Event::Error {
                    code: ErrorCode::Http,
                    reason: Why::text(1).into()
                },
                Event::Transport {
                    from: Some(WS),
                    to: ES,
                    why: Why::text(1)
                },
            ]
        );
        sim.fail(2);
        assert_eq!(sim.armed_ms(Timer::Retry), 30_000);
        assert_eq!(sim.last.last(), Some(&reconnecting(1, 30_000, WS)));
        // The next round heard none: the backoff alone.
        sim.fire(Timer::Retry);
        sim.fail(3);
        sim.fail(4);
        assert!(backoff_range(2).contains(&sim.armed_ms(Timer::Retry)));
    }

    #[test]
    fn retry_after_below_the_backoff_changes_nothing() {
        let mut sim = Sim::new(cfg(&[WS]));
        sim.connect();
        sim.fail_with(Failure {
            why: Why::text(1),
            retry_after_ms: 10,
            code: None,
        });
        assert!(backoff_range(1).contains(&sim.armed_ms(Timer::Retry)));
    }

    #[test]
    fn retry_after_floor_is_forgotten_once_a_transport_opens() {
        let mut sim = Sim::new(cfg(&[WS, ES]));
        sim.connect();
        sim.fail_with(Failure {
            why: Why::text(1),
            retry_after_ms: 60_000,
            code: Some(ErrorCode::Http),
        });
        // EventSource opens and works for a while, then drops.
        sim.open_frame(false, 0);
        assert!(sim.msg(1));
        sim.fail(2);
        sim.fire(Timer::Retry);
        // Its reconnection fails: the round is over, and nobody said Retry-After in it.
        sim.fail(3);
        let delay = sim.armed_ms(Timer::Retry);
        assert!(backoff_range(2).contains(&delay), "waits {delay} ms");
    }
}

// ---- 3. reconnect after an open transport drops ----

mod reconnect {
    use super::*;

    #[test]
    fn drop_after_a_working_connection_is_retried_quickly() {
        let mut sim = start(cfg(&[WS, ES]));
        assert!(sim.msg(1));
        let commands = sim.fail(7);
        let delay = sim.armed_ms(Timer::Retry);
        assert!(delay <= INITIAL_MS / 4, "{delay}");
        assert_eq!(
            commands,
            [
                Command::Disarm(Timer::Ack),
                Command::Disarm(Timer::Liveness),
                Command::Release,
                error(ErrorCode::TransportFailed, Why::text(7)),
                state(OPEN, Reconnecting),
                Command::Arm(Timer::Retry, delay),
                reconnecting(1, delay, WS),
            ]
        );
        assert_eq!(sim.m.transport(), None);
        assert_eq!(
            sim.fire(Timer::Retry),
            [
                Command::Open {
                    attempt: 3,
                    kind: WS
                },
                Command::Arm(Timer::Connect, CONNECT_MS),
            ]
        );
        assert_eq!(
            sim.open_frame(true, 0),
            [
                Command::Disarm(Timer::Connect),
                state(Reconnecting, OPEN),
                open_event(WS, 3),
                Command::Arm(Timer::Liveness, LIVENESS_MS),
                // Message 1 is still to be acknowledged.
                Command::Arm(Timer::Ack, ACK_IDLE_MS),
            ]
        );
        assert_eq!(sim.m.stats().reconnects, 1);
    }

    #[test]
    fn quick_retries_stay_within_a_quarter_of_the_initial_delay() {
        let mut delays = Vec::new();
        for seed in 1..200 {
            let mut sim = Sim::seeded(cfg(&[WS]), seed);
            sim.connect();
            sim.open_frame(false, 0);
            sim.beat(None);
            sim.fail(1);
            delays.push(sim.armed_ms(Timer::Retry));
        }
        assert!(delays.iter().all(|&delay| delay <= INITIAL_MS / 4));
        // Spread, not in lock-step.
        assert!(delays.iter().any(|&delay| delay < 40));
        assert!(delays.iter().any(|&delay| delay > 85));
    }

    #[test]
    fn drops_before_delivering_anything_demote_the_transport() {
        let mut sim = start(cfg(&[WS, ES]));
        for round in 1..DEMOTE_AFTER {
            let commands = sim.fail(round);
            let delay = sim.armed_ms(Timer::Retry);
            assert!(backoff_range(round).contains(&delay), "{round}: {delay}");
            assert_eq!(
                events(&commands),
                [
                    Event::Error {
                        code: ErrorCode::TransportFailed,
                        reason: Why::text(round).into()
                    },
                    Event::State {
                        from: OPEN,
                        to: Reconnecting
                    },
                    Event::Reconnecting {
                        attempt: round,
                        delay_ms: delay,
                        transport: WS
                    },
                ]
            );
            sim.fire(Timer::Retry);
            assert_eq!(sim.kind(), Some(WS));
            sim.open_frame(true, 0);
        }
        let commands = sim.fail(DEMOTE_AFTER);
        let delay = sim.armed_ms(Timer::Retry);
        assert!(backoff_range(DEMOTE_AFTER).contains(&delay), "{delay}");
        assert_eq!(
            events(&commands),
            [
                Event::Error {
                    code: ErrorCode::TransportFailed,
                    reason: Why::text(DEMOTE_AFTER).into()
                },
                Event::Transport {
                    from: Some(WS),
                    to: ES,
                    why: Why::demoted(WS)
                },
                Event::State {
                    from: OPEN,
                    to: Reconnecting
                },
                Event::Reconnecting {
                    attempt: DEMOTE_AFTER,
                    delay_ms: delay,
                    transport: ES
                },
            ]
        );
        assert_eq!(sim.m.stats().fallbacks, 1);
        sim.fire(Timer::Retry);
        assert_eq!(sim.kind(), Some(ES));
    }

    #[test]
    fn a_frame_between_drops_resets_the_demotion_count() {
        let mut sim = start(cfg(&[WS, ES]));
        sim.resume(true, 0);
        sim.resume(true, 0);
        // This connection delivers something before it drops.
        sim.beat(Some(0));
        sim.resume(true, 0);
        sim.resume(true, 0);
        assert_eq!(sim.kind(), Some(WS));
        assert_eq!(sim.m.stats().fallbacks, 0);
        assert!(!events(&sim.log)
            .iter()
            .any(|event| matches!(event, Event::Transport { .. })));
    }

    #[test]
    fn the_last_transport_is_never_demoted() {
        let mut sim = start(cfg(&[WS]));
        for _ in 0..2 * DEMOTE_AFTER {
            sim.resume(true, 0);
        }
        assert_eq!(sim.kind(), Some(WS));
        assert_eq!(sim.m.stats().fallbacks, 0);
    }

    #[test]
    fn gives_up_when_the_attempts_run_out() {
        let mut config = cfg(&[WS]);
        config.backoff = Some(Backoff {
            max_attempts: Some(2),
            ..Backoff::default()
        });
        let mut sim = Sim::new(config);
        sim.connect();
        for text in 1..=2 {
            sim.fail(text);
            assert!(sim.armed(Timer::Retry));
            sim.fire(Timer::Retry);
        }
        assert_eq!(
            sim.fail(3),
            [
                Command::Disarm(Timer::Connect),
                Command::Release,
                error(
                    ErrorCode::ConnectFailed,
                    Reason {
                        prefix: Prefix::no_transport(WS),
                        why: Why::text(3)
                    }
                ),
                Command::WatchPage(false),
                state(Reconnecting, Closed),
                Command::Emit(Event::Close {
                    code: 1006,
                    clean: false,
                    reason: Reason {
                        prefix: Prefix::gave_up(2),
                        why: Why::text(3)
                    }
                }),
            ]
        );
        assert_eq!(sim.m.state(), Closed);
        assert_eq!(sim.timers, [None; 7]);
        assert!(!sim.watching);
    }

    #[test]
    fn without_backoff_the_first_loss_closes() {
        let mut config = cfg(&[WS]);
        config.backoff = None;
        let mut sim = start(config);
        assert!(sim.msg(1));
        assert_eq!(
            sim.fail(5),
            [
                Command::Disarm(Timer::Ack),
                Command::Disarm(Timer::Liveness),
                Command::Release,
                error(ErrorCode::TransportFailed, Why::text(5)),
                Command::WatchPage(false),
                state(OPEN, Closed),
                Command::Emit(Event::Close {
                    code: 1006,
                    clean: false,
                    reason: Why::text(5).into()
                }),
            ]
        );
        assert_eq!(sim.timers, [None; 7]);
    }

    #[test]
    fn without_backoff_failing_to_connect_closes() {
        let mut config = cfg(&[WS]);
        config.backoff = None;
        let mut sim = Sim::new(config);
        sim.connect();
        let events = events(&sim.fail(2));
        assert_eq!(
            events.last(),
            Some(&Event::Close {
                code: 1006,
                clean: false,
                reason: Why::text(2).into()
            })
        );
        assert_eq!(sim.m.state(), Closed);
    }

    #[test]
    fn refusals_after_opening_back_off() {
        let mut sim = start(cfg(&[WS]));
        for round in 1..=4 {
            let attempt = sim.attempt();
            sim.m.refused(attempt, 40, Why::text(round));
            sim.drain();
            let delay = sim.armed_ms(Timer::Retry);
            assert_eq!(
                sim.last.last(),
                Some(&reconnecting(round, delay, WS)),
                "refusal {round}"
            );
            sim.fire(Timer::Retry);
            sim.open_frame(true, 0);
        }
    }
}

// ---- 4. the session protocol downstream ----

mod downstream {
    use super::*;

    #[test]
    fn messages_are_delivered_once_and_in_order_across_a_resume() {
        let mut sim = start(cfg(&[WS]));
        assert!(sim.msg(1));
        assert!(sim.msg(2));
        assert!(sim.msg(3));
        assert_eq!(sim.m.after(), 3);
        sim.resume(true, 0);
        // The resumed connection replays what was delivered: dropped, silently.
        assert!(!sim.msg(2));
        assert!(events(&sim.last).is_empty());
        assert!(!sim.msg(3));
        assert!(events(&sim.last).is_empty());
        assert!(sim.msg(4));
        assert_eq!(sim.m.stats().messages_in, 4);
        assert_eq!(sim.m.after(), 4);
    }

    #[test]
    fn a_skip_closes_the_transport_and_resumes_after_the_last_delivered() {
        let mut sim = start(cfg(&[WS]));
        assert!(sim.msg(1));
        assert!(!sim.msg(3));
        let delay = sim.armed_ms(Timer::Retry);
        assert_eq!(
            sim.last,
            [
                Command::Disarm(Timer::Ack),
                Command::Disarm(Timer::Liveness),
                Command::Release,
                error(ErrorCode::Protocol, Why::skipped(2, 2)),
                state(OPEN, Reconnecting),
                Command::Arm(Timer::Retry, delay),
                reconnecting(1, delay, WS),
            ]
        );
        assert_eq!(sim.m.after(), 1);
        sim.fire(Timer::Retry);
        sim.open_frame(true, 0);
        assert!(sim.msg(2));
        assert!(sim.msg(3));
        assert_eq!(sim.m.stats().messages_in, 3);
    }

    #[test]
    fn the_same_skip_after_the_resume_is_a_gap_and_delivers() {
        let mut sim = start(cfg(&[WS]));
        assert!(sim.msg(1));
        assert!(!sim.msg(3));
        sim.fire(Timer::Retry);
        sim.open_frame(true, 0);
        assert!(sim.msg(3));
        assert_eq!(
            events(&sim.last),
            [Event::Error {
                code: ErrorCode::Gap,
                reason: Why::lost(2, 2).into()
            }]
        );
        assert_eq!(sim.kind(), Some(WS), "the connection goes on");
        assert_eq!(sim.m.after(), 3);
        assert_eq!(sim.m.stats().messages_in, 2);
    }

    #[test]
    fn a_sequence_going_back_on_one_connection_is_a_protocol_error() {
        let mut sim = start(cfg(&[WS]));
        assert!(sim.msg(1));
        assert!(sim.msg(2));
        assert!(!sim.msg(2));
        assert_eq!(
            events(&sim.last),
            [Event::Error {
                code: ErrorCode::Protocol,
                reason: Why::seq_back(2).into()
            }]
        );
        assert!(!sim.msg(1));
        assert_eq!(
            events(&sim.last),
            [Event::Error {
                code: ErrorCode::Protocol,
                reason: Why::seq_back(1).into()
            }]
        );
        assert!(sim.msg(3));
        assert_eq!(sim.m.stats().messages_in, 3);
    }

    #[test]
    fn a_gap_frame_reports_lost_messages_and_moves_on() {
        let mut sim = start(cfg(&[WS]));
        assert!(sim.msg(1));
        assert_eq!(
            events(&sim.gap(2, 4)),
            [Event::Error {
                code: ErrorCode::Gap,
                reason: Why::lost(2, 4).into()
            }]
        );
        assert_eq!(sim.m.after(), 4);
        assert!(sim.msg(5));
        assert_eq!(sim.kind(), Some(WS));
    }

    #[test]
    fn a_gap_frame_reports_only_what_was_not_received() {
        let mut sim = start(cfg(&[WS]));
        for seq in 1..=5 {
            assert!(sim.msg(seq));
        }
        assert_eq!(
            events(&sim.gap(3, 8)),
            [Event::Error {
                code: ErrorCode::Gap,
                reason: Why::lost(6, 8).into()
            }]
        );
        // Stale: everything in it was received.
        assert_eq!(events(&sim.gap(2, 8)), []);
    }

    #[test]
    fn a_malformed_frame_is_a_protocol_error_that_reconnects() {
        let mut sim = start(cfg(&[WS]));
        assert!(sim.msg(1));
        let attempt = sim.attempt();
        sim.m.malformed(attempt, 17, Why::text(8));
        let commands = sim.drain();
        assert_eq!(
            events(&commands)[..2],
            [
                Event::Error {
                    code: ErrorCode::Protocol,
                    reason: Why::text(8).into()
                },
                Event::State {
                    from: OPEN,
                    to: Reconnecting
                },
            ]
        );
        assert_eq!(sim.m.after(), 1);
        assert_eq!(sim.m.stats().bytes_in, 30 + 10 + 17);
    }

    #[test]
    fn an_http_error_of_an_open_transport_is_reported_as_such() {
        let mut sim = start(cfg(&[LP]));
        let commands = sim.fail_with(Failure {
            why: Why::text(3),
            retry_after_ms: 7_000,
            code: Some(ErrorCode::Http),
        });
        assert_eq!(
            events(&commands)[0],
            Event::Error {
                code: ErrorCode::Http,
                reason: Why::text(3).into()
            }
        );
        // Its Retry-After holds the reconnection back.
        assert_eq!(sim.armed_ms(Timer::Retry), 7_000);
    }

    #[test]
    fn a_heartbeat_reveals_a_skipped_tail() {
        let mut sim = start(cfg(&[WS]));
        assert!(sim.msg(1));
        assert_eq!(events(&sim.beat(None)), []);
        assert_eq!(events(&sim.beat(Some(1))), []);
        let commands = sim.beat(Some(3));
        assert_eq!(
            events(&commands)[0],
            Event::Error {
                code: ErrorCode::Protocol,
                reason: Why::skipped(2, 3).into()
            }
        );
        assert_eq!(sim.m.state(), Reconnecting);
        assert_eq!(sim.m.after(), 1);
        sim.fire(Timer::Retry);
        sim.open_frame(true, 0);
        // The resume skips them again: lost.
        assert_eq!(
            events(&sim.beat(Some(3))),
            [Event::Error {
                code: ErrorCode::Gap,
                reason: Why::lost(2, 3).into()
            }]
        );
        assert_eq!(sim.m.after(), 3);
        assert!(sim.msg(4));
    }

    #[test]
    fn acknowledges_every_64_messages_over_the_websocket() {
        let mut sim = start(cfg(&[WS]));
        assert!(sim.msg(1));
        assert_eq!(sim.last, [Command::Arm(Timer::Ack, ACK_IDLE_MS)]);
        for seq in 2..64 {
            assert!(sim.msg(seq));
            assert_eq!(sim.last, [], "{seq}");
        }
        assert!(sim.msg(64));
        assert_eq!(sim.last, [send(Some(64), 0, 0, 0)]);
        for seq in 65..128 {
            assert!(sim.msg(seq));
        }
        assert_eq!(sim.acks, [64]);
        assert!(sim.msg(128));
        assert_eq!(sim.acks, [64, 128]);
        assert_eq!(sim.wire, [], "acks only");
    }

    #[test]
    fn the_idle_ack_goes_out_a_second_after_the_last_one() {
        set_now(0.0);
        let mut sim = start(cfg(&[WS]));
        assert!(sim.msg(1));
        assert_eq!(sim.armed_ms(Timer::Ack), ACK_IDLE_MS);
        assert_eq!(sim.wait_for(Timer::Ack), [send(Some(1), 0, 0, 0)]);
        assert!(!sim.armed(Timer::Ack), "nothing left to acknowledge");
        assert!(sim.msg(2));
        assert_eq!(sim.last, [Command::Arm(Timer::Ack, ACK_IDLE_MS)]);
        // The timer fires early (the last ack was 500 ms ago): not yet, look again.
        set_now(1_500.0);
        assert_eq!(
            sim.fire(Timer::Ack),
            [Command::Arm(Timer::Ack, ACK_IDLE_MS)]
        );
        set_now(2_000.0);
        assert_eq!(sim.fire(Timer::Ack), [send(Some(2), 0, 0, 0)]);
        assert_eq!(sim.acks, [1, 2]);
    }

    #[test]
    fn an_eventsource_client_acknowledges_by_post_once_per_task() {
        let mut sim = start(cfg(&[ES]));
        for seq in 1..=64 {
            assert!(sim.msg(seq));
        }
        // Due: at the end of the task, not in the middle of the chunk being read...
        assert_eq!(sim.last, [Command::Arm(Timer::Ack, 0)]);
        for seq in 65..=1_000 {
            assert!(sim.msg(seq));
        }
        assert!(
            !sim.log.iter().any(is_post),
            "a POST in the middle of the task"
        );
        // ...when one POST acknowledges everything the task delivered.
        assert_eq!(sim.fire(Timer::Ack), [post(Some(1_000), 0, 0, 0)]);
        sim.upload_done();
        assert_eq!(sim.acks, [1_000]);
        // The next one is due again after 64 more.
        for seq in 1_001..=1_064 {
            assert!(sim.msg(seq));
        }
        assert_eq!(sim.armed_ms(Timer::Ack), 0);
        assert_eq!(sim.fire(Timer::Ack), [post(Some(1_064), 0, 0, 0)]);
    }

    #[test]
    fn polling_transports_never_send_acks() {
        for kind in [LP, POLL] {
            set_now(0.0);
            let mut sim = start(cfg(&[kind]));
            for seq in 1..=200 {
                assert!(sim.msg(seq));
                advance(100);
            }
            assert_eq!(sim.acks, [], "{kind:?}");
            assert!(!sim.armed(Timer::Ack), "{kind:?}");
            assert!(!sim.log.iter().any(is_post), "{kind:?}");
            assert_eq!(sim.m.stats().messages_in, 200);
        }
    }
}

// ---- 5. upstream ----

mod upstream {
    use super::*;

    #[test]
    fn enqueue_is_refused_while_closed() {
        let mut sim = Sim::new(cfg(&[WS]));
        assert_eq!(sim.enqueue(5), Err(Refusal::Closed));
        sim.connect();
        assert_eq!(sim.enqueue(5), Ok(1), "queued while connecting");
        sim.close();
        assert_eq!(sim.enqueue(5), Err(Refusal::Closed));
        assert_eq!(sim.m.stats().messages_out, 1);
    }

    #[test]
    fn enqueue_is_refused_when_the_queue_is_full() {
        let mut config = cfg(&[WS]);
        config.max_queued = 3;
        let mut sim = Sim::new(config);
        sim.connect();
        for size in [1, 2, 3] {
            assert!(sim.enqueue(size).is_ok());
        }
        assert_eq!(sim.enqueue(4), Err(Refusal::QueueFull));
        assert_eq!(sim.m.stats().messages_out, 3);
        assert_eq!(sim.m.stats().bytes_out, 6);
        // Sent is not acknowledged: still full.
        sim.open_frame(false, 0);
        assert_eq!(sim.last.last(), Some(&send(None, 0, 3, 1)));
        assert_eq!(sim.enqueue(4), Err(Refusal::QueueFull));
        sim.ack(1);
        assert_eq!(sim.enqueue(4), Ok(4));
    }

    #[test]
    fn enqueue_refuses_messages_above_the_size_limit() {
        let mut sim = Sim::new(cfg(&[WS]));
        sim.connect();
        assert_eq!(
            sim.m.enqueue(1, MAX_MESSAGE_BYTES + 1),
            Err(Refusal::TooLarge(MAX_MESSAGE_BYTES + 1))
        );
        assert_eq!(sim.m.enqueue(1, MAX_MESSAGE_BYTES), Ok(()));
        assert_eq!(sim.m.stats().messages_out, 1);
    }

    #[test]
    fn raw_enqueue_needs_a_websocket_or_a_send_url() {
        let mut sim = Sim::new(raw_cfg(&[ES, LP], false));
        sim.connect();
        assert_eq!(sim.enqueue(5), Err(Refusal::NowhereToSend));
        let mut sim = Sim::new(raw_cfg(&[ES, LP], true));
        sim.connect();
        assert_eq!(sim.enqueue(5), Ok(1));
        let mut sim = Sim::new(raw_cfg(&[ES, WS], false));
        sim.connect();
        assert_eq!(sim.enqueue(5), Ok(1));
    }

    #[test]
    fn queued_messages_go_in_one_send_once_open() {
        let mut sim = Sim::new(cfg(&[WS]));
        sim.connect();
        for size in [3, 4, 5] {
            assert!(sim.enqueue(size).is_ok());
        }
        assert!(!sim.log.iter().any(|c| matches!(c, Command::Send { .. })));
        let commands = sim.open_frame(false, 0);
        assert_eq!(commands.last(), Some(&send(None, 0, 3, 1)));
        assert_eq!(sim.wire, [(1, 1), (2, 2), (3, 3)]);
        assert_eq!(sim.ack(2), [Command::Acked(2)]);
        assert_eq!(sim.queue, [3]);
        assert_eq!(sim.enqueue(6), Ok(4));
        assert_eq!(sim.last, [send(None, 1, 1, 4)]);
        assert_eq!(sim.ack(4), [Command::Acked(2)]);
        assert!(sim.queue.is_empty());
    }

    #[test]
    fn sends_are_decided_when_drained() {
        let mut sim = start(cfg(&[WS]));
        // Two messages between drains go in one Send.
        sim.m.enqueue(1, 1).unwrap();
        sim.m.enqueue(1, 1).unwrap();
        sim.queue.extend([1, 2]);
        assert_eq!(sim.drain(), [send(None, 0, 2, 1)]);
        // A message whose client is closed before the drain is not sent.
        sim.m.enqueue(1, 1).unwrap();
        sim.queue.push_back(3);
        sim.m.close(1000, Why::USER);
        assert!(!sim
            .drain()
            .iter()
            .any(|c| matches!(c, Command::Send { .. })));
    }

    #[test]
    fn an_ack_beyond_what_was_sent_is_a_protocol_error() {
        let mut sim = start(cfg(&[WS]));
        sim.enqueue(1).unwrap();
        let commands = sim.ack(5);
        assert!(!commands.iter().any(|c| matches!(c, Command::Acked(_))));
        assert_eq!(
            events(&commands)[0],
            Event::Error {
                code: ErrorCode::Protocol,
                reason: Why::ACK_BEYOND_SENT.into()
            }
        );
        assert_eq!(sim.m.state(), Reconnecting);
        assert_eq!(sim.queue, [1]);
    }

    #[test]
    fn a_resume_resends_unacknowledged_messages_with_the_same_numbers() {
        let mut sim = start(cfg(&[WS]));
        for size in [1, 2, 3] {
            sim.enqueue(size).unwrap();
        }
        assert_eq!(sim.wire, [(1, 1), (2, 2), (3, 3)]);
        sim.resume(true, 1);
        assert_eq!(sim.last.first(), Some(&Command::Acked(1)));
        assert_eq!(sim.last.last(), Some(&send(None, 0, 2, 2)));
        assert_eq!(sim.wire[3..], [(2, 2), (3, 3)]);
        // The open frame of the next resume says 2 arrived.
        sim.resume(true, 2);
        assert_eq!(sim.last.first(), Some(&Command::Acked(1)));
        assert_eq!(sim.last.last(), Some(&send(None, 0, 1, 3)));
        assert_eq!(sim.wire[5..], [(3, 3)]);
    }

    #[test]
    fn a_new_session_renumbers_pending_messages_and_reports_the_replacement() {
        let mut sim = start(cfg(&[WS]));
        assert!(sim.msg(1));
        sim.enqueue(1).unwrap();
        sim.enqueue(1).unwrap();
        sim.ack(1);
        assert_eq!(sim.queue, [2]);
        sim.fail(3);
        sim.fire(Timer::Retry);
        let commands = sim.open_frame(false, 0);
        assert_eq!(
            events(&commands),
            [
                Event::Error {
                    code: ErrorCode::Gap,
                    reason: Why::REPLACED.into()
                },
                Event::State {
                    from: Reconnecting,
                    to: OPEN
                },
                Event::Open {
                    kind: WS,
                    attempt: sim.attempt()
                },
            ]
        );
        assert!(commands.contains(&send(None, 0, 1, 1)));
        assert_eq!(sim.wire.last(), Some(&(2, 1)));
        // Downstream starts over too.
        assert_eq!(sim.m.after(), 0);
        assert!(sim.msg(1));
    }

    #[test]
    fn http_transports_post_one_batch_at_a_time() {
        let mut sim = start(cfg(&[ES]));
        sim.enqueue(1).unwrap();
        assert_eq!(sim.last, [post(None, 0, 1, 1)]);
        let before = sim.log.len();
        sim.enqueue(1).unwrap();
        sim.enqueue(1).unwrap();
        assert!(!sim.log[before..].iter().any(is_post), "one POST at a time");
        // The answer acknowledges the first.
        assert_eq!(sim.post_ack(1), [Command::Acked(1)]);
        assert_eq!(sim.upload_done(), [post(None, 0, 2, 2)]);
        assert_eq!(sim.upload_done(), []);
        assert_eq!(sim.wire, [(1, 1), (2, 2), (3, 3)]);
    }

    #[test]
    fn a_post_carries_at_most_256_messages() {
        let mut sim = Sim::new(cfg(&[ES]));
        sim.connect();
        for _ in 0..300 {
            sim.enqueue(10).unwrap();
        }
        assert_eq!(
            sim.open_frame(false, 0).last(),
            Some(&post(None, 0, 256, 1))
        );
        assert_eq!(sim.upload_done(), [post(None, 256, 44, 257)]);
        assert_eq!(sim.wire.len(), 300);
    }

    #[test]
    fn a_post_stays_within_a_mebibyte() {
        let mut sim = Sim::new(cfg(&[ES]));
        sim.connect();
        let sizes = [
            400_000, 400_000, 400_000, 600_000, 524_288, 524_288, 1_000_000, 1_000_000,
        ];
        for size in sizes {
            sim.enqueue(size).unwrap();
        }
        // Three 400 000 are over a MiB.
        assert_eq!(sim.open_frame(false, 0).last(), Some(&post(None, 0, 2, 1)));
        // 400 000 + 600 000 is under it, and two halves exactly are not over.
        assert_eq!(sim.upload_done(), [post(None, 2, 2, 3)]);
        assert_eq!(sim.upload_done(), [post(None, 4, 2, 5)]);
        // A message larger than half goes alone.
        assert_eq!(sim.upload_done(), [post(None, 6, 1, 7)]);
        assert_eq!(sim.upload_done(), [post(None, 7, 1, 8)]);
        assert_eq!(sim.upload_done(), []);
        assert_eq!(sim.wire.len(), sizes.len());
    }

    #[test]
    fn a_failed_post_is_reported_rewound_and_retried_after_a_pause() {
        let mut sim = start(cfg(&[ES]));
        sim.enqueue(1).unwrap();
        sim.upload_done();
        sim.post_ack(1);
        sim.enqueue(1).unwrap();
        sim.enqueue(1).unwrap();
        assert_eq!(sim.post, Some(vec![2]));
        assert_eq!(
            sim.upload_failed(9, 0, false),
            [
                error(
                    ErrorCode::Http,
                    Reason {
                        prefix: Prefix::UPLOAD,
                        why: Why::text(9)
                    }
                ),
                Command::Arm(Timer::UploadRetry, 1_000),
            ]
        );
        sim.enqueue(1).unwrap();
        assert!(!sim.last.iter().any(is_post), "waits for the retry");
        assert_eq!(sim.fire(Timer::UploadRetry), [post(None, 0, 3, 2)]);
        assert_eq!(sim.wire, [(1, 1), (2, 2), (2, 2), (3, 3), (4, 4)]);
    }

    #[test]
    fn a_failed_post_waits_at_least_its_retry_after() {
        let mut sim = start(cfg(&[ES]));
        sim.enqueue(1).unwrap();
        sim.upload_failed(1, 5_000, false);
        assert_eq!(sim.armed_ms(Timer::UploadRetry), 5_000);
        sim.fire(Timer::UploadRetry);
        sim.upload_failed(1, 200, false);
        assert_eq!(sim.armed_ms(Timer::UploadRetry), 1_000);
    }

    #[test]
    fn a_post_failing_after_a_reconnect_is_retried() {
        let mut sim = start(cfg(&[ES]));
        sim.enqueue(1).unwrap();
        assert_eq!(sim.post, Some(vec![1]));
        // The stream drops and comes back while the POST is out.
        sim.resume(true, 0);
        assert!(!sim.last.iter().any(is_post), "one POST at a time");
        sim.upload_failed(2, 0, false);
        let retried = sim.last.iter().any(is_post)
            || sim.armed(Timer::UploadRetry) && sim.fire(Timer::UploadRetry).iter().any(is_post);
        assert!(retried, "message 1 is not sent again");
    }
}

// ---- 6. the server ends the session ----

mod session_end {
    use super::*;

    #[test]
    fn without_a_post_in_flight_a_new_session_starts_at_once() {
        let mut sim = start(cfg(&[WS]));
        assert!(sim.msg(1));
        sim.enqueue(1).unwrap();
        assert_eq!(
            sim.ended(4),
            [
                Command::Disarm(Timer::Ack),
                Command::Disarm(Timer::Liveness),
                Command::Release,
                error(ErrorCode::Gap, Why::text(4)),
                Command::NewSession,
                Command::Open {
                    attempt: 2,
                    kind: WS
                },
                Command::Arm(Timer::Connect, CONNECT_MS),
            ]
        );
        let commands = sim.open_frame(false, 0);
        assert_eq!(
            events(&commands),
            [Event::Open {
                kind: WS,
                attempt: 2
            }]
        );
        // The pending message goes out again, numbered in the new session.
        assert_eq!(commands.last(), Some(&send(None, 0, 1, 1)));
        assert_eq!(sim.m.after(), 0);
        assert!(sim.msg(1));
    }

    #[test]
    fn with_a_post_in_flight_the_new_session_waits_for_its_answer() {
        let mut sim = start(cfg(&[ES]));
        sim.enqueue(1).unwrap();
        assert_eq!(
            sim.ended(4),
            [
                Command::Disarm(Timer::Liveness),
                Command::Release,
                error(ErrorCode::Gap, Why::text(4)),
            ]
        );
        assert_eq!(sim.new_sessions, 0);
        // The answer acknowledges the message: it is not sent again.
        assert_eq!(sim.post_ack(1), [Command::Acked(1)]);
        assert_eq!(
            sim.upload_done(),
            [
                Command::NewSession,
                Command::Open {
                    attempt: 2,
                    kind: ES
                },
                Command::Arm(Timer::Connect, CONNECT_MS),
            ]
        );
        assert!(!sim.open_frame(false, 0).iter().any(is_post));
        assert_eq!(sim.wire, [(1, 1)]);
    }

    #[test]
    fn a_post_whose_answer_ended_the_session_starts_the_new_one() {
        let mut sim = start(cfg(&[ES]));
        sim.enqueue(1).unwrap();
        sim.post_ack(1);
        sim.upload_done();
        sim.enqueue(1).unwrap();
        sim.enqueue(1).unwrap();
        assert_eq!(sim.post, Some(vec![2]));
        // The POST is answered with an `x` frame.
        sim.m.ended(SESSION, 40, Why::text(5));
        sim.drain();
        assert_eq!(sim.new_sessions, 0);
        assert_eq!(
            sim.upload_failed(6, 0, true),
            [
                Command::NewSession,
                Command::Open {
                    attempt: 2,
                    kind: ES
                },
                Command::Arm(Timer::Connect, CONNECT_MS),
            ],
            "no upload error: the session end said it all"
        );
        assert_eq!(sim.open_frame(false, 0).last(), Some(&post(None, 0, 2, 1)));
        assert_eq!(sim.wire, [(1, 1), (2, 2), (2, 1), (3, 2)]);
    }

    #[test]
    fn a_new_session_refused_backs_off() {
        let mut sim = start(cfg(&[WS]));
        sim.ended(1);
        // The new session is refused before any open frame.
        let commands = sim.ended(2);
        let delay = sim.armed_ms(Timer::Retry);
        assert_eq!(
            commands,
            [
                Command::Disarm(Timer::Connect),
                Command::Release,
                error(ErrorCode::Gap, Why::text(2)),
                Command::NewSession,
                state(OPEN, Reconnecting),
                Command::Arm(Timer::Retry, delay),
                reconnecting(1, delay, WS),
            ]
        );
        assert!(backoff_range(1).contains(&delay));
    }

    #[test]
    fn a_pending_ack_of_an_ended_session_is_not_sent_to_the_next() {
        let mut sim = start(cfg(&[ES]));
        sim.enqueue(1).unwrap();
        // 64 messages arrive while the POST is out: the ack waits for it.
        for seq in 1..=64 {
            assert!(sim.msg(seq));
        }
        assert_eq!(sim.acks, []);
        sim.ended(3);
        sim.upload_done();
        let commands = sim.open_frame(false, 0);
        assert_eq!(commands.last(), Some(&post(None, 0, 1, 1)));
    }
}

// ---- 7. recycle ----

mod recycle {
    use super::*;

    #[test]
    fn recycle_reopens_the_same_transport_without_a_second_open() {
        let mut sim = start(cfg(&[ES, LP]));
        assert!(sim.msg(1));
        assert_eq!(
            sim.recycle(),
            [
                Command::Disarm(Timer::Ack),
                Command::Disarm(Timer::Liveness),
                Command::Release,
                Command::Open {
                    attempt: 2,
                    kind: ES
                },
                Command::Arm(Timer::Connect, CONNECT_MS),
            ]
        );
        assert_eq!(sim.m.state(), OPEN);
        assert_eq!(
            sim.open_frame(true, 0),
            [
                Command::Disarm(Timer::Connect),
                Command::Arm(Timer::Liveness, LIVENESS_MS),
                Command::Arm(Timer::Ack, ACK_IDLE_MS),
            ]
        );
        assert_eq!(sim.m.stats().reconnects, 0);
        // A later real reconnect is an open again.
        sim.resume(true, 0);
        assert!(events(&sim.last).contains(&Event::Open {
            kind: ES,
            attempt: 4
        }));
        assert_eq!(sim.m.stats().reconnects, 1);
    }

    #[test]
    fn a_recycle_that_fails_to_reopen_reconnects_like_any_loss() {
        let mut sim = start(cfg(&[ES]));
        assert!(sim.msg(1));
        sim.recycle();
        sim.fail(2);
        assert_eq!(sim.m.state(), Reconnecting);
        sim.fire(Timer::Retry);
        let commands = sim.open_frame(true, 0);
        assert_eq!(
            events(&commands),
            [
                Event::State {
                    from: Reconnecting,
                    to: OPEN
                },
                Event::Open {
                    kind: ES,
                    attempt: 4
                },
            ]
        );
        assert_eq!(sim.m.stats().reconnects, 1);
    }
}

// ---- 8. liveness ----

mod liveness {
    use super::*;

    #[test]
    fn silence_beyond_the_limit_closes_the_transport() {
        set_now(0.0);
        let mut sim = start(cfg(&[WS, ES]));
        assert_eq!(
            sim.wait_for(Timer::Liveness),
            [Command::Arm(Timer::Liveness, LIVENESS_MS)]
        );
        let commands = sim.wait_for(Timer::Liveness);
        let delay = sim.armed_ms(Timer::Retry);
        assert_eq!(
            commands,
            [
                Command::Release,
                error(
                    ErrorCode::TransportFailed,
                    Why::silent(WS, 2 * u64::from(LIVENESS_MS))
                ),
                state(OPEN, Reconnecting),
                Command::Arm(Timer::Retry, delay),
                reconnecting(1, delay, WS),
            ]
        );
    }

    #[test]
    fn frames_keep_a_quiet_connection_alive() {
        set_now(0.0);
        let mut sim = start(cfg(&[WS]));
        sim.wait_for(Timer::Liveness);
        set_now(30_000.0);
        sim.beat(Some(0));
        // Seen at the next look, from which the silence counts.
        set_now(40_002.0);
        assert_eq!(
            sim.fire(Timer::Liveness),
            [Command::Arm(Timer::Liveness, LIVENESS_MS)]
        );
        assert_eq!(
            sim.wait_for(Timer::Liveness),
            [Command::Arm(Timer::Liveness, LIVENESS_MS)]
        );
        let commands = sim.wait_for(Timer::Liveness);
        assert_eq!(
            commands[1],
            error(
                ErrorCode::TransportFailed,
                Why::silent(WS, 2 * u64::from(LIVENESS_MS))
            )
        );
    }

    #[test]
    fn the_server_heartbeat_and_long_polls_stretch_the_limit() {
        let mut sim = Sim::new(cfg(&[WS]));
        sim.connect();
        // Two missed beats and a second.
        sim.open_frame_hb(false, 0, 30_000);
        assert_eq!(sim.armed_ms(Timer::Liveness), 61_000 / 2 + 1);

        let mut config = cfg(&[LP]);
        config.long_poll_timeout_ms = 50_000;
        let sim = start(config);
        assert_eq!(
            sim.armed_ms(Timer::Liveness),
            (50_000 + LONG_POLL_GRACE_MS) / 2 + 1
        );

        let mut config = cfg(&[POLL]);
        config.poll_interval_ms = 45_000;
        let sim = start(config);
        assert_eq!(sim.armed_ms(Timer::Liveness), (45_000 + CONNECT_MS) / 2 + 1);
    }

    #[test]
    fn wake_while_waiting_to_reconnect_starts_the_attempt_at_once() {
        let mut sim = start(cfg(&[WS]));
        sim.fail(1);
        assert!(sim.armed(Timer::Retry));
        assert_eq!(
            sim.wake(),
            [
                Command::Disarm(Timer::Retry),
                Command::Open {
                    attempt: 3,
                    kind: WS
                },
                Command::Arm(Timer::Connect, CONNECT_MS),
            ]
        );
        assert_eq!(sim.wake(), [], "already connecting");
    }

    #[test]
    fn wake_while_open_looks_at_the_silence_now() {
        set_now(0.0);
        let mut sim = start(cfg(&[WS]));
        set_now(10_000.0);
        assert_eq!(sim.wake(), [Command::Arm(Timer::Liveness, LIVENESS_MS)]);
        set_now(45_000.0);
        let commands = sim.wake();
        assert_eq!(
            commands[..3],
            [
                Command::Disarm(Timer::Liveness),
                Command::Release,
                error(ErrorCode::TransportFailed, Why::silent(WS, 45_000)),
            ]
        );
    }

    #[test]
    fn wake_while_connecting_or_closed_does_nothing() {
        let mut sim = Sim::new(cfg(&[WS]));
        assert_eq!(sim.wake(), []);
        sim.connect();
        assert_eq!(sim.wake(), []);
    }
}

// ---- 9. upgrade ----

mod upgrade {
    use super::*;

    #[test]
    fn opening_below_the_best_transport_arms_a_probe() {
        let mut sim = Sim::new(cfg(&[WS, ES]));
        sim.connect();
        sim.fail(1);
        let commands = sim.open_frame(false, 0);
        let delay = sim.armed_ms(Timer::Probe);
        assert!((1_000..=2_000).contains(&delay), "{delay}");
        assert_eq!(
            commands,
            [
                Command::Disarm(Timer::Connect),
                state(Connecting, OPEN),
                open_event(ES, 2),
                Command::Arm(Timer::Liveness, LIVENESS_MS),
                Command::Arm(Timer::Probe, delay),
            ]
        );
    }

    #[test]
    fn a_successful_probe_switches_to_the_better_transport() {
        let mut sim = fallen_back(cfg(&[WS, ES]));
        assert_eq!(
            sim.fire(Timer::Probe),
            [
                Command::Probe { id: 1, kind: WS },
                Command::Arm(Timer::ProbeTimeout, CONNECT_MS),
            ]
        );
        assert_eq!(sim.probe, Some((1, WS)));
        assert_eq!(
            sim.probe_succeeded(1),
            [
                Command::ReleaseProbe,
                Command::Disarm(Timer::ProbeTimeout),
                Command::Disarm(Timer::Liveness),
                Command::Release,
                Command::Emit(Event::Transport {
                    from: Some(ES),
                    to: WS,
                    why: Why::upgrade(WS)
                }),
                Command::Open {
                    attempt: 3,
                    kind: WS
                },
                Command::Arm(Timer::Connect, CONNECT_MS),
            ]
        );
        assert_eq!(sim.m.stats().upgrades, 1);
        assert_eq!(
            sim.open_frame(true, 0),
            [
                Command::Disarm(Timer::Connect),
                open_event(WS, 3),
                Command::Arm(Timer::Liveness, LIVENESS_MS),
            ]
        );
        assert_eq!(sim.m.stats().reconnects, 0);
        assert_eq!(sim.m.transport(), Some(WS));
        assert!(
            !sim.armed(Timer::Probe),
            "the best transport probes nothing"
        );
    }

    #[test]
    fn the_switch_waits_for_the_post_in_flight() {
        let mut sim = fallen_back(cfg(&[WS, ES]));
        sim.enqueue(1).unwrap();
        sim.fire(Timer::Probe);
        assert_eq!(
            sim.probe_succeeded(1),
            [Command::ReleaseProbe, Command::Disarm(Timer::ProbeTimeout)]
        );
        assert_eq!(sim.kind(), Some(ES));
        // Upstream is paused meanwhile; downstream goes on.
        sim.enqueue(1).unwrap();
        assert_eq!(sim.last, []);
        assert!(sim.msg(1));
        assert_eq!(sim.post_ack(1), [Command::Acked(1)]);
        let commands = sim.upload_done();
        assert_eq!(
            commands[..3],
            [
                Command::Disarm(Timer::Ack),
                Command::Disarm(Timer::Liveness),
                Command::Release,
            ]
        );
        assert_eq!(sim.kind(), Some(WS));
        let commands = sim.open_frame(true, 1);
        assert!(commands.contains(&open_event(WS, 3)));
        assert!(commands.contains(&send(None, 0, 1, 2)));
        assert_eq!(sim.wire, [(1, 1), (2, 2)]);
    }

    #[test]
    fn an_upgraded_transport_failing_to_open_falls_back_again() {
        let mut sim = fallen_back(cfg(&[WS, ES]));
        sim.fire(Timer::Probe);
        sim.probe_succeeded(1);
        assert_eq!(
            events(&sim.fail(5)),
            [Event::Transport {
                from: Some(WS),
                to: ES,
                why: Why::text(5)
            }]
        );
        assert_eq!(sim.kind(), Some(ES));
        assert_eq!(sim.m.stats().fallbacks, 2);
        assert_eq!(sim.m.state(), OPEN, "the user never saw the client go down");
        let commands = sim.open_frame(true, 0);
        assert_eq!(
            events(&commands),
            [Event::Open {
                kind: ES,
                attempt: 4
            }]
        );
        // Probing starts over from the first delay.
        assert!((1_000..=2_000).contains(&sim.armed_ms(Timer::Probe)));
    }

    #[test]
    fn a_failed_probe_tries_the_candidates_in_turn_later() {
        let mut sim = Sim::new(cfg(&[WS, ES, LP]));
        sim.connect();
        sim.fail(1);
        sim.fail(2);
        sim.open_frame(false, 0);
        assert_eq!(
            sim.fire(Timer::Probe)[0],
            Command::Probe { id: 1, kind: WS }
        );
        let commands = sim.probe_failed(1);
        let delay = sim.armed_ms(Timer::Probe);
        assert!((2_000..=4_000).contains(&delay), "{delay}");
        assert_eq!(
            commands,
            [
                Command::ReleaseProbe,
                Command::Disarm(Timer::ProbeTimeout),
                Command::Arm(Timer::Probe, delay),
            ]
        );
        assert_eq!(
            sim.fire(Timer::Probe)[0],
            Command::Probe { id: 2, kind: ES }
        );
        // No answer in time.
        let commands = sim.fire(Timer::ProbeTimeout);
        let delay = sim.armed_ms(Timer::Probe);
        assert!((4_000..=8_000).contains(&delay), "{delay}");
        assert_eq!(
            commands,
            [Command::ReleaseProbe, Command::Arm(Timer::Probe, delay)]
        );
        assert_eq!(
            sim.fire(Timer::Probe)[0],
            Command::Probe { id: 3, kind: WS }
        );
        // Answers of probes that are over change nothing.
        assert_eq!(sim.probe_succeeded(1), []);
        assert_eq!(sim.probe_failed(2), []);
        assert_eq!(sim.m.stats().upgrades, 0);
        assert_eq!(sim.kind(), Some(LP));
    }

    #[test]
    fn the_raw_protocol_never_probes() {
        let mut sim = Sim::new(raw_cfg(&[WS, ES], true));
        sim.connect();
        sim.fail(1);
        sim.transport_opened();
        assert_eq!(sim.m.transport(), Some(ES));
        assert!(!sim.armed(Timer::Probe));
    }

    #[test]
    fn upgrade_off_never_probes() {
        let mut config = cfg(&[WS, ES]);
        config.upgrade = false;
        let mut sim = fallen_back(config);
        assert!(!sim.armed(Timer::Probe));
        sim.resume(true, 0);
        assert!(!sim.log.iter().any(|c| matches!(c, Command::Probe { .. })));
        assert!(!sim.armed(Timer::Probe));
    }
}

// ---- 10. staleness ----

mod stale {
    use super::*;

    #[test]
    fn closing_before_the_drain_drops_the_open_of_the_attempt() {
        let mut sim = Sim::new(cfg(&[WS]));
        sim.m.connect();
        sim.m.close(1000, Why::USER);
        assert_eq!(
            sim.drain(),
            [
                Command::WatchPage(true),
                state(Closed, Connecting),
                Command::Arm(Timer::Connect, CONNECT_MS),
                Command::WatchPage(false),
                Command::Disarm(Timer::Connect),
                Command::Release,
                state(Connecting, Closed),
                Command::Emit(Event::Close {
                    code: 1000,
                    clean: true,
                    reason: Why::USER.into()
                }),
            ]
        );
    }

    #[test]
    fn the_open_event_of_an_attempt_that_is_over_is_dropped() {
        let mut sim = Sim::new(cfg(&[WS]));
        sim.connect();
        sim.m.open_frame(1, 30, false, 0, 0);
        sim.m.transport_failed(1, Failure::new(Why::text(2)));
        let commands = sim.drain();
        assert!(!commands
            .iter()
            .any(|c| matches!(c, Command::Emit(Event::Open { .. }))));
        assert!(commands.contains(&state(OPEN, Reconnecting)));
    }

    #[test]
    fn a_probe_whose_transport_is_gone_is_dropped() {
        let mut sim = fallen_back(cfg(&[WS, ES]));
        sim.fire_only(Timer::Probe);
        let attempt = sim.attempt();
        sim.m.transport_failed(attempt, Failure::new(Why::text(2)));
        let commands = sim.drain();
        assert!(!commands.iter().any(|c| matches!(c, Command::Probe { .. })));
        assert!(commands.contains(&Command::ReleaseProbe));
        assert_eq!(sim.probe, None);
    }

    #[test]
    fn inputs_of_an_attempt_that_is_over_change_nothing() {
        let mut sim = Sim::new(cfg(&[WS, ES]));
        sim.connect();
        sim.fail(1);
        sim.open_frame(false, 0);
        assert!(sim.msg(1));
        let old = 1;
        let (stats, after) = (sim.m.stats(), sim.m.after());
        let m = &mut sim.m;
        m.transport_opened(old);
        m.transport_failed(old, Failure::new(Why::text(3)));
        m.open_frame(old, 30, false, 0, 0);
        assert!(!m.message(old, 10, 2));
        assert!(!m.raw_message(old, 10));
        m.ack_frame(old, 10, 0);
        m.heartbeat(old, 10, Some(9));
        m.gap(old, 10, 2, 9);
        m.recycle(old, 10);
        m.refused(old, 10, Why::text(4));
        m.ended(old, 10, Why::text(5));
        m.malformed(old, 10, Why::text(6));
        m.received(old, 10);
        assert_eq!(sim.drain(), []);
        assert_eq!(sim.m.stats(), stats);
        assert_eq!(sim.m.after(), after);
        assert_eq!(sim.m.state(), OPEN);
        assert_eq!(sim.transport, Some((2, ES)));
    }

    #[test]
    fn a_timer_that_is_not_armed_does_nothing() {
        let mut sim = start(cfg(&[WS]));
        for timer in [Timer::Retry, Timer::Connect, Timer::Ack, Timer::Probe] {
            sim.m.timer(timer);
        }
        assert_eq!(sim.drain(), []);
    }
}

// ---- 11. close ----

mod close {
    use super::*;

    #[test]
    fn close_releases_everything_and_reports_a_clean_close() {
        let mut sim = fallen_back(cfg(&[WS, ES]));
        assert!(sim.msg(1));
        sim.enqueue(1).unwrap();
        assert!(sim.post.is_some());
        assert_eq!(
            sim.close(),
            [
                Command::WatchPage(false),
                Command::Disarm(Timer::Ack),
                Command::Disarm(Timer::Liveness),
                Command::Disarm(Timer::Probe),
                Command::Release,
                Command::AbortPost,
                state(OPEN, Closed),
                Command::Emit(Event::Close {
                    code: 1000,
                    clean: true,
                    reason: Why::USER.into()
                }),
            ]
        );
        assert_eq!(sim.timers, [None; 7]);
        assert!(!sim.watching);
        assert_eq!(sim.m.transport(), None);
        assert_eq!(sim.close(), [], "closed already");
    }

    #[test]
    fn connect_after_close_starts_again() {
        let mut sim = fallen_back(cfg(&[WS, ES]));
        sim.close();
        let attempt = sim.m.attempt;
        assert_eq!(
            sim.connect(),
            [
                Command::WatchPage(true),
                state(Closed, Connecting),
                Command::Open {
                    attempt: attempt + 1,
                    kind: WS
                },
                Command::Arm(Timer::Connect, CONNECT_MS),
            ]
        );
        // The same session resumes: no replacement, and no reconnect counted.
        let commands = sim.open_frame(true, 0);
        assert!(commands.contains(&open_event(WS, attempt + 1)));
        assert_eq!(sim.m.stats().reconnects, 0);
    }

    #[test]
    fn close_while_reconnecting_disarms_the_retry() {
        let mut sim = start(cfg(&[WS]));
        sim.fail(1);
        assert_eq!(
            sim.close(),
            [
                Command::Disarm(Timer::Retry),
                Command::WatchPage(false),
                state(Reconnecting, Closed),
                Command::Emit(Event::Close {
                    code: 1000,
                    clean: true,
                    reason: Why::USER.into()
                }),
            ]
        );
    }

    #[test]
    fn close_before_the_deferred_connect_cancels_it() {
        let mut sim = Sim::new(cfg(&[WS]));
        sim.m.auto_connect();
        sim.drain();
        sim.m.close(1001, Why::DROPPED);
        assert_eq!(
            sim.drain(),
            [
                Command::Disarm(Timer::Retry),
                state(Connecting, Closed),
                Command::Emit(Event::Close {
                    code: 1001,
                    clean: true,
                    reason: Why::DROPPED.into()
                }),
            ]
        );
        assert_eq!(sim.connect()[1], state(Closed, Connecting));
    }

    #[test]
    fn close_of_a_client_never_connected_does_nothing() {
        let mut sim = Sim::new(cfg(&[WS]));
        assert_eq!(sim.close(), []);
    }
}

// ---- 12. the raw protocol ----

mod raw {
    use super::*;

    #[test]
    fn transport_opened_opens_and_raw_messages_are_delivered() {
        let mut sim = Sim::new(raw_cfg(&[WS], false));
        sim.connect();
        assert_eq!(
            sim.transport_opened(),
            [
                Command::Disarm(Timer::Connect),
                state(Connecting, OPEN),
                open_event(WS, 1),
            ],
            "no liveness: raw servers send no heartbeats"
        );
        let attempt = sim.attempt();
        for _ in 0..100 {
            assert!(sim.m.raw_message(attempt, 7));
        }
        assert_eq!(sim.drain(), [], "no acks");
        assert_eq!(sim.m.stats().messages_in, 100);
        assert_eq!(sim.m.stats().bytes_in, 700);
    }

    #[test]
    fn a_raw_message_before_the_open_opens() {
        let mut sim = Sim::new(raw_cfg(&[LP], true));
        sim.connect();
        let attempt = sim.attempt();
        assert!(sim.m.raw_message(attempt, 3));
        assert!(sim.drain().contains(&open_event(LP, 1)));
        assert_eq!(sim.m.state(), OPEN);
    }

    #[test]
    fn raw_sends_over_the_websocket_leave_the_queue_at_once() {
        let mut sim = Sim::new(raw_cfg(&[WS], false));
        sim.connect();
        sim.enqueue(1).unwrap();
        sim.enqueue(1).unwrap();
        assert_eq!(sim.transport_opened().last(), Some(&send(None, 0, 2, 1)));
        assert!(sim.queue.is_empty());
        assert!(sim.m.outbox.is_empty());
        sim.enqueue(1).unwrap();
        assert_eq!(sim.last, [send(None, 0, 1, 3)]);
        assert!(sim.m.outbox.is_empty());
        assert_eq!(sim.wire, [(1, 1), (2, 2), (3, 3)]);
    }

    #[test]
    fn raw_posts_go_one_message_at_a_time_to_the_send_url() {
        let mut sim = Sim::new(raw_cfg(&[ES], true));
        sim.connect();
        sim.transport_opened();
        sim.enqueue(1).unwrap();
        sim.enqueue(1).unwrap();
        assert_eq!(sim.post, Some(vec![1]));
        assert_eq!(sim.upload_done(), [Command::Acked(1), post(None, 0, 1, 2)]);
        assert_eq!(sim.upload_done(), [Command::Acked(1)]);
        assert!(sim.queue.is_empty());
        assert_eq!(sim.wire, [(1, 1), (2, 2)]);
    }

    #[test]
    fn raw_websocket_sends_beside_a_post_in_flight_send_each_message_once() {
        let mut sim = raw_post_in_flight_over_long_polling();
        // Long polling drops, fails to come back, and the next round opens the WebSocket while
        // the POST is still out.
        sim.fail(2);
        sim.fire(Timer::Retry);
        sim.fail(3);
        sim.fire(Timer::Retry);
        assert_eq!(sim.kind(), Some(WS));
        sim.enqueue(1).unwrap();
        sim.transport_opened();
        sim.upload_done();
        sim.enqueue(1).unwrap();
        assert_eq!(sim.wire, [(1, 1), (2, 2), (3, 3)]);
        assert_eq!(sim.queue.len(), sim.m.outbox.len());
    }
}

// ---- 13. random walks ----

/// Long random walks of a [`Sim`]: random configurations, random inputs (most of them plausible
/// for the driver, some naming attempts or probes that are over), and invariants checked after
/// every step on top of `Sim`'s own. Deterministic: each walk is seeded, and a failure names its
/// seed, its step and the inputs that led there. Environment: `MACHINE_SEED=<seed>` walks that
/// seed alone, `MACHINE_SEEDS=<n>` walks seeds `0..n`, `MACHINE_TRACE=1` prints every input and
/// command (with `--nocapture`).
mod random {
    use super::*;
    use crate::options::MAX_MS;
    use std::fmt::Write as _;
    use std::panic::{self, AssertUnwindSafe};

    const SEEDS: u64 = 200;
    const STEPS: usize = 2_000;
    /// How many of the last inputs a failure report lists.
    const TRACE: usize = 40;
    /// `upgrade::PROBE_BACKOFF.max_delay_ms`.
    const PROBE_CAP_MS: u32 = 60_000;

    /// xorshift64*, seeded through splitmix64 so that neighbouring seeds walk apart.
    struct Rng(u64);

    impl Rng {
        fn new(seed: u64) -> Rng {
            let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            Rng((z ^ (z >> 31)) | 1)
        }

        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        /// Uniform in `0..n` (`n > 0`; the modulo bias does not matter here).
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        fn chance(&mut self, percent: u64) -> bool {
            self.below(100) < percent
        }

        fn pick<T: Copy>(&mut self, items: &[T]) -> T {
            items[self.below(items.len() as u64) as usize]
        }
    }

    /// One input of a walk (kept for the failure report).
    #[derive(Clone, Copy, Debug)]
    enum Input {
        AutoConnect,
        Connect,
        Close {
            dropped: bool,
        },
        Enqueue {
            size: u32,
            len: u64,
        },
        Opened(u32),
        Failed {
            attempt: u32,
            retry_after_ms: u32,
            http: bool,
        },
        OpenFrame {
            attempt: u32,
            same: bool,
            ack: u64,
            hb: u64,
        },
        Message {
            attempt: u32,
            seq: u64,
        },
        RawMessage(u32),
        Beat {
            attempt: u32,
            sent: Option<u64>,
        },
        Gap {
            attempt: u32,
            from: u64,
            to: u64,
        },
        Ack {
            attempt: u32,
            ack: u64,
        },
        Recycle(u32),
        Refused(u32),
        Ended(u32),
        Malformed(u32),
        Received(u32),
        /// An armed timer fires, `late_ms` after it is due.
        Fire {
            timer: Timer,
            late_ms: u32,
        },
        FireUnarmed(Timer),
        Advance(u32),
        Wake,
        UploadDone,
        UploadFailed {
            retry_after_ms: u32,
            ended: bool,
        },
        ProbeOk(u32),
        ProbeFailed(u32),
    }

    fn random_config(rng: &mut Rng) -> Config {
        let mut kinds = TransportKind::ALL;
        for i in (1..kinds.len()).rev() {
            kinds.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let len = 1 + rng.below(6) as usize;
        let raw = rng.chance(35);
        let backoff = match rng.below(5) {
            0 => None,
            1 | 2 => Some(Backoff::default()),
            3 => Some(Backoff {
                max_attempts: Some(1 + rng.below(4) as u32),
                ..Backoff::default()
            }),
            _ => {
                let initial_delay_ms = rng.pick(&[0, 1, 500, 5_000]);
                Some(Backoff {
                    initial_delay_ms,
                    max_delay_ms: initial_delay_ms.max(rng.pick(&[0, 2_000, 60_000, MAX_MS])),
                    max_attempts: rng.chance(50).then(|| rng.below(6) as u32),
                })
            }
        };
        Config {
            transports: Order::new(&kinds[..len]),
            raw,
            connect_timeout_ms: rng.pick(&[1, 500, CONNECT_MS, CONNECT_MS, MAX_MS]),
            poll_interval_ms: rng.pick(&[0, 2_000, 30_000, MAX_MS]),
            long_poll_timeout_ms: rng.pick(&[1, 25_000, 25_000, MAX_MS]),
            heartbeat_timeout_ms: rng.pick(&[1, 1_000, HEARTBEAT_MS, HEARTBEAT_MS, MAX_MS]),
            backoff,
            upgrade: rng.chance(70),
            max_queued: 1 + rng.below(8) as u32,
            send_url: raw && rng.chance(50),
        }
    }

    /// Everything walked so far, summed over the walks: checks that they reach what matters.
    #[derive(Debug, Default)]
    struct Coverage {
        delivered: u64,
        sends: u64,
        posts: u64,
        acked: u64,
        new_sessions: u64,
        replaced: u64,
        probes: u64,
        upgrades: u64,
        reconnects: u64,
        fallbacks: u64,
        retries: u64,
        closes: u64,
    }

    /// A walk: the simulated driver, and what the invariants need to know of the past.
    struct Walk {
        rng: Rng,
        sim: Sim,
        /// Every input so far.
        trace: Vec<Input>,
        /// No timer may be armed for longer: a day plus the backoff cap (at least the probe cap).
        limit_ms: u32,
        /// Sessions, counted: `NewSession`, or an open frame of a new session the machine took.
        session: u32,
        /// Whether the driver holds a session id (an open frame reached it; `NewSession` forgets it).
        has_sid: bool,
        /// The last sequence number delivered in this session.
        delivered: Option<u64>,
        /// Each payload's number in this session, by payload (payloads are numbered from 1).
        number: Vec<u64>,
        /// Whether each payload is done with: the server acknowledged it (raw protocol: it was
        /// handed to the WebSocket, or its POST was answered with a 2xx). Only those may leave
        /// the queue.
        done: Vec<bool>,
        /// Payloads acknowledged in this session: the head of the queue is number `base + 1`.
        base: u64,
        /// The highest number handed to a transport in this session.
        wire_max: u64,
        /// The session the POST in flight was sent in, the numbers the queue had in it then, the
        /// highest sent in it, and whether its answer ended the session.
        post_session: u32,
        post_numbers: Vec<(u32, u64)>,
        post_wire_max: u64,
        post_ended: bool,
        /// An `ended` the machine took, not yet followed by `NewSession`.
        end_pending: bool,
        /// When each armed timer is due on the clock.
        due: [f64; 7],
        /// Every attempt and probe the machine opened.
        attempts: Vec<u32>,
        probes: Vec<u32>,
        /// The longest Retry-After heard in the current round of attempts.
        round_floor: u32,
        /// The least delay of a Retry (an UploadRetry) armed by the current input.
        min_retry_ms: u32,
        min_upload_retry_ms: u32,
        /// Closed by the user and not connected since.
        user_closed: bool,
        stats: Stats,
        coverage: Coverage,
        /// `MACHINE_TRACE` set: print every input and command.
        verbose: bool,
    }

    impl Walk {
        fn new(seed: u64) -> Walk {
            let mut rng = Rng::new(seed);
            let cfg = random_config(&mut rng);
            let cap = cfg.backoff.map_or(0, |backoff| backoff.max_delay_ms);
            // About `Date.now()`.
            set_now(1.7e12 + rng.below(1 << 40) as f64);
            Walk {
                rng,
                sim: Sim::seeded(cfg, seed),
                trace: Vec::with_capacity(STEPS),
                limit_ms: MAX_MS + cap.max(PROBE_CAP_MS),
                session: 0,
                has_sid: false,
                delivered: None,
                number: vec![0],
                done: vec![false],
                base: 0,
                wire_max: 0,
                post_session: 0,
                post_numbers: Vec::new(),
                post_wire_max: 0,
                post_ended: false,
                end_pending: false,
                due: [0.0; 7],
                attempts: Vec::new(),
                probes: Vec::new(),
                round_floor: 0,
                min_retry_ms: 0,
                min_upload_retry_ms: 0,
                user_closed: false,
                stats: Stats::default(),
                coverage: Coverage::default(),
                verbose: std::env::var_os("MACHINE_TRACE").is_some(),
            }
        }

        fn run(&mut self, steps: usize) {
            for step in 0..steps {
                // `autoConnect` is the constructor's: first or never.
                let input = if step == 0 && self.rng.chance(50) {
                    Input::AutoConnect
                } else {
                    self.draw()
                };
                self.trace.push(input);
                if self.verbose {
                    println!("{step}: {input:?}");
                }
                self.apply(input);
                self.check();
            }
            let stats = self.sim.m.stats();
            self.coverage.upgrades += stats.upgrades;
            self.coverage.reconnects += stats.reconnects;
            self.coverage.fallbacks += stats.fallbacks;
        }

        fn raw(&self) -> bool {
            self.sim.m.cfg.raw
        }

        // ---- drawing inputs ----

        fn draw(&mut self) -> Input {
            match self.rng.below(100) {
                0..=2 => Input::Connect,
                3 => Input::Close {
                    dropped: self.rng.chance(30),
                },
                4..=13 => self.enqueue(),
                14..=53 => self.transport_input(),
                54..=71 => self.fire(),
                72..=73 => {
                    let unarmed: Vec<Timer> = Timer::ALL
                        .into_iter()
                        .filter(|&timer| !self.sim.armed(timer))
                        .collect();
                    if unarmed.is_empty() {
                        Input::Wake
                    } else {
                        Input::FireUnarmed(self.rng.pick(&unarmed))
                    }
                }
                74..=76 => Input::Advance(self.rng.pick(&[1, 100, 999, 1_000, 20_000, 60_000])),
                77..=78 => Input::Wake,
                79..=91 => self.upload_input(),
                _ => self.probe_input(),
            }
        }

        fn enqueue(&mut self) -> Input {
            let size = match self.rng.below(20) {
                0 => 0,
                1 => 300_000 + self.rng.below(800_000) as u32,
                2 => u32::MAX,
                _ => 1 + self.rng.below(100) as u32,
            };
            let len = match self.rng.below(20) {
                0 => MAX_MESSAGE_BYTES,
                1 => MAX_MESSAGE_BYTES + 1 + self.rng.below(10),
                2 => u64::MAX,
                _ => u64::from(size).min(MAX_MESSAGE_BYTES),
            };
            Input::Enqueue { size, len }
        }

        /// The attempt an input names: mostly the transport held, sometimes one that is over (never
        /// the machine's current attempt when the driver holds no transport of it: the driver
        /// reports nothing of a transport it was told to release).
        fn attempt(&mut self) -> u32 {
            let held = self.sim.transport.map(|(attempt, _)| attempt);
            if let Some(held) = held {
                if self.rng.chance(85) {
                    return held;
                }
            }
            let current = self.sim.m.attempt;
            for _ in 0..4 {
                let attempt = if !self.attempts.is_empty() && self.rng.chance(80) {
                    self.rng.pick(&self.attempts)
                } else {
                    self.rng.next() as u32
                };
                if attempt != SESSION && (attempt != current || Some(attempt) == held) {
                    return attempt;
                }
            }
            held.unwrap_or(current ^ 0x4000_0000)
        }

        fn retry_after(&mut self) -> u32 {
            match self.rng.below(20) {
                0..=12 => 0,
                13..=15 => self.rng.below(5_000) as u32,
                16 => 30_000,
                17 => MAX_MS,
                // Beyond what a timer can wait (`a_retry_after_beyond_a_day_is_capped`).
                _ if self.rng.chance(50) => {
                    self.rng.pick(&[MAX_MS + 1, i32::MAX as u32 + 1, u32::MAX])
                }
                _ => self.rng.below(1_000) as u32,
            }
        }

        fn failed(&mut self, attempt: u32) -> Input {
            Input::Failed {
                attempt,
                retry_after_ms: self.retry_after(),
                http: self.rng.chance(30),
            }
        }

        /// An acknowledgement of upstream messages: mostly of what was sent in this session,
        /// sometimes beyond.
        fn ack_value(&mut self) -> u64 {
            let sent = self.wire_max;
            match self.rng.below(20) {
                0..=7 => sent,
                8..=13 => self.rng.below(sent + 1),
                14..=15 => sent.saturating_sub(1),
                16..=17 => sent + 1 + self.rng.below(3),
                18 => 0,
                _ => u64::MAX - self.rng.below(2),
            }
        }

        /// A sequence number near the next one expected: mostly it, sometimes a repeat, a skip,
        /// a step back, or something far.
        fn seq(&mut self) -> u64 {
            let after = self.sim.m.after();
            match self.rng.below(40) {
                0..=23 => after.saturating_add(1),
                24..=27 => after,
                28..=29 => after.saturating_sub(1 + self.rng.below(3)),
                30..=33 => after.saturating_add(2),
                34..=35 => after.saturating_add(3 + self.rng.below(5)),
                36 => 0,
                37 => after.saturating_add(1 + self.rng.below(1_000)),
                38 if self.rng.chance(10) => u64::MAX - self.rng.below(2),
                _ => after.saturating_add(1),
            }
        }

        fn transport_input(&mut self) -> Input {
            let attempt = self.attempt();
            if self.raw() {
                return match self.rng.below(10) {
                    0..=2 => Input::Opened(attempt),
                    3..=6 => Input::RawMessage(attempt),
                    7..=8 => self.failed(attempt),
                    _ => Input::Received(attempt),
                };
            }
            // A transport that has not opened yet gets its open frame more often than not.
            if !self.sim.m.opened && self.rng.chance(40) {
                return self.open_frame(attempt);
            }
            let after = self.sim.m.after();
            match self.rng.below(100) {
                0..=2 => Input::Opened(attempt),
                3..=10 => self.failed(attempt),
                11..=20 => self.open_frame(attempt),
                21..=55 => Input::Message {
                    attempt,
                    seq: self.seq(),
                },
                56..=63 => Input::Beat {
                    attempt,
                    sent: self.rng.chance(70).then(|| {
                        let delta = self.rng.pick(&[-1, 0, 0, 0, 1, 2]);
                        after.saturating_add_signed(delta)
                    }),
                },
                64..=67 => {
                    let (from, to) = if self.rng.chance(5) {
                        (0, u64::MAX)
                    } else {
                        let from = after.saturating_add_signed(self.rng.pick(&[-2, 0, 1, 1, 2, 4]));
                        (
                            from,
                            from.saturating_add_signed(self.rng.pick(&[-1, 0, 1, 2, 5])),
                        )
                    };
                    Input::Gap { attempt, from, to }
                }
                68..=75 => Input::Ack {
                    attempt,
                    ack: self.ack_value(),
                },
                76..=79 => Input::Recycle(attempt),
                80..=82 => Input::Refused(attempt),
                83..=85 => Input::Ended(attempt),
                86..=89 => Input::Malformed(attempt),
                _ => Input::Received(attempt),
            }
        }

        fn open_frame(&mut self, attempt: u32) -> Input {
            // The driver compares session ids: "the same" needs one held.
            let same = self.has_sid && self.rng.chance(85);
            let ack = if same || self.rng.chance(10) {
                self.ack_value()
            } else {
                0
            };
            let hb = match self.rng.below(10) {
                0..=3 => 0,
                4 => 1_000,
                5 | 6 => 25_000,
                7 => 60_000,
                8 => u64::from(MAX_MS),
                // Beyond what a timer can wait (`a_heartbeat_interval_beyond_a_day_is_capped`).
                _ => self.rng.pick(&[u64::from(u32::MAX), u64::MAX]),
            };
            Input::OpenFrame {
                attempt,
                same,
                ack,
                hb,
            }
        }

        fn fire(&mut self) -> Input {
            let armed: Vec<Timer> = Timer::ALL
                .into_iter()
                .filter(|&timer| self.sim.armed(timer))
                .collect();
            if armed.is_empty() {
                return Input::Advance(1_000);
            }
            let timer = self.rng.pick(&armed);
            let late_ms = if self.rng.chance(80) {
                0
            } else {
                self.rng.pick(&[1, 500, 5_000, 60_000])
            };
            Input::Fire { timer, late_ms }
        }

        /// The answer to the POST in flight (its frames first), or, rarely, an answer to none.
        fn upload_input(&mut self) -> Input {
            let raw = self.raw();
            if self.sim.post.is_none() {
                return match self.rng.below(10) {
                    0 => Input::UploadDone,
                    1 => Input::UploadFailed {
                        retry_after_ms: 0,
                        ended: false,
                    },
                    _ => self.transport_input(),
                };
            }
            match self.rng.below(20) {
                0..=4 if !raw => {
                    // In the numbering of the session the POST was sent in.
                    let ack = if self.post_session == self.session {
                        self.ack_value()
                    } else if self.rng.chance(70) {
                        self.post_wire_max
                    } else {
                        self.rng.below(self.post_wire_max + 2)
                    };
                    Input::Ack {
                        attempt: SESSION,
                        ack,
                    }
                }
                5 if !raw => Input::Ended(SESSION),
                6 if !raw => Input::Malformed(SESSION),
                7 if !raw => Input::Received(SESSION),
                8..=13 => Input::UploadDone,
                _ => Input::UploadFailed {
                    retry_after_ms: self.retry_after(),
                    ended: !raw && (self.post_ended || self.rng.chance(10)),
                },
            }
        }

        fn probe_input(&mut self) -> Input {
            let id = match self.sim.probe {
                Some((id, _)) if self.rng.chance(80) => id,
                _ if !self.probes.is_empty() && self.rng.chance(70) => self.rng.pick(&self.probes),
                _ => self.rng.next() as u32,
            };
            if self.rng.chance(50) {
                Input::ProbeOk(id)
            } else {
                Input::ProbeFailed(id)
            }
        }

        // ---- performing them ----

        /// Whether the machine takes a frame of `attempt` (as `Machine::arrived` says).
        fn takes(&self, attempt: u32) -> bool {
            if attempt == SESSION {
                self.sim.m.state() != Closed
            } else {
                self.sim.m.is_current(attempt)
            }
        }

        fn apply(&mut self, input: Input) {
            self.min_retry_ms = self.round_floor;
            self.min_upload_retry_ms = 0;
            let held = self.sim.transport.map(|(attempt, _)| attempt);
            match input {
                Input::AutoConnect => {
                    self.user_closed = false;
                    self.sim.m.auto_connect();
                }
                Input::Connect => {
                    self.user_closed = false;
                    self.round_floor = 0;
                    self.min_retry_ms = 0;
                    self.sim.m.connect();
                }
                Input::Close { dropped } => {
                    self.user_closed = true;
                    let (code, why) = if dropped {
                        (1001, Why::DROPPED)
                    } else {
                        (1000, Why::USER)
                    };
                    self.sim.m.close(code, why);
                }
                Input::Enqueue { size, len } => {
                    if self.sim.m.enqueue(size, len).is_ok() {
                        self.sim.enqueued += 1;
                        self.sim.queue.push_back(self.sim.enqueued);
                        self.number.push(self.base + self.sim.queue.len() as u64);
                        self.done.push(false);
                    }
                }
                Input::Opened(attempt) => self.sim.m.transport_opened(attempt),
                Input::Failed {
                    attempt,
                    retry_after_ms,
                    http,
                } => {
                    // The machine holds a Retry-After to a day at most.
                    let floor = retry_after_ms.min(MAX_MS);
                    if self.takes(attempt) {
                        if !self.sim.m.opened {
                            self.round_floor = self.round_floor.max(floor);
                        }
                        self.min_retry_ms = self.round_floor.max(floor);
                    }
                    let failure = Failure {
                        why: Why::text(1),
                        retry_after_ms,
                        code: http.then_some(ErrorCode::Http),
                    };
                    self.sim.m.transport_failed(attempt, failure);
                }
                Input::OpenFrame {
                    attempt,
                    same,
                    ack,
                    hb,
                } => {
                    if Some(attempt) == held {
                        self.has_sid = true;
                    }
                    if self.takes(attempt) {
                        if !same {
                            self.renumber();
                            self.coverage.replaced += 1;
                        }
                        self.acknowledge(ack);
                    }
                    self.sim.m.open_frame(attempt, 30, same, ack, hb);
                }
                Input::Message { attempt, seq } => {
                    let takes = self.takes(attempt);
                    if self.sim.m.message(attempt, 10, seq) {
                        assert!(takes, "message {seq} of attempt {attempt}, over, delivered");
                        if let Some(last) = self.delivered {
                            assert!(
                                seq > last,
                                "message {seq} delivered after {last} in the same session"
                            );
                        }
                        self.delivered = Some(seq);
                        self.coverage.delivered += 1;
                    }
                }
                Input::RawMessage(attempt) => {
                    let takes = self.takes(attempt);
                    if self.sim.m.raw_message(attempt, 10) {
                        assert!(takes, "raw message of attempt {attempt}, over, delivered");
                        self.coverage.delivered += 1;
                    }
                }
                Input::Beat { attempt, sent } => self.sim.m.heartbeat(attempt, 8, sent),
                Input::Gap { attempt, from, to } => self.sim.m.gap(attempt, 20, from, to),
                Input::Ack { attempt, ack } => {
                    if self.takes(attempt) {
                        if attempt == SESSION && self.post_session != self.session {
                            // The answer to a POST of an earlier session: its numbers.
                            if ack <= self.post_wire_max {
                                for &(item, number) in &self.post_numbers {
                                    if number <= ack {
                                        self.done[item as usize] = true;
                                    }
                                }
                            }
                        } else {
                            self.acknowledge(ack);
                        }
                    }
                    self.sim.m.ack_frame(attempt, 12, ack);
                }
                Input::Recycle(attempt) => self.sim.m.recycle(attempt, 9),
                Input::Refused(attempt) => self.sim.m.refused(attempt, 40, Why::text(2)),
                Input::Ended(attempt) => {
                    if self.takes(attempt) {
                        self.end_pending = true;
                    }
                    if attempt == SESSION {
                        self.post_ended = true;
                    }
                    self.sim.m.ended(attempt, 40, Why::text(3));
                }
                Input::Malformed(attempt) => self.sim.m.malformed(attempt, 17, Why::text(4)),
                Input::Received(attempt) => self.sim.m.received(attempt, 5),
                Input::Fire { timer, late_ms } => {
                    set_now(clock().max(self.due[timer as usize]) + f64::from(late_ms));
                    self.sim.fire_only(timer);
                }
                Input::FireUnarmed(timer) => self.sim.m.timer(timer),
                Input::Advance(ms) => advance(ms),
                Input::Wake => self.sim.m.wake(),
                Input::UploadDone => {
                    if let Some(items) = self.sim.post.take() {
                        if self.raw() {
                            for item in items {
                                self.done[item as usize] = true;
                            }
                        }
                    }
                    self.sim.m.upload_done();
                }
                Input::UploadFailed {
                    retry_after_ms,
                    ended,
                } => {
                    self.sim.post = None;
                    self.min_upload_retry_ms = retry_after_ms.min(MAX_MS);
                    self.sim
                        .m
                        .upload_failed(Why::text(5), retry_after_ms, ended);
                }
                Input::ProbeOk(id) => self.sim.m.probe_succeeded(id),
                Input::ProbeFailed(id) => self.sim.m.probe_failed(id),
            }
            self.drain();
            if self.sim.m.opened {
                // The round of attempts is over (the machine forgets its Retry-After).
                self.round_floor = 0;
            }
        }

        /// `Sim::drain`, with the invariants on each command checked before it is performed.
        fn drain(&mut self) {
            while let Some(command) = self.sim.m.next() {
                if self.verbose {
                    println!("    {command:?}");
                }
                self.before(command);
                self.sim.perform(command);
            }
            self.sim.check();
        }

        fn before(&mut self, command: Command) {
            let raw = self.raw();
            match command {
                Command::Open { attempt, .. } => self.attempts.push(attempt),
                Command::Probe { id, .. } => {
                    self.probes.push(id);
                    self.coverage.probes += 1;
                }
                Command::Arm(timer, ms) => {
                    assert!(
                        ms <= self.limit_ms,
                        "{timer:?} armed for {ms} ms, more than {} ms",
                        self.limit_ms
                    );
                    self.due[timer as usize] = clock() + f64::from(ms);
                    match timer {
                        Timer::Retry => {
                            assert!(
                                ms >= self.min_retry_ms,
                                "Retry armed for {ms} ms, under the Retry-After floor of {} ms",
                                self.min_retry_ms
                            );
                            self.round_floor = 0;
                            self.coverage.retries += 1;
                        }
                        Timer::UploadRetry => assert!(
                            ms >= self.min_upload_retry_ms.max(UPLOAD_RETRY_MS),
                            "UploadRetry armed for {ms} ms, under the Retry-After of {} ms",
                            self.min_upload_retry_ms
                        ),
                        _ => {}
                    }
                }
                Command::Send {
                    from, count, first, ..
                } => {
                    self.out(from, count, first, raw);
                    self.coverage.sends += u64::from(count);
                    if raw {
                        // As the driver does: the first `count` items leave the queue.
                        for &item in self.sim.queue.iter().take(count as usize) {
                            assert!(
                                self.done[item as usize],
                                "payload {item} left the queue unsent"
                            );
                        }
                        self.base += u64::from(count);
                    }
                }
                Command::Post {
                    from, count, first, ..
                } => {
                    self.out(from, count, first, false);
                    self.post_session = self.session;
                    self.post_wire_max = self.wire_max;
                    self.post_numbers.clear();
                    for &item in &self.sim.queue {
                        self.post_numbers.push((item, self.number[item as usize]));
                    }
                    self.post_ended = false;
                    self.coverage.posts += 1;
                }
                Command::Acked(count) => {
                    for &item in self.sim.queue.iter().take(count as usize) {
                        assert!(
                            self.done[item as usize],
                            "payload {item} (number {} in this session) dropped, but the server \
                             did not acknowledge it",
                            self.number[item as usize]
                        );
                    }
                    self.base += u64::from(count);
                    self.coverage.acked += u64::from(count);
                }
                Command::NewSession => {
                    self.renumber();
                    self.has_sid = false;
                    self.end_pending = false;
                    self.coverage.new_sessions += 1;
                }
                Command::Emit(Event::Close { .. }) => self.coverage.closes += 1,
                _ => {}
            }
        }

        /// Items `from..from + count` of the queue are handed to a transport, numbered from
        /// `first`: each with the number it has in this session.
        fn out(&mut self, from: u32, count: u32, first: u64, done: bool) {
            let items = self
                .sim
                .queue
                .iter()
                .skip(from as usize)
                .take(count as usize);
            for (&item, seq) in items.zip(first..) {
                let number = self.number[item as usize];
                assert_eq!(
                    seq, number,
                    "payload {item} went out as {seq}, its number in this session is {number}"
                );
                if done {
                    self.done[item as usize] = true;
                }
            }
            if count > 0 {
                self.wire_max = self.wire_max.max(first + u64::from(count) - 1);
            }
        }

        /// The server acknowledged this session's messages up to `ack` (nothing if it never got
        /// that far: the machine refuses such an acknowledgement).
        fn acknowledge(&mut self, ack: u64) {
            if ack > self.wire_max {
                return;
            }
            for &item in &self.sim.queue {
                if self.number[item as usize] <= ack {
                    self.done[item as usize] = true;
                }
            }
        }

        /// A new session: the queue is numbered again from 1, nothing is delivered or sent in it.
        fn renumber(&mut self) {
            self.session += 1;
            self.delivered = None;
            self.base = 0;
            self.wire_max = 0;
            for (&item, number) in self.sim.queue.iter().zip(1..) {
                self.number[item as usize] = number;
            }
        }

        /// The invariants that hold between inputs.
        fn check(&mut self) {
            let m = &self.sim.m;
            let state = m.state();
            if self.user_closed {
                assert_eq!(state, Closed, "closed by the user, not connected since");
            }
            if state == OPEN {
                assert!(
                    self.sim.transport.is_some() || self.end_pending && self.sim.post.is_some(),
                    "open, but no transport is held and no new session waits for the POST"
                );
            }
            if state == Closed {
                assert_eq!(self.sim.transport, None, "closed, holding a transport");
                assert_eq!(self.sim.probe, None, "closed, holding a probe");
                assert_eq!(self.sim.post, None, "closed, with a POST in flight");
                assert_eq!(self.sim.timers, [None; 7], "closed, with timers armed");
            }
            assert!(
                self.sim.queue.len() <= m.cfg.max_queued as usize,
                "{} queued, max_queued is {}",
                self.sim.queue.len(),
                m.cfg.max_queued
            );
            let (now, before) = (m.stats(), self.stats);
            let counters = [
                ("messages_in", now.messages_in, before.messages_in),
                ("messages_out", now.messages_out, before.messages_out),
                ("bytes_in", now.bytes_in, before.bytes_in),
                ("bytes_out", now.bytes_out, before.bytes_out),
                ("reconnects", now.reconnects, before.reconnects),
                ("fallbacks", now.fallbacks, before.fallbacks),
                ("upgrades", now.upgrades, before.upgrades),
            ];
            for (name, now, before) in counters {
                assert!(now >= before, "stats.{name} went from {before} to {now}");
            }
            self.stats = now;
        }

        /// What a failure says: where, and how the walk got there.
        fn report(&self, seed: u64, message: &str) -> String {
            let step = self.trace.len().saturating_sub(1);
            let mut report = format!(
                "seed {seed}, step {step}: {message}\n{:?}\nlast inputs:\n",
                self.sim.m.cfg
            );
            let first = self.trace.len().saturating_sub(TRACE);
            for (i, input) in self.trace.iter().enumerate().skip(first) {
                let _ = writeln!(report, "  {i}: {input:?}");
            }
            report
        }
    }

    // ---- the bugs the walks found (the walks go into each of these; fixed) ----

    #[test]
    fn raw_post_aborted_by_close_is_sent_again() {
        let mut sim = Sim::new(raw_cfg(&[LP], true));
        sim.connect();
        sim.transport_opened();
        sim.enqueue(1).unwrap();
        assert_eq!(sim.post, Some(vec![1]));
        assert!(sim.close().contains(&Command::AbortPost));
        sim.connect();
        sim.transport_opened();
        // Nobody knows whether payload 1 reached the server: it is sent again.
        assert_eq!(sim.post, Some(vec![1]), "payload 1 is not sent again");
    }

    #[test]
    fn raw_post_aborted_by_close_keeps_a_raw_websocket_queue_in_step() {
        let mut sim = raw_post_in_flight_over_long_polling();
        sim.close();
        sim.connect();
        assert_eq!(sim.kind(), Some(WS));
        sim.transport_opened();
        sim.enqueue(1).unwrap();
        sim.enqueue(1).unwrap();
        assert_eq!(sim.queue.len(), sim.m.outbox.len(), "queue and outbox");
        assert_eq!(sim.wire, [(1, 1), (1, 1), (2, 2), (3, 3)]);
    }

    #[test]
    fn a_new_session_refused_honours_the_retry_after_of_the_round() {
        let mut sim = Sim::new(cfg(&[WS, ES]));
        sim.connect();
        // The WebSocket is refused with a Retry-After of 30 s: fall back to EventSource...
        sim.fail_with(Failure {
            why: Why::text(1),
            retry_after_ms: 30_000,
            code: Some(ErrorCode::Http),
        });
        assert_eq!(sim.kind(), Some(ES));
        // ...whose server refuses a session before any open frame.
        sim.ended(2);
        let delay = sim.armed_ms(Timer::Retry);
        assert!(delay >= 30_000, "retried after {delay} ms");
    }

    #[test]
    fn an_ack_of_a_post_of_a_replaced_session_drops_nothing_of_the_new_one() {
        let mut sim = fallen_back(cfg(&[WS, ES]));
        sim.enqueue(1).unwrap();
        sim.post_ack(1);
        sim.upload_done();
        // Payload 2 goes by POST as message 2 of the session; payload 3 waits for it.
        sim.enqueue(1).unwrap();
        sim.enqueue(1).unwrap();
        assert_eq!(sim.post, Some(vec![2]));
        // EventSource drops while the POST is out, and the next round opens the WebSocket, on a
        // server node that does not know the session: a new one.
        sim.fail(3);
        sim.fire(Timer::Retry);
        sim.fail(4);
        sim.fire(Timer::Retry);
        assert_eq!(sim.kind(), Some(WS));
        sim.open_frame(false, 0);
        assert_eq!(sim.wire[sim.wire.len() - 2..], [(2, 1), (3, 2)]);
        // The POST's answer: the old session processed its message 2, payload 2. That number
        // is not the outbox's any more: payload 3 (message 2 of the new session) is
        // acknowledged by nobody yet, and payload 2 stays until the new session has it too.
        sim.post_ack(2);
        assert_eq!(sim.queue, [2, 3], "acknowledged in the wrong numbering");
        sim.upload_done();
        assert_eq!(sim.queue, [2, 3]);
        sim.ack(2);
        assert!(sim.queue.is_empty(), "{:?}", sim.queue);
    }

    #[test]
    fn a_retry_after_beyond_a_day_is_capped() {
        let mut sim = start(cfg(&[WS]));
        sim.fail_with(Failure {
            why: Why::text(1),
            retry_after_ms: u32::MAX,
            code: Some(ErrorCode::Http),
        });
        let cap = Backoff::default().max_delay_ms;
        assert!(sim.armed_ms(Timer::Retry) <= MAX_MS + cap);
        let mut sim = start(cfg(&[ES]));
        sim.enqueue(1).unwrap();
        sim.upload_failed(1, u32::MAX, false);
        assert!(sim.armed_ms(Timer::UploadRetry) <= MAX_MS + cap);
    }

    #[test]
    fn a_heartbeat_interval_beyond_a_day_is_capped() {
        let mut sim = Sim::new(cfg(&[WS]));
        sim.connect();
        sim.open_frame_hb(false, 0, u64::MAX);
        let liveness = sim.armed_ms(Timer::Liveness);
        assert!(liveness <= MAX_MS + PROBE_CAP_MS, "{liveness} ms");
        assert!(
            liveness <= i32::MAX as u32,
            "setTimeout fires {liveness} ms at once"
        );
    }

    #[test]
    fn a_session_end_pending_at_close_spares_the_next_session() {
        let mut sim = start(cfg(&[ES]));
        sim.enqueue(1).unwrap();
        // The session ends while the POST is out: the new one waits for its answer...
        sim.ended(4);
        assert_eq!(sim.new_sessions, 0);
        // ...which never comes: the user closes (the POST is aborted) and connects again.
        sim.close();
        sim.connect();
        sim.open_frame(false, 0);
        assert_eq!(sim.post, Some(vec![1]));
        let commands = sim.upload_done();
        assert!(
            !commands.contains(&Command::NewSession),
            "the session just opened is dropped: {commands:?}"
        );
    }

    #[test]
    fn long_random_walks_keep_the_invariants() {
        let var = |name| std::env::var(name).ok().map(|v: String| v.parse::<u64>());
        let seeds = match (var("MACHINE_SEED"), var("MACHINE_SEEDS")) {
            (Some(seed), _) => {
                let seed = seed.expect("MACHINE_SEED: a number");
                seed..seed + 1
            }
            (None, Some(count)) => 0..count.expect("MACHINE_SEEDS: a number"),
            (None, None) => 0..SEEDS,
        };
        let mut coverage = Coverage::default();
        for seed in seeds.clone() {
            let mut walk = Walk::new(seed);
            let result = panic::catch_unwind(AssertUnwindSafe(|| walk.run(STEPS)));
            if let Err(error) = result {
                let message = error
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| error.downcast_ref::<&str>().copied())
                    .unwrap_or("(a panic without a message)");
                panic!("{}", walk.report(seed, message));
            }
            let c = &walk.coverage;
            coverage.delivered += c.delivered;
            coverage.sends += c.sends;
            coverage.posts += c.posts;
            coverage.acked += c.acked;
            coverage.new_sessions += c.new_sessions;
            coverage.replaced += c.replaced;
            coverage.probes += c.probes;
            coverage.upgrades += c.upgrades;
            coverage.reconnects += c.reconnects;
            coverage.fallbacks += c.fallbacks;
            coverage.retries += c.retries;
            coverage.closes += c.closes;
        }
        println!("{coverage:?}");
        if seeds.end - seeds.start > 1 {
            // The walks reach every part of the machine (a drawing gone wrong would stop them).
            let c = &coverage;
            let counters = [
                c.delivered,
                c.sends,
                c.posts,
                c.acked,
                c.new_sessions,
                c.replaced,
                c.probes,
                c.upgrades,
                c.reconnects,
                c.fallbacks,
                c.retries,
                c.closes,
            ];
            assert!(counters.iter().all(|&n| n > 0), "{coverage:?}");
        }
    }
}
