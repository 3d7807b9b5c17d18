//! Who may connect, and what they may do: the password file, the ACL file and the hook for
//! MQTT 5.0 enhanced authentication.
//!
//! - [`passwords`] (feature `passwords`, on by default): a password file of `user:hash`
//!   lines with Argon2id hashes, as managed by `tern broker passwd`.
//! - [`acl`]: an access control list of topic rules per user and per pattern, checked on
//!   every publish, subscribe and delivery. It fails closed: what is not granted is denied.
//! - [`EnhancedAuth`] and [`AuthExchange`]: an application's own authentication method
//!   (MQTT 5.0 §4.12), driven through CONNECT and AUTH packets by the broker core.
//!
//! Everything here is as sans-IO as the rest of the crate: no files are read (the caller
//! passes their text), no random numbers are drawn (salts come from the caller) and no
//! threads are started. Checking a password is slow on purpose; adapters run it off their
//! event loop.

pub mod acl;
#[cfg(feature = "passwords")]
pub mod passwords;

use alloc::boxed::Box;
use alloc::vec::Vec;

use tern_mqtt::ReasonCode;

/// An application's MQTT 5.0 enhanced authentication methods (MQTT 5.0 §4.12).
///
/// When a CONNECT carries an Authentication Method, the broker core asks the hook to
/// [`begin`](Self::begin) an exchange for that method; `None` refuses the connection with
/// 0x8C Bad authentication method. The returned [`AuthExchange`] then sees the CONNECT's
/// Authentication Data and each AUTH (0x18 Continue authentication) that the client sends,
/// until it answers [`AuthStep::Success`] or [`AuthStep::Failure`]. A client that asks to
/// re-authenticate (AUTH 0x19) starts a new exchange with the same method.
///
/// The broker core calls the hook inside its own calls ([`Broker::set_enhanced_auth`]), on
/// the adapter's event loop: keep each step quick (no blocking I/O, no deliberately slow
/// hash). A client that stops answering is closed after the connect timeout, and its
/// exchange dropped.
///
/// [`Broker::set_enhanced_auth`]: crate::Broker::set_enhanced_auth
///
/// ```
/// use tern_broker::auth::{AuthExchange, AuthStep, EnhancedAuth};
/// use tern_mqtt::ReasonCode;
///
/// /// A toy method: the server sends a challenge, the client must answer it reversed.
/// struct Reverse;
/// struct ReverseExchange { challenge: Option<Vec<u8>> }
///
/// impl EnhancedAuth for Reverse {
///     fn begin(&self, method: &str, _client_id: &str) -> Option<Box<dyn AuthExchange + Send>> {
///         (method == "REVERSE").then(|| Box::new(ReverseExchange { challenge: None }) as _)
///     }
/// }
///
/// impl AuthExchange for ReverseExchange {
///     fn step(&mut self, _method: &str, data: Option<&[u8]>) -> AuthStep {
///         match self.challenge.take() {
///             None => {
///                 let challenge = b"tern".to_vec();
///                 self.challenge = Some(challenge.clone());
///                 AuthStep::Continue(challenge)
///             }
///             Some(c) if data == Some(&c.iter().rev().copied().collect::<Vec<_>>()[..]) => {
///                 AuthStep::Success(None)
///             }
///             Some(_) => AuthStep::Failure(ReasonCode::NotAuthorized),
///         }
///     }
/// }
///
/// assert!(Reverse.begin("SCRAM-SHA-1", "c1").is_none());
/// let mut exchange = Reverse.begin("REVERSE", "c1").unwrap();
/// assert_eq!(exchange.step("REVERSE", None), AuthStep::Continue(b"tern".to_vec()));
/// assert_eq!(exchange.step("REVERSE", Some(b"nret")), AuthStep::Success(None));
/// ```
pub trait EnhancedAuth {
    /// Starts authenticating client `client_id` with `method` (the CONNECT's, or the AUTH's
    /// when re-authenticating), or `None` when the hook does not implement that method.
    fn begin(&self, method: &str, client_id: &str) -> Option<Box<dyn AuthExchange + Send>>;
}

/// One client's authentication in progress, from [`EnhancedAuth::begin`] to its outcome.
///
/// The broker core calls [`step`](Self::step) once for the packet that started it (CONNECT,
/// or AUTH 0x19 Re-authenticate) and once for each AUTH 0x18 that follows, always with the
/// same method (a client that changes it breaks the protocol, and the core disconnects it
/// without asking the exchange). A dropped exchange is an abandoned one: the client went
/// away or timed out.
pub trait AuthExchange {
    /// Takes the packet's Authentication Data (`None` when it has none) and says how to go
    /// on. After `Success` or `Failure` the core calls `step` no more.
    fn step(&mut self, method: &str, data: Option<&[u8]>) -> AuthStep;
}

/// What an [`AuthExchange`] answers to one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthStep {
    /// Send AUTH 0x18 Continue authentication with this Authentication Data and wait for
    /// the client's next AUTH.
    Continue(Vec<u8>),
    /// The client is authenticated: CONNACK 0x00 (or AUTH 0x00 after re-authentication),
    /// with this Authentication Data if any.
    Success(Option<Vec<u8>>),
    /// The client is not: CONNACK (or, when re-authenticating, DISCONNECT) with this reason
    /// code, then close. See [`AuthStep::failure_code`] for the codes that can be sent.
    Failure(ReasonCode),
}

impl AuthStep {
    /// The reason code to send for a failure: the exchange's own when it is an error code
    /// that both CONNACK and DISCONNECT allow, otherwise 0x87 Not authorized, so that a
    /// mistaken hook can never turn a failure into a success. `None` for the other steps.
    ///
    /// ```
    /// use tern_broker::auth::AuthStep;
    /// use tern_mqtt::ReasonCode;
    /// let code = |c| AuthStep::Failure(c).failure_code();
    /// assert_eq!(code(ReasonCode::BadAuthenticationMethod), Some(ReasonCode::BadAuthenticationMethod));
    /// assert_eq!(code(ReasonCode::Success), Some(ReasonCode::NotAuthorized));
    /// assert_eq!(code(ReasonCode::NoMatchingSubscribers), Some(ReasonCode::NotAuthorized));
    /// assert_eq!(AuthStep::Success(None).failure_code(), None);
    /// ```
    pub fn failure_code(&self) -> Option<ReasonCode> {
        use tern_mqtt::packet::PacketType;
        match *self {
            AuthStep::Failure(code)
                if code.is_error()
                    && code.allowed_in(PacketType::ConnAck)
                    && code.allowed_in(PacketType::Disconnect) =>
            {
                Some(code)
            }
            AuthStep::Failure(_) => Some(ReasonCode::NotAuthorized),
            _ => None,
        }
    }
}
