//! The hub: the table of live sessions, the demo application behind `/rt` (echo, burst, rooms)
//! and expiry of idle sessions.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::frame::ClientFrame;
use crate::message::Body;
use crate::refusal::Refusal;
use crate::session::Session;

/// Most messages one `emit("burst")` may ask for.
pub const MAX_BURST_COUNT: u64 = 1_000_000;
/// Longest `pad` one burst message may ask for.
pub const MAX_BURST_SIZE: u64 = 1 << 20;

/// Every live session, and the rooms they joined.
#[derive(Debug)]
pub struct Hub {
    table: Mutex<Table>,
    window: usize,
    idle: Duration,
    session_bytes: usize,
    max_sessions: usize,
}

#[derive(Debug)]
struct Table {
    sessions: HashMap<String, Arc<Session>>,
    /// Room name to the ids of its members.
    rooms: HashMap<String, HashSet<String>>,
    last_sweep: Instant,
}

/// A session a request may use.
#[derive(Debug)]
pub struct Opened {
    /// The session.
    pub session: Arc<Session>,
    /// Whether this request created it.
    pub created: bool,
}

impl Hub {
    /// A hub whose sessions keep `window` unacknowledged messages and expire after `idle`,
    /// with no byte budget and no cap on sessions.
    pub fn new(window: usize, idle: Duration) -> Hub {
        Hub::with_limits(window, idle, usize::MAX, usize::MAX)
    }

    /// A hub whose sessions keep `window` unacknowledged messages of about `session_bytes` (and
    /// as many waiting behind them), expire after `idle`, and number `max_sessions` at most.
    pub fn with_limits(
        window: usize,
        idle: Duration,
        session_bytes: usize,
        max_sessions: usize,
    ) -> Hub {
        Hub {
            session_bytes,
            max_sessions,
            table: Mutex::new(Table {
                sessions: HashMap::new(),
                rooms: HashMap::new(),
                last_sweep: Instant::now(),
            }),
            window,
            idle,
        }
    }

    fn table(&self) -> MutexGuard<'_, Table> {
        // Every update of the table is a few map operations that leave it consistent; a panic
        // elsewhere while it was locked is no reason to stop serving every other session.
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Resumes the session `sid` if `token` matches, or creates one when no `sid` is given.
    pub fn open(&self, sid: Option<&str>, token: Option<&str>) -> Result<Opened, Refusal> {
        let mut table = self.table();
        self.sweep(&mut table);
        let sid = sid.filter(|s| !s.is_empty());
        let token = token.filter(|t| !t.is_empty());
        let Some(sid) = sid else {
            if token.is_some() {
                return Err(Refusal::Protocol("token without sid".into()));
            }
            if table.sessions.len() >= self.max_sessions {
                return Err(Refusal::Busy);
            }
            return Ok(Opened {
                session: self.create(&mut table),
                created: true,
            });
        };
        let session = table.sessions.get(sid).ok_or(Refusal::UnknownSession)?;
        if !token.is_some_and(|t| session.token_matches(t)) {
            return Err(Refusal::BadToken);
        }
        session.touch();
        Ok(Opened {
            session: Arc::clone(session),
            created: false,
        })
    }

    fn create(&self, table: &mut Table) -> Arc<Session> {
        let sid = loop {
            // Not secret, only unique: 64 random bits keep collisions out of the picture.
            let sid = format!("{:016x}", rand::random::<u64>());
            if !table.sessions.contains_key(&sid) {
                break sid;
            }
        };
        // 128 bits from the thread-local CSPRNG: the token is the session's only secret.
        let token = format!("{:032x}", rand::random::<u128>());
        let session = Arc::new(Session::with_budget(
            sid.clone(),
            token,
            self.window,
            self.session_bytes,
        ));
        table.sessions.insert(sid, Arc::clone(&session));
        session
    }

    /// Discards idle sessions. Runs on the way into [`Hub::open`] (at most a few times per idle
    /// period) rather than from a timer task, so the hub needs no runtime of its own.
    fn sweep(&self, table: &mut Table) {
        let now = Instant::now();
        let every = (self.idle / 2).min(Duration::from_secs(1));
        if now.saturating_duration_since(table.last_sweep) < every {
            return;
        }
        table.last_sweep = now;
        let idle: Vec<Arc<Session>> = table
            .sessions
            .values()
            .filter(|s| s.is_idle(now, self.idle))
            .cloned()
            .collect();
        for session in idle {
            table.sessions.remove(session.sid());
            for room in session.rooms() {
                leave_room(table, &room, session.sid());
            }
        }
    }

    /// The number of live sessions (expired ones are counted until the next sweep).
    pub fn session_count(&self) -> usize {
        self.table().sessions.len()
    }

    /// Processes upstream frames in order: acks trim the replay window; a message or event is
    /// applied only if its `c` is the next one expected, so resent frames are ignored. Returns
    /// the highest processed `c`, for the `a` frame.
    pub fn receive(&self, session: &Arc<Session>, frames: Vec<ClientFrame>) -> u64 {
        session.touch();
        let mut processed = session.upstream();
        for frame in frames {
            match frame {
                ClientFrame::Ack(seq) => session.acknowledge(seq),
                ClientFrame::Send { c, body } if c == *processed + 1 => {
                    *processed = c;
                    session.push(body);
                }
                ClientFrame::Emit { c, name, value } if c == *processed + 1 => {
                    *processed = c;
                    self.apply(session, &name, &value);
                }
                // A repeat (resent after a lost ack) or one past a hole: the client resends
                // from our ack, so dropping it here keeps upstream exactly-once and in order.
                ClientFrame::Send { .. } | ClientFrame::Emit { .. } => {}
            }
        }
        *processed
    }

    /// The demo application's answer to `emit(name, value)`; unknown names are ignored.
    fn apply(&self, session: &Arc<Session>, name: &str, value: &Value) {
        match name {
            "echo" => session.push(Body::event("echo", value)),
            "burst" => {
                let count = value.get("count").and_then(Value::as_u64).unwrap_or(0);
                let size = value.get("size").and_then(Value::as_u64).unwrap_or(0);
                let size = usize::try_from(size.min(MAX_BURST_SIZE)).unwrap_or(0);
                session.push_burst(count.min(MAX_BURST_COUNT), size);
            }
            "join" => {
                if let Some(room) = value.as_str() {
                    self.join(session, room);
                }
            }
            "leave" => {
                if let Some(room) = value.as_str() {
                    if session.leave(room) {
                        leave_room(&mut self.table(), room, session.sid());
                    }
                }
            }
            "publish" => {
                let room = value.get("room").and_then(Value::as_str);
                let event = value.get("event").and_then(Value::as_str);
                if let (Some(room), Some(event)) = (room, event) {
                    let data = value.get("data").unwrap_or(&Value::Null);
                    self.publish(room, &Body::event(event, data));
                }
            }
            _ => {}
        }
    }

    fn join(&self, session: &Arc<Session>, room: &str) {
        if session.join(room) {
            let mut table = self.table();
            table
                .rooms
                .entry(room.to_owned())
                .or_default()
                .insert(session.sid().to_owned());
        }
    }

    /// Sends `body` to every session in `room`. The members are collected first so no session is
    /// locked while the table is.
    fn publish(&self, room: &str, body: &Body) {
        let members: Vec<Arc<Session>> = {
            let table = self.table();
            let Some(sids) = table.rooms.get(room) else {
                return;
            };
            sids.iter()
                .filter_map(|sid| table.sessions.get(sid).cloned())
                .collect()
        };
        for member in members {
            member.push(body.clone());
        }
    }
}

fn leave_room(table: &mut Table, room: &str, sid: &str) {
    if let Some(members) = table.rooms.get_mut(room) {
        members.remove(sid);
        if members.is_empty() {
            table.rooms.remove(room);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hub() -> Hub {
        Hub::new(100, Duration::from_secs(60))
    }

    fn emit(c: u64, name: &str, value: Value) -> ClientFrame {
        ClientFrame::Emit {
            c,
            name: name.into(),
            value,
        }
    }

    #[test]
    fn create_and_resume() {
        let hub = hub();
        let created = hub.open(None, None).expect("create");
        assert!(created.created);
        let session = created.session;
        assert_eq!(session.token().len(), 32);
        let resumed = hub
            .open(Some(session.sid()), Some(session.token()))
            .expect("resume");
        assert!(!resumed.created);
        assert_eq!(
            hub.open(Some(session.sid()), Some("0")).unwrap_err(),
            Refusal::BadToken
        );
        assert_eq!(
            hub.open(Some(session.sid()), None).unwrap_err(),
            Refusal::BadToken
        );
        assert_eq!(
            hub.open(Some("nope"), Some("0")).unwrap_err(),
            Refusal::UnknownSession
        );
    }

    #[test]
    fn upstream_is_exactly_once_in_order() {
        let hub = hub();
        let session = hub.open(None, None).expect("create").session;
        let send = |c: u64| ClientFrame::Send {
            c,
            body: Body::Text(c.to_string()),
        };
        assert_eq!(hub.receive(&session, vec![send(1), send(2)]), 2);
        assert_eq!(hub.receive(&session, vec![send(1), send(2), send(3)]), 3);
        assert_eq!(hub.receive(&session, vec![send(5)]), 3);
        assert_eq!(session.last_seq(), 3);
    }

    #[test]
    fn rooms() {
        let hub = hub();
        let a = hub.open(None, None).expect("create").session;
        let b = hub.open(None, None).expect("create").session;
        hub.receive(&a, vec![emit(1, "join", json!("lobby"))]);
        hub.receive(&b, vec![emit(1, "join", json!("lobby"))]);
        hub.receive(
            &a,
            vec![emit(
                2,
                "publish",
                json!({"room": "lobby", "event": "chat", "data": 1}),
            )],
        );
        assert_eq!((a.last_seq(), b.last_seq()), (1, 1));
        hub.receive(&b, vec![emit(2, "leave", json!("lobby"))]);
        hub.receive(
            &a,
            vec![emit(
                3,
                "publish",
                json!({"room": "lobby", "event": "chat", "data": 2}),
            )],
        );
        assert_eq!((a.last_seq(), b.last_seq()), (2, 1));
    }

    #[test]
    fn sessions_are_capped() {
        let hub = Hub::with_limits(10, Duration::from_secs(60), 1 << 20, 2);
        let a = hub.open(None, None).expect("create").session;
        hub.open(None, None).expect("create");
        assert_eq!(hub.open(None, None).unwrap_err(), Refusal::Busy);
        assert!(
            hub.open(Some(a.sid()), Some(a.token())).is_ok(),
            "resuming still works"
        );
    }

    #[test]
    fn idle_sessions_expire() {
        let hub = Hub::new(10, Duration::from_millis(20));
        let session = hub.open(None, None).expect("create").session;
        std::thread::sleep(Duration::from_millis(50));
        hub.open(None, None).expect("create");
        assert_eq!(
            hub.open(Some(session.sid()), Some(session.token()))
                .unwrap_err(),
            Refusal::UnknownSession
        );
    }
}
