//! Building message text without `core::fmt`.
//!
//! Nothing on the wasm path formats: error and reason messages are put together with
//! `[..].concat()` / `String::push_str`, and integers go through [`dec`]. A single `format!`,
//! `to_string()` or `write!` reachable from the exports links `core::fmt` (the formatter, its
//! integer tables and `write_fmt` glue: 3.3 KB before gzip) into the wasm file; `docs/SIZE.md`.

/// `n` in decimal, as `n.to_string()` writes it (`u32`, `u16` and whole `f64` values convert to
/// `u64` first, with `u64::from` or `as u64`).
pub(crate) fn dec(n: u64) -> String {
    let mut out = String::new();
    push_dec(&mut out, n);
    out
}

/// Appends `n` in decimal to `out`: no sign, no leading zeros, `0` for zero.
pub(crate) fn push_dec(out: &mut String, n: u64) {
    // The largest power of ten not above `n` (at most 10^19, which fits in a u64).
    let mut unit = 1u64;
    while n / unit >= 10 {
        unit *= 10;
    }
    loop {
        // `n / unit % 10` is below 10, so the digit is one of b'0'..=b'9'.
        out.push(char::from(b'0' + (n / unit % 10) as u8));
        if unit == 1 {
            break;
        }
        unit /= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dec_matches_to_string() {
        let edges = [
            0,
            1,
            9,
            10,
            11,
            19,
            99,
            100,
            101,
            1000,
            1006,
            65_535,
            86_400_000,
            u64::from(u32::MAX),
            u64::from(u32::MAX) + 1,
            9_999_999_999_999_999_999,
            10_000_000_000_000_000_000,
            u64::MAX - 1,
            u64::MAX,
        ];
        for n in edges {
            assert_eq!(dec(n), n.to_string(), "{n}");
        }
        // Every power of ten and its neighbours.
        let mut p = 1u64;
        loop {
            for n in [p - 1, p, p + 1] {
                assert_eq!(dec(n), n.to_string(), "{n}");
            }
            match p.checked_mul(10) {
                Some(next) => p = next,
                None => break,
            }
        }
        // A spread of values of every length.
        let mut n = 1u64;
        while let Some(next) = n.checked_mul(7) {
            assert_eq!(dec(n + 3), (n + 3).to_string());
            n = next;
        }
    }

    #[test]
    fn dec_of_narrower_types() {
        assert_eq!(dec(u64::from(u16::MAX)), "65535");
        assert_eq!(dec(u64::from(0u16)), "0");
        assert_eq!(dec(u64::from(u32::MAX)), "4294967295");
        assert_eq!(dec(1234.0_f64 as u64), "1234");
        assert_eq!(dec(u64::MAX), "18446744073709551615");
    }

    #[test]
    fn push_dec_appends() {
        let mut s = String::from("after=");
        push_dec(&mut s, 0);
        assert_eq!(s, "after=0");
        push_dec(&mut s, 42);
        assert_eq!(s, "after=042");
        let mut s = String::from("x");
        push_dec(&mut s, 1_000_000);
        assert_eq!(s, "x1000000");
    }
}
