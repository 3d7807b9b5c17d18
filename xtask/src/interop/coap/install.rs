//! The peers' software, installed only when missing: libcoap's example programs from Debian
//! (`libcoap3-bin`: `coap-client-notls`, `coap-server-notls`) and aiocoap from PyPI, pinned,
//! in a virtualenv of our own under the target directory (so the system Python is left alone
//! and a second run installs nothing).

use std::path::{Path, PathBuf};

use crate::run::{Cmd, step};

/// The aiocoap release the suite is written against. Its `aiocoap-client` cannot observe, so
/// the scripts in `interop/coap/` use its Python API, which this pin keeps stable.
pub(super) const AIOCOAP_VERSION: &str = "0.4.17";

/// Where each peer program is, and what versions they are (for the report).
#[derive(Debug, Clone)]
pub(super) struct Programs {
    pub(super) coap_client: PathBuf,
    pub(super) coap_server: PathBuf,
    /// The virtualenv's interpreter, with aiocoap importable.
    pub(super) python: PathBuf,
    /// e.g. `libcoap 4.3.1 (Debian libcoap3-bin 4.3.1-1)`
    pub(super) libcoap_version: String,
    /// e.g. `aiocoap 0.4.17 on Python 3.11.2`
    pub(super) aiocoap_version: String,
}

/// Finds or installs both peers; `venv` is the virtualenv directory for aiocoap.
pub(super) fn ensure_installed(venv: &Path) -> Result<Programs, String> {
    let (coap_client, coap_server) = ensure_libcoap()?;
    let python = ensure_aiocoap(venv)?;
    let libcoap_version = libcoap_version(&coap_client);
    let python_version = Cmd::new(&path_arg(&python), ["--version"])
        .probe_stdout()
        .map_or_else(|| "Python ?".to_owned(), |v| v.trim().to_owned());
    Ok(Programs {
        coap_client,
        coap_server,
        python,
        libcoap_version,
        aiocoap_version: format!("aiocoap {AIOCOAP_VERSION} on {python_version}"),
    })
}

pub(crate) fn ensure_libcoap() -> Result<(PathBuf, PathBuf), String> {
    const CLIENT: &str = "coap-client-notls";
    const SERVER: &str = "coap-server-notls";
    if find_program(CLIENT).is_none() || find_program(SERVER).is_none() {
        println!("\ninstalling libcoap3-bin ({CLIENT} and {SERVER} are not on PATH)");
        apt_install(&["libcoap3-bin"])?;
    }
    let find = |program: &str| {
        find_program(program)
            .ok_or_else(|| format!("`{program}` is still not found after installing libcoap3-bin"))
    };
    Ok((find(CLIENT)?, find(SERVER)?))
}

/// `apt-get install`, with an `apt-get update` and a second try when the first fails (a fresh
/// machine has no package lists; updating costs time and network, so only when needed).
fn apt_install(packages: &[&str]) -> Result<(), String> {
    let install = Cmd::new("apt-get", ["install", "-y", "--no-install-recommends"])
        .args(packages.iter().copied())
        .env("DEBIAN_FRONTEND", "noninteractive");
    if step("apt-get install", &install).is_ok() {
        return Ok(());
    }
    let update = Cmd::new("apt-get", ["update"]).env("DEBIAN_FRONTEND", "noninteractive");
    step("apt-get update", &update)
        .and_then(|_| step("apt-get install", &install))
        .map(|_| ())
        .map_err(|e| {
            format!(
                "{e}\nthe CoAP interop suite needs `{}`: install it (as root) and run again",
                packages.join(" ")
            )
        })
}

/// The virtualenv's python once `import aiocoap` gives the pinned version: creates the
/// virtualenv and pip-installs aiocoap when that is not so already.
fn ensure_aiocoap(venv: &Path) -> Result<PathBuf, String> {
    let python = venv
        .join("bin")
        .join(format!("python{}", std::env::consts::EXE_SUFFIX));
    if installed_aiocoap(&python).as_deref() == Some(AIOCOAP_VERSION) {
        return Ok(python);
    }
    println!(
        "\naiocoap {AIOCOAP_VERSION} is needed in {} ({}); installing it",
        venv.display(),
        installed_aiocoap(&python).map_or_else(|| "not there".to_owned(), |v| format!("has {v}"))
    );
    if !python.is_file() {
        create_venv(venv)?;
    }
    let install = Cmd::new(
        &path_arg(&python),
        [
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            &format!("aiocoap=={AIOCOAP_VERSION}"),
        ],
    );
    step("pip install aiocoap", &install)?;
    match installed_aiocoap(&python) {
        Some(v) if v == AIOCOAP_VERSION => Ok(python),
        found => Err(format!(
            "after `{}`, `import aiocoap` gives version {found:?}, not {AIOCOAP_VERSION}",
            install.display()
        )),
    }
}

/// `python3 -m venv`; Debian's python3 lacks the venv module until `python3-venv` is
/// installed, so that is the fallback (with Debian's interpreter, in case `python3` on PATH is
/// another one without venv support).
pub(crate) fn create_venv(venv: &Path) -> Result<(), String> {
    let venv_arg = path_arg(venv);
    let create = |python: &str| Cmd::new(python, ["-m", "venv", "--clear", venv_arg.as_str()]);
    if step("create the virtualenv", &create("python3")).is_ok() {
        return Ok(());
    }
    println!("\n`python3 -m venv` failed; installing Debian's python3-venv");
    apt_install(&["python3", "python3-venv"])?;
    step("create the virtualenv", &create("/usr/bin/python3"))
        .or_else(|_| step("create the virtualenv", &create("python3")))
        .map(|_| ())
}

/// The aiocoap version `python` imports, or `None` (no interpreter, no aiocoap).
fn installed_aiocoap(python: &Path) -> Option<String> {
    if !python.is_file() {
        return None;
    }
    Cmd::new(
        &path_arg(python),
        ["-c", "import aiocoap.meta; print(aiocoap.meta.version)"],
    )
    .probe_stdout()
    .map(|v| v.trim().to_owned())
}

/// The version in the first line of coap-client's usage (`coap-client-notls v4.3.1 -- a small
/// CoAP implementation`), and the Debian package's when dpkg knows it.
pub(crate) fn libcoap_version(coap_client: &Path) -> String {
    // coap-client without a URI prints its usage and exits non-zero, so no probe_stdout.
    let usage = Cmd::new(&path_arg(coap_client), Vec::<String>::new())
        .to_command()
        .stdin(std::process::Stdio::null())
        .output()
        .map(|o| {
            let mut text = String::from_utf8_lossy(&o.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&o.stderr));
            text
        })
        .unwrap_or_default();
    let upstream = parse_libcoap_version(&usage).unwrap_or("?");
    let debian = Cmd::new("dpkg-query", ["-W", "-f", "${Version}", "libcoap3-bin"])
        .probe_stdout()
        .filter(|v| !v.trim().is_empty());
    match debian {
        Some(v) => format!("libcoap {upstream} (Debian libcoap3-bin {})", v.trim()),
        None => format!("libcoap {upstream}"),
    }
}

fn parse_libcoap_version(usage: &str) -> Option<&str> {
    usage.split_whitespace().find_map(|word| {
        word.strip_prefix('v')
            .filter(|v| v.starts_with(|c: char| c.is_ascii_digit()))
    })
}

/// `program` in a `PATH` directory (or an sbin directory, where Debian puts some servers).
pub(super) fn find_program(program: &str) -> Option<PathBuf> {
    let file = format!("{program}{}", std::env::consts::EXE_SUFFIX);
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(&file))
        .find(|candidate| candidate.is_file())
}

pub(crate) fn path_arg(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libcoap_version_from_usage() {
        let usage = "coap-client-notls v4.3.1 -- a small CoAP implementation\nCopyright (C)";
        assert_eq!(parse_libcoap_version(usage), Some("4.3.1"));
        assert_eq!(parse_libcoap_version("usage: verbose"), None);
        assert_eq!(
            parse_libcoap_version("-v level, prog v4.3.5rc1"),
            Some("4.3.5rc1")
        );
    }
}
