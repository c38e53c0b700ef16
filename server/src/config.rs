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
    /// Unacknowledged downstream messages a session keeps for replay.
    pub replay_window: usize,
    /// Bytes an event stream or iframe response may carry before it is recycled with an `r` frame.
    pub stream_budget: usize,
    /// Upper bound for a long poll's `wait`.
    pub max_long_poll: Duration,
    /// Longest an upgrade probe (`probe=1`) stays open before the server ends it.
    pub probe_lifetime: Duration,
    /// Period of the `/raw/` demo endpoints' ticks.
    pub raw_tick: Duration,
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
            replay_window: 1000,
            stream_budget: 256 * 1024,
            max_long_poll: Duration::from_secs(60),
            probe_lifetime: Duration::from_secs(30),
            raw_tick: Duration::from_secs(1),
        }
    }
}
