//! Observe values (RFC 7641).

/// An Observe value (RFC 7641 §2): 0 (register) or 1 (deregister) in a request, a 24-bit
/// sequence number in a notification.
///
/// ```
/// use tern_coap::value::Observe;
///
/// assert_eq!(Observe::REGISTER.get(), 0);
/// assert!(Observe::new(1 << 24).is_none());
/// assert_eq!(Observe::wrapping(1 << 24), Observe::new(0).unwrap());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Observe(u32);

impl Observe {
    /// 0 in a GET: add the client to the list of observers (RFC 7641 §2).
    ///
    /// ```
    /// # use tern_coap::value::Observe;
    /// assert_eq!(Observe::REGISTER, Observe::new(0).unwrap());
    /// ```
    pub const REGISTER: Observe = Observe(0);
    /// 1 in a GET: remove the client from the list of observers (RFC 7641 §2).
    ///
    /// ```
    /// # use tern_coap::value::Observe;
    /// assert_eq!(Observe::DEREGISTER.get(), 1);
    /// ```
    pub const DEREGISTER: Observe = Observe(1);
    /// The largest value, 2^24 − 1.
    ///
    /// ```
    /// # use tern_coap::value::Observe;
    /// assert_eq!(Observe::MAX.get(), 0xff_ffff);
    /// ```
    pub const MAX: Observe = Observe(0xff_ffff);

    /// A value of at most 24 bits; `None` above.
    ///
    /// ```
    /// # use tern_coap::value::Observe;
    /// assert_eq!(Observe::new(42).map(Observe::get), Some(42));
    /// ```
    pub const fn new(value: u32) -> Option<Observe> {
        if value > Observe::MAX.0 {
            None
        } else {
            Some(Observe(value))
        }
    }

    /// The low 24 bits of a counter, for notifications' sequence numbers, which wrap
    /// (RFC 7641 §4.4).
    ///
    /// ```
    /// # use tern_coap::value::Observe;
    /// assert_eq!(Observe::wrapping(0x0100_0005).get(), 5);
    /// ```
    pub const fn wrapping(counter: u32) -> Observe {
        Observe(counter & Observe::MAX.0)
    }

    /// The value.
    ///
    /// ```
    /// # use tern_coap::value::Observe;
    /// assert_eq!(Observe::new(7).unwrap().get(), 7);
    /// ```
    pub const fn get(self) -> u32 {
        self.0
    }

    /// Whether a notification with this sequence number is newer than one with `earlier`, by
    /// the serial-number rule of RFC 7641 §3.4. The rule's third case, a notification that
    /// arrives more than 128 seconds after the last one, needs a clock: the caller checks it.
    ///
    /// ```
    /// # use tern_coap::value::Observe;
    /// let (v1, v2) = (Observe::new(5).unwrap(), Observe::new(6).unwrap());
    /// assert!(v2.is_newer_than(v1));
    /// assert!(!v1.is_newer_than(v2));
    /// assert!(Observe::new(1).unwrap().is_newer_than(Observe::MAX)); // wrapped
    /// ```
    pub const fn is_newer_than(self, earlier: Observe) -> bool {
        let (v1, v2) = (earlier.0, self.0);
        (v1 < v2 && v2 - v1 < 1 << 23) || (v1 > v2 && v1 - v2 > 1 << 23)
    }
}
