//! Time as the caller's clock tells it: tern's state machines (the MQTT client, the CoAP
//! endpoint) never read a clock; every call that needs the time takes an [`Instant`].

#![no_std]

use core::ops::Add;
use core::time::Duration;

/// A point on the caller's monotonic clock, in microseconds from an origin the caller picks
/// (an adapter uses the moment it started). Only differences matter.
///
/// ```
/// use core::time::Duration;
/// use tern_time::Instant;
///
/// let t0 = Instant::from_millis(1_000);
/// assert_eq!(t0 + Duration::from_secs(2), Instant::from_millis(3_000));
/// assert_eq!(Instant::from_millis(3_000).saturating_duration_since(t0), Duration::from_secs(2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(u64);

impl Instant {
    /// The origin of the caller's clock.
    pub const ZERO: Instant = Instant(0);

    /// `micros` microseconds after the origin.
    pub const fn from_micros(micros: u64) -> Instant {
        Instant(micros)
    }

    /// `millis` milliseconds after the origin.
    pub const fn from_millis(millis: u64) -> Instant {
        Instant(millis.saturating_mul(1_000))
    }

    /// Microseconds since the origin.
    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// Time from `earlier` to `self`, or zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_micros(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    /// Saturates at the end of time rather than overflowing.
    fn add(self, d: Duration) -> Instant {
        let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        Instant(self.0.saturating_add(micros))
    }
}
