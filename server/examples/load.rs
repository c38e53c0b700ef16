//! Load test of `realtime-server` (issue 6, item 7): holds N long polls and M event streams open
//! at once against a server process of its own, reports the server's resident memory (RSS) idle,
//! with everything held, and after it is all closed, then fans one message out to every session
//! and checks that each got it.
//!
//! Loopback only, bounded in count and time: it starts the server on `127.0.0.1:0`, opens at most
//! `--polls` + `--streams` connections (plus one POST each to join a room), and gives up (exit
//! code 1) after `--deadline` seconds. `scripts/soak.sh` builds it in release mode and runs it:
//!
//! ```text
//! load --server PATH [--polls 2000] [--streams 2000] [--hold SECS] [--deadline SECS]
//! ```
//!
//! It speaks HTTP/1.1 by hand on raw sockets (one connection per poll loop or stream, as a
//! browser would), so the client's own cost stays small and out of the server's figures.

use std::collections::HashMap;
use std::process::{ExitCode, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::sync::{Notify, Semaphore};

/// The room every session joins; one publish reaches them all.
const ROOM: &str = "load";
/// Connections being set up at once (the listen backlog is finite).
const OPENING: usize = 128;
/// What each task reports when its connection got the published event.
type Outcome = Result<(), String>;

struct Args {
    server: String,
    polls: usize,
    streams: usize,
    hold: Duration,
    deadline: Duration,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        server: "target/release/realtime-server".into(),
        polls: 2000,
        streams: 2000,
        hold: Duration::from_secs(5),
        deadline: Duration::from_secs(180),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        let number = |v: String| v.parse::<u64>().map_err(|_| format!("bad number {v:?}"));
        match flag.as_str() {
            "--server" => args.server = value()?,
            "--polls" => args.polls = usize::try_from(number(value()?)?).unwrap_or(0),
            "--streams" => args.streams = usize::try_from(number(value()?)?).unwrap_or(0),
            "--hold" => args.hold = Duration::from_secs(number(value()?)?),
            "--deadline" => args.deadline = Duration::from_secs(number(value()?)?),
            _ => {
                return Err(format!(
                    "unknown argument {flag:?}\nusage: load --server PATH [--polls N] \
                     [--streams N] [--hold SECS] [--deadline SECS]"
                ))
            }
        }
    }
    if args.polls + args.streams > 20_000 {
        return Err("at most 20000 connections in all".into());
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(error) => {
            eprintln!("load: {error}");
            return ExitCode::from(2);
        }
    };
    let deadline = args.deadline;
    match tokio::time::timeout(deadline, run(args)).await {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(error)) => {
            eprintln!("load: FAILED: {error}");
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!("load: FAILED: not done within {deadline:?}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let (mut server, addr, pid) = start_server(&args.server).await?;
    let total = args.polls + args.streams;
    println!(
        "load: server pid {pid} at {addr}; {} long polls + {} event streams",
        args.polls, args.streams
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let idle = memory(pid)?;
    println!("load: server idle: {idle}");

    let ready = Arc::new(AtomicUsize::new(0));
    let all_ready = Arc::new(Notify::new());
    let opening = Arc::new(Semaphore::new(OPENING));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..total {
        let counters = (Arc::clone(&ready), Arc::clone(&all_ready), total);
        let opening = Arc::clone(&opening);
        let addr = addr.clone();
        let poll = i < args.polls;
        tasks.spawn(async move {
            if poll {
                long_poll(&addr, opening, counters).await
            } else {
                stream(&addr, opening, counters).await
            }
        });
    }
    // Wait until every connection is held (or one failed).
    loop {
        tokio::select! {
            () = all_ready.notified() => {}
            () = tokio::time::sleep(Duration::from_millis(200)) => {}
            Some(done) = tasks.join_next() => {
                let outcome = done.map_err(|e| e.to_string())?;
                return Err(format!("a connection ended early: {outcome:?}"));
            }
        }
        if ready.load(Ordering::SeqCst) >= total {
            break;
        }
    }
    let opened_in = started.elapsed();
    println!("load: {total} connections held after {opened_in:.1?}");
    // Let the last requests reach their held state, then hold everything for a while.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let held = memory(pid)?;
    println!("load: server with {total} held: {held}");
    println!(
        "load: about {} KiB of server RSS per held connection",
        held.rss_kib.saturating_sub(idle.rss_kib) / total.max(1) as u64
    );
    let hold_until = tokio::time::Instant::now() + args.hold;
    tokio::select! {
        () = tokio::time::sleep_until(hold_until) => {}
        Some(done) = tasks.join_next() => {
            let outcome = done.map_err(|e| e.to_string())?;
            return Err(format!("a connection ended while held: {outcome:?}"));
        }
    }
    let after_hold = memory(pid)?;
    println!("load: after holding {:?}: {after_hold}", args.hold);

    // One publish reaches every session: every long poll is answered, every stream carries it.
    let published = Instant::now();
    publish(&addr).await?;
    let mut failures = Vec::new();
    let mut delivered = 0;
    while let Some(done) = tasks.join_next().await {
        match done.map_err(|e| e.to_string())? {
            Ok(()) => delivered += 1,
            Err(error) => failures.push(error),
        }
    }
    let fanout = published.elapsed();
    println!("load: the published event reached {delivered}/{total} in {fanout:.1?}");
    let peak = memory(pid)?;
    println!("load: server after the fan-out: {peak}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let closed = memory(pid)?;
    println!("load: server with everything closed: {closed}");
    let _ = server.kill().await;
    if !failures.is_empty() {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for failure in &failures {
            *counts.entry(failure.as_str()).or_default() += 1;
        }
        return Err(format!("{} connections failed: {counts:?}", failures.len()));
    }
    println!(
        "load: RESULT {} long polls + {} event streams: server RSS {} MiB idle, {} MiB held \
         ({} KiB per connection), peak {} MiB; opened in {opened_in:.1?}, fan-out in {fanout:.1?}",
        args.polls,
        args.streams,
        idle.rss_kib / 1024,
        held.rss_kib / 1024,
        held.rss_kib.saturating_sub(idle.rss_kib) / total.max(1) as u64,
        peak.hwm_kib / 1024,
    );
    Ok(())
}

/// Starts the server on a free loopback port; returns it, its `HOST:PORT` and its pid.
async fn start_server(path: &str) -> Result<(Child, String, u32), String> {
    let empty = std::env::temp_dir();
    let mut child = Command::new(path)
        .args(["--addr", "127.0.0.1:0", "--static-dir"])
        .arg(&empty)
        .arg("--pkg-dir")
        .arg(&empty)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start {path}: {e}"))?;
    let pid = child.id().ok_or("the server has no pid")?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut line = String::new();
    tokio::time::timeout(
        Duration::from_secs(30),
        BufReader::new(stdout).read_line(&mut line),
    )
    .await
    .map_err(|_| "the server printed no listening line")?
    .map_err(|e| e.to_string())?;
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .ok_or(format!("unexpected first line {line:?}"))?
        .to_owned();
    Ok((child, addr, pid))
}

/// The server's memory as `/proc/PID/status` tells it.
struct Memory {
    rss_kib: u64,
    hwm_kib: u64,
}

impl std::fmt::Display for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RSS {:.1} MiB (peak {:.1} MiB)",
            self.rss_kib as f64 / 1024.0,
            self.hwm_kib as f64 / 1024.0
        )
    }
}

fn memory(pid: u32) -> Result<Memory, String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("cannot read the server's memory: {e}"))?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    Ok(Memory {
        rss_kib: field("VmRSS:"),
        hwm_kib: field("VmHWM:"),
    })
}

/// Marks one more connection as held.
fn mark_ready((ready, all_ready, total): &(Arc<AtomicUsize>, Arc<Notify>, usize)) {
    if ready.fetch_add(1, Ordering::SeqCst) + 1 >= *total {
        all_ready.notify_one();
    }
}

/// One long-polling client: a short poll creates the session, a POST joins the room (on the
/// same kept-alive connection), then a long poll is held until the publish answers it.
async fn long_poll(
    addr: &str,
    opening: Arc<Semaphore>,
    counters: (Arc<AtomicUsize>, Arc<Notify>, usize),
) -> Outcome {
    let permit = opening.acquire().await.map_err(|e| e.to_string())?;
    let mut conn = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let (sid, token) = {
        let body = request(&mut conn, "GET", "/rt/poll", "").await?;
        session_of(&body)?
    };
    let query = format!("sid={sid}&token={token}");
    join(&mut conn, &query).await?;
    let path = format!("/rt/poll?{query}&after=0&wait=60000");
    write_request(&mut conn, "GET", &path, "").await?;
    drop(permit);
    mark_ready(&counters);
    let body = read_response(&mut conn).await?;
    if body.contains(r#""e":"ping""#) {
        Ok(())
    } else {
        Err(format!("long poll answered without the event: {body:.80}"))
    }
}

/// One event-stream client: the stream opens the session, a POST on a second connection joins
/// the room, then the stream is read until the published event arrives.
async fn stream(
    addr: &str,
    opening: Arc<Semaphore>,
    counters: (Arc<AtomicUsize>, Arc<Notify>, usize),
) -> Outcome {
    let permit = opening.acquire().await.map_err(|e| e.to_string())?;
    let mut conn = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    write_request(&mut conn, "GET", "/rt/sse", "").await?;
    let mut seen = String::new();
    let mut buf = vec![0u8; 4096];
    let (sid, token) = loop {
        let n = conn.read(&mut buf).await.map_err(|e| format!("sse: {e}"))?;
        if n == 0 {
            return Err("sse: ended before its open frame".into());
        }
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        if seen.contains(r#""t":"o""#) && seen.contains(r#""ack":"#) {
            break session_of(&seen)?;
        }
    };
    {
        let mut post = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        join(&mut post, &format!("sid={sid}&token={token}")).await?;
    }
    drop(permit);
    mark_ready(&counters);
    seen.clear();
    loop {
        let n = conn.read(&mut buf).await.map_err(|e| format!("sse: {e}"))?;
        if n == 0 {
            return Err("sse: ended before the event".into());
        }
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        if seen.contains(r#""e":"ping""#) {
            return Ok(());
        }
        // Keep only a tail, in case the marker is split across reads.
        if seen.len() > 256 {
            seen.drain(..seen.len() - 64);
        }
    }
}

/// Joins the room over `conn` (a kept-alive connection).
async fn join(conn: &mut TcpStream, query: &str) -> Result<(), String> {
    let body = format!(r#"[{{"t":"e","c":1,"e":"join","v":"{ROOM}"}}]"#);
    let answer = request(conn, "POST", &format!("/rt/send?{query}"), &body).await?;
    if answer.contains(r#""a":1"#) {
        Ok(())
    } else {
        Err(format!("join answered {answer:.80}"))
    }
}

/// Publishes event `ping` to the room from a session of its own.
async fn publish(addr: &str) -> Result<(), String> {
    let mut conn = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let (sid, token) = session_of(&request(&mut conn, "GET", "/rt/poll", "").await?)?;
    let body = format!(
        r#"[{{"t":"e","c":1,"e":"publish","v":{{"room":"{ROOM}","event":"ping","data":1}}}}]"#
    );
    let path = format!("/rt/send?sid={sid}&token={token}");
    request(&mut conn, "POST", &path, &body).await.map(drop)
}

/// `sid` and `token` of the first `o` frame in `text`.
fn session_of(text: &str) -> Result<(String, String), String> {
    let field = |name: &str| {
        let key = format!("\"{name}\":\"");
        let start = text.find(&key)? + key.len();
        let len = text[start..].find('"')?;
        Some(text[start..start + len].to_owned())
    };
    match (field("sid"), field("token")) {
        (Some(sid), Some(token)) => Ok((sid, token)),
        _ => Err(format!("no open frame in {text:.80}")),
    }
}

async fn request(
    conn: &mut TcpStream,
    method: &str,
    path: &str,
    body: &str,
) -> Result<String, String> {
    write_request(conn, method, path, body).await?;
    read_response(conn).await
}

async fn write_request(
    conn: &mut TcpStream,
    method: &str,
    path: &str,
    body: &str,
) -> Result<(), String> {
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: load\r\nContent-Type: text/plain\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(request.as_bytes())
        .await
        .map_err(|e| format!("write: {e}"))
}

/// Reads one response with a `Content-Length` body; a status other than 200 is an error.
async fn read_response(conn: &mut TcpStream) -> Result<String, String> {
    let mut data = Vec::with_capacity(1024);
    let mut buf = [0u8; 2048];
    let head_end = loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let n = conn
            .read(&mut buf)
            .await
            .map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err("the server closed the connection".into());
        }
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_ascii_lowercase();
    if !head.starts_with("http/1.1 200") {
        return Err(head.lines().next().unwrap_or_default().to_owned());
    }
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or("no content-length")?;
    while data.len() < head_end + length {
        let n = conn
            .read(&mut buf)
            .await
            .map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err("the body ended early".into());
        }
        data.extend_from_slice(&buf[..n]);
    }
    Ok(String::from_utf8_lossy(&data[head_end..head_end + length]).into_owned())
}
