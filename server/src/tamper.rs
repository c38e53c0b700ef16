//! The hostile faults of the test hooks that tamper with a connection's frames: `garbage-frame`,
//! `bad-frame`, `seq-repeat`, `seq-skip`, `bad-utf8` and `cut-mid-event` (docs/PROTOCOL.md, "Test
//! hooks").
//!
//! Each acts once per connection (a WebSocket, an event stream, an iframe document, one poll
//! answer), at the connection's second message (`m`/`e` frame): the first one always arrives
//! intact, so a client that reconnects after each tampering resumes one message further on and
//! gets everything in the end. Other frames (`o`, `h`, `a`, `g`, `r`) pass untouched.

use crate::faults::{BadFrame, Faults};
use crate::frame::Frame;

/// What `garbage-frame` writes where a frame goes.
pub const GARBAGE: &str = "this is not JSON {";

/// The byte `bad-utf8` puts in a message's text: never valid in UTF-8.
pub const INVALID_UTF8: u8 = 0xFF;

/// What a transport can carry besides frames.
#[derive(Debug, Clone, Copy)]
pub struct Carrier {
    /// Payloads that are not valid UTF-8 (not a WebSocket: its text frames must be UTF-8, and a
    /// browser fails the connection itself).
    pub bytes: bool,
    /// A frame cut short, then the end of the response (not a WebSocket).
    pub cut: bool,
}

impl Carrier {
    /// An HTTP response body (event stream, iframe document, poll answer): carries anything.
    pub const HTTP: Carrier = Carrier {
        bytes: true,
        cut: true,
    };
    /// A WebSocket: UTF-8 text frames only, no cuts.
    pub const WEBSOCKET: Carrier = Carrier {
        bytes: false,
        cut: false,
    };
}

/// Something written in place of, or besides, a frame.
#[derive(Debug, Clone)]
pub enum Tampered<'a> {
    /// These bytes where a frame's JSON goes (wrapped as the transport wraps a frame: an event,
    /// a script, a WebSocket text message, an array element).
    Payload(Vec<u8>),
    /// The first half of this frame as the transport would write it; then the response ends.
    Cut(Frame<'a>),
}

impl Tampered<'_> {
    /// The cut point of `encoded`, a frame as written: half of it.
    pub fn cut_point(encoded: &[u8]) -> usize {
        encoded.len() / 2
    }
}

/// One write of a tampered batch.
#[derive(Debug, Clone)]
pub enum Step<'a> {
    /// Frames, written as usual.
    Frames(Vec<Frame<'a>>),
    /// A tampered piece.
    Tampered(Tampered<'a>),
}

/// One connection's tampering: which faults, and how far the connection is.
#[derive(Debug)]
pub struct Tamper {
    garbage: bool,
    bad_frame: Option<BadFrame>,
    repeat: bool,
    skip: bool,
    bad_utf8: bool,
    cut: bool,
    /// Messages seen on this connection.
    messages: u64,
    /// The connection's first message as JSON, for `seq-repeat`.
    first: Option<String>,
}

impl Tamper {
    /// The tampering `faults` ask for on a transport that can carry `carrier`; `None` if none.
    pub fn new(faults: &Faults, carrier: Carrier) -> Option<Tamper> {
        if !faults.tampers() {
            return None;
        }
        Some(Tamper {
            garbage: faults.garbage_frame,
            bad_frame: faults.bad_frame,
            repeat: faults.seq_repeat,
            skip: faults.seq_skip,
            bad_utf8: faults.bad_utf8 && carrier.bytes,
            cut: faults.cut_mid_event && carrier.cut,
            messages: 0,
            first: None,
        })
    }

    /// The writes that carry `frames` (the next batch of the connection), tampered with. After a
    /// [`Tampered::Cut`] nothing follows: the connection must end.
    pub fn apply<'a>(&mut self, frames: Vec<Frame<'a>>) -> Vec<Step<'a>> {
        let mut out = Steps::default();
        for frame in frames {
            let Frame::Message(message) = frame else {
                out.frame(frame);
                continue;
            };
            self.messages += 1;
            if self.messages == 1 && self.repeat {
                self.first = Some(frame.to_json());
            }
            if self.messages != 2 {
                out.frame(frame);
                continue;
            }
            if self.garbage {
                out.tampered(Tampered::Payload(GARBAGE.as_bytes().to_vec()));
            }
            if let Some(kind) = self.bad_frame {
                out.tampered(Tampered::Payload(kind.frame(message.seq).into_bytes()));
            }
            if self.cut {
                out.tampered(Tampered::Cut(frame));
                return out.done();
            }
            if self.skip {
                // Left out: the next message arrives with its `s` one further on.
            } else if self.bad_utf8 {
                out.tampered(Tampered::Payload(corrupt(&frame.to_json())));
            } else {
                out.frame(frame);
            }
            if let Some(first) = self.first.take() {
                out.tampered(Tampered::Payload(first.into_bytes()));
            }
        }
        out.done()
    }
}

/// `json` (a message frame) with [`INVALID_UTF8`] at the start of its text, event name or base64
/// (whichever comes first), so the frame stays JSON but its content is not UTF-8.
pub fn corrupt(json: &str) -> Vec<u8> {
    let at = ["\"d\":\"", "\"e\":\"", "\"b\":\""]
        .iter()
        .filter_map(|key| json.find(key).map(|i| i + key.len()))
        .min()
        .unwrap_or(json.len());
    let mut bytes = Vec::with_capacity(json.len() + 1);
    bytes.extend_from_slice(&json.as_bytes()[..at]);
    bytes.push(INVALID_UTF8);
    bytes.extend_from_slice(&json.as_bytes()[at..]);
    bytes
}

/// Builds the steps: consecutive frames go in one write.
#[derive(Default)]
struct Steps<'a> {
    steps: Vec<Step<'a>>,
    run: Vec<Frame<'a>>,
}

impl<'a> Steps<'a> {
    fn frame(&mut self, frame: Frame<'a>) {
        self.run.push(frame);
    }

    fn tampered(&mut self, tampered: Tampered<'a>) {
        self.flush();
        self.steps.push(Step::Tampered(tampered));
    }

    fn flush(&mut self) {
        if !self.run.is_empty() {
            self.steps.push(Step::Frames(std::mem::take(&mut self.run)));
        }
    }

    fn done(mut self) -> Vec<Step<'a>> {
        self.flush();
        self.steps
    }
}

/// A poll answer's body: a JSON array of `steps` (tampered payloads as they are; a cut frame
/// ends the body where it is cut, without the closing `]`).
pub fn json_array(steps: &[Step<'_>]) -> Vec<u8> {
    let mut out = vec![b'['];
    let mut first = true;
    let mut separate = |out: &mut Vec<u8>| {
        if !std::mem::replace(&mut first, false) {
            out.push(b',');
        }
    };
    for step in steps {
        match step {
            Step::Frames(frames) => {
                for frame in frames {
                    separate(&mut out);
                    out.extend_from_slice(frame.to_json().as_bytes());
                }
            }
            Step::Tampered(Tampered::Payload(bytes)) => {
                separate(&mut out);
                out.extend_from_slice(bytes);
            }
            Step::Tampered(Tampered::Cut(frame)) => {
                separate(&mut out);
                let json = frame.to_json();
                out.extend_from_slice(&json.as_bytes()[..Tampered::cut_point(json.as_bytes())]);
                return out;
            }
        }
    }
    out.push(b']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Body, Message};

    fn messages(n: u64) -> Vec<Message> {
        (1..=n)
            .map(|seq| Message {
                seq,
                body: Body::Text(format!("m{seq}")),
            })
            .collect()
    }

    fn faults(list: &str) -> Faults {
        Faults::parse(list).expect("valid faults")
    }

    /// The body of a poll answer carrying `o` and `n` messages, tampered with by `list`.
    fn answer(list: &str, carrier: Carrier, n: u64) -> String {
        let messages = messages(n);
        let mut frames = vec![Frame::Heartbeat { ts: 7, sent: None }];
        frames.extend(messages.iter().map(Frame::Message));
        let steps = match Tamper::new(&faults(list), carrier) {
            Some(mut tamper) => tamper.apply(frames),
            None => vec![Step::Frames(frames)],
        };
        String::from_utf8_lossy(&json_array(&steps)).into_owned()
    }

    #[test]
    fn no_tampering_without_hostile_faults() {
        assert!(Tamper::new(&faults("latency=5,drop-every=2"), Carrier::HTTP).is_none());
        assert_eq!(
            answer("", Carrier::HTTP, 2),
            r#"[{"t":"h","ts":7},{"t":"m","s":1,"d":"m1"},{"t":"m","s":2,"d":"m2"}]"#
        );
    }

    #[test]
    fn each_fault_at_the_second_message() {
        let h = r#"{"t":"h","ts":7}"#;
        let m = |s: u64| format!(r#"{{"t":"m","s":{s},"d":"m{s}"}}"#);
        let cases = [
            (
                "garbage-frame",
                format!("[{h},{},this is not JSON {{,{},{}]", m(1), m(2), m(3)),
            ),
            (
                "bad-frame",
                format!(
                    r#"[{h},{},{{"s":2,"d":"bad-frame"}},{},{}]"#,
                    m(1),
                    m(2),
                    m(3)
                ),
            ),
            (
                "bad-frame=no-s",
                format!(
                    r#"[{h},{},{{"t":"m","d":"bad-frame"}},{},{}]"#,
                    m(1),
                    m(2),
                    m(3)
                ),
            ),
            (
                "bad-frame=bad-s",
                format!(
                    r#"[{h},{},{{"t":"m","s":"2","d":"bad-frame"}},{},{}]"#,
                    m(1),
                    m(2),
                    m(3)
                ),
            ),
            (
                "bad-frame=bad-b64",
                format!(
                    r#"[{h},{},{{"t":"m","s":2,"b":"not base64!"}},{},{}]"#,
                    m(1),
                    m(2),
                    m(3)
                ),
            ),
            (
                "bad-frame=not-object",
                format!(r#"[{h},{},"bad-frame",{},{}]"#, m(1), m(2), m(3)),
            ),
            (
                "seq-repeat",
                format!("[{h},{},{},{},{}]", m(1), m(2), m(1), m(3)),
            ),
            ("seq-skip", format!("[{h},{},{}]", m(1), m(3))),
            (
                "bad-utf8",
                format!(
                    "[{h},{},{},{}]",
                    m(1),
                    m(2).replace("\"m2", "\"\u{FFFD}m2"),
                    m(3)
                ),
            ),
        ];
        for (list, expected) in cases {
            assert_eq!(answer(list, Carrier::HTTP, 3), expected, "{list}");
        }
        let cut = answer("cut-mid-event", Carrier::HTTP, 3);
        let second = m(2);
        assert_eq!(
            cut,
            format!("[{h},{},{}", m(1), &second[..second.len() / 2])
        );
    }

    #[test]
    fn once_per_connection_across_batches() {
        let messages = messages(4);
        let mut tamper = Tamper::new(&faults("seq-skip"), Carrier::HTTP).expect("tampers");
        let mut seqs = Vec::new();
        for message in &messages {
            for step in tamper.apply(vec![Frame::Message(message)]) {
                if let Step::Frames(frames) = step {
                    seqs.extend(frames.iter().filter_map(Frame::seq));
                }
            }
        }
        assert_eq!(seqs, [1, 3, 4]);
    }

    #[test]
    fn websockets_carry_neither_bad_bytes_nor_cuts() {
        for list in ["bad-utf8", "cut-mid-event"] {
            let mut tamper = Tamper::new(&faults(list), Carrier::WEBSOCKET).expect("tampers");
            let messages = messages(3);
            let steps = tamper.apply(messages.iter().map(Frame::Message).collect());
            assert!(
                matches!(&steps[..], [Step::Frames(frames)] if frames.len() == 3),
                "{list}: {steps:?}"
            );
        }
    }

    #[test]
    fn corrupts_the_text_not_the_structure() {
        assert_eq!(
            corrupt(r#"{"t":"e","s":4,"e":"burst","v":{"d":"x"}}"#),
            b"{\"t\":\"e\",\"s\":4,\"e\":\"\xFFburst\",\"v\":{\"d\":\"x\"}}".to_vec()
        );
    }
}
