//! A throwaway PKI for the broker's TLS listeners, made with the `openssl` command line on every
//! run: nothing secret is checked in and nothing expires in the repository.
//!
//! P-256 keys (rustls and mosquitto both take them; they are generated in milliseconds) and
//! explicit X.509v3 extensions, because webpki (behind rustls) rejects what OpenSSL happily
//! accepts: a CA without `basicConstraints CA:TRUE`, a server certificate without a SAN for the
//! address dialled.

use std::fs;
use std::path::{Path, PathBuf};

use crate::run::Cmd;

/// The files a TLS test needs, all PEM.
#[derive(Debug, Clone)]
pub(crate) struct Certs {
    /// The CA that signed the server and client certificates: `--cafile` for clients.
    pub(crate) ca: PathBuf,
    /// Server certificate for `IP:127.0.0.1` and `DNS:localhost`, and its key.
    pub(crate) server_cert: PathBuf,
    pub(crate) server_key: PathBuf,
    /// Client certificate (clientAuth) for the listener that requires one, and its key.
    pub(crate) client_cert: PathBuf,
    pub(crate) client_key: PathBuf,
    /// A second, unrelated CA: a client that trusts only this one must refuse the broker.
    pub(crate) untrusted_ca: PathBuf,
}

/// `openssl req` insists on a config file; this one holds the extension sections below, so the
/// result does not depend on the machine's `openssl.cnf`.
const OPENSSL_CNF: &str = "\
# Written by cargo xtask (xtask/src/interop/certs.rs) for a throwaway test PKI.
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
";

/// Two days: enough for any run, even with a skewed clock, and never a reason to keep the files.
const DAYS: &str = "2";

/// Generates a fresh CA, server and client certificate (and an unrelated CA) in `dir`.
pub(crate) fn generate(openssl: &Path, dir: &Path) -> Result<Certs, String> {
    if dir.exists() {
        fs::remove_dir_all(dir).map_err(|e| format!("cannot clear {}: {e}", dir.display()))?;
    }
    fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let cnf = dir.join("openssl.cnf");
    fs::write(&cnf, OPENSSL_CNF).map_err(|e| format!("cannot write {}: {e}", cnf.display()))?;

    let openssl = openssl.to_string_lossy();
    let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
    let cnf = cnf.to_string_lossy().into_owned();
    let run = |args: &[&str]| -> Result<(), String> {
        let cmd = Cmd::new(&openssl, args.iter().copied());
        let output = cmd
            .to_command()
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| format!("could not start `{}`: {e}", cmd.display()))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "`{}` failed ({}):\n{}",
                cmd.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    };
    // `-nodes` rather than OpenSSL 3's `-noenc`: both leave the key unencrypted, and 1.1 only
    // knows the former.
    let new_key = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let self_signed_ca = |name: &str, cn: &str| -> Result<(), String> {
        let (crt, key, subj) = (
            path(&format!("{name}.crt")),
            path(&format!("{name}.key")),
            format!("/CN={cn}"),
        );
        let mut args = vec!["req", "-x509", "-new"];
        args.extend(new_key);
        args.extend([
            "-keyout",
            &key,
            "-out",
            &crt,
            "-days",
            DAYS,
            "-subj",
            &subj,
            "-config",
            &cnf,
            "-extensions",
            "ca",
        ]);
        run(&args)
    };
    let signed = |name: &str, cn: &str, serial: &str| -> Result<(), String> {
        let (crt, key, csr, subj) = (
            path(&format!("{name}.crt")),
            path(&format!("{name}.key")),
            path(&format!("{name}.csr")),
            format!("/CN={cn}"),
        );
        let mut args = vec!["req", "-new"];
        args.extend(new_key);
        args.extend([
            "-keyout", &key, "-out", &csr, "-subj", &subj, "-config", &cnf,
        ]);
        run(&args)?;
        let (ca, ca_key) = (path("ca.crt"), path("ca.key"));
        run(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca,
            "-CAkey",
            &ca_key,
            "-set_serial",
            serial,
            "-days",
            DAYS,
            "-out",
            &crt,
            "-extfile",
            &cnf,
            "-extensions",
            name,
        ])
    };

    self_signed_ca("ca", "tern interop CA")?;
    signed("server", "localhost", "2")?;
    signed("client", "tern interop client", "3")?;
    self_signed_ca("untrusted-ca", "tern interop untrusted CA")?;

    Ok(Certs {
        ca: dir.join("ca.crt"),
        server_cert: dir.join("server.crt"),
        server_key: dir.join("server.key"),
        client_cert: dir.join("client.crt"),
        client_key: dir.join("client.key"),
        untrusted_ca: dir.join("untrusted-ca.crt"),
    })
}
