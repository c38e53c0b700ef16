//! The `realtime-server` binary: parse flags, bind, print `listening on http://HOST:PORT`, serve.

use std::io::Write as _;
use std::process::ExitCode;

use realtime_server::cli::{Cli, USAGE};

#[tokio::main]
async fn main() -> ExitCode {
    let (addr, config) = match Cli::parse(std::env::args().skip(1)) {
        Ok(Cli::Run { addr, config }) => (addr, *config),
        Ok(Cli::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("realtime-server: {error}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    for dir in config.static_dirs.iter().chain([&config.pkg_dir]) {
        if !dir.is_dir() {
            eprintln!(
                "realtime-server: warning: {} is not a directory; nothing is served from it",
                dir.display()
            );
        }
    }
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("realtime-server: cannot listen on {addr}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let local = listener.local_addr().map_or(addr, |a| a.to_string());
    // Scripts wait for this exact line, so it must not sit in a buffer.
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "listening on http://{local}");
    let _ = stdout.flush();
    tokio::select! {
        served = realtime_server::serve(listener, config) => match served {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("realtime-server: {error}");
                ExitCode::FAILURE
            }
        },
        // Open streams would hold a graceful shutdown forever: Ctrl-C just ends the process.
        _ = tokio::signal::ctrl_c() => ExitCode::SUCCESS,
    }
}
