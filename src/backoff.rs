//! Reconnect delays: exponential backoff with jitter applied after the cap.
//!
//! The delay doubles from [`Backoff::initial_delay_ms`] up to [`Backoff::max_delay_ms`], so a server
//! that is down is not hammered. Jitter then spreads each delay over its upper half. The order
//! matters: jitter applied before the cap is flattened by it, and a fleet of clients that lost the
//! same server retries at the cap in lock-step, which is exactly when that server comes back up.
//!
//! The random number is an argument (the client passes `Math.random()`), which keeps this module
//! deterministic and testable natively.

/// Reconnect policy: how long to wait before each reconnect attempt, and how many to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The delay before the first attempt, before jitter.
    pub initial_delay_ms: u32,
    /// The longest delay, before jitter.
    pub max_delay_ms: u32,
    /// How many attempts to make before giving up; `None` never gives up.
    pub max_attempts: Option<u32>,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial_delay_ms: 500,
            max_delay_ms: 15_000,
            max_attempts: None,
        }
    }
}

impl Backoff {
    /// The delay before reconnect `attempt` (1-based), or `None` when the attempts are exhausted.
    ///
    /// `random01` is a uniform random number in `[0, 1)`; the delay is uniform in
    /// `[base / 2, base]`, where base is [`base_delay_ms`](Self::base_delay_ms). Values outside
    /// `[0, 1]` are clamped to it, and NaN counts as 0.
    pub fn delay_ms(&self, attempt: u32, random01: f64) -> Option<u32> {
        if self.max_attempts.is_some_and(|max| attempt > max) {
            return None;
        }
        let base = self.base_delay_ms(attempt);
        let half = base / 2;
        let random = if random01 > 0.0 {
            random01.min(1.0)
        } else {
            0.0
        };
        // `random` is in [0, 1], so the product is in [0, base - half] and the sum cannot exceed
        // `base`; the float-to-int cast saturates and never panics.
        Some(half + (f64::from(base - half) * random) as u32)
    }

    /// The delay before reconnect `attempt` (1-based) without jitter: `initial_delay_ms` doubled
    /// `attempt - 1` times, capped at `max_delay_ms`. Never overflows, whatever the attempt.
    pub fn base_delay_ms(&self, attempt: u32) -> u32 {
        // `initial < 2^32` and `shift <= 32`, so the shifted value fits in a u64; more doublings
        // than 32 cannot matter as the cap is a u32.
        let shift = attempt.saturating_sub(1).min(32);
        let doubled = u64::from(self.initial_delay_ms) << shift;
        u32::try_from(doubled.min(u64::from(self.max_delay_ms))).unwrap_or(self.max_delay_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RANDOMS: [f64; 5] = [0.0, 0.25, 0.5, 0.75, 0.999_999];

    #[test]
    fn base_doubles_up_to_the_cap() {
        let backoff = Backoff::default();
        let bases: Vec<u32> = (1..=7).map(|n| backoff.base_delay_ms(n)).collect();
        assert_eq!(bases, [500, 1000, 2000, 4000, 8000, 15_000, 15_000]);
        let mut previous = 0;
        for attempt in 0..=200 {
            let base = backoff.base_delay_ms(attempt);
            assert!(base >= previous && base <= backoff.max_delay_ms);
            previous = base;
        }
        // Attempt 0 is not meaningful; it is treated as the first.
        assert_eq!(backoff.base_delay_ms(0), 500);
    }

    #[test]
    fn jittered_delay_stays_within_half_the_base_and_the_cap() {
        let backoff = Backoff::default();
        for attempt in 1..=100 {
            let base = backoff.base_delay_ms(attempt);
            for random in RANDOMS {
                let delay = backoff.delay_ms(attempt, random).unwrap_or(u32::MAX);
                assert!(
                    delay >= base / 2 && delay <= base,
                    "{attempt} {random}: {delay}"
                );
                assert!(delay <= backoff.max_delay_ms);
            }
        }
    }

    #[test]
    fn jitter_spreads_delays_at_the_cap() {
        let backoff = Backoff::default();
        let delays: Vec<Option<u32>> = RANDOMS.iter().map(|&r| backoff.delay_ms(40, r)).collect();
        assert_eq!(
            delays,
            [
                Some(7500),
                Some(9375),
                Some(11_250),
                Some(13_125),
                Some(14_999)
            ]
        );
    }

    #[test]
    fn attempts_run_out() {
        let backoff = Backoff {
            max_attempts: Some(3),
            ..Backoff::default()
        };
        assert!(backoff.delay_ms(3, 0.5).is_some());
        assert_eq!(backoff.delay_ms(4, 0.5), None);
        assert_eq!(backoff.delay_ms(u32::MAX, 0.5), None);
        let never = Backoff {
            max_attempts: Some(0),
            ..Backoff::default()
        };
        assert_eq!(never.delay_ms(1, 0.5), None);
        assert!(Backoff::default().delay_ms(u32::MAX, 0.5).is_some());
    }

    #[test]
    fn extreme_inputs_do_not_overflow() {
        let huge = Backoff {
            initial_delay_ms: u32::MAX,
            max_delay_ms: u32::MAX,
            max_attempts: None,
        };
        assert_eq!(huge.base_delay_ms(u32::MAX), u32::MAX);
        assert_eq!(huge.delay_ms(u32::MAX, 1.0), Some(u32::MAX));
        assert_eq!(huge.delay_ms(1, 0.0), Some(u32::MAX / 2));
        let inverted = Backoff {
            initial_delay_ms: 20_000,
            max_delay_ms: 1000,
            max_attempts: None,
        };
        assert_eq!(inverted.base_delay_ms(1), 1000);
        let zero = Backoff {
            initial_delay_ms: 0,
            ..Backoff::default()
        };
        assert_eq!(zero.delay_ms(1000, 0.5), Some(0));
    }

    #[test]
    fn random_outside_the_unit_interval_is_clamped() {
        let backoff = Backoff::default();
        assert_eq!(backoff.delay_ms(1, f64::NAN), Some(250));
        assert_eq!(backoff.delay_ms(1, -3.0), Some(250));
        assert_eq!(backoff.delay_ms(1, f64::NEG_INFINITY), Some(250));
        assert_eq!(backoff.delay_ms(1, 1.0), Some(500));
        assert_eq!(backoff.delay_ms(1, 7.0), Some(500));
        assert_eq!(backoff.delay_ms(1, f64::INFINITY), Some(500));
    }
}
