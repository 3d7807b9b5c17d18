//! How long to wait before reconnecting: capped exponential backoff with jitter.
//!
//! The state machine never draws random numbers ([STYLE rule 1]); the caller passes one in,
//! so a test or a simulation replays the same delays from the same seed.

use core::time::Duration;

/// A reconnection schedule: the delay doubles after every failed attempt, from
/// [`initial`](Backoff::initial) up to [`max`](Backoff::max), and a random share of it (up to
/// [`jitter_permille`](Backoff::jitter_permille)) is taken off so that clients that lost their
/// broker at the same moment do not all come back at the same moment.
///
/// ```
/// use core::time::Duration;
/// use tern_mqtt::client::Backoff;
///
/// let backoff = Backoff::default(); // 1 s doubling to 60 s, up to half of it as jitter
/// // The caller's RNG gives `random`; 0 means no jitter at all, u32::MAX the most.
/// assert_eq!(backoff.delay(0, 0), Duration::from_secs(1));
/// assert_eq!(backoff.delay(3, 0), Duration::from_secs(8));
/// assert_eq!(backoff.delay(30, 0), Duration::from_secs(60)); // capped
/// assert_eq!(backoff.delay(3, u32::MAX), Duration::from_secs(4)); // half taken off
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay before the first reconnection attempt.
    pub initial: Duration,
    /// Largest delay.
    pub max: Duration,
    /// Largest share of a delay, in per mille, that jitter may take off (0: none; values
    /// above 1,000 count as 1,000).
    pub jitter_permille: u32,
}

impl Default for Backoff {
    /// 1 s, doubling up to 60 s, with up to half of each delay taken off at random.
    fn default() -> Self {
        Backoff {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(60),
            jitter_permille: 500,
        }
    }
}

impl Backoff {
    /// The delay before reconnection attempt `attempt` (0 for the first after a loss), with
    /// `random` a uniformly random number from the caller's RNG.
    pub fn delay(&self, attempt: u32, random: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
        let base = self
            .initial
            .checked_mul(factor)
            .unwrap_or(self.max)
            .min(self.max);
        let jitter = u64::from(self.jitter_permille.min(1_000));
        // share of `base` taken off = jitter/1000 * random/u32::MAX, in nanoseconds.
        let nanos = u64::try_from(base.as_nanos()).unwrap_or(u64::MAX);
        let off = u128::from(nanos) * u128::from(jitter) * u128::from(random)
            / (1_000 * u128::from(u32::MAX));
        base.saturating_sub(Duration::from_nanos(u64::try_from(off).unwrap_or(u64::MAX)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_then_stay_at_the_cap() {
        let b = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
            jitter_permille: 0,
        };
        let delays: alloc::vec::Vec<u128> =
            (0..7).map(|a| b.delay(a, u32::MAX).as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1000, 1000, 1000]);
        assert_eq!(b.delay(u32::MAX, 7), Duration::from_secs(1));
    }

    #[test]
    fn jitter_stays_within_its_share() {
        let b = Backoff::default();
        for attempt in 0..8 {
            let full = b.delay(attempt, 0);
            for random in [1, 1 << 16, u32::MAX / 2, u32::MAX - 1, u32::MAX] {
                let d = b.delay(attempt, random);
                assert!(
                    d <= full && d >= full / 2,
                    "{attempt} {random}: {d:?} vs {full:?}"
                );
            }
        }
        let all = Backoff {
            jitter_permille: 5_000,
            ..Backoff::default()
        };
        assert_eq!(all.delay(2, u32::MAX), Duration::ZERO);
    }
}
