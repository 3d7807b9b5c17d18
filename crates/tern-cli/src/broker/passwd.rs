//! `tern broker passwd [-c] [-b] [-D] FILE USER [PASSWORD]`: adds, changes or deletes a user
//! in a password file, as mosquitto_passwd does, with Argon2id hashes
//! (`tern_broker::auth::passwords`).
//!
//! The file is rewritten whole, through a temporary file beside it that is renamed over it,
//! so a crash or a full disk never leaves a half-written file for the broker to read; the
//! new file is readable by its owner only (mode 0600 on Unix). Comments and blank lines are
//! kept.

use std::fs::{self, OpenOptions};
use std::io::{self, BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use tern_broker::auth::passwords::{self, PasswordFile, SALT_LEN};

use crate::failure::Failure;

pub(crate) const LONG_ABOUT: &str = "\
Add, change or delete a user in a broker password file, as mosquitto_passwd does.

Each line of the file is USER:HASH, where HASH is an Argon2id PHC string made with a fresh
random salt; lines starting with # are comments. Without -b the password is asked for twice
on the terminal, without echo; when standard input is not a terminal, its first line is the
password. The file is replaced atomically and is readable by its owner only.";

pub(crate) const EXAMPLES: &str = "\
Examples:
  tern broker passwd -c passwords alice        create the file with user alice (asks twice)
  tern broker passwd passwords bob             add bob, or change his password
  tern broker passwd -b passwords bob s3cret   the same without asking (visible in ps)
  tern broker passwd -D passwords bob          delete bob";

/// The arguments of `tern broker passwd`.
#[derive(Debug, Args)]
pub(crate) struct PasswdArgs {
    /// Create FILE, replacing any file already there (without -c, FILE must exist).
    #[arg(short = 'c')]
    create: bool,
    /// Take the password from the command line instead of asking for it. Other users of the
    /// machine may see it (ps, shell history).
    #[arg(short = 'b', requires = "password")]
    batch: bool,
    /// Delete USER from FILE.
    #[arg(short = 'D', conflicts_with_all = ["create", "batch"])]
    delete: bool,
    /// The password file.
    file: PathBuf,
    /// The user to add, change or delete.
    user: String,
    /// The password (with -b only).
    #[arg(requires = "batch")]
    password: Option<String>,
}

/// Runs `tern broker passwd`.
pub(crate) fn run(args: &PasswdArgs) -> Result<(), Failure> {
    let path = args.file.display();
    // Before asking for a password, so nobody types one for a name that cannot be stored.
    passwords::check_user_name(&args.user)
        .map_err(|e| Failure::usage(format_args!("user name {:?}: {e}", args.user)))?;
    let mut file = if args.create {
        PasswordFile::new()
    } else {
        load(&args.file)?
    };
    if args.delete {
        if !file.remove(&args.user) {
            return Err(Failure::input(format_args!(
                "{path}: there is no user {:?}",
                args.user
            )));
        }
    } else {
        let password = match &args.password {
            Some(password) => password.clone(),
            None => ask()?,
        };
        if password.is_empty() {
            return Err(Failure::usage("the password is empty"));
        }
        let mut salt = [0u8; SALT_LEN];
        getrandom::fill(&mut salt).map_err(|e| {
            Failure::input(format_args!(
                "the operating system gave no random salt: {e}"
            ))
        })?;
        let hash = passwords::hash(password.as_bytes(), &salt).map_err(Failure::input)?;
        file.set(&args.user, &hash).map_err(Failure::usage)?;
    }
    write_atomically(&args.file, file.to_file_string().as_bytes())
        .map_err(|e| Failure::io(&format!("writing {path}"), &e))
}

/// Reads and parses an existing password file.
fn load(path: &Path) -> Result<PasswordFile, Failure> {
    let shown = path.display();
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(Failure::input(format_args!("{shown}: no such file"))
                .with_hint("give -c to create it"));
        }
        Err(e) => return Err(Failure::io(&format!("reading {shown}"), &e)),
    };
    PasswordFile::parse(&text).map_err(|e| Failure::input(format_args!("{shown}: {e}")))
}

/// The password: asked twice without echo at a terminal, else the first line of standard
/// input (for scripts that should not put it on the command line).
fn ask() -> Result<String, Failure> {
    let stdin = io::stdin();
    if !stdin.is_terminal() {
        let mut line = String::new();
        let read = stdin
            .lock()
            .read_line(&mut line)
            .map_err(|e| Failure::io("reading the password from standard input", &e))?;
        if read == 0 {
            return Err(Failure::input("no password on standard input")
                .with_hint("give -b and the password, or run the command at a terminal"));
        }
        let line = line.strip_suffix('\n').unwrap_or(&line);
        return Ok(line.strip_suffix('\r').unwrap_or(line).to_owned());
    }
    let read = |prompt: &str| {
        rpassword::prompt_password(prompt).map_err(|e| Failure::io("reading the password", &e))
    };
    let first = read("Password: ")?;
    let again = read("Reenter password: ")?;
    if first != again {
        return Err(Failure::input("the passwords do not match"));
    }
    Ok(first)
}

/// Replaces `path` with `contents` all at once: a temporary file beside it (same file
/// system, so the rename is atomic), flushed to disk, then renamed over it. The file is
/// created for its owner only on Unix, before anything is written to it.
fn write_atomically(path: &Path, contents: &[u8]) -> io::Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);

    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options.open(&tmp).and_then(|mut file| {
        file.write_all(contents)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)
    });
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_path(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("tern-passwd-{name}-{}", std::process::id()))
    }

    #[test]
    fn atomic_write_replaces_the_file_and_leaves_no_temporary() {
        let path = temp_path("atomic");
        fs::write(&path, "old").unwrap();
        write_atomically(&path, b"new\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new\n");
        let dir = path.parent().unwrap();
        let leftover = fs::read_dir(dir).unwrap().any(|e| {
            let name = e.unwrap().file_name();
            let name = name.to_string_lossy();
            name.starts_with(".tern-passwd-atomic") && name.ends_with(".tmp")
        });
        assert!(!leftover);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        fs::remove_file(&path).unwrap();
    }

    #[test]
    fn atomic_write_into_a_missing_directory_fails_cleanly() {
        let path = temp_path("missing-dir").join("passwords");
        assert!(write_atomically(&path, b"x").is_err());
        assert!(!path.exists());
    }
}
