//! `tern broker [-c FILE] [-p PORT] [--bind ADDR]`: the MQTT broker, on tern-tokio, until
//! SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use tern_broker::auth::acl::Acl;
use tern_broker::auth::passwords::PasswordFile;
use tern_tokio::broker::{self, BrokerOptions};

use super::config::File;
use crate::failure::Failure;

/// `--help` text after the options.
pub(crate) const EXAMPLES: &str = "\
Examples:
  tern broker                         # port 1883 on every address, anonymous clients
  tern broker -p 1884 -v
  tern broker --bind 127.0.0.1:0      # a free port, printed as `listening on ADDR`
  tern broker -c tern.toml            # listeners, TLS, password file, ACL, limits
  tern broker passwd -c passwd alice  # make a password file

Once every listener is bound, `listening on ADDR` goes to standard error for each. SIGINT \
or SIGTERM disconnects every client (MQTT 5.0: reason 0x8B Server shutting down) and exits 0. \
Exit status 1: the configuration is wrong or an address cannot be bound. `tern broker \
--print-config` shows a configuration file with every setting and its default.";

/// Arguments of `tern broker` (serving).
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The configuration file (TOML; see --print-config).
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    config: Option<PathBuf>,

    /// Listen on this port on every address (instead of the file's listeners).
    #[arg(short = 'p', long, value_name = "PORT", conflicts_with = "bind")]
    port: Option<u16>,

    /// Listen on this address (repeatable; instead of the file's listeners).
    #[arg(long, value_name = "ADDR:PORT")]
    bind: Vec<SocketAddr>,

    /// Log connections, disconnections and errors on standard error (-vv: every packet's
    /// handling).
    #[arg(short = 'v', long, action = clap::ArgAction::Count)]
    verbose: u8,

    /// Print a configuration file with every setting at its default, and exit.
    #[arg(long)]
    print_config: bool,
}

/// Runs the broker until a signal.
pub(crate) fn run(args: &ServeArgs) -> Result<(), Failure> {
    if args.print_config {
        print!("{}", super::config::EXAMPLE);
        return Ok(());
    }
    logs(args.verbose);
    let file = match &args.config {
        Some(path) => File::read(path)?,
        None => File::default(),
    };
    let config = file.broker_config()?;
    let tcp: Vec<SocketAddr> = if let Some(port) = args.port {
        vec![SocketAddr::from(([0u16; 8], port))]
    } else if !args.bind.is_empty() {
        args.bind.clone()
    } else {
        file.listener
            .bind
            .clone()
            .unwrap_or_else(|| vec![SocketAddr::from(([0u16; 8], 1883))])
    };
    let mut options = BrokerOptions::new().config(config);
    for addr in &tcp {
        options = options.listen(*addr);
    }
    if let Some(tls) = &file.tls {
        let server = tern_io::tls::server_config(&tls.cert, &tls.key, tls.client_ca.as_deref())
            .map_err(|e| Failure::input(format_args!("tls: {e}")))?;
        for addr in &tls.bind {
            options = options.listen_tls(*addr, server.clone());
        }
    }
    if let Some(path) = &file.auth.password_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Failure::io(&format!("cannot read {}", path.display()), &e))?;
        let passwords = Arc::new(
            PasswordFile::parse(&text)
                .map_err(|e| Failure::input(format_args!("{}: {e}", path.display())))?,
        );
        options = options.authenticate(move |user, password| {
            passwords.verify(user, password.unwrap_or_default())
        });
    }
    if let Some(path) = &file.auth.acl_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Failure::io(&format!("cannot read {}", path.display()), &e))?;
        let acl = Acl::parse(&text)
            .map_err(|e| Failure::input(format_args!("{}: {e}", path.display())))?;
        options = options.authorize(acl);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::io("starting the runtime", &e))?;
    runtime.block_on(async move {
        let running = broker::start(options).await.map_err(|e| {
            Failure::input(format_args!("cannot listen on {}: {e}", describe(&tcp)))
        })?;
        for addr in running.local_addrs() {
            eprintln!("listening on {addr}");
        }
        for addr in running.tls_addrs() {
            eprintln!("listening on {addr} (TLS)");
        }
        signal().await;
        running.shutdown().await;
        Ok(())
    })
}

/// Logs of the broker's tasks (connections, errors) on standard error: warnings always, info
/// with -v, debug with -vv.
fn logs(verbose: u8) {
    let level = match verbose {
        0 => tracing::Level::WARN,
        1 => tracing::Level::INFO,
        _ => tracing::Level::DEBUG,
    };
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

fn describe(addrs: &[SocketAddr]) -> String {
    addrs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Waits for SIGINT or SIGTERM (Ctrl-C elsewhere).
async fn signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
