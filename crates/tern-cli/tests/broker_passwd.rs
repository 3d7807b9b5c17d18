//! End-to-end tests of `tern broker passwd`: the files it writes are read back with
//! tern-broker's `PasswordFile`, as the broker will read them.
//!
//! The hashes use the real (slow) parameters, as the command offers no other; each test
//! keeps to a few of them.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{run, stderr};
use tern_broker::auth::passwords::PasswordFile;

/// A fresh directory for one test, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("tern-broker-passwd-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn passwd(args: &[&str], file: &Path, stdin: &[u8]) -> Output {
    let file = file.to_str().unwrap();
    let mut all = vec!["broker", "passwd"];
    // Options first, then FILE, then USER [PASSWORD] (the args after the options).
    let options = args.iter().take_while(|a| a.starts_with('-')).count();
    all.extend_from_slice(&args[..options]);
    all.push(file);
    all.extend_from_slice(&args[options..]);
    run(&all, stdin)
}

fn read(file: &Path) -> PasswordFile {
    PasswordFile::parse(&fs::read_to_string(file).unwrap()).unwrap()
}

/// Asserts a failure with `status` and one `tern: error:` line containing `message`.
fn assert_fails(out: &Output, status: i32, message: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(status), "{err}");
    let first = err.lines().next().unwrap_or_default();
    assert!(first.starts_with("tern: error: "), "{err}");
    assert!(first.contains(message), "{message:?} not in {err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn create_add_change_and_delete() {
    let dir = TempDir::new("lifecycle");
    let path = dir.file("passwords");

    let out = passwd(&["-c", "-b", "alice", "wonderland"], &path, b"");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
    let file = read(&path);
    assert_eq!(file.users().collect::<Vec<_>>(), ["alice"]);
    assert!(file.verify("alice", b"wonderland"));
    assert!(!file.verify("alice", b"Wonderland"));
    let text = fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with("alice:$argon2id$v=19$m=19456,t=2,p=1$"),
        "{text}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // A comment written by hand survives; bob's password comes from standard input (not a
    // terminal here), first line only, its line end removed.
    fs::write(&path, format!("# broker users\n{text}")).unwrap();
    let out = passwd(&["bob"], &path, b"builder\r\nignored\n");
    assert!(out.status.success(), "{}", stderr(&out));
    let text2 = fs::read_to_string(&path).unwrap();
    assert!(
        text2.starts_with(&format!("# broker users\n{text}bob:$argon2id$")),
        "{text2}"
    );
    assert!(read(&path).verify("bob", b"builder"));

    // Changing alice's password rewrites her line in place with a new salt.
    let out = passwd(&["-b", "alice", "looking-glass"], &path, b"");
    assert!(out.status.success(), "{}", stderr(&out));
    let file = read(&path);
    assert_eq!(file.users().collect::<Vec<_>>(), ["alice", "bob"]);
    assert!(file.verify("alice", b"looking-glass"));
    assert!(!fs::read_to_string(&path).unwrap().contains(text.trim_end()));

    let out = passwd(&["-D", "alice"], &path, b"");
    assert!(out.status.success(), "{}", stderr(&out));
    let file = read(&path);
    assert_eq!(file.users().collect::<Vec<_>>(), ["bob"]);
    assert!(
        fs::read_to_string(&path)
            .unwrap()
            .starts_with("# broker users\nbob:")
    );

    // Deleting her again: nothing to delete, and the file is left as it was.
    let before = fs::read_to_string(&path).unwrap();
    let out = passwd(&["-D", "alice"], &path, b"");
    assert_fails(&out, 1, "there is no user \"alice\"");
    assert_eq!(fs::read_to_string(&path).unwrap(), before);
}

#[test]
fn create_replaces_an_existing_file() {
    let dir = TempDir::new("create");
    let path = dir.file("passwords");
    fs::write(&path, "# old\nold-user:$6$legacy\n").unwrap();
    let out = passwd(&["-c", "-b", "new-user", "pw"], &path, b"");
    assert!(out.status.success(), "{}", stderr(&out));
    let file = read(&path);
    assert_eq!(file.users().collect::<Vec<_>>(), ["new-user"]);
    assert!(!fs::read_to_string(&path).unwrap().contains("old"));
    // Nothing but the file is left in the directory (the temporary file was renamed).
    assert_eq!(fs::read_dir(&dir.0).unwrap().count(), 1);
}

#[test]
fn a_missing_file_needs_create() {
    let dir = TempDir::new("missing");
    let path = dir.file("passwords");
    let out = passwd(&["-b", "alice", "pw"], &path, b"");
    assert_fails(&out, 1, "no such file");
    assert!(stderr(&out).contains("hint: give -c to create it"));
    assert!(!path.exists());
}

#[test]
fn a_file_that_does_not_parse_is_left_alone() {
    let dir = TempDir::new("bad-file");
    let path = dir.file("passwords");
    let bad = "alice:x\n\nalice:y\n";
    fs::write(&path, bad).unwrap();
    let out = passwd(&["-b", "bob", "pw"], &path, b"");
    assert_fails(&out, 1, "line 3: the user already has an entry on line 1");
    assert_eq!(fs::read_to_string(&path).unwrap(), bad);

    fs::write(&path, "no separator here\n").unwrap();
    let out = passwd(&["-D", "bob"], &path, b"");
    assert_fails(&out, 1, "line 1: expected `user:hash`");
}

#[test]
fn usage_errors() {
    let dir = TempDir::new("usage");
    let path = dir.file("passwords");

    // User names the file cannot hold, refused before any password is asked for.
    for (user, why) in [
        ("a:b", "contains `:`"),
        ("#admin", "starts with `#`"),
        (" bob", "white space"),
        ("", "empty"),
    ] {
        let out = passwd(&["-c", "-b", user, "pw"], &path, b"");
        assert_fails(&out, 2, why);
    }
    let out = passwd(&["-c", "-b", "bob", ""], &path, b"");
    assert_fails(&out, 2, "the password is empty");
    let out = passwd(&["-c", "bob"], &path, b"\n");
    assert_fails(&out, 2, "the password is empty");
    let out = passwd(&["-c", "bob"], &path, b"");
    assert_fails(&out, 1, "no password on standard input");
    assert!(!path.exists());

    // Argument errors are clap's, with its status 2.
    for args in [
        &["-c", "bob", "pw"][..],       // a password needs -b
        &["-b", "bob"][..],             // -b needs a password
        &["-D", "-c", "bob"][..],       // -D and -c exclude each other
        &["-D", "-b", "bob", "pw"][..], // so do -D and -b
        &[][..],                        // USER is required
    ] {
        let out = passwd(args, &path, b"");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
    assert!(!path.exists());
}

#[test]
fn writing_into_a_missing_directory_fails() {
    let dir = TempDir::new("no-dir");
    let path = dir.file("absent").join("passwords");
    let out = passwd(&["-c", "-b", "alice", "pw"], &path, b"");
    assert_fails(&out, 1, "writing");
}

#[cfg(target_os = "linux")]
/// Runs `tern broker passwd ARGS` on a pseudo-terminal made by util-linux `script`, typing
/// `typed`; `None` where `script` is not installed.
fn passwd_on_a_terminal(args: &str, typed: &[u8]) -> Option<Output> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let tern = env!("CARGO_BIN_EXE_tern");
    let mut child = Command::new("script")
        .args(["-qec", &format!("{tern} broker passwd {args}"), "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    child.stdin.take().unwrap().write_all(typed).unwrap();
    Some(common::wait(child))
}

// `script -qec` is util-linux's; other systems' `script` takes other arguments.
#[cfg(target_os = "linux")]
#[test]
fn asks_twice_on_a_terminal() {
    let dir = TempDir::new("terminal");
    let path = dir.file("passwords");
    let shown = path.to_str().unwrap();
    let Some(out) = passwd_on_a_terminal(&format!("-c {shown} alice"), b"rabbit\nrabbit\n") else {
        eprintln!("skipped: no `script` to make a terminal");
        return;
    };
    let screen = common::stdout(&out);
    assert!(out.status.success(), "{screen}");
    assert!(
        screen.contains("Password: ") && screen.contains("Reenter password: "),
        "{screen}"
    );
    assert!(read(&path).verify("alice", b"rabbit"));

    let before = fs::read_to_string(&path).unwrap();
    let out = passwd_on_a_terminal(&format!("{shown} alice"), b"rabbit\nhabbit\n").unwrap();
    let screen = common::stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{screen}");
    assert!(
        screen.contains("tern: error: the passwords do not match"),
        "{screen}"
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), before);
}
