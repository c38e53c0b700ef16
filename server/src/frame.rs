//! The wire frames of docs/PROTOCOL.md: encoding the downstream ones, decoding the upstream ones.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;

use crate::message::{Body, Message};
use crate::refusal::Refusal;

/// A downstream (server to client) frame, borrowed from what it describes.
#[derive(Debug, Clone, Copy)]
pub enum Frame<'a> {
    /// `o`: first frame of every connection.
    Open {
        /// Session id.
        sid: &'a str,
        /// Resume token.
        token: &'a str,
        /// Heartbeat interval in ms.
        hb: u64,
        /// Highest upstream `c` processed.
        ack: u64,
    },
    /// `m` or `e`: an application message with its `s`.
    Message(&'a Message),
    /// `a`: upstream acknowledgement.
    Ack(u64),
    /// `h`: heartbeat with the server clock (ms since the Unix epoch) and, on a connection
    /// attached to its session, the highest `s` it has carried: a client with less knows the
    /// stream skipped messages (even the last ones) and resumes to fetch them again.
    Heartbeat {
        /// The server clock.
        ts: u64,
        /// The highest `s` written on the connection (its resume point included).
        sent: Option<u64>,
    },
    /// `g`: messages `from ..= to` are lost.
    Gap {
        /// First lost `s`.
        from: u64,
        /// Last lost `s`.
        to: u64,
    },
    /// `r`: the server ends this response on purpose; reconnect at once.
    Recycle,
    /// `x`: the session cannot go on.
    Refused(&'a Refusal),
}

impl Frame<'_> {
    /// The frame as one line of JSON.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(64);
        match self {
            Frame::Open {
                sid,
                token,
                hb,
                ack,
            } => {
                out.push_str(r#"{"t":"o","sid":"#);
                push_json_string(&mut out, sid);
                out.push_str(r#","token":"#);
                push_json_string(&mut out, token);
                out.push_str(&format!(r#","hb":{hb},"ack":{ack}}}"#));
            }
            Frame::Message(message) => push_message(&mut out, message),
            Frame::Ack(c) => out.push_str(&format!(r#"{{"t":"a","a":{c}}}"#)),
            Frame::Heartbeat { ts, sent: None } => {
                out.push_str(&format!(r#"{{"t":"h","ts":{ts}}}"#))
            }
            Frame::Heartbeat { ts, sent: Some(s) } => {
                out.push_str(&format!(r#"{{"t":"h","ts":{ts},"s":{s}}}"#))
            }
            Frame::Gap { from, to } => {
                out.push_str(&format!(r#"{{"t":"g","from":{from},"to":{to}}}"#))
            }
            Frame::Recycle => out.push_str(r#"{"t":"r"}"#),
            Frame::Refused(refusal) => {
                out.push_str(r#"{"t":"x","code":"#);
                push_json_string(&mut out, refusal.code());
                out.push_str(r#","reason":"#);
                push_json_string(&mut out, refusal.reason());
                out.push('}');
            }
        }
        out
    }

    /// The message's `s`, for frames that have one (event streams write it as `id:`).
    pub fn seq(&self) -> Option<u64> {
        match self {
            Frame::Message(message) => Some(message.seq),
            _ => None,
        }
    }
}

fn push_message(out: &mut String, message: &Message) {
    let s = message.seq;
    match &message.body {
        Body::Text(text) => {
            out.push_str(&format!(r#"{{"t":"m","s":{s},"d":"#));
            push_json_string(out, text);
        }
        Body::Binary(bytes) => {
            out.push_str(&format!(r#"{{"t":"m","s":{s},"b":""#));
            BASE64.encode_string(bytes, out);
            out.push('"');
        }
        Body::Event { name, value } => {
            out.push_str(&format!(r#"{{"t":"e","s":{s},"e":"#));
            push_json_string(out, name);
            out.push_str(r#","v":"#);
            push_escaping_replacement(out, value);
        }
    }
    out.push('}');
}

/// Appends the JSON text `json` with every U+FFFD escaped (it can only occur inside strings).
fn push_escaping_replacement(out: &mut String, json: &str) {
    let mut rest = json;
    while let Some(at) = rest.find(REPLACEMENT) {
        out.push_str(&rest[..at]);
        out.push_str("\\ufffd");
        rest = &rest[at + REPLACEMENT.len_utf8()..];
    }
    out.push_str(rest);
}

/// U+FFFD, what a decoder puts in place of bytes that are not UTF-8. Frames never carry it raw
/// (it is written `\ufffd`), so a client that finds one in a frame's text knows the bytes it
/// received were damaged, whatever decoded them (an EventSource, an iframe document).
const REPLACEMENT: char = '\u{FFFD}';

/// Appends `text` as a JSON string literal (U+FFFD escaped, see [`REPLACEMENT`]).
pub fn push_json_string(out: &mut String, text: &str) {
    out.reserve(text.len() + 2);
    out.push('"');
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            REPLACEMENT => out.push_str("\\ufffd"),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// An upstream (client to server) frame.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientFrame {
    /// `m`: `send(data)`; the body is [`Body::Text`] or [`Body::Binary`].
    Send {
        /// Client sequence number.
        c: u64,
        /// What was sent.
        body: Body,
    },
    /// `e`: `emit(name, value)`.
    Emit {
        /// Client sequence number.
        c: u64,
        /// Event name.
        name: String,
        /// Event value.
        value: Value,
    },
    /// `a`: the client has every downstream message up to this `s`.
    Ack(u64),
}

/// Every field any upstream frame may have; [`ClientFrame::from_wire`] checks the combination.
#[derive(Debug, Deserialize)]
struct Wire {
    t: String,
    c: Option<u64>,
    d: Option<String>,
    b: Option<String>,
    e: Option<String>,
    v: Option<Value>,
    a: Option<u64>,
}

impl ClientFrame {
    /// One frame from a WebSocket text message.
    pub fn parse(text: &str) -> Result<ClientFrame, Refusal> {
        let wire: Wire =
            serde_json::from_str(text).map_err(|e| protocol(format!("bad frame: {e}")))?;
        ClientFrame::from_wire(wire)
    }

    /// The JSON array of frames of a `POST /send` body.
    pub fn parse_batch(body: &[u8]) -> Result<Vec<ClientFrame>, Refusal> {
        let wires: Vec<Wire> = serde_json::from_slice(body)
            .map_err(|e| protocol(format!("expected a JSON array of frames: {e}")))?;
        wires.into_iter().map(ClientFrame::from_wire).collect()
    }

    /// A binary WebSocket message: 8 bytes of big-endian `c`, then the payload.
    pub fn from_binary(bytes: &[u8]) -> Result<ClientFrame, Refusal> {
        let (head, payload) = bytes.split_first_chunk::<8>().ok_or_else(|| {
            protocol("a binary frame starts with an 8-byte sequence number".into())
        })?;
        let c = checked_seq(u64::from_be_bytes(*head))?;
        Ok(ClientFrame::Send {
            c,
            body: Body::Binary(payload.to_vec()),
        })
    }

    fn from_wire(wire: Wire) -> Result<ClientFrame, Refusal> {
        match wire.t.as_str() {
            "m" => {
                let c = checked_seq(wire.c.ok_or_else(|| protocol("m frame without c".into()))?)?;
                let body = match (wire.d, wire.b) {
                    (Some(text), None) => Body::Text(text),
                    (None, Some(b64)) => Body::Binary(
                        BASE64
                            .decode(b64)
                            .map_err(|e| protocol(format!("bad base64 in b: {e}")))?,
                    ),
                    _ => return Err(protocol("an m frame has exactly one of d and b".into())),
                };
                Ok(ClientFrame::Send { c, body })
            }
            "e" => Ok(ClientFrame::Emit {
                c: checked_seq(wire.c.ok_or_else(|| protocol("e frame without c".into()))?)?,
                name: wire.e.ok_or_else(|| protocol("e frame without e".into()))?,
                value: wire.v.unwrap_or(Value::Null),
            }),
            "a" => Ok(ClientFrame::Ack(
                wire.a.ok_or_else(|| protocol("a frame without a".into()))?,
            )),
            other => Err(protocol(format!("unknown upstream frame type {other:?}"))),
        }
    }
}

fn checked_seq(c: u64) -> Result<u64, Refusal> {
    if c == 0 {
        Err(protocol("client sequence numbers start at 1".into()))
    } else {
        Ok(c)
    }
}

fn protocol(why: String) -> Refusal {
    Refusal::Protocol(why)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downstream_encoding() {
        let text = Message {
            seq: 3,
            body: Body::Text("a\"b\n\u{1}".into()),
        };
        assert_eq!(
            Frame::Message(&text).to_json(),
            r#"{"t":"m","s":3,"d":"a\"b\n\u0001"}"#
        );
        let bin = Message {
            seq: 4,
            body: Body::Binary(vec![0, 255]),
        };
        assert_eq!(
            Frame::Message(&bin).to_json(),
            r#"{"t":"m","s":4,"b":"AP8="}"#
        );
        let event = Message {
            seq: 5,
            body: Body::event("echo", &serde_json::json!({"k": [1]})),
        };
        assert_eq!(
            Frame::Message(&event).to_json(),
            r#"{"t":"e","s":5,"e":"echo","v":{"k":[1]}}"#
        );
        let open = Frame::Open {
            sid: "s",
            token: "t",
            hb: 15000,
            ack: 2,
        };
        assert_eq!(
            open.to_json(),
            r#"{"t":"o","sid":"s","token":"t","hb":15000,"ack":2}"#
        );
        assert_eq!(
            Frame::Heartbeat {
                ts: 2,
                sent: Some(3)
            }
            .to_json(),
            r#"{"t":"h","ts":2,"s":3}"#
        );
        assert_eq!(
            Frame::Refused(&Refusal::BadToken).to_json(),
            r#"{"t":"x","code":"bad_token","reason":"the resume token does not match the session"}"#
        );
        for frame in [
            Frame::Ack(1),
            Frame::Heartbeat { ts: 2, sent: None },
            Frame::Heartbeat {
                ts: 2,
                sent: Some(3),
            },
            Frame::Gap { from: 1, to: 2 },
            Frame::Recycle,
        ] {
            let value: Value = serde_json::from_str(&frame.to_json()).expect("valid JSON");
            assert!(value["t"].is_string());
        }
    }

    #[test]
    fn replacement_characters_are_escaped() {
        let text = Message {
            seq: 1,
            body: Body::Text("a\u{FFFD}b".into()),
        };
        assert_eq!(
            Frame::Message(&text).to_json(),
            r#"{"t":"m","s":1,"d":"a\ufffdb"}"#
        );
        let event = Message {
            seq: 2,
            body: Body::event("e\u{FFFD}", &serde_json::json!({"k\u{FFFD}": ["\u{FFFD}"]})),
        };
        let json = Frame::Message(&event).to_json();
        assert_eq!(
            json,
            r#"{"t":"e","s":2,"e":"e\ufffd","v":{"k\ufffd":["\ufffd"]}}"#
        );
        let value: Value = serde_json::from_str(&json).expect("valid JSON");
        assert_eq!(value["v"]["k\u{FFFD}"][0], "\u{FFFD}");
    }

    #[test]
    fn upstream_decoding() {
        let frames = ClientFrame::parse_batch(
            br#"[{"t":"m","c":1,"d":"hi"},{"t":"m","c":2,"b":"AP8="},{"t":"e","c":3,"e":"x"},{"t":"a","a":9}]"#,
        )
        .expect("valid batch");
        assert_eq!(
            frames,
            vec![
                ClientFrame::Send {
                    c: 1,
                    body: Body::Text("hi".into())
                },
                ClientFrame::Send {
                    c: 2,
                    body: Body::Binary(vec![0, 255])
                },
                ClientFrame::Emit {
                    c: 3,
                    name: "x".into(),
                    value: Value::Null
                },
                ClientFrame::Ack(9),
            ]
        );
        let mut binary = 7u64.to_be_bytes().to_vec();
        binary.extend_from_slice(b"xy");
        assert_eq!(
            ClientFrame::from_binary(&binary),
            Ok(ClientFrame::Send {
                c: 7,
                body: Body::Binary(b"xy".to_vec())
            })
        );
    }

    #[test]
    fn malformed_upstream() {
        for bad in [
            r#"{"t":"m","d":"no c"}"#,
            r#"{"t":"m","c":1}"#,
            r#"{"t":"m","c":1,"d":"x","b":"AA=="}"#,
            r#"{"t":"m","c":0,"d":"x"}"#,
            r#"{"t":"m","c":1,"b":"***"}"#,
            r#"{"t":"z"}"#,
            r#"[]"#,
        ] {
            assert!(
                matches!(ClientFrame::parse(bad), Err(Refusal::Protocol(_))),
                "{bad}"
            );
        }
        assert!(ClientFrame::parse_batch(b"{}").is_err());
        assert!(ClientFrame::from_binary(&[0; 7]).is_err());
    }
}
