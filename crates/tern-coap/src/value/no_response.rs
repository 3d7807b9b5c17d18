//! No-Response values (RFC 7967).

use crate::message::Code;

/// A No-Response value (RFC 7967 §2.1): the response classes the client is not interested
/// in. On the wire a bitmap: 2 for 2.xx, 8 for 4.xx, 16 for 5.xx; 0 (the default) for
/// interest in all responses. Other bits have no meaning and are ignored when decoding.
///
/// ```
/// use tern_coap::message::Code;
/// use tern_coap::value::NoResponse;
///
/// let nr = NoResponse::from_bits(26);
/// assert_eq!(nr, NoResponse::ALL);
/// assert!(NoResponse::from_bits(2).suppresses(Code::CHANGED));
/// assert!(!NoResponse::from_bits(2).suppresses(Code::NOT_FOUND));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NoResponse {
    /// Not interested in 2.xx responses (bit value 2).
    pub suppress_2xx: bool,
    /// Not interested in 4.xx responses (bit value 8).
    pub suppress_4xx: bool,
    /// Not interested in 5.xx responses (bit value 16).
    pub suppress_5xx: bool,
}

impl NoResponse {
    /// Interested in every response (value 0, the default).
    ///
    /// ```
    /// # use tern_coap::value::NoResponse;
    /// assert_eq!(NoResponse::NONE.bits(), 0);
    /// ```
    pub const NONE: NoResponse = NoResponse {
        suppress_2xx: false,
        suppress_4xx: false,
        suppress_5xx: false,
    };

    /// Interested in no response (value 26).
    ///
    /// ```
    /// # use tern_coap::value::NoResponse;
    /// assert_eq!(NoResponse::ALL.bits(), 26);
    /// ```
    pub const ALL: NoResponse = NoResponse {
        suppress_2xx: true,
        suppress_4xx: true,
        suppress_5xx: true,
    };

    const BIT_2XX: u8 = 2;
    const BIT_4XX: u8 = 8;
    const BIT_5XX: u8 = 16;

    /// From the option's bitmap; bits other than 2, 8 and 16 are ignored.
    ///
    /// ```
    /// # use tern_coap::value::NoResponse;
    /// assert!(NoResponse::from_bits(16).suppress_5xx);
    /// assert_eq!(NoResponse::from_bits(0xff), NoResponse::ALL);
    /// ```
    pub const fn from_bits(bits: u8) -> NoResponse {
        NoResponse {
            suppress_2xx: bits & NoResponse::BIT_2XX != 0,
            suppress_4xx: bits & NoResponse::BIT_4XX != 0,
            suppress_5xx: bits & NoResponse::BIT_5XX != 0,
        }
    }

    /// The option's bitmap.
    ///
    /// ```
    /// # use tern_coap::value::NoResponse;
    /// let nr = NoResponse { suppress_4xx: true, ..NoResponse::NONE };
    /// assert_eq!(nr.bits(), 8);
    /// ```
    pub const fn bits(self) -> u8 {
        (if self.suppress_2xx {
            NoResponse::BIT_2XX
        } else {
            0
        }) | (if self.suppress_4xx {
            NoResponse::BIT_4XX
        } else {
            0
        }) | (if self.suppress_5xx {
            NoResponse::BIT_5XX
        } else {
            0
        })
    }

    /// Whether a response with this code may be left unsent. Codes outside classes 2, 4 and
    /// 5 are never suppressed.
    ///
    /// ```
    /// use tern_coap::message::Code;
    /// # use tern_coap::value::NoResponse;
    /// assert!(NoResponse::ALL.suppresses(Code::INTERNAL_SERVER_ERROR));
    /// assert!(!NoResponse::ALL.suppresses(Code::PONG));
    /// ```
    pub const fn suppresses(self, code: Code) -> bool {
        match code.class() {
            2 => self.suppress_2xx,
            4 => self.suppress_4xx,
            5 => self.suppress_5xx,
            _ => false,
        }
    }
}
