//! Downstream application messages as a session's log keeps them.

/// One downstream application message and its sequence number `s`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The per-session sequence number (1, 2, 3, ...).
    pub seq: u64,
    /// What it carries.
    pub body: Body,
}

/// What a downstream message carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// A text message (`d`).
    Text(String),
    /// A binary message (`b` on text transports, a binary frame on WebSocket).
    Binary(Vec<u8>),
    /// A named event. `value` is already serialised JSON: it is written as is by every transport,
    /// so a burst's or a room's value is serialised once, not once per write.
    Event {
        /// The event name (`e`).
        name: String,
        /// The JSON text of the value (`v`).
        value: String,
    },
}

impl Body {
    /// An event whose value is serialised from `value`.
    pub fn event(name: &str, value: &serde_json::Value) -> Body {
        Body::Event {
            name: name.to_owned(),
            value: value.to_string(),
        }
    }

    /// Roughly the bytes it takes on the wire; used to size write batches, not for exact budgets.
    pub fn weight(&self) -> usize {
        const FRAME_OVERHEAD: usize = 32;
        FRAME_OVERHEAD
            + match self {
                Body::Text(text) => text.len(),
                Body::Binary(bytes) => bytes.len() * 4 / 3,
                Body::Event { name, value } => name.len() + value.len(),
            }
    }
}
