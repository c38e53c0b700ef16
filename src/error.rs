//! Errors, classified by what the caller can do about them.

use core::fmt;

/// What kind of failure an [`Error`] reports. Its [`ErrorCode::as_str`] is the `code` string JavaScript
/// listeners see on the `Error` object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorCode {
    /// A constructor argument or option was wrong: fix the call.
    InvalidArgument,
    /// No configured transport could open: the server is unreachable or every transport is blocked.
    ConnectFailed,
    /// An open transport failed; the client reconnects or falls back on its own.
    TransportFailed,
    /// Server messages were lost because the client fell behind the server's replay window.
    Gap,
    /// The server broke the protocol (a malformed frame, an unknown session, an impossible ack).
    Protocol,
    /// `send`/`emit` while the outbox already holds `maxQueuedMessages` unacknowledged messages.
    QueueFull,
    /// An HTTP request was answered with a status the transport cannot use.
    Http,
    /// A message larger than the protocol allows (1 MiB); send it in parts.
    TooLarge,
    /// The client was closed; create a new one (or call `connect()`) to go on.
    Closed,
}

impl ErrorCode {
    /// Every code, in declaration order (the driver's `CODES` in `src/js/driver.js`).
    pub const ALL: [ErrorCode; 9] = [
        ErrorCode::InvalidArgument,
        ErrorCode::ConnectFailed,
        ErrorCode::TransportFailed,
        ErrorCode::Gap,
        ErrorCode::Protocol,
        ErrorCode::QueueFull,
        ErrorCode::Http,
        ErrorCode::TooLarge,
        ErrorCode::Closed,
    ];

    /// The stable string form (`"connect_failed"`, `"gap"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidArgument => "invalid_argument",
            ErrorCode::ConnectFailed => "connect_failed",
            ErrorCode::TransportFailed => "transport_failed",
            ErrorCode::Gap => "gap",
            ErrorCode::Protocol => "protocol",
            ErrorCode::QueueFull => "queue_full",
            ErrorCode::Http => "http",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::Closed => "closed",
        }
    }
}

/// An error with a [`code`](Error::code) to branch on and a message for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    code: ErrorCode,
    message: String,
}

impl Error {
    /// An error of kind `code` with a human-readable `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
        }
    }

    /// A bad argument; `message` names the offending input.
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::new(ErrorCode::InvalidArgument, message)
    }

    /// The kind of failure.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The human-readable description.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// True when the failure was the server or network, and retrying later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.code,
            ErrorCode::ConnectFailed | ErrorCode::TransportFailed | ErrorCode::Http
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
