//! Client options: the typed form of the JavaScript options object, with its defaults and checks.

use crate::error::Error;
use crate::text::dec;
use core::fmt;

/// One way for a browser to receive pushes from a server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// A WebSocket: full duplex, the fastest when proxies let it through.
    WebSocket,
    /// The browser's `EventSource` (server-sent events).
    EventSource,
    /// An XHR whose response is read while it loads (readyState 3).
    Streaming,
    /// A hidden iframe whose document streams `<script>` chunks (opt-in).
    Iframe,
    /// Requests the server holds until it has something to say.
    LongPolling,
    /// Requests at a fixed pause, answered at once.
    Polling,
}

impl TransportKind {
    /// Every transport, best first.
    pub const ALL: [TransportKind; 6] = [
        TransportKind::WebSocket,
        TransportKind::EventSource,
        TransportKind::Streaming,
        TransportKind::Iframe,
        TransportKind::LongPolling,
        TransportKind::Polling,
    ];

    /// The default fallback order (`iframe` is opt-in), of which `Options::default()` takes the
    /// transports this build carries.
    pub const DEFAULT_ORDER: [TransportKind; 5] = [
        TransportKind::WebSocket,
        TransportKind::EventSource,
        TransportKind::Streaming,
        TransportKind::LongPolling,
        TransportKind::Polling,
    ];

    /// The name used in options and events (`"websocket"`, `"longpolling"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            TransportKind::WebSocket => "websocket",
            TransportKind::EventSource => "eventsource",
            TransportKind::Streaming => "streaming",
            TransportKind::Iframe => "iframe",
            TransportKind::LongPolling => "longpolling",
            TransportKind::Polling => "polling",
        }
    }

    /// The transport called `name`, or an error naming it.
    pub fn from_name(name: &str) -> Result<Self, Error> {
        TransportKind::ALL
            .into_iter()
            .find(|kind| kind.name() == name)
            .ok_or_else(|| {
                Error::invalid(
                    [
                        "options.transports: unknown transport \"",
                        name,
                        "\" (expected one of websocket, eventsource, streaming, iframe, \
                         longpolling, polling)",
                    ]
                    .concat(),
                )
            })
    }

    /// Whether this build of the crate carries the transport. Each is a cargo feature, all on by
    /// default: `websocket`, `eventsource`, `streaming`, `iframe`, and `polling` for both
    /// `LongPolling` and `Polling`.
    pub const fn is_built(self) -> bool {
        match self {
            TransportKind::WebSocket => cfg!(feature = "websocket"),
            TransportKind::EventSource => cfg!(feature = "eventsource"),
            TransportKind::Streaming => cfg!(feature = "streaming"),
            TransportKind::Iframe => cfg!(feature = "iframe"),
            TransportKind::LongPolling | TransportKind::Polling => cfg!(feature = "polling"),
        }
    }

    /// The error for asking a build for a transport it does not carry.
    pub(crate) fn not_built(self) -> Error {
        let feature = match self {
            TransportKind::LongPolling | TransportKind::Polling => "polling",
            other => other.name(),
        };
        Error::invalid(
            [
                "options.transports: ",
                self.name(),
                " is not in this build (cargo feature \"",
                feature,
                "\")",
            ]
            .concat(),
        )
    }

    /// True when upstream messages travel over the transport itself rather than by HTTP POST.
    pub fn is_duplex(self) -> bool {
        self == TransportKind::WebSocket
    }
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which wire protocol the client speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Protocol {
    /// The project's session protocol (`docs/PROTOCOL.md`): resume, acks, exactly-once delivery.
    #[default]
    Session,
    /// `url` is a plain endpoint of any server; messages are passed through as received.
    Raw,
}

/// Reconnection backoff. Jitter is applied after the cap so clients dropped together spread out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReconnectOptions {
    /// The first delay, in milliseconds.
    pub initial_delay_ms: u32,
    /// The cap on the delay, in milliseconds.
    pub max_delay_ms: u32,
    /// Give up (and emit `close`) after this many failed attempts in a row; `None` never gives up.
    pub max_attempts: Option<u32>,
}

impl Default for ReconnectOptions {
    fn default() -> Self {
        ReconnectOptions {
            initial_delay_ms: 500,
            max_delay_ms: 15_000,
            max_attempts: None,
        }
    }
}

/// Everything `RealtimeClient` can be told. `Options::default()` is the documented defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// Transports to try, in fallback order.
    pub transports: Vec<TransportKind>,
    /// The wire protocol.
    pub protocol: Protocol,
    /// Extra query pairs appended to every request URL.
    pub query: Vec<(String, String)>,
    /// A transport that has not opened by then has failed.
    pub connect_timeout_ms: u32,
    /// The pause between short polls, counted from the end of the previous poll.
    pub poll_interval_ms: u32,
    /// How long the server may hold a long poll.
    pub long_poll_timeout_ms: u32,
    /// Silence after which an open transport is considered dead.
    pub heartbeat_timeout_ms: u32,
    /// Reconnection backoff; `None` disables reconnection.
    pub reconnect: Option<ReconnectOptions>,
    /// After falling back, keep probing better transports and move up.
    pub upgrade: bool,
    /// Send cookies on cross-origin HTTP transports.
    pub with_credentials: bool,
    /// Raw protocol only: where HTTP transports POST what `send` sends.
    pub send_url: Option<String>,
    /// Sends kept while not open (and, for the session protocol, until acknowledged).
    pub max_queued_messages: u32,
    /// Connect in the constructor.
    pub auto_connect: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            transports: built_default_order(),
            protocol: Protocol::Session,
            query: Vec::new(),
            connect_timeout_ms: 5_000,
            poll_interval_ms: 1_000,
            long_poll_timeout_ms: 25_000,
            heartbeat_timeout_ms: 35_000,
            reconnect: Some(ReconnectOptions::default()),
            upgrade: true,
            with_credentials: false,
            send_url: None,
            max_queued_messages: 1_000,
            auto_connect: true,
        }
    }
}

/// The default order without the transports this build leaves out.
fn built_default_order() -> Vec<TransportKind> {
    let mut transports = TransportKind::DEFAULT_ORDER.to_vec();
    transports.retain(|kind| kind.is_built());
    transports
}

/// The JavaScript option keys. `src/js/client.js` checks them (its "unknown option" errors); a
/// test in `src/js.rs` keeps its list equal to this one.
#[cfg(test)]
pub const OPTION_KEYS: [&str; 13] = [
    "transports",
    "protocol",
    "query",
    "connectTimeoutMs",
    "pollIntervalMs",
    "longPollTimeoutMs",
    "heartbeatTimeoutMs",
    "reconnect",
    "upgrade",
    "withCredentials",
    "sendUrl",
    "maxQueuedMessages",
    "autoConnect",
];

/// The longest timeout or delay accepted: one day. Longer values are almost certainly unit mistakes.
pub const MAX_MS: u32 = 86_400_000;

impl Options {
    /// Checks the combination of values; the error names the offending option.
    pub fn validate(&self) -> Result<(), Error> {
        if self.transports.is_empty() {
            return Err(Error::invalid(
                "options.transports: must name at least one transport",
            ));
        }
        for (i, kind) in self.transports.iter().enumerate() {
            if self.transports[..i].contains(kind) {
                return Err(Error::invalid(
                    ["options.transports: ", kind.name(), " is listed twice"].concat(),
                ));
            }
        }
        if let Some(kind) = self.transports.iter().find(|kind| !kind.is_built()) {
            return Err(kind.not_built());
        }
        check_ms("connectTimeoutMs", self.connect_timeout_ms, 1)?;
        check_ms("pollIntervalMs", self.poll_interval_ms, 0)?;
        check_ms("longPollTimeoutMs", self.long_poll_timeout_ms, 1)?;
        check_ms("heartbeatTimeoutMs", self.heartbeat_timeout_ms, 1)?;
        if let Some(r) = self.reconnect {
            check_ms("reconnect.initialDelayMs", r.initial_delay_ms, 0)?;
            check_ms("reconnect.maxDelayMs", r.max_delay_ms, 0)?;
            if r.max_delay_ms < r.initial_delay_ms {
                return Err(Error::invalid(
                    "options.reconnect.maxDelayMs: must not be less than initialDelayMs",
                ));
            }
        }
        if self.max_queued_messages == 0 {
            return Err(Error::invalid(
                "options.maxQueuedMessages: must be at least 1",
            ));
        }
        if self.send_url.is_some() && self.protocol == Protocol::Session {
            return Err(Error::invalid(
                "options.sendUrl: only used with protocol \"raw\"",
            ));
        }
        Ok(())
    }
}

fn check_ms(name: &str, value: u32, min: u32) -> Result<(), Error> {
    if value < min || value > MAX_MS {
        return Err(Error::invalid(
            [
                "options.",
                name,
                ": ",
                &dec(value.into()),
                " is out of range (",
                &dec(min.into()),
                " to ",
                &dec(MAX_MS.into()),
                " ms)",
            ]
            .concat(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_documented() {
        let o = Options::default();
        o.validate().unwrap();
        let names: Vec<_> = o.transports.iter().map(|k| k.name()).collect();
        let documented = [
            "websocket",
            "eventsource",
            "streaming",
            "longpolling",
            "polling",
        ];
        // A build without some transports (cargo features) leaves them out, in the same order.
        let built: Vec<_> = documented
            .into_iter()
            .filter(|name| TransportKind::from_name(name).unwrap().is_built())
            .collect();
        assert_eq!(names, built);
        if cfg!(feature = "default") {
            assert_eq!(names, documented);
        }
        assert_eq!(o.connect_timeout_ms, 5000);
        assert_eq!(o.reconnect.unwrap().max_delay_ms, 15000);
    }

    #[test]
    fn a_transport_outside_the_build_is_refused_by_name() {
        // Run by the test command in the full build and in one without eventsource, streaming and
        // iframe (`--no-default-features --features websocket,polling`).
        for kind in TransportKind::ALL {
            let options = Options {
                transports: vec![kind],
                ..Options::default()
            };
            match options.validate() {
                Ok(()) => assert!(kind.is_built(), "{kind} accepted without its feature"),
                Err(err) => {
                    assert!(!kind.is_built(), "{kind} refused: {err}");
                    let feature = if kind.name().ends_with("polling") {
                        "polling"
                    } else {
                        kind.name()
                    };
                    assert_eq!(
                        err.message(),
                        [
                            "options.transports: ",
                            kind.name(),
                            " is not in this build (cargo feature \"",
                            feature,
                            "\")"
                        ]
                        .concat()
                    );
                }
            }
        }
    }

    #[test]
    fn transport_names_round_trip() {
        for kind in TransportKind::ALL {
            assert_eq!(TransportKind::from_name(kind.name()).unwrap(), kind);
        }
        let err = TransportKind::from_name("carrier-pigeon").unwrap_err();
        assert!(err.message().contains("carrier-pigeon"), "{err}");
    }

    #[test]
    fn validation_names_the_option() {
        let cases: Vec<(Options, &str)> = vec![
            (
                Options {
                    transports: vec![],
                    ..Options::default()
                },
                "transports",
            ),
            (
                Options {
                    transports: vec![TransportKind::Polling, TransportKind::Polling],
                    ..Options::default()
                },
                "polling is listed twice",
            ),
            (
                Options {
                    connect_timeout_ms: 0,
                    ..Options::default()
                },
                "connectTimeoutMs",
            ),
            (
                Options {
                    heartbeat_timeout_ms: MAX_MS + 1,
                    ..Options::default()
                },
                "heartbeatTimeoutMs",
            ),
            (
                Options {
                    max_queued_messages: 0,
                    ..Options::default()
                },
                "maxQueuedMessages",
            ),
            (
                Options {
                    reconnect: Some(ReconnectOptions {
                        initial_delay_ms: 10,
                        max_delay_ms: 5,
                        max_attempts: None,
                    }),
                    ..Options::default()
                },
                "maxDelayMs",
            ),
            (
                Options {
                    send_url: Some("/x".into()),
                    ..Options::default()
                },
                "sendUrl",
            ),
        ];
        for (options, needle) in cases {
            let err = options.validate().unwrap_err();
            assert!(
                err.message().contains(needle),
                "{err} should mention {needle}"
            );
        }
    }

    /// The messages word for word (built without `core::fmt`; users and tests read them).
    #[test]
    fn messages_word_for_word() {
        let message = |options: Options| options.validate().unwrap_err().message().to_owned();
        assert_eq!(
            TransportKind::from_name("carrier-pigeon")
                .unwrap_err()
                .message(),
            "options.transports: unknown transport \"carrier-pigeon\" (expected one of websocket, \
             eventsource, streaming, iframe, longpolling, polling)"
        );
        assert_eq!(
            message(Options {
                transports: vec![
                    TransportKind::WebSocket,
                    TransportKind::LongPolling,
                    TransportKind::LongPolling
                ],
                ..Options::default()
            }),
            "options.transports: longpolling is listed twice"
        );
        assert_eq!(
            message(Options {
                connect_timeout_ms: 0,
                ..Options::default()
            }),
            "options.connectTimeoutMs: 0 is out of range (1 to 86400000 ms)"
        );
        assert_eq!(
            message(Options {
                heartbeat_timeout_ms: MAX_MS + 1,
                ..Options::default()
            }),
            "options.heartbeatTimeoutMs: 86400001 is out of range (1 to 86400000 ms)"
        );
        assert_eq!(
            message(Options {
                poll_interval_ms: u32::MAX,
                ..Options::default()
            }),
            "options.pollIntervalMs: 4294967295 is out of range (0 to 86400000 ms)"
        );
        assert_eq!(
            message(Options {
                reconnect: Some(ReconnectOptions {
                    initial_delay_ms: 90_000_000,
                    ..ReconnectOptions::default()
                }),
                ..Options::default()
            }),
            "options.reconnect.initialDelayMs: 90000000 is out of range (0 to 86400000 ms)"
        );
    }
}
