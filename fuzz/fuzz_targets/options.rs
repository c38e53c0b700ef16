//! Option parsing: the client's transport names and option validation, the server's fault list
//! and command line. None may panic on any input; accepted values must be in range.
#![no_main]

use libfuzzer_sys::fuzz_target;
use realtime_server::cli::Cli;
use realtime_server::faults::Faults;
use realtime_wasm::{Options, ReconnectOptions, TransportKind};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = Faults::parse(&text);
    let _ = TransportKind::from_name(&text);
    let args: Vec<String> = text.split(' ').map(str::to_owned).collect();
    let _ = Cli::parse(args);

    let word = |i: usize| -> u32 {
        let b = data.get(i * 4..i * 4 + 4).unwrap_or(&[0, 0, 0, 0]);
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    };
    let transports: Vec<TransportKind> = data
        .iter()
        .take(8)
        .map(|b| TransportKind::ALL[usize::from(*b) % TransportKind::ALL.len()])
        .collect();
    let options = Options {
        transports,
        connect_timeout_ms: word(0),
        poll_interval_ms: word(1),
        long_poll_timeout_ms: word(2),
        heartbeat_timeout_ms: word(3),
        max_queued_messages: word(4),
        reconnect: (word(5) % 2 == 0).then(|| ReconnectOptions {
            initial_delay_ms: word(6),
            max_delay_ms: word(7),
            max_attempts: (word(8) % 2 == 0).then(|| word(9)),
        }),
        ..Options::default()
    };
    if options.validate().is_ok() {
        assert!(!options.transports.is_empty());
        assert!(options.connect_timeout_ms >= 1 && options.max_queued_messages >= 1);
        if let Some(r) = options.reconnect {
            assert!(r.initial_delay_ms <= r.max_delay_ms);
        }
    }
});
