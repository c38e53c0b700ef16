//! The session layer's decoders and bookkeeping: the server's upstream frame decoders never
//! panic, and the client's inbound tracker never delivers a sequence number twice or out of order.
#![no_main]

use libfuzzer_sys::fuzz_target;
use realtime_server::frame::ClientFrame;
use realtime_wasm::session::{Accept, Inbound, Outbox};

fuzz_target!(|data: &[u8]| {
    let _ = ClientFrame::parse_batch(data);
    let _ = ClientFrame::from_binary(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = ClientFrame::parse(text);
    }

    // Reads the bytes as operations on an inbound tracker and an outbox.
    let mut inbound = Inbound::new();
    let mut delivered: Option<u64> = None;
    let mut outbox: Outbox<u8> = Outbox::new(16);
    for pair in data.chunks(2) {
        let (op, arg) = (pair[0], u64::from(*pair.get(1).unwrap_or(&0)));
        match op % 7 {
            0 => {
                let before = inbound.after();
                match inbound.accept(arg) {
                    Accept::Deliver | Accept::Gap { .. } => {
                        assert!(delivered.is_none_or(|d| arg > d), "{arg} delivered after {delivered:?}");
                        delivered = Some(arg);
                    }
                    Accept::Skipped { from, to } => {
                        // Nothing recorded: the resume asks again after `before`.
                        assert_eq!((from, to), (before + 1, arg - 1));
                        assert_eq!(inbound.after(), before);
                    }
                    Accept::Duplicate => assert!(delivered.is_some_and(|d| arg <= d) || arg == 0),
                }
            }
            6 => {
                let before = inbound.after();
                match inbound.sent_through(arg) {
                    None => assert!(arg <= before),
                    Some(Accept::Skipped { from, to }) => {
                        assert_eq!((from, to), (before + 1, arg));
                        assert_eq!(inbound.after(), before);
                    }
                    Some(Accept::Gap { from, to }) => {
                        assert_eq!((from, to), (before + 1, arg));
                        delivered = Some(arg);
                    }
                    Some(other) => panic!("sent_through({arg}) after {before}: {other:?}"),
                }
            }
            1 => {
                inbound.on_gap_frame(arg, arg + u64::from(op));
                delivered = Some(delivered.unwrap_or(0).max(inbound.after()));
            }
            2 => {
                let _ = outbox.push(op);
                assert!(outbox.len() <= 16);
            }
            3 => {
                let _ = outbox.ack(arg);
            }
            4 => outbox.mark_sent(arg),
            _ => outbox.rewind(),
        }
        let unsent: Vec<u64> = outbox.unsent().map(|(c, _)| c).collect();
        assert!(unsent.windows(2).all(|w| w[1] == w[0] + 1), "unsent not contiguous: {unsent:?}");
    }
});
