//! The binary itself: the `listening on` line and flag errors.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::Command;

use crate::harness::PATIENCE;

const BINARY: &str = env!("CARGO_BIN_EXE_realtime-server");

#[tokio::test]
async fn prints_the_real_address_and_serves() {
    let mut child = Command::new(BINARY)
        .args(["--addr", "127.0.0.1:0", "--static-dir", "/nonexistent"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    tokio::time::timeout(PATIENCE, BufReader::new(stdout).read_line(&mut line))
        .await
        .expect("in time")
        .expect("read");
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .expect("the listening line");
    assert!(
        base.starts_with("http://127.0.0.1:") && !base.ends_with(":0"),
        "{base}"
    );
    let time = reqwest::get(format!("{base}/raw/time"))
        .await
        .expect("GET")
        .text()
        .await
        .expect("body");
    assert!(time.ends_with('Z'));
}

#[tokio::test]
async fn a_bad_flag_is_named_and_exits_2() {
    let output = Command::new(BINARY)
        .arg("--frobnicate")
        .output()
        .await
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--frobnicate"));
}
