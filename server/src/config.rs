//! The server's settings: what `realtime-server`'s flags set, plus the timing knobs tests shrink.

use std::path::PathBuf;
use std::time::Duration;

/// Everything [`crate::app`] needs to build the router.
///
/// `Config::default()` is what the binary runs with when no flag is given; tests shorten the
/// timings (heartbeat, idle expiry, raw tick) so they finish in milliseconds.
#[derive(Debug, Clone)]
pub struct Config {
    /// Directories served at `/`, tried in order (`--static-dir`, default `www`).
    pub static_dirs: Vec<PathBuf>,
    /// Directory served at `/pkg/` (`--pkg-dir`, default `pkg`).
    pub pkg_dir: PathBuf,
    /// Origins allowed for CORS and WebSocket upgrades (`--allow-origin`); empty: loopback only.
    /// `*` allows every origin (still echoed one by one, never a literal `*`).
    pub allowed_origins: Vec<String>,
    /// Honour the `fault` query parameter on `/rt` requests (`--test-hooks`).
    pub test_hooks: bool,
    /// Interval of `h` frames on streaming transports; also announced as `hb` in the open frame.
    pub heartbeat: Duration,
    /// A session with no attached connection and no request for this long is discarded.
    pub session_idle: Duration,
    /// Unacknowledged downstream messages a session keeps for replay. Also the flow-control
    /// window: a fast stream pauses when it is full, so it must outlast an acknowledgement's round
    /// trip (1000 held XHR streaming at a third of its speed).
    pub replay_window: usize,
    /// Bytes an XHR-streamed event stream or an iframe response may carry before it is recycled
    /// with an `r` frame: the browser keeps the whole response (`responseText`, the document), so
    /// it must end now and then.
    pub stream_budget: usize,
    /// The same for an event stream read by EventSource, which keeps nothing it has dispatched:
    /// recycled far less often (a reconnect costs a request), only so no proxy sees one endless
    /// response.
    pub event_source_budget: usize,
    /// Upper bound for a long poll's `wait`.
    pub max_long_poll: Duration,
    /// Longest an upgrade probe (`probe=1`) stays open before the server ends it.
    pub probe_lifetime: Duration,
    /// Period of the `/raw/` demo endpoints' ticks.
    pub raw_tick: Duration,
    /// A connection must deliver a whole request head within this long (from its opening, or
    /// from the end of the previous answer on a kept-alive connection), else it is closed: a
    /// client sending nothing, or a partial request (slowloris), cannot hold a socket. Also bounds
    /// how long a POST body may take to arrive (`408` after it).
    pub header_read_timeout: Duration,
    /// A connection whose client reads nothing for this long while the server has bytes to write
    /// (a full socket buffer that does not drain at all) is cut off (reset).
    pub stall_timeout: Duration,
    /// Most open connections; more are answered `503` with `Retry-After`.
    pub max_connections: usize,
    /// Most open connections from one client address (an IPv6 client: its /64); more are
    /// answered `503` with `Retry-After`. See [`Config::limit_loopback`].
    pub max_connections_per_ip: usize,
    /// Whether [`Config::max_connections_per_ip`] applies to loopback clients too. Off by default:
    /// every local client (tests, benchmarks, a reverse proxy on the same host) shares one
    /// loopback address, so a per-address cap would throttle all of them at once.
    pub limit_loopback: bool,
    /// Largest request body (`POST /rt/send`, `/raw/send`); a larger one is answered `413`.
    pub max_post_body: usize,
    /// Largest upstream WebSocket message on `/rt/ws`; a larger one closes the socket with `1009`.
    pub max_ws_message: usize,
    /// Bytes of downstream messages one session may hold (replay window plus waiting queue);
    /// past it the oldest are dropped (the client gets a gap frame), as past the message count.
    pub session_buffer_bytes: usize,
    /// Most live sessions; a request that would create one more is answered `503` with
    /// `Retry-After` (resuming existing sessions still works).
    pub max_sessions: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            static_dirs: vec![PathBuf::from("www")],
            pkg_dir: PathBuf::from("pkg"),
            allowed_origins: Vec::new(),
            test_hooks: false,
            heartbeat: Duration::from_secs(15),
            session_idle: Duration::from_secs(60),
            replay_window: 8192,
            stream_budget: 256 * 1024,
            event_source_budget: 16 * 1024 * 1024,
            max_long_poll: Duration::from_secs(60),
            probe_lifetime: Duration::from_secs(30),
            raw_tick: Duration::from_secs(1),
            header_read_timeout: Duration::from_secs(30),
            stall_timeout: Duration::from_secs(30),
            max_connections: 10_000,
            max_connections_per_ip: 256,
            limit_loopback: false,
            max_post_body: 4 * 1024 * 1024,
            max_ws_message: 1024 * 1024,
            session_buffer_bytes: 8 * 1024 * 1024,
            max_sessions: 100_000,
        }
    }
}
