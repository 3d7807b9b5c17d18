//! The password file: one `user:hash` line per user, where the hash is an Argon2id PHC string.
//!
//! ```text
//! # Sensors of the north building
//! sensor-17:$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$…
//! alice:$argon2id$v=19$m=19456,t=2,p=1$b3RoZXJzYWx0MTIz$…
//! ```
//!
//! A line is blank, a comment (its first non-blank character is `#`), or an entry: the user
//! name up to the first `:`, then the hash. The file is what `tern broker passwd` writes and
//! the broker reads; comments and blank lines survive a round trip through
//! [`PasswordFile::parse`] and [`PasswordFile::to_file_string`].
//!
//! **Verification is slow on purpose.** Argon2id with its recommended parameters (19 MiB of
//! memory, two passes) takes tens of milliseconds of CPU per check, which is what makes a
//! stolen file expensive to attack. An adapter must therefore never call
//! [`PasswordFile::verify`] on its event loop: run it on a blocking thread pool (for example
//! tokio's `spawn_blocking`) and feed the answer back to the broker core.
//!
//! The core has no random number generator, so [`hash`] takes the salt from its caller, who
//! should draw [`SALT_LEN`] bytes from the operating system's RNG for every new hash.
//!
//! ```
//! use tern_broker::auth::passwords::{PasswordFile, hash};
//!
//! // In real use the salt comes from the OS RNG, fresh for every hash.
//! let salt = [7u8; 16];
//! let mut file = PasswordFile::parse("# users\n")?;
//! # let hash = |p: &[u8], s: &[u8]| tern_broker::auth::passwords::hash_with_cost(p, s, 64, 1);
//! file.set("alice", &hash(b"correct horse", &salt)?)?;
//!
//! assert!(file.verify("alice", b"correct horse"));
//! assert!(!file.verify("alice", b"wrong"));
//! assert!(!file.verify("mallory", b"correct horse"));
//! assert!(file.to_file_string().starts_with("# users\nalice:$argon2id$"));
//! # Ok::<(), Box<dyn core::error::Error>>(())
//! ```

use alloc::borrow::ToOwned;
use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};

/// The salt length to use for new hashes, in bytes (the length the Argon2 authors recommend).
pub const SALT_LEN: usize = 16;
/// The shortest salt [`hash`] accepts, in bytes.
pub const MIN_SALT_LEN: usize = 8;
/// The longest salt [`hash`] accepts, in bytes (what fits a PHC string's salt field).
pub const MAX_SALT_LEN: usize = 48;

/// The most memory a stored hash may ask for, in KiB (1 GiB). A hash asking for more never
/// verifies, so a mistyped parameter in the file cannot make the broker allocate until it
/// aborts.
const MAX_MEMORY_KIB: u32 = 1 << 20;

/// Salt of the hash computed for an unknown user (its output is thrown away).
const DUMMY_SALT: &[u8] = b"tern-broker/no-such-user";

/// Hashes `password` with Argon2id and the crate's recommended parameters (19 MiB, two
/// passes, one lane), giving the PHC string to store with [`PasswordFile::set`].
///
/// `salt` must be [`MIN_SALT_LEN`] to [`MAX_SALT_LEN`] bytes; use [`SALT_LEN`] fresh random
/// bytes from the operating system for every hash. Like verification, hashing is slow on
/// purpose.
///
/// ```no_run
/// use tern_broker::auth::passwords::hash;
/// let phc = hash(b"correct horse", b"0123456789abcdef")?;
/// assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
/// assert!(hash(b"x", b"short").is_err());
/// # Ok::<(), tern_broker::auth::passwords::HashError>(())
/// ```
pub fn hash(password: &[u8], salt: &[u8]) -> Result<String, HashError> {
    hash_with(password, salt, Params::default())
}

/// [`hash`] with cheap parameters (`memory_kib` KiB, `passes` passes), for tests and examples
/// only: such a hash protects nothing.
#[doc(hidden)]
pub fn hash_with_cost(
    password: &[u8],
    salt: &[u8],
    memory_kib: u32,
    passes: u32,
) -> Result<String, HashError> {
    let params = Params::new(memory_kib, passes, 1, None).map_err(|_| HashError::Failed)?;
    hash_with(password, salt, params)
}

fn hash_with(password: &[u8], salt: &[u8], params: Params) -> Result<String, HashError> {
    if !(MIN_SALT_LEN..=MAX_SALT_LEN).contains(&salt.len()) {
        return Err(HashError::SaltLength(salt.len()));
    }
    if u32::try_from(password.len()).is_err() {
        return Err(HashError::PasswordTooLong);
    }
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_with_salt(password, salt)
        .map(|phc| phc.to_string())
        .map_err(|_| HashError::Failed)
}

/// Why [`hash`] could not hash a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HashError {
    /// The salt has this many bytes, outside [`MIN_SALT_LEN`]..=[`MAX_SALT_LEN`].
    SaltLength(usize),
    /// The password is longer than Argon2 accepts (4 GiB).
    PasswordTooLong,
    /// The Argon2 implementation refused the input for another reason.
    Failed,
}

impl fmt::Display for HashError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HashError::SaltLength(n) => write!(
                f,
                "the salt has {n} bytes; it needs {MIN_SALT_LEN} to {MAX_SALT_LEN}"
            ),
            HashError::PasswordTooLong => f.write_str("the password is too long to hash"),
            HashError::Failed => f.write_str("Argon2 could not hash the password"),
        }
    }
}

impl core::error::Error for HashError {}

/// Why a line of a password file, or a user and hash given to [`PasswordFile::set`], is not
/// a valid entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryError {
    /// The line is not blank, not a comment and has no `:` between user and hash.
    MissingColon,
    /// The user name is empty.
    EmptyUser,
    /// The user name starts or ends with white space (which a reader of the file cannot see).
    UserWhitespace,
    /// The user name contains a control character.
    UserControl,
    /// The user name contains `:`, which ends the name in the file (only from `set`).
    UserColon,
    /// The user name starts with `#`, which would make its line a comment (only from `set`).
    UserHash,
    /// There is nothing after the `:`.
    EmptyHash,
    /// The hash is not an Argon2id PHC string (only from `set`: a file may hold hashes of
    /// other kinds, which then never verify).
    InvalidHash,
    /// The user already has an entry, on this earlier line (1-based).
    DuplicateUser {
        /// The line of the first entry.
        first_line: usize,
    },
}

impl fmt::Display for EntryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EntryError::MissingColon => f.write_str("expected `user:hash`, found no `:`"),
            EntryError::EmptyUser => f.write_str("the user name is empty"),
            EntryError::UserWhitespace => {
                f.write_str("the user name starts or ends with white space")
            }
            EntryError::UserControl => f.write_str("the user name contains a control character"),
            EntryError::UserColon => f.write_str("the user name contains `:`"),
            EntryError::UserHash => f.write_str("the user name starts with `#`"),
            EntryError::EmptyHash => f.write_str("the password hash is empty"),
            EntryError::InvalidHash => f.write_str("the hash is not an Argon2id PHC string"),
            EntryError::DuplicateUser { first_line } => {
                write!(f, "the user already has an entry on line {first_line}")
            }
        }
    }
}

impl core::error::Error for EntryError {}

/// A password file that does not parse: the 1-based line and what is wrong with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseError {
    /// The line, counting from 1.
    pub line: usize,
    /// What is wrong with it.
    pub kind: EntryError,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.kind)
    }
}

impl core::error::Error for ParseError {}

#[derive(Clone, PartialEq, Eq)]
enum Line {
    /// A blank line or a comment, kept as written.
    Other(String),
    Entry {
        user: String,
        hash: String,
    },
}

/// The users of a password file and their hashes, with the file's comments and blank lines.
///
/// See the [module documentation](self) for the format. [`verify`](Self::verify) is slow
/// on purpose: run it off the event loop.
///
/// ```
/// use tern_broker::auth::passwords::{EntryError, PasswordFile};
///
/// // A hash of "correct horse" (with cheap parameters, for the example only).
/// let phc = "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$lnizTRNgy0D3lJD4Xlm+A2aXibz3GSvOOHAXUwm1P0Y";
/// let file = PasswordFile::parse(&format!("# comment\n\nalice:{phc}\n"))?;
/// assert_eq!(file.users().collect::<Vec<_>>(), ["alice"]);
/// assert!(file.verify("alice", b"correct horse"));
///
/// let err = PasswordFile::parse("alice:x\nalice:y\n").unwrap_err();
/// assert_eq!((err.line, err.kind), (2, EntryError::DuplicateUser { first_line: 1 }));
/// # Ok::<(), tern_broker::auth::passwords::ParseError>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct PasswordFile {
    lines: Vec<Line>,
}

impl PasswordFile {
    /// An empty file: no users, so nobody verifies.
    ///
    /// ```
    /// let file = tern_broker::auth::passwords::PasswordFile::new();
    /// assert!(file.is_empty());
    /// assert_eq!(file.to_file_string(), "");
    /// ```
    pub fn new() -> Self {
        PasswordFile::default()
    }

    /// Reads a password file. Lines may end in `\n` or `\r\n`. An entry's hash is taken with
    /// the white space around it removed; a hash that is not an Argon2id PHC string is kept
    /// but never verifies (see [`unverifiable_users`](Self::unverifiable_users)).
    ///
    /// ```
    /// use tern_broker::auth::passwords::{EntryError, PasswordFile};
    /// let err = PasswordFile::parse("# users\nbob\n").unwrap_err();
    /// assert_eq!(err.line, 2);
    /// assert_eq!(err.kind, EntryError::MissingColon);
    /// assert_eq!(err.to_string(), "line 2: expected `user:hash`, found no `:`");
    /// ```
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let mut file = PasswordFile::new();
        // Where each user was first seen, so that a large file parses in O(n log n).
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            // `lines` takes "\r\n" off; a stray '\r' left at the end would not survive a
            // write (a line "\r\r" would come back as "\r"), so every one goes.
            let raw = raw.trim_end_matches('\r');
            let trimmed = raw.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                file.lines.push(Line::Other(raw.to_owned()));
                continue;
            }
            let error = |kind| ParseError { line, kind };
            let (user, hash) = raw.split_once(':').ok_or(error(EntryError::MissingColon))?;
            check_user(user).map_err(error)?;
            let hash = hash.trim();
            if hash.is_empty() {
                return Err(error(EntryError::EmptyHash));
            }
            if let Some(&first_line) = seen.get(user) {
                return Err(error(EntryError::DuplicateUser { first_line }));
            }
            seen.insert(user, line);
            file.lines.push(Line::Entry {
                user: user.to_owned(),
                hash: hash.to_owned(),
            });
        }
        Ok(file)
    }

    /// Whether `password` is `user`'s password.
    ///
    /// Slow on purpose (one Argon2id computation with the parameters stored in the hash):
    /// never call it on an event loop. An unknown user, or one whose hash does not parse as
    /// an Argon2id PHC string, never verifies but costs one hash computation all the same
    /// (with the parameters of the file's first usable hash, or the recommended ones), so
    /// the time taken does not tell which users exist. The stored and computed hashes are
    /// compared in constant time.
    ///
    /// ```
    /// use tern_broker::auth::passwords::PasswordFile;
    /// let file = PasswordFile::parse("old:$6$legacy-crypt-hash\n")?;
    /// assert!(!file.verify("old", b"anything"));
    /// assert!(!file.verify("nobody", b""));
    /// # Ok::<(), tern_broker::auth::passwords::ParseError>(())
    /// ```
    pub fn verify(&self, user: &str, password: &[u8]) -> bool {
        match self.hash_of(user).and_then(usable_hash) {
            Some(stored) => Argon2::default().verify_password(password, &stored).is_ok(),
            None => {
                self.spend_one_hash(password);
                false
            }
        }
    }

    /// Adds `user` with `hash` (from [`hash`]), or replaces the hash of an existing user in
    /// place. Returns whether the user existed.
    ///
    /// The user name must be one the file can hold (see [`check_user_name`]).
    ///
    /// ```
    /// use tern_broker::auth::passwords::{EntryError, PasswordFile};
    /// // A hash of "correct horse" (with cheap parameters, for the example only).
    /// let phc = "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$lnizTRNgy0D3lJD4Xlm+A2aXibz3GSvOOHAXUwm1P0Y";
    /// let mut file = PasswordFile::new();
    /// assert_eq!(file.set("alice", phc), Ok(false));
    /// assert_eq!(file.set("alice", phc), Ok(true));
    /// assert!(file.verify("alice", b"correct horse"));
    /// assert_eq!(file.set("a:b", phc), Err(EntryError::UserColon));
    /// assert_eq!(file.set("bob", "plain text"), Err(EntryError::InvalidHash));
    /// ```
    pub fn set(&mut self, user: &str, hash: &str) -> Result<bool, EntryError> {
        check_user_name(user)?;
        if hash.is_empty() {
            return Err(EntryError::EmptyHash);
        }
        if hash.trim() != hash || hash.contains(':') || usable_hash(hash).is_none() {
            return Err(EntryError::InvalidHash);
        }
        for line in &mut self.lines {
            if let Line::Entry { user: u, hash: h } = line {
                if u == user {
                    hash.clone_into(h);
                    return Ok(true);
                }
            }
        }
        self.lines.push(Line::Entry {
            user: user.to_owned(),
            hash: hash.to_owned(),
        });
        Ok(false)
    }

    /// Removes `user`'s entry. Returns whether there was one.
    ///
    /// ```
    /// use tern_broker::auth::passwords::PasswordFile;
    /// let mut file = PasswordFile::parse("alice:x\nbob:y\n")?;
    /// assert!(file.remove("alice"));
    /// assert!(!file.remove("alice"));
    /// assert_eq!(file.to_file_string(), "bob:y\n");
    /// # Ok::<(), tern_broker::auth::passwords::ParseError>(())
    /// ```
    pub fn remove(&mut self, user: &str) -> bool {
        let before = self.lines.len();
        self.lines
            .retain(|line| !matches!(line, Line::Entry { user: u, .. } if u == user));
        self.lines.len() != before
    }

    /// Whether `user` has an entry (whether or not its hash is usable).
    ///
    /// ```
    /// let file = tern_broker::auth::passwords::PasswordFile::parse("alice:x\n")?;
    /// assert!(file.contains("alice") && !file.contains("bob"));
    /// # Ok::<(), tern_broker::auth::passwords::ParseError>(())
    /// ```
    pub fn contains(&self, user: &str) -> bool {
        self.hash_of(user).is_some()
    }

    /// The users, in file order.
    ///
    /// ```
    /// let file = tern_broker::auth::passwords::PasswordFile::parse("b:x\n# c\na:y\n")?;
    /// assert_eq!(file.users().collect::<Vec<_>>(), ["b", "a"]);
    /// # Ok::<(), tern_broker::auth::passwords::ParseError>(())
    /// ```
    pub fn users(&self) -> impl Iterator<Item = &str> {
        self.entries().map(|(user, _)| user)
    }

    /// The users whose hash is not a usable Argon2id PHC string, in file order: they can
    /// never log in. An adapter may warn about them when it loads the file.
    ///
    /// ```
    /// let file = tern_broker::auth::passwords::PasswordFile::parse("old:$6$crypt\n")?;
    /// assert_eq!(file.unverifiable_users().collect::<Vec<_>>(), ["old"]);
    /// # Ok::<(), tern_broker::auth::passwords::ParseError>(())
    /// ```
    pub fn unverifiable_users(&self) -> impl Iterator<Item = &str> {
        self.entries()
            .filter(|(_, hash)| usable_hash(hash).is_none())
            .map(|(user, _)| user)
    }

    /// The number of users.
    ///
    /// ```
    /// let file = tern_broker::auth::passwords::PasswordFile::parse("# none yet\n")?;
    /// assert_eq!(file.len(), 0);
    /// # Ok::<(), tern_broker::auth::passwords::ParseError>(())
    /// ```
    pub fn len(&self) -> usize {
        self.entries().count()
    }

    /// Whether there are no users.
    ///
    /// ```
    /// assert!(tern_broker::auth::passwords::PasswordFile::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.entries().next().is_none()
    }

    /// The file's text: every line as read (comments and blank lines too, entries as
    /// `user:hash`), each ended by `\n`.
    ///
    /// ```
    /// use tern_broker::auth::passwords::PasswordFile;
    /// let text = "# users\r\n\r\nalice:  x  \n";
    /// assert_eq!(PasswordFile::parse(text)?.to_file_string(), "# users\n\nalice:x\n");
    /// # Ok::<(), tern_broker::auth::passwords::ParseError>(())
    /// ```
    pub fn to_file_string(&self) -> String {
        let mut out = String::new();
        for line in &self.lines {
            match line {
                Line::Other(text) => out.push_str(text),
                Line::Entry { user, hash } => {
                    out.push_str(user);
                    out.push(':');
                    out.push_str(hash);
                }
            }
            out.push('\n');
        }
        out
    }

    fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.lines.iter().filter_map(|line| match line {
            Line::Entry { user, hash } => Some((user.as_str(), hash.as_str())),
            Line::Other(_) => None,
        })
    }

    fn hash_of(&self, user: &str) -> Option<&str> {
        self.entries().find(|(u, _)| *u == user).map(|(_, h)| h)
    }

    /// One Argon2id computation whose result is thrown away, costing what a real
    /// verification would.
    fn spend_one_hash(&self, password: &[u8]) {
        let params = self
            .entries()
            .find_map(|(_, hash)| usable_hash(hash))
            .and_then(|phc| Params::try_from(&phc).ok())
            .unwrap_or_default();
        let mut out = vec![0u8; params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN)];
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let _ = argon2.hash_password_into(password, DUMMY_SALT, &mut out);
        core::hint::black_box(&out);
    }
}

impl fmt::Debug for PasswordFile {
    /// Lists the users, not their hashes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordFile")
            .field("users", &self.users().collect::<Vec<_>>())
            .finish()
    }
}

/// Whether `user` can have an entry: not empty, without `:` or control characters, not
/// starting with `#` and without white space at either end. [`PasswordFile::set`] checks
/// the same; a tool can check first, before it asks for a password.
///
/// ```
/// use tern_broker::auth::passwords::{EntryError, check_user_name};
/// assert_eq!(check_user_name("Zoë Smith"), Ok(()));
/// assert_eq!(check_user_name("#admin"), Err(EntryError::UserHash));
/// assert_eq!(check_user_name("bob "), Err(EntryError::UserWhitespace));
/// ```
pub fn check_user_name(user: &str) -> Result<(), EntryError> {
    check_user(user)?;
    if user.contains(':') {
        Err(EntryError::UserColon)
    } else if user.starts_with('#') {
        Err(EntryError::UserHash)
    } else {
        Ok(())
    }
}

/// What the file format needs of a user name read from a file (where the first `:` ends
/// the name and a leading `#` makes a comment).
fn check_user(user: &str) -> Result<(), EntryError> {
    if user.is_empty() {
        Err(EntryError::EmptyUser)
    } else if user.trim() != user {
        Err(EntryError::UserWhitespace)
    } else if user.chars().any(char::is_control) {
        Err(EntryError::UserControl)
    } else {
        Ok(())
    }
}

/// The stored hash, when it is an Argon2id PHC string with a salt, an output and parameters
/// this crate is willing to compute.
fn usable_hash(hash: &str) -> Option<PasswordHash> {
    let phc = PasswordHash::new(hash).ok()?;
    if phc.algorithm.as_str() != "argon2id" || phc.salt.is_none() || phc.hash.is_none() {
        return None;
    }
    let params = Params::try_from(&phc).ok()?;
    (params.m_cost() <= MAX_MEMORY_KIB).then_some(phc)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cheap parameters: tests only.
    fn cheap(password: &[u8], salt: &[u8]) -> String {
        hash_with_cost(password, salt, 64, 1).unwrap()
    }

    #[test]
    fn hash_then_verify() {
        let mut file = PasswordFile::new();
        file.set("alice", &cheap(b"secret", b"saltsalt")).unwrap();
        file.set("bob", &cheap(b"", b"othersalt")).unwrap();
        assert!(file.verify("alice", b"secret"));
        assert!(!file.verify("alice", b"Secret"));
        assert!(!file.verify("alice", b""));
        assert!(file.verify("bob", b""));
        assert!(!file.verify("bob", b"secret"));
        assert!(!file.verify("carol", b"secret"));
        assert!(!file.verify("", b"secret"));
    }

    #[test]
    fn same_password_different_salts_give_different_hashes() {
        let a = cheap(b"pw", b"salt-one");
        let b = cheap(b"pw", b"salt-two");
        assert_ne!(a, b);
        assert_eq!(a, cheap(b"pw", b"salt-one"));
    }

    #[test]
    fn recommended_parameters_are_argon2s() {
        // The parameters are part of the string; only the prefix is checked here, the
        // computation itself is the slow one the doc example does not run.
        let params = Params::default();
        assert_eq!(
            (params.m_cost(), params.t_cost(), params.p_cost()),
            (19 * 1024, 2, 1)
        );
    }

    #[test]
    fn salt_length_is_checked() {
        assert_eq!(hash(b"pw", b"1234567"), Err(HashError::SaltLength(7)));
        assert_eq!(hash(b"pw", &[0; 49]), Err(HashError::SaltLength(49)));
        assert!(hash_with_cost(b"pw", &[0; 8], 64, 1).is_ok());
        assert!(hash_with_cost(b"pw", &[0; 48], 64, 1).is_ok());
    }

    #[test]
    fn parse_keeps_comments_and_blank_lines() {
        let text = "# header\n\n  # indented comment\nalice:$argon2id$x\r\n   \nbob : with space\n";
        let err = PasswordFile::parse(text).unwrap_err();
        assert_eq!((err.line, err.kind), (6, EntryError::UserWhitespace));

        let text = "# header\n\n  # indented comment\nalice:$argon2id$x\r\n   \nbob:h\n";
        let file = PasswordFile::parse(text).unwrap();
        assert_eq!(file.users().collect::<Vec<_>>(), ["alice", "bob"]);
        assert_eq!(
            file.to_file_string(),
            "# header\n\n  # indented comment\nalice:$argon2id$x\n   \nbob:h\n"
        );
        assert_eq!(PasswordFile::parse(&file.to_file_string()).unwrap(), file);
    }

    #[test]
    fn parse_errors_name_the_line() {
        let cases: &[(&str, usize, EntryError)] = &[
            ("nocolon", 1, EntryError::MissingColon),
            ("# c\n:hash", 2, EntryError::EmptyUser),
            ("alice:", 1, EntryError::EmptyHash),
            ("alice:   ", 1, EntryError::EmptyHash),
            (" alice:x", 1, EntryError::UserWhitespace),
            ("alice :x", 1, EntryError::UserWhitespace),
            ("al\u{7}ice:x", 1, EntryError::UserControl),
            (
                "a:x\nb:y\n\na:z",
                4,
                EntryError::DuplicateUser { first_line: 1 },
            ),
            (
                "# c\n\nb:y\nb:y",
                4,
                EntryError::DuplicateUser { first_line: 3 },
            ),
        ];
        for (text, line, kind) in cases {
            let err = PasswordFile::parse(text).unwrap_err();
            assert_eq!((err.line, err.kind), (*line, *kind), "{text:?}");
        }
    }

    proptest::proptest! {
        /// Whatever the text: no panic, and a file that parses reads back the same from the
        /// text it writes.
        #[test]
        fn parse_never_panics_and_round_trips(text in "[ab#: \t\r\n$]{0,60}") {
            if let Ok(file) = PasswordFile::parse(&text) {
                let again = PasswordFile::parse(&file.to_file_string()).unwrap();
                proptest::prop_assert_eq!(again, file);
            }
        }
    }

    #[test]
    fn blank_lines_ending_in_carriage_returns_round_trip() {
        let file = PasswordFile::parse("a:a\n\r\r").unwrap();
        assert_eq!(PasswordFile::parse(&file.to_file_string()).unwrap(), file);
    }

    #[test]
    fn user_names_may_hold_inner_spaces_and_unicode() {
        let file = PasswordFile::parse("Zoë Smith:h\n").unwrap();
        assert!(file.contains("Zoë Smith"));
    }

    #[test]
    fn the_first_colon_ends_the_user() {
        let file = PasswordFile::parse("alice:a:b\n").unwrap();
        assert!(file.contains("alice"));
        assert_eq!(file.unverifiable_users().collect::<Vec<_>>(), ["alice"]);
    }

    #[test]
    fn unusable_hashes_never_verify() {
        let good = cheap(b"pw", b"saltsalt");
        let argon2i = good.replacen("argon2id", "argon2i", 1);
        let huge = good.replacen("m=64", "m=4194304", 1);
        let no_output = good.rsplit_once('$').unwrap().0.to_owned();
        let text = alloc::format!(
            "good:{good}\nlegacy:$7$101$abc\ni:{argon2i}\nhuge:{huge}\nnoout:{no_output}\njunk:???\n"
        );
        let file = PasswordFile::parse(&text).unwrap();
        assert!(file.verify("good", b"pw"));
        for user in ["legacy", "i", "huge", "noout", "junk"] {
            assert!(!file.verify(user, b"pw"), "{user}");
        }
        assert_eq!(
            file.unverifiable_users().collect::<Vec<_>>(),
            ["legacy", "i", "huge", "noout", "junk"]
        );
    }

    #[test]
    fn set_validates_user_and_hash() {
        let phc = cheap(b"pw", b"saltsalt");
        let mut file = PasswordFile::new();
        let bad_users: &[(&str, EntryError)] = &[
            ("", EntryError::EmptyUser),
            (" a", EntryError::UserWhitespace),
            ("a\n", EntryError::UserWhitespace),
            ("a\nb", EntryError::UserControl),
            ("a:b", EntryError::UserColon),
            ("#a", EntryError::UserHash),
        ];
        for (user, err) in bad_users {
            assert_eq!(file.set(user, &phc), Err(*err), "{user:?}");
        }
        assert_eq!(file.set("a", ""), Err(EntryError::EmptyHash));
        assert_eq!(file.set("a", "$6$x"), Err(EntryError::InvalidHash));
        assert_eq!(
            file.set("a", &alloc::format!(" {phc}")),
            Err(EntryError::InvalidHash)
        );
        assert!(file.is_empty());
    }

    #[test]
    fn set_replaces_in_place_and_remove_keeps_comments() {
        let one = cheap(b"one", b"saltsalt");
        let two = cheap(b"two", b"saltsalt");
        let mut file = PasswordFile::parse("# top\na:x\n# middle\nb:y\n").unwrap();
        assert_eq!(file.set("a", &one), Ok(true));
        assert_eq!(file.set("c", &two), Ok(false));
        assert_eq!(file.len(), 3);
        assert_eq!(
            file.to_file_string(),
            alloc::format!("# top\na:{one}\n# middle\nb:y\nc:{two}\n")
        );
        assert!(file.verify("a", b"one") && file.verify("c", b"two"));
        assert!(file.remove("b"));
        assert!(!file.remove("b"));
        assert_eq!(
            file.to_file_string(),
            alloc::format!("# top\na:{one}\n# middle\nc:{two}\n")
        );
    }

    #[test]
    fn debug_does_not_show_hashes() {
        let file = PasswordFile::parse("alice:$argon2id$secret-ish\n").unwrap();
        let shown = alloc::format!("{file:?}");
        assert!(shown.contains("alice") && !shown.contains("argon2id"));
    }

    #[test]
    fn unknown_users_cost_a_hash_with_the_files_parameters() {
        // Not a timing test (too noisy for CI): it checks that the parameters used for an
        // unknown user are those of the file's first usable hash.
        let file =
            PasswordFile::parse(&alloc::format!("junk:x\na:{}\n", cheap(b"pw", b"saltsalt")))
                .unwrap();
        let params = file
            .entries()
            .find_map(|(_, h)| usable_hash(h))
            .and_then(|phc| Params::try_from(&phc).ok())
            .unwrap();
        assert_eq!((params.m_cost(), params.t_cost()), (64, 1));
        assert!(!file.verify("nobody", b"pw"));
    }
}
