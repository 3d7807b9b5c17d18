//! The incoming messages: a bounded buffer between the driver thread and the application, and
//! the gate that pauses the socket reader while the buffer is full.
//!
//! The driver never waits for the application: it must keep writing acknowledgements, PINGREQ
//! and publications. So the buffer is bounded at the *reader*: before each read of the socket
//! the reader thread waits until the buffer has room and the driver has caught up with what
//! was read before. Messages decoded from bytes already read are always delivered, so the
//! buffer can exceed its capacity by the messages of the chunks in flight.
//!
//! One exception: while the state machine awaits a packet from the server (an acknowledgement
//! of our own request, PINGRESP, CONNACK), the reader reads on however full the buffer is.
//! Otherwise an application that publishes before it reads would wait forever for a PUBACK
//! stuck behind the messages it has not read, and the keep alive would time out.

use std::collections::VecDeque;
use std::fmt;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tern_io::Message;

use crate::driver::Input;

/// Chunks the reader may have read ahead of the driver (each up to [`READ_CHUNK`] bytes).
const CHUNKS_AHEAD: usize = 4;
/// Bytes the reader asks the socket for at once.
pub(crate) const READ_CHUNK: usize = 16 * 1024;

/// What the driver, the reader threads and [`Messages`] share.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
    /// Signalled when a message arrives or the stream ends (the application waits on it).
    arrived: Condvar,
    /// Signalled when there is room again or the connection changed (readers wait on it).
    room: Condvar,
}

#[derive(Debug)]
struct State {
    queue: VecDeque<Message>,
    capacity: usize,
    /// No message will come any more.
    ended: bool,
    /// [`Messages`] was dropped: messages go nowhere and reading never pauses.
    receiver_gone: bool,
    /// The connection whose reader may read (0: none); a reader of another one stops.
    connection: u64,
    /// Chunks read from the socket that the driver has not handled yet.
    chunks_ahead: usize,
    /// The state machine awaits a packet from the server: read on even when full.
    awaits_server: bool,
}

impl Shared {
    pub(crate) fn new(capacity: usize) -> Self {
        Shared {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                capacity: capacity.max(1),
                ended: false,
                receiver_gone: false,
                connection: 0,
                chunks_ahead: 0,
                awaits_server: false,
            }),
            arrived: Condvar::new(),
            room: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent under every panic point (plain field updates), so a
        // poisoned lock is still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    // ----- the driver -----------------------------------------------------------------------

    /// Hands a message to the application (dropped only when [`Messages`] is gone).
    pub(crate) fn deliver(&self, message: Message) {
        let mut state = self.lock();
        if state.receiver_gone {
            tracing::debug!(
                topic = message.topic.as_str(),
                "message dropped: nobody reads"
            );
            return;
        }
        state.queue.push_back(message);
        self.arrived.notify_one();
    }

    /// No more messages: [`Messages`] ends once it has given out what is buffered, and
    /// every reader stops.
    pub(crate) fn end(&self) {
        let mut state = self.lock();
        state.ended = true;
        state.connection = 0;
        self.arrived.notify_all();
        self.room.notify_all();
    }

    /// Makes `connection` the one whose reader may read (0: none), which stops the others.
    pub(crate) fn set_connection(&self, connection: u64) {
        let mut state = self.lock();
        state.connection = connection;
        state.chunks_ahead = 0;
        self.room.notify_all();
    }

    /// Whether the state machine awaits a packet from the server
    /// ([`awaits_server`](tern_mqtt::client::Client::awaits_server)).
    pub(crate) fn set_awaits_server(&self, awaits: bool) {
        let mut state = self.lock();
        if state.awaits_server != awaits {
            state.awaits_server = awaits;
            self.room.notify_all();
        }
    }

    /// The driver handled a chunk of the current connection.
    pub(crate) fn chunk_handled(&self) {
        let mut state = self.lock();
        state.chunks_ahead = state.chunks_ahead.saturating_sub(1);
        self.room.notify_all();
    }

    // ----- the reader threads ---------------------------------------------------------------

    /// Waits until the reader of `connection` may read again; `false` when it must stop.
    pub(crate) fn wait_to_read(&self, connection: u64) -> bool {
        let mut state = self.lock();
        loop {
            if state.connection != connection || state.ended {
                return false;
            }
            let full =
                !state.receiver_gone && !state.awaits_server && state.queue.len() >= state.capacity;
            if !full && state.chunks_ahead < CHUNKS_AHEAD {
                return true;
            }
            state = self
                .room
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// The reader of `connection` read a chunk and is handing it to the driver.
    pub(crate) fn chunk_read(&self, connection: u64) {
        let mut state = self.lock();
        if state.connection == connection {
            state.chunks_ahead += 1;
        }
    }

    /// Whether `connection` is still the current one.
    pub(crate) fn is_current(&self, connection: u64) -> bool {
        self.lock().connection == connection
    }

    // ----- the application ------------------------------------------------------------------

    fn recv(&self, deadline: Option<Instant>) -> Result<Option<Message>, Timeout> {
        let mut state = self.lock();
        loop {
            if let Some(message) = state.queue.pop_front() {
                if state.queue.len() < state.capacity {
                    self.room.notify_all();
                }
                return Ok(Some(message));
            }
            if state.ended {
                return Ok(None);
            }
            state = match deadline {
                None => self
                    .arrived
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(Timeout);
                    }
                    self.arrived
                        .wait_timeout(state, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
    }

    fn receiver_dropped(&self) {
        let mut state = self.lock();
        state.receiver_gone = true;
        state.queue.clear();
        self.room.notify_all();
    }
}

/// The incoming application messages of a connection, in arrival order, from
/// [`connect`](crate::connect).
///
/// It is an [`Iterator`]: `next` blocks until a message arrives and returns `None` once the
/// client is disconnected ([`Client::disconnect`](crate::Client::disconnect)) or gave up
/// (reconnection off and the connection lost), after the messages still buffered.
///
/// About [`MqttOptions::message_buffer`](crate::MqttOptions::message_buffer) messages wait
/// here. While it is full, the client stops reading from the socket but keeps writing:
/// publications, acknowledgements and PINGREQ go out, and nothing is dropped. It reads on,
/// buffering more, only while it awaits an answer from the broker (an acknowledgement of a
/// request, PINGRESP), which must not be stuck behind the unread messages. Dropping `Messages`
/// means "not interested": messages that arrive later are discarded and reading never pauses.
///
/// ```no_run
/// use tern_blocking::{MqttOptions, QoS};
///
/// let (client, messages) = tern_blocking::connect(MqttOptions::new("localhost", 1883, "thermo-1")?)?;
/// client.subscribe(&[("sensors/#", QoS::AtLeastOnce)])?;
/// for message in messages {
///     println!("{}: {}", message.topic, String::from_utf8_lossy(&message.payload));
/// }
/// # Ok::<(), tern_blocking::Error>(())
/// ```
pub struct Messages {
    shared: Arc<Shared>,
    driver: Sender<Input>,
}

impl Messages {
    pub(crate) fn new(shared: Arc<Shared>, driver: Sender<Input>) -> Self {
        Messages { shared, driver }
    }

    /// The next message, waiting as long as it takes; `None` once the stream ended.
    ///
    /// ```no_run
    /// # let (_client, mut messages) = tern_blocking::connect(tern_blocking::MqttOptions::new("localhost", 1883, "c")?)?;
    /// while let Some(message) = messages.recv() {
    ///     println!("{:?}", message.payload);
    /// }
    /// # Ok::<(), tern_blocking::Error>(())
    /// ```
    pub fn recv(&mut self) -> Option<Message> {
        // Without a deadline, `Timeout` cannot happen.
        self.shared.recv(None).unwrap_or(None)
    }

    /// The next message if one arrives within `timeout`: `Ok(Some(message))`, `Ok(None)` when
    /// the stream ended, `Err(Timeout)` when nothing arrived in time.
    ///
    /// ```no_run
    /// use std::time::Duration;
    ///
    /// # let (_client, mut messages) = tern_blocking::connect(tern_blocking::MqttOptions::new("localhost", 1883, "c")?)?;
    /// match messages.recv_timeout(Duration::from_secs(5)) {
    ///     Ok(Some(message)) => println!("{}", message.topic),
    ///     Ok(None) => println!("disconnected"),
    ///     Err(tern_blocking::Timeout) => println!("nothing for 5 s"),
    /// }
    /// # Ok::<(), tern_blocking::Error>(())
    /// ```
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<Option<Message>, Timeout> {
        // A timeout too large to represent means "no deadline".
        let deadline = Instant::now().checked_add(timeout);
        match deadline {
            Some(deadline) => self.shared.recv(Some(deadline)),
            None => Ok(self.recv()),
        }
    }
}

impl Iterator for Messages {
    type Item = Message;

    /// Same as [`Messages::recv`].
    fn next(&mut self) -> Option<Message> {
        self.recv()
    }
}

impl Drop for Messages {
    fn drop(&mut self) {
        self.shared.receiver_dropped();
        // The driver may be gone already; then there is nobody to tell.
        let _ = self.driver.send(Input::MessagesGone);
    }
}

impl fmt::Debug for Messages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.lock();
        f.debug_struct("Messages")
            .field("buffered", &state.queue.len())
            .field("capacity", &state.capacity)
            .field("ended", &state.ended)
            .finish()
    }
}

/// [`Messages::recv_timeout`] waited the whole timeout and no message arrived.
///
/// ```
/// assert_eq!(tern_blocking::Timeout.to_string(), "no message arrived in time");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeout;

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no message arrived in time")
    }
}

impl std::error::Error for Timeout {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::thread;
    use tern_mqtt::{Publish, TopicName};

    fn message(n: u8) -> Message {
        Publish::new(TopicName::new("t").unwrap(), vec![n])
    }

    #[test]
    fn a_full_buffer_pauses_the_reader_until_the_application_reads() {
        let shared = Arc::new(Shared::new(2));
        let (tx, _rx) = mpsc::channel();
        let mut messages = Messages::new(shared.clone(), tx);
        shared.set_connection(7);
        assert!(shared.wait_to_read(7));
        shared.deliver(message(1));
        shared.deliver(message(2));
        let reader = {
            let shared = shared.clone();
            thread::spawn(move || shared.wait_to_read(7))
        };
        thread::sleep(Duration::from_millis(50));
        assert!(
            !reader.is_finished(),
            "the reader waits while the buffer is full"
        );
        assert_eq!(messages.recv().unwrap().payload[..], [1]);
        assert!(reader.join().unwrap(), "room again: the reader goes on");
    }

    #[test]
    fn the_reader_reads_on_while_an_answer_is_awaited() {
        let shared = Arc::new(Shared::new(1));
        shared.set_connection(1);
        shared.deliver(message(1));
        let reader = {
            let shared = shared.clone();
            thread::spawn(move || shared.wait_to_read(1))
        };
        thread::sleep(Duration::from_millis(50));
        assert!(!reader.is_finished());
        shared.set_awaits_server(true);
        assert!(reader.join().unwrap());
        shared.set_awaits_server(false);
        shared.set_connection(2);
        assert!(!shared.wait_to_read(1));
    }

    #[test]
    fn a_new_connection_stops_the_old_reader() {
        let shared = Arc::new(Shared::new(1));
        shared.set_connection(1);
        shared.deliver(message(1));
        let reader = {
            let shared = shared.clone();
            thread::spawn(move || shared.wait_to_read(1))
        };
        shared.set_connection(2);
        assert!(!reader.join().unwrap());
    }

    #[test]
    fn the_reader_waits_for_the_driver_to_catch_up() {
        let shared = Shared::new(100);
        shared.set_connection(1);
        for _ in 0..CHUNKS_AHEAD {
            assert!(shared.wait_to_read(1));
            shared.chunk_read(1);
        }
        let shared = Arc::new(shared);
        let reader = {
            let shared = shared.clone();
            thread::spawn(move || shared.wait_to_read(1))
        };
        thread::sleep(Duration::from_millis(50));
        assert!(!reader.is_finished());
        shared.chunk_handled();
        assert!(reader.join().unwrap());
    }

    #[test]
    fn the_stream_ends_after_what_is_buffered_and_times_out_while_empty() {
        let shared = Arc::new(Shared::new(4));
        let (tx, _rx) = mpsc::channel();
        let mut messages = Messages::new(shared.clone(), tx);
        assert_eq!(
            messages.recv_timeout(Duration::from_millis(10)),
            Err(Timeout)
        );
        shared.deliver(message(1));
        shared.end();
        assert!(
            messages
                .recv_timeout(Duration::from_secs(1))
                .unwrap()
                .is_some()
        );
        assert_eq!(messages.recv_timeout(Duration::from_secs(1)), Ok(None));
        assert!(messages.next().is_none());
    }

    #[test]
    fn without_a_receiver_reading_never_pauses() {
        let shared = Arc::new(Shared::new(1));
        let (tx, rx) = mpsc::channel();
        drop(Messages::new(shared.clone(), tx));
        assert!(matches!(rx.recv(), Ok(Input::MessagesGone)));
        shared.set_connection(1);
        shared.deliver(message(1));
        shared.deliver(message(2));
        assert!(shared.wait_to_read(1));
    }
}
