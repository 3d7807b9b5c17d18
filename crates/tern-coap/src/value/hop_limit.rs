//! Hop-Limit values (RFC 8768).

/// A Hop-Limit value, 1–255 (RFC 8768 §3).
///
/// ```
/// use tern_coap::value::HopLimit;
///
/// let h = HopLimit::DEFAULT;
/// assert_eq!(h.get(), 16);
/// assert_eq!(HopLimit::new(1).unwrap().decrement(), None); // 5.08 Hop Limit Reached
/// assert!(HopLimit::new(0).is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HopLimit(u8);

impl HopLimit {
    /// 16: the value a proxy inserts when a request has none and no other initial value is
    /// configured (RFC 8768 §3).
    ///
    /// ```
    /// # use tern_coap::value::HopLimit;
    /// assert_eq!(HopLimit::DEFAULT, HopLimit::new(16).unwrap());
    /// ```
    pub const DEFAULT: HopLimit = HopLimit(16);

    /// A hop limit; `None` for 0.
    ///
    /// ```
    /// # use tern_coap::value::HopLimit;
    /// assert_eq!(HopLimit::new(255).map(HopLimit::get), Some(255));
    /// ```
    pub const fn new(value: u8) -> Option<HopLimit> {
        if value == 0 {
            None
        } else {
            Some(HopLimit(value))
        }
    }

    /// The value.
    ///
    /// ```
    /// # use tern_coap::value::HopLimit;
    /// assert_eq!(HopLimit::DEFAULT.get(), 16);
    /// ```
    pub const fn get(self) -> u8 {
        self.0
    }

    /// What a proxy forwards: the value less one, or `None` when that is 0 and the proxy
    /// answers 5.08 Hop Limit Reached instead (RFC 8768 §3).
    ///
    /// ```
    /// # use tern_coap::value::HopLimit;
    /// assert_eq!(HopLimit::new(2).unwrap().decrement(), HopLimit::new(1));
    /// ```
    pub const fn decrement(self) -> Option<HopLimit> {
        HopLimit::new(self.0 - 1)
    }
}

impl Default for HopLimit {
    fn default() -> Self {
        HopLimit::DEFAULT
    }
}
