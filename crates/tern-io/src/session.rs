use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use tern_mqtt::client::{Client, ClientConfig};

use crate::Error;

/// The client's session kept in a file, built on the state machine's versioned snapshot
/// ([`Client::snapshot`]): outgoing QoS 1/2 publications not yet completed, the queue behind
/// them, and incoming QoS 2 packet identifiers awaiting PUBREL. An adapter opens the client
/// from it at start and stores it whenever it changed, before writing the packets that
/// follow from the change; so a process that is killed and restarted resumes its session
/// without losing or duplicating a QoS 1/2 message.
///
/// Writes go to a temporary file beside it which is then renamed over it, so a crash leaves
/// either the old snapshot or the new one, never half of one.
///
/// ```
/// use tern_io::SessionFile;
/// use tern_mqtt::client::{Client, ClientConfig};
/// use tern_mqtt::{MqttString, ProtocolVersion};
///
/// let path = std::env::temp_dir().join(format!("tern-doc-session-{}", std::process::id()));
/// let config = ClientConfig::new(ProtocolVersion::V5, MqttString::new("thermo-1")?);
/// let mut file = SessionFile::new(&path);
/// let client = file.open(config.clone())?; // no file yet: a new client
/// file.store(&client)?;
/// let again = file.open(config)?; // the same session
/// assert_eq!(again.snapshot(), client.snapshot());
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct SessionFile {
    path: PathBuf,
    /// What the file holds now, to skip writes that change nothing.
    last: Option<bytes::Bytes>,
}

impl SessionFile {
    /// A session file at `path` (nothing is read or written yet).
    pub fn new(path: impl AsRef<Path>) -> Self {
        SessionFile {
            path: path.as_ref().to_path_buf(),
            last: None,
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The client restored from the file, or a new one when there is no file yet. A file
    /// that holds no valid snapshot is an error rather than a silent fresh start.
    pub fn open(&mut self, config: ClientConfig) -> Result<Client, Error> {
        match fs::read(&self.path) {
            Ok(bytes) => {
                let client = Client::restore(config, &bytes)
                    .map_err(|e| Error::Session(format!("{}: {e}", self.path.display())))?;
                tracing::info!(path = %self.path.display(), "session restored");
                self.last = Some(bytes.into());
                Ok(client)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Client::new(config)),
            Err(e) => Err(Error::Session(format!("{}: {e}", self.path.display()))),
        }
    }

    /// Writes the client's session if it changed since the last write; returns whether it
    /// wrote.
    pub fn store(&mut self, client: &Client) -> Result<bool, Error> {
        let snapshot = client.snapshot();
        if self.last.as_ref() == Some(&snapshot) {
            return Ok(false);
        }
        self.write(&snapshot)
            .map_err(|e| Error::Session(format!("{}: {e}", self.path.display())))?;
        self.last = Some(snapshot);
        Ok(true)
    }

    fn write(&self, bytes: &[u8]) -> io::Result<()> {
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let mut file = fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_data()?;
        fs::rename(&tmp, &self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tern_mqtt::client::Instant;
    use tern_mqtt::{MqttString, ProtocolVersion, Publish, QoS, TopicName};

    fn path(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("tern-io-{name}-{}", std::process::id()))
    }

    fn config() -> ClientConfig {
        ClientConfig::new(ProtocolVersion::V5, MqttString::new("c").unwrap())
    }

    #[test]
    fn a_queued_publication_survives_a_restart() {
        let p = path("restart");
        let _ = fs::remove_file(&p);
        let mut file = SessionFile::new(&p);
        let mut client = file.open(config()).unwrap();
        let mut publish = Publish::new(TopicName::new("t").unwrap(), &b"x"[..]);
        publish.qos = QoS::AtLeastOnce;
        client.publish(Instant::ZERO, publish).unwrap();
        assert!(file.store(&client).unwrap());
        assert!(
            !file.store(&client).unwrap(),
            "an unchanged session is not rewritten"
        );

        let restored = SessionFile::new(&p).open(config()).unwrap();
        assert_eq!(restored.queued_len() + restored.inflight_len(), 1);
        fs::remove_file(&p).unwrap();
    }

    #[test]
    fn a_damaged_file_is_an_error_not_a_fresh_start() {
        let p = path("damaged");
        fs::write(&p, b"not a snapshot").unwrap();
        let e = SessionFile::new(&p).open(config()).unwrap_err();
        assert!(matches!(e, Error::Session(_)), "{e}");
        fs::remove_file(&p).unwrap();
    }
}
