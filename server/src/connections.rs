//! The accept loop behind [`crate::serve`]: what `axum::serve` does not do for a server facing the
//! open internet.
//!
//! - **Header-read timeout**: every connection runs hyper's HTTP/1 server with a timer and
//!   [`Config::header_read_timeout`], so a socket that sends nothing, or only part of a request
//!   head (slowloris), is closed when it runs out; so is a kept-alive connection idle for as long.
//! - **Connection caps**: at most [`Config::max_connections`] open connections, and at most
//!   [`Config::max_connections_per_ip`] from one client address (an IPv6 client counts by its /64;
//!   loopback clients are exempt unless [`Config::limit_loopback`]). A connection past a cap is
//!   answered `503 Service Unavailable` with `Retry-After` and closed; past the caps plus
//!   [`MAX_REFUSING`] refusals in progress, it is closed at once.
//! - **Stalled readers**: a connection whose client reads nothing for [`Config::stall_timeout`]
//!   while the server has bytes for it is reset ([`StallGuard`]): a client that stops reading
//!   cannot make the server keep its data, however many messages its session receives.

use std::collections::HashMap;
use std::future::Future as _;
use std::io;
use std::net::{IpAddr, Ipv6Addr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::http::header::{self, HeaderValue};
use axum::http::{Response, StatusCode};
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Sleep;

use crate::config::Config;

/// The `Retry-After` (seconds) of every `503` the server sends because it is full.
pub const RETRY_AFTER_SECS: u64 = 5;
/// Refusals (connections past a cap being answered `503`) in progress at once; past them a
/// connection over a cap is closed without an answer.
pub const MAX_REFUSING: usize = 256;
/// A refused connection gets this long at most to send its request head.
const REFUSAL_HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest request head (and read buffer) of a connection: hyper's default is about 400 KiB.
const MAX_READ_BUFFER: usize = 64 * 1024;

/// Counts open connections, in all and per client address.
#[derive(Debug)]
pub struct ConnectionLimits {
    max: usize,
    per_ip: usize,
    limit_loopback: bool,
    counts: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    open: usize,
    refusing: usize,
    by_ip: HashMap<IpAddr, usize>,
}

/// What to do with a new connection.
#[derive(Debug)]
pub enum Admission {
    /// Serve it; the slot is released when dropped.
    Serve(Slot),
    /// Answer `503` with `Retry-After`; the slot is released when dropped.
    Refuse(Slot),
    /// Close it at once: too many refusals are in progress already.
    Close,
}

/// A connection's place in the counts; dropping it gives the place back.
#[derive(Debug)]
pub struct Slot {
    limits: Arc<ConnectionLimits>,
    /// `Some(address key)` for a served connection, `None` for a refusal.
    served: Option<IpAddr>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.limits.counts();
        match self.served {
            Some(key) => {
                counts.open = counts.open.saturating_sub(1);
                if let Some(n) = counts.by_ip.get_mut(&key) {
                    *n = n.saturating_sub(1);
                    if *n == 0 {
                        counts.by_ip.remove(&key);
                    }
                }
            }
            None => counts.refusing = counts.refusing.saturating_sub(1),
        }
    }
}

impl ConnectionLimits {
    /// The caps of `config`.
    pub fn new(config: &Config) -> Arc<ConnectionLimits> {
        Arc::new(ConnectionLimits {
            max: config.max_connections,
            per_ip: config.max_connections_per_ip,
            limit_loopback: config.limit_loopback,
            counts: Mutex::new(Counts::default()),
        })
    }

    fn counts(&self) -> MutexGuard<'_, Counts> {
        // Every update is a couple of counter writes: a poisoned lock still holds usable counts.
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Decides about a connection from `ip`.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Admission {
        let key = address_key(ip);
        let capped = self.limit_loopback || !key.is_loopback();
        let mut counts = self.counts();
        let from_ip = counts.by_ip.get(&key).copied().unwrap_or(0);
        if counts.open < self.max && !(capped && from_ip >= self.per_ip) {
            counts.open += 1;
            *counts.by_ip.entry(key).or_insert(0) += 1;
            return Admission::Serve(Slot {
                limits: Arc::clone(self),
                served: Some(key),
            });
        }
        if counts.refusing >= MAX_REFUSING {
            return Admission::Close;
        }
        counts.refusing += 1;
        Admission::Refuse(Slot {
            limits: Arc::clone(self),
            served: None,
        })
    }

    /// Connections being served now.
    pub fn open(&self) -> usize {
        self.counts().open
    }
}

/// The address a client is counted under: itself for IPv4 (and IPv4-mapped IPv6), its /64 for
/// IPv6, where one client usually holds a whole /64.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None if v6.is_loopback() => ip,
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

/// Accepts connections on `listener` and serves `app` on each, forever.
pub async fn accept_loop(listener: TcpListener, app: Router, config: &Config) -> io::Result<()> {
    let limits = ConnectionLimits::new(config);
    let (header_timeout, stall) = (config.header_read_timeout, config.stall_timeout);
    let service = TowerToHyperService::new(app);
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                accept_failed(&error).await;
                continue;
            }
        };
        // Frames are batched on purpose by the server, so Nagle's delay would only add latency.
        // Only an optimisation: a socket that refuses it still works.
        let _ = tcp.set_nodelay(true);
        match limits.admit(peer.ip()) {
            Admission::Serve(slot) => {
                let service = service.clone();
                tokio::spawn(async move {
                    let io = TokioIo::new(StallGuard::new(tcp, stall));
                    let mut builder = http1::Builder::new();
                    builder
                        .timer(TokioTimer::new())
                        .header_read_timeout(header_timeout)
                        .max_buf_size(MAX_READ_BUFFER);
                    // A connection ending in an error (timeout, reset, stall) is the client's
                    // business; nothing to report.
                    let _ = builder.serve_connection(io, service).with_upgrades().await;
                    drop(slot);
                });
            }
            Admission::Refuse(slot) => {
                tokio::spawn(async move {
                    refuse(tcp, header_timeout.min(REFUSAL_HEADER_TIMEOUT)).await;
                    drop(slot);
                });
            }
            Admission::Close => drop(tcp),
        }
    }
}

/// Reads the request head and answers `503` with `Retry-After` and `Connection: close`.
async fn refuse(tcp: TcpStream, header_timeout: Duration) {
    let service = hyper::service::service_fn(|_request| async {
        Ok::<_, std::convert::Infallible>(busy_response())
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_buf_size(MAX_READ_BUFFER)
        .keep_alive(false);
    let _ = builder.serve_connection(TokioIo::new(tcp), service).await;
}

/// `503` with `Retry-After`: the server is full, come back later.
pub fn busy_response() -> Response<Body> {
    let mut response = Response::new(Body::from("server busy, retry later\n"));
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    let headers = response.headers_mut();
    headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// What `axum::serve` does on a failed accept: errors of one connection are skipped; others
/// (out of file descriptors) are waited out, so the loop does not spin.
async fn accept_failed(error: &io::Error) {
    let per_connection = matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    );
    if !per_connection {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A TCP stream that fails a write which has made no progress for `stall` (the client reads
/// nothing and the socket buffer is full), resetting the connection: hyper then drops it, with
/// whatever response or WebSocket it carried.
#[derive(Debug)]
pub struct StallGuard {
    tcp: TcpStream,
    stall: Duration,
    /// Running while a write waits for room in the socket buffer.
    waiting: Option<Pin<Box<Sleep>>>,
}

impl StallGuard {
    /// Guards `tcp`.
    pub fn new(tcp: TcpStream, stall: Duration) -> StallGuard {
        StallGuard {
            tcp,
            stall,
            waiting: None,
        }
    }

    /// The outcome of a write attempt: progress resets the clock, a wait runs it.
    fn progress<T>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if polled.is_ready() {
            self.waiting = None;
            return polled;
        }
        let stall = self.stall;
        let waiting = self
            .waiting
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(stall)));
        if waiting.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        self.waiting = None;
        // Reset rather than close: the kernel would otherwise keep the unsent bytes for a client
        // that does not read them.
        #[allow(deprecated)] // Only a non-zero linger blocks on drop; zero resets at once.
        let _ = self.tcp.set_linger(Some(Duration::ZERO));
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the client read nothing for the stall timeout",
        )))
    }
}

impl AsyncRead for StallGuard {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for StallGuard {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.tcp).poll_write(cx, buf);
        this.progress(cx, polled)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.tcp).poll_write_vectored(cx, bufs);
        this.progress(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max: usize, per_ip: usize, limit_loopback: bool) -> Arc<ConnectionLimits> {
        ConnectionLimits::new(&Config {
            max_connections: max,
            max_connections_per_ip: per_ip,
            limit_loopback,
            ..Config::default()
        })
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn per_ip_cap_and_release() {
        let limits = limits(100, 2, false);
        let a = limits.admit(ip("203.0.113.1"));
        let b = limits.admit(ip("203.0.113.1"));
        assert!(matches!(
            limits.admit(ip("203.0.113.1")),
            Admission::Refuse(_)
        ));
        assert!(matches!(
            limits.admit(ip("203.0.113.2")),
            Admission::Serve(_)
        ));
        drop((a, b));
        assert!(matches!(
            limits.admit(ip("203.0.113.1")),
            Admission::Serve(_)
        ));
        assert_eq!(limits.open(), 0, "every slot was dropped");
    }

    #[test]
    fn ipv6_counts_by_64_and_loopback_is_exempt_by_default() {
        let limits = limits(100, 1, false);
        let _a = limits.admit(ip("2001:db8:1:2::1"));
        assert!(matches!(
            limits.admit(ip("2001:db8:1:2::ffff")),
            Admission::Refuse(_)
        ));
        assert!(matches!(
            limits.admit(ip("2001:db8:1:3::1")),
            Admission::Serve(_)
        ));
        let held: Vec<_> = (0..10).map(|_| limits.admit(ip("127.0.0.1"))).collect();
        assert!(held.iter().all(|a| matches!(a, Admission::Serve(_))));
        let strict = self::limits(100, 1, true);
        let _b = strict.admit(ip("::1"));
        assert!(matches!(strict.admit(ip("::1")), Admission::Refuse(_)));
    }

    #[test]
    fn global_cap_and_bounded_refusals() {
        let limits = limits(1, 10, false);
        let _served = limits.admit(ip("127.0.0.1"));
        let refusing: Vec<_> = (0..MAX_REFUSING)
            .map(|_| limits.admit(ip("127.0.0.1")))
            .collect();
        assert!(refusing.iter().all(|a| matches!(a, Admission::Refuse(_))));
        assert!(matches!(limits.admit(ip("127.0.0.1")), Admission::Close));
    }
}
