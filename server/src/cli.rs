//! Command-line parsing for the `realtime-server` binary (hand-rolled: seven flags do not need a
//! parser framework).

use std::fmt;
use std::path::PathBuf;

use crate::config::Config;
use crate::origin_policy::OriginPolicy;

/// The usage text printed by `--help` and after a bad flag.
pub const USAGE: &str = "\
usage: realtime-server [--addr HOST:PORT] [--static-dir DIR]... [--pkg-dir DIR] [--allow-origin ORIGIN]... [--test-hooks]
                       [--max-connections N] [--max-connections-per-ip N]

  --addr HOST:PORT       where to listen (default 127.0.0.1:8080; port 0 picks a free one)
  --static-dir DIR       serve DIR at / (repeatable, tried in order; default www)
  --pkg-dir DIR          serve DIR at /pkg/ (default pkg)
  --allow-origin ORIGIN  allow ORIGIN (e.g. http://example.test:3000, or *) for CORS and WebSocket
                         upgrades (repeatable; default: loopback origins only)
  --test-hooks           honour the `fault` query parameter on /rt requests
  --max-connections N    open connections at most; more get 503 with Retry-After (default 10000)
  --max-connections-per-ip N
                         open connections from one address (IPv6: its /64) at most; loopback
                         clients are exempt (default 256)
  -h, --help             print this help";

/// What the command line asked for.
#[derive(Debug, Clone)]
pub enum Cli {
    /// Run the server.
    Run {
        /// `HOST:PORT` to bind.
        addr: String,
        /// The server settings.
        config: Box<Config>,
    },
    /// Print [`USAGE`] and exit successfully.
    Help,
}

/// A command line that cannot be run; the message names the offending argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError(pub String);

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CliError {}

impl Cli {
    /// Parses the arguments after the program name. Flags take their value as the next argument
    /// or after `=` (`--addr=127.0.0.1:0`).
    pub fn parse<I>(args: I) -> Result<Cli, CliError>
    where
        I: IntoIterator<Item = String>,
    {
        let mut addr = String::from("127.0.0.1:8080");
        let mut config = Config::default();
        let mut static_dirs = Vec::new();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) if flag.starts_with("--") => {
                    (flag.to_owned(), Some(value.to_owned()))
                }
                _ => (arg.clone(), None),
            };
            let mut value = || value_of(&flag, inline.clone(), &mut args);
            match flag.as_str() {
                "-h" | "--help" => return Ok(Cli::Help),
                "--addr" => addr = parse_addr(value()?)?,
                "--static-dir" => static_dirs.push(PathBuf::from(value()?)),
                "--pkg-dir" => config.pkg_dir = PathBuf::from(value()?),
                "--allow-origin" => {
                    let origin = value()?;
                    OriginPolicy::validate(&origin)
                        .map_err(|why| CliError(format!("--allow-origin {origin:?}: {why}")))?;
                    config.allowed_origins.push(origin);
                }
                "--test-hooks" if inline.is_none() => config.test_hooks = true,
                "--test-hooks" => return Err(CliError("--test-hooks takes no value".into())),
                "--max-connections" => config.max_connections = count(&flag, &value()?)?,
                "--max-connections-per-ip" => {
                    config.max_connections_per_ip = count(&flag, &value()?)?;
                }
                other => return Err(CliError(format!("unknown argument {other:?}"))),
            }
        }
        if !static_dirs.is_empty() {
            config.static_dirs = static_dirs;
        }
        Ok(Cli::Run {
            addr,
            config: Box::new(config),
        })
    }
}

/// The flag's value: after `=`, or the next argument.
fn value_of(
    flag: &str,
    inline: Option<String>,
    rest: &mut impl Iterator<Item = String>,
) -> Result<String, CliError> {
    inline
        .or_else(|| rest.next())
        .ok_or_else(|| CliError(format!("{flag} needs a value")))
}

/// A positive count.
fn count(flag: &str, value: &str) -> Result<usize, CliError> {
    match value.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(CliError(format!(
            "{flag} {value:?}: expected a positive number"
        ))),
    }
}

/// Checks `HOST:PORT` early so a typo is reported as such, not as a failed bind.
fn parse_addr(addr: String) -> Result<String, CliError> {
    let port_ok = addr
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if port_ok {
        Ok(addr)
    } else {
        Err(CliError(format!(
            "--addr {addr:?}: expected HOST:PORT, e.g. 127.0.0.1:8080"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, CliError> {
        Cli::parse(args.iter().map(|a| a.to_string()))
    }

    #[test]
    fn defaults() {
        let Ok(Cli::Run { addr, config }) = parse(&[]) else {
            panic!("expected Run")
        };
        assert_eq!(addr, "127.0.0.1:8080");
        assert_eq!(config.static_dirs, vec![PathBuf::from("www")]);
        assert!(!config.test_hooks);
    }

    #[test]
    fn every_flag() {
        let Ok(Cli::Run { addr, config }) = parse(&[
            "--addr=127.0.0.1:0",
            "--static-dir",
            "a",
            "--static-dir",
            "b",
            "--pkg-dir",
            "p",
            "--allow-origin",
            "https://example.test:8443",
            "--test-hooks",
            "--max-connections=50",
            "--max-connections-per-ip",
            "5",
        ]) else {
            panic!("expected Run")
        };
        assert_eq!(addr, "127.0.0.1:0");
        assert_eq!(
            config.static_dirs,
            vec![PathBuf::from("a"), PathBuf::from("b")]
        );
        assert_eq!(config.pkg_dir, PathBuf::from("p"));
        assert_eq!(
            config.allowed_origins,
            vec!["https://example.test:8443".to_string()]
        );
        assert!(config.test_hooks);
        assert_eq!(
            (config.max_connections, config.max_connections_per_ip),
            (50, 5)
        );
    }

    #[test]
    fn bad_flags_are_named() {
        assert!(parse(&["--max-connections", "0"])
            .unwrap_err()
            .0
            .contains("--max-connections"));
        assert!(parse(&["--nope"]).unwrap_err().0.contains("--nope"));
        assert!(parse(&["--addr"]).unwrap_err().0.contains("needs a value"));
        assert!(parse(&["--addr", "8080"])
            .unwrap_err()
            .0
            .contains("HOST:PORT"));
        assert!(parse(&["--allow-origin", "example.test"])
            .unwrap_err()
            .0
            .contains("example.test"));
        assert!(matches!(parse(&["--help"]), Ok(Cli::Help)));
    }
}
