//! The access control list: which topics each client may publish to, receive from and
//! subscribe to.
//!
//! # The file
//!
//! The format is the one mosquitto's `acl_file` uses, read line by line:
//!
//! ```text
//! # Clients without a user name may only read the public topics.
//! topic read public/#
//!
//! user alice
//! topic readwrite home/alice/#
//! topic read $SYS/broker/#
//! topic deny home/alice/secrets/#
//!
//! user sensor-17
//! topic write sensors/17/+
//!
//! # Every client may write its own status and read its user's inbox.
//! pattern write status/%c
//! pattern read inbox/%u/#
//! ```
//!
//! - Blank lines and lines whose first non-blank character is `#` are ignored.
//! - `topic [ACCESS] FILTER` grants (or denies) `FILTER` to the clients of the current
//!   section. The rules before the first `user` line are for anonymous clients (those that
//!   connected without a user name) and only for them.
//! - `user NAME` starts the section of the clients that logged in as `NAME` (the rest of
//!   the line, so names may hold spaces). A name may have several sections; their rules
//!   add up. A user with no section has only the pattern rules.
//! - `pattern [ACCESS] FILTER` applies to every client, wherever it stands in the file,
//!   after replacing `%c` with the client's identifier and `%u` with its user name (a `%`
//!   followed by anything else is an ordinary character). See
//!   [substitution](#substitution-and-injection).
//! - `ACCESS` is `read`, `write`, `readwrite` (the default when it is left out) or `deny`.
//!   `FILTER` is the rest of the line, an MQTT topic filter with `+` and `#`, without a
//!   `$share/` prefix.
//!
//! A line that fits none of these is an [`AclError`] with its line number: the broker
//! should refuse to start rather than run with rules it did not understand.
//!
//! # The checks
//!
//! The ACL fails closed: anything that no rule grants is denied, and a `deny` rule wins
//! over every grant, whatever the order of the lines.
//!
//! - [`Acl::check_publish`]: a `write` or `readwrite` rule matches the topic, no `deny`
//!   rule does.
//! - [`Acl::check_receive`]: the same with `read` or `readwrite`, checked for each message
//!   when it is delivered (so a change of rules reaches existing subscriptions).
//! - [`Acl::check_subscribe`]: some `read` or `readwrite` rule's filter covers the whole
//!   subscribed filter (every topic the subscription could match, the rule matches too:
//!   `a/#` covers `a/+/c` and `a`, `a/+` does not cover `a/#`), and no `deny` rule's filter
//!   shares any topic with it. So a subscription allowed is one whose every message would
//!   pass [`Acl::check_receive`]. A shared subscription `$share/GROUP/FILTER` is checked on
//!   its `FILTER`.
//!
//! `$` topics such as `$SYS/...` follow MQTT's matching rule: a filter starting with `+`
//! or `#` does not match them, so `topic read #` grants no `$SYS` topic and a rule has to
//! name them, as in `topic read $SYS/#`.
//!
//! # Substitution and injection
//!
//! Client identifiers and user names are chosen by clients, so a pattern must not let them
//! widen their own grant. A pattern does not apply to a client (it grants and denies
//! nothing to it) when a value it substitutes:
//!
//! - contains `+`, `#` or `/` (client `#` would otherwise turn `status/%c` into `status/#`,
//!   and client `a/b` would reach a level that is not its own);
//! - is empty;
//! - starts with `$` and would start the filter (client `$SYS` would otherwise turn
//!   `%c/#` into `$SYS/#`);
//! - is `%u` for a client without a user name.
//!
//! Skipping the rule, rather than escaping the value or refusing the connection, keeps the
//! decision fail-closed for grants. For `pattern deny` rules it means that a client with
//! such a name is not covered by the denial, which matters only if another rule grants the
//! same topics; keep denials in `topic` rules where that would be a concern.
//!
//! ```
//! use tern_broker::auth::acl::Acl;
//! use tern_mqtt::{TopicFilter, TopicName};
//!
//! let acl = Acl::parse(
//!     "topic read public/#\n\
//!      user alice\n\
//!      topic readwrite home/alice/#\n\
//!      topic deny home/alice/secrets/#\n\
//!      pattern write status/%c\n",
//! )?;
//! let topic = |t| TopicName::new(t).unwrap();
//! let filter = |f| TopicFilter::new(f).unwrap();
//!
//! assert!(acl.check_receive("c1", None, &topic("public/news")));
//! assert!(!acl.check_publish("c1", None, &topic("public/news")));
//! assert!(acl.check_publish("c1", None, &topic("status/c1")));
//! assert!(!acl.check_publish("c1", None, &topic("status/c2")));
//!
//! assert!(acl.check_publish("c2", Some("alice"), &topic("home/alice/lamp")));
//! assert!(!acl.check_receive("c2", Some("alice"), &topic("home/alice/secrets/pin")));
//! assert!(acl.check_subscribe("c2", Some("alice"), &filter("home/alice/lamp/+")));
//! // `home/alice/+` would match `home/alice/secrets` itself, which `secrets/#` denies.
//! assert!(!acl.check_subscribe("c2", Some("alice"), &filter("home/alice/+")));
//! // The subscription would reach the secrets: refused as a whole.
//! assert!(!acl.check_subscribe("c2", Some("alice"), &filter("home/alice/#")));
//! assert!(!acl.check_subscribe("c2", Some("alice"), &filter("public/#")));
//! # Ok::<(), tern_broker::auth::acl::AclError>(())
//! ```

mod filters;
#[cfg(test)]
mod tests;

use alloc::borrow::Cow;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use tern_mqtt::topic::{TopicError, matches};
use tern_mqtt::{TopicFilter, TopicName};

/// What a rule grants, or that it denies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// Receive messages and subscribe (`read`).
    Read,
    /// Publish (`write`).
    Write,
    /// Both (`readwrite`, and a rule without an access word).
    ReadWrite,
    /// Neither, whatever other rules grant (`deny`).
    Deny,
}

impl Access {
    /// The access word of the file, if `word` is one.
    ///
    /// ```
    /// use tern_broker::auth::acl::Access;
    /// assert_eq!(Access::from_word("readwrite"), Some(Access::ReadWrite));
    /// assert_eq!(Access::from_word("Read"), None);
    /// ```
    pub fn from_word(word: &str) -> Option<Access> {
        match word {
            "read" => Some(Access::Read),
            "write" => Some(Access::Write),
            "readwrite" => Some(Access::ReadWrite),
            "deny" => Some(Access::Deny),
            _ => None,
        }
    }

    fn grants_read(self) -> bool {
        matches!(self, Access::Read | Access::ReadWrite)
    }

    fn grants_write(self) -> bool {
        matches!(self, Access::Write | Access::ReadWrite)
    }
}

/// Why an ACL file does not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AclErrorKind {
    /// The line starts with a word other than `user`, `topic` and `pattern`.
    UnknownKeyword,
    /// A `user` line without a name.
    MissingUser,
    /// A `topic` or `pattern` line without a filter.
    MissingFilter,
    /// The filter is not a valid MQTT topic filter.
    InvalidFilter(TopicError),
    /// The filter is a shared subscription (`$share/...`); rules name the inner filter.
    SharedFilter,
}

impl fmt::Display for AclErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AclErrorKind::UnknownKeyword => {
                f.write_str("expected `user`, `topic` or `pattern` at the start of the line")
            }
            AclErrorKind::MissingUser => f.write_str("`user` needs a user name"),
            AclErrorKind::MissingFilter => f.write_str("the rule needs a topic filter"),
            AclErrorKind::InvalidFilter(e) => write!(f, "invalid topic filter: {e}"),
            AclErrorKind::SharedFilter => f.write_str(
                "rules name topics, not shared subscriptions: drop the `$share/GROUP/` prefix",
            ),
        }
    }
}

/// An ACL file that does not parse: the 1-based line and what is wrong with it.
///
/// ```
/// use tern_broker::auth::acl::{Acl, AclErrorKind};
/// let err = Acl::parse("# rules\ntopic read a/#\ntopic read a/b#\n").unwrap_err();
/// assert_eq!(err.line, 3);
/// assert!(matches!(err.kind, AclErrorKind::InvalidFilter(_)));
/// assert!(err.to_string().starts_with("line 3: invalid topic filter"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AclError {
    /// The line, counting from 1.
    pub line: usize,
    /// What is wrong with it.
    pub kind: AclErrorKind,
}

impl fmt::Display for AclError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.kind)
    }
}

impl core::error::Error for AclError {}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    access: Access,
    /// A valid, unshared topic filter; for a pattern, the template before substitution.
    filter: String,
}

/// The rules of an ACL file, ready for checks. See the [module documentation](self) for
/// the format and the meaning of each check.
///
/// The default `Acl` has no rules and denies everything.
///
/// ```
/// use tern_broker::auth::acl::Acl;
/// use tern_mqtt::TopicName;
/// let topic = TopicName::new("a")?;
/// assert!(!Acl::default().check_receive("c", None, &topic));
/// # Ok::<(), tern_mqtt::topic::TopicError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acl {
    anonymous: Vec<Rule>,
    users: BTreeMap<String, Vec<Rule>>,
    patterns: Vec<Rule>,
}

/// Which section `topic` lines go to while parsing.
enum Section {
    Anonymous,
    User(String),
}

impl Acl {
    /// Reads an ACL file. Lines may end in `\n` or `\r\n`.
    ///
    /// ```
    /// use tern_broker::auth::acl::{Acl, AclErrorKind};
    /// assert!(Acl::parse("user bob\ntopic bob/#\n").is_ok());
    /// let err = Acl::parse("user bob\ntopik bob/#\n").unwrap_err();
    /// assert_eq!((err.line, err.kind), (2, AclErrorKind::UnknownKeyword));
    /// ```
    pub fn parse(text: &str) -> Result<Acl, AclError> {
        let mut acl = Acl::default();
        let mut section = Section::Anonymous;
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let error = |kind| AclError { line, kind };
            let content = raw.trim();
            if content.is_empty() || content.starts_with('#') {
                continue;
            }
            let (keyword, rest) = content
                .split_once(char::is_whitespace)
                .map_or((content, ""), |(k, r)| (k, r.trim_start()));
            match keyword {
                "user" if rest.is_empty() => return Err(error(AclErrorKind::MissingUser)),
                "user" => section = Section::User(String::from(rest)),
                "topic" => {
                    let rule = parse_rule(rest).map_err(error)?;
                    match &section {
                        Section::Anonymous => acl.anonymous.push(rule),
                        Section::User(name) => {
                            acl.users.entry(name.clone()).or_default().push(rule);
                        }
                    }
                }
                "pattern" => acl.patterns.push(parse_rule(rest).map_err(error)?),
                _ => return Err(error(AclErrorKind::UnknownKeyword)),
            }
        }
        Ok(acl)
    }

    /// Whether the client may publish to `topic`.
    ///
    /// `client_id` is the identifier the session runs under (the one the broker assigned,
    /// for a client that sent none); `user` is the user name it authenticated with.
    ///
    /// ```
    /// use tern_broker::auth::acl::Acl;
    /// use tern_mqtt::TopicName;
    /// let acl = Acl::parse("user s1\ntopic write sensors/s1/#\n")?;
    /// assert!(acl.check_publish("c", Some("s1"), &TopicName::new("sensors/s1/t")?));
    /// assert!(!acl.check_publish("c", Some("s2"), &TopicName::new("sensors/s1/t")?));
    /// assert!(!acl.check_publish("c", None, &TopicName::new("sensors/s1/t")?));
    /// # Ok::<(), Box<dyn core::error::Error>>(())
    /// ```
    pub fn check_publish(&self, client_id: &str, user: Option<&str>, topic: &TopicName) -> bool {
        self.check_topic(client_id, user, topic.as_str(), Access::grants_write)
    }

    /// Whether a message on `topic` may be delivered to the client (read access), checked
    /// for each message at delivery.
    ///
    /// ```
    /// use tern_broker::auth::acl::Acl;
    /// use tern_mqtt::TopicName;
    /// let acl = Acl::parse("topic read #\ntopic read $SYS/broker/uptime\n")?;
    /// assert!(acl.check_receive("c", None, &TopicName::new("any/topic")?));
    /// assert!(acl.check_receive("c", None, &TopicName::new("$SYS/broker/uptime")?));
    /// assert!(!acl.check_receive("c", None, &TopicName::new("$SYS/broker/version")?));
    /// # Ok::<(), Box<dyn core::error::Error>>(())
    /// ```
    pub fn check_receive(&self, client_id: &str, user: Option<&str>, topic: &TopicName) -> bool {
        self.check_topic(client_id, user, topic.as_str(), Access::grants_read)
    }

    /// Whether the client may subscribe to `filter`: a read rule covers all of it and no
    /// deny rule touches it. A shared subscription is checked on its inner filter.
    ///
    /// ```
    /// use tern_broker::auth::acl::Acl;
    /// use tern_mqtt::TopicFilter;
    /// let acl = Acl::parse("topic read jobs/#\ntopic deny jobs/admin/#\n")?;
    /// assert!(acl.check_subscribe("c", None, &TopicFilter::new("jobs/build/+")?));
    /// assert!(acl.check_subscribe("c", None, &TopicFilter::new("$share/workers/jobs/build/#")?));
    /// assert!(!acl.check_subscribe("c", None, &TopicFilter::new("jobs/+/x")?));
    /// assert!(!acl.check_subscribe("c", None, &TopicFilter::new("#")?));
    /// # Ok::<(), Box<dyn core::error::Error>>(())
    /// ```
    pub fn check_subscribe(
        &self,
        client_id: &str,
        user: Option<&str>,
        filter: &TopicFilter,
    ) -> bool {
        let inner = filter.match_filter();
        let mut granted = false;
        for (access, rule) in self.rules_for(client_id, user) {
            if access == Access::Deny {
                if filters::intersects(&rule, inner) {
                    return false;
                }
            } else if access.grants_read() && filters::covers(&rule, inner) {
                granted = true;
            }
        }
        granted
    }

    fn check_topic(
        &self,
        client_id: &str,
        user: Option<&str>,
        topic: &str,
        grants: fn(Access) -> bool,
    ) -> bool {
        // An empty name (a 5.0 PUBLISH naming its topic by alias only) must be resolved by
        // the broker first; '#' would match it.
        if topic.is_empty() {
            return false;
        }
        let mut granted = false;
        for (access, rule) in self.rules_for(client_id, user) {
            if matches(&rule, topic) {
                if access == Access::Deny {
                    return false;
                }
                granted |= grants(access);
            }
        }
        granted
    }

    /// The rules that apply to one client, patterns with their values substituted.
    fn rules_for<'a>(
        &'a self,
        client_id: &'a str,
        user: Option<&'a str>,
    ) -> impl Iterator<Item = (Access, Cow<'a, str>)> + 'a {
        let section = match user {
            None => self.anonymous.as_slice(),
            Some(name) => self.users.get(name).map_or(&[][..], Vec::as_slice),
        };
        let topics = section
            .iter()
            .map(|rule| (rule.access, Cow::Borrowed(rule.filter.as_str())));
        let patterns = self.patterns.iter().filter_map(move |rule| {
            filters::substitute(&rule.filter, client_id, user)
                .map(|filter| (rule.access, Cow::Owned(filter)))
        });
        topics.chain(patterns)
    }
}

/// `[ACCESS] FILTER` of a `topic` or `pattern` line.
fn parse_rule(rest: &str) -> Result<Rule, AclErrorKind> {
    let (first, after) = rest
        .split_once(char::is_whitespace)
        .map_or((rest, ""), |(f, a)| (f, a.trim_start()));
    let (access, filter) = match Access::from_word(first) {
        Some(access) => (access, after),
        None => (Access::ReadWrite, rest),
    };
    if filter.is_empty() {
        return Err(AclErrorKind::MissingFilter);
    }
    let parsed = TopicFilter::new(filter).map_err(AclErrorKind::InvalidFilter)?;
    if parsed.shared().is_some() {
        return Err(AclErrorKind::SharedFilter);
    }
    Ok(Rule {
        access,
        filter: String::from(filter),
    })
}
