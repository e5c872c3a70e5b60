//! Time: the connection's deadlines — keepalive Pings, dead-peer detection, the idle timeout
//! and the closing handshake's bound — computed from instants the driver passes in. The core
//! reads no clock: it learns the time from [`Connection::handle_timeout`] and
//! [`Connection::handle_received`], and says when it next needs it with
//! [`Connection::poll_timeout`].

use std::fmt;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::{Connection, State};
use crate::close::{CloseCode, CloseFrame};
use crate::header::OpCode;

/// The start of the payload of our keepalive Pings; a sequence number follows. A Pong that
/// echoes one is ours and is not handed to the application.
const PING_TAG: &[u8; 5] = b"swell";
const PING_LEN: usize = PING_TAG.len() + 4;

/// A deadline that passed, as [`Connection::handle_timeout`] reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Timeout {
    /// No Pong, nor any other byte, came within `ping_timeout` of a keepalive Ping: the peer
    /// is taken for dead. The connection is [`State::Failed`] with a Close 1011 queued, and it
    /// does not linger: the next [`Connection::handle_timeout`] reports [`Timeout::Close`].
    Keepalive,
    /// No data message went either way for `idle_timeout`: a Close with 1001 is queued and
    /// the closing handshake has begun, bounded by `close_timeout`.
    Idle,
    /// The closing handshake, or the teardown after it or after a failure, did not end within
    /// `close_timeout`: the connection is over, close the transport now.
    Close,
}

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Keepalive => "the peer did not answer a keepalive Ping in time",
            Self::Idle => "no message went either way within the idle timeout",
            Self::Close => "the closing handshake did not finish in time",
        })
    }
}

/// `at + after`, or as late as an `Instant` reaches when that overflows: a duration too
/// long to add (`Duration::MAX` for "never") is a deadline that does not come.
fn later(at: Instant, after: Duration) -> Instant {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    at.checked_add(after)
        .or_else(|| at.checked_add(CENTURY))
        .unwrap_or(at)
}

/// What the connection knows of time. Kept small: every connection holds one.
#[derive(Debug, Default)]
pub(super) struct Timers {
    /// When bytes last arrived from the peer, or the clocks started; `None` until the first
    /// instant is passed in, and until then no clock runs.
    heard: Option<Instant>,
    /// When a data message last went either way (or the clocks started).
    data: Option<Instant>,
    /// A data message was sent since the driver last passed the time; it counts from then.
    pub(super) data_sent: bool,
    /// When the keepalive Ping that waits for its Pong left; it carries `ping_seq`.
    ping: Option<Instant>,
    /// The sequence number of the last keepalive Ping sent.
    ping_seq: u32,
    /// The round trip of the last keepalive Ping answered, in microseconds.
    latency_us: Option<u32>,
    close: CloseDeadline,
}

/// The bound on the end of the connection, once it is ending.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum CloseDeadline {
    /// The connection is open.
    #[default]
    Open,
    /// The end began without the time being known (a `close` call, a Close or an error
    /// received); the bound starts at the next instant passed in.
    Starting,
    /// The end began; this is its bound.
    At(Instant),
    /// The bound passed and was reported.
    Passed,
}

impl Timers {
    /// Takes in an instant: the clocks start at the first, and what waited for the time is
    /// stamped with it.
    fn tick(&mut self, now: Instant, close_timeout: Duration) {
        self.heard.get_or_insert(now);
        if self.data_sent || self.data.is_none() {
            self.data = Some(now);
            self.data_sent = false;
        }
        if self.close == CloseDeadline::Starting {
            self.close = CloseDeadline::At(later(now, close_timeout));
        }
    }
}

impl Connection {
    /// Tells the connection that bytes from the peer arrived at `now`: call it after
    /// appending them to [`Connection::read_buf`] (or passing them to
    /// [`Connection::handle_read`]). Any bytes count as a sign of life: they push the next
    /// keepalive Ping back, and answer for a Ping that waits for its Pong.
    #[inline]
    pub fn handle_received(&mut self, now: Instant) {
        self.timers.tick(now, self.config.close_timeout);
        self.timers.heard = Some(now);
    }

    /// Acts on every deadline that has passed at `now`, and tells the connection the time.
    ///
    /// Call it once when the connection opens, to start its clocks (no deadline runs before
    /// the first instant passed in), and whenever the instant [`Connection::poll_timeout`]
    /// gave has come; calling it early does nothing but take in the time. It may queue a
    /// keepalive Ping or a Close in [`Connection::transmit`]: write it out afterwards.
    ///
    /// Returns the deadline that passed, if one that the driver must act on did:
    /// [`Timeout::Keepalive`] and [`Timeout::Idle`] say why the connection is ending,
    /// [`Timeout::Close`] that it is over.
    pub fn handle_timeout(&mut self, now: Instant) -> Option<Timeout> {
        self.timers.tick(now, self.config.close_timeout);
        match self.timers.close {
            CloseDeadline::At(deadline) if now >= deadline => {
                self.timers.close = CloseDeadline::Passed;
                return Some(Timeout::Close);
            }
            CloseDeadline::Open => {}
            _ => return None,
        }
        let heard = self.timers.heard?;
        if let (Some(sent), Some(timeout)) = (self.timers.ping, self.config.ping_timeout) {
            if heard <= sent && now >= later(sent, timeout) {
                self.fail_with(CloseCode::INTERNAL_ERROR, "no answer to a keepalive ping");
                // A peer that answers nothing gets no linger: the Close is written if the
                // transport takes it, and the connection ends.
                self.timers.close = CloseDeadline::At(now);
                return Some(Timeout::Keepalive);
            }
        }
        if let (Some(data), Some(idle)) = (self.timers.data, self.config.idle_timeout) {
            if now >= later(data, idle) {
                self.write_close(Some(&CloseFrame::new(
                    CloseCode::GOING_AWAY,
                    "idle timeout",
                )));
                self.state = State::Closing;
                self.timers.close = CloseDeadline::At(later(now, self.config.close_timeout));
                return Some(Timeout::Idle);
            }
        }
        if let Some(next) = self.next_ping() {
            if now >= next {
                self.timers.ping_seq = self.timers.ping_seq.wrapping_add(1);
                let seq = self.timers.ping_seq;
                let mut payload = [0; PING_LEN];
                payload[..PING_TAG.len()].copy_from_slice(PING_TAG);
                payload[PING_TAG.len()..].copy_from_slice(&seq.to_be_bytes());
                self.write_frame(true, 0, OpCode::Ping, Bytes::copy_from_slice(&payload));
                self.timers.ping = Some(now);
            }
        }
        None
    }

    /// The next instant [`Connection::handle_timeout`] must be called at, if any deadline
    /// runs. It may be in the past: then call it at once.
    ///
    /// It moves with the connection's life: ask again after handling input, sending or a
    /// timeout. A driver may keep a timer armed at an earlier instant than the one given
    /// now (bytes arrived since, pushing the keepalive back): calling `handle_timeout` at
    /// that earlier instant does nothing, and asking again gives the later one. Only a
    /// deadline that moved earlier — the closing handshake began — needs the timer re-armed.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let heard = self.timers.heard?;
        match self.timers.close {
            CloseDeadline::Open => {}
            // The bound starts with the next instant: ask for one at once (any instant
            // already passed will do).
            CloseDeadline::Starting => return Some(heard),
            CloseDeadline::At(deadline) => return Some(deadline),
            CloseDeadline::Passed => return None,
        }
        let mut next = self.next_ping();
        if let (Some(sent), Some(timeout)) = (self.timers.ping, self.config.ping_timeout) {
            if heard <= sent {
                next = Some(later(sent, timeout));
            }
        }
        if let (Some(data), Some(idle)) = (self.timers.data, self.config.idle_timeout) {
            let idle = later(data, idle);
            next = Some(next.map_or(idle, |next| next.min(idle)));
        }
        next
    }

    /// When the next keepalive Ping is due: an interval after the last sign of life or the
    /// last Ping, whichever is later.
    fn next_ping(&self) -> Option<Instant> {
        let interval = self.config.ping_interval?.max(Duration::from_millis(1));
        let heard = self.timers.heard?;
        let since = self.timers.ping.map_or(heard, |sent| sent.max(heard));
        Some(later(since, interval))
    }

    /// The round trip of the last keepalive Ping answered: from when it was sent to when the
    /// bytes with its Pong were handed in.
    pub fn latency(&self) -> Option<Duration> {
        self.timers
            .latency_us
            .map(|us| Duration::from_micros(u64::from(us)))
    }

    /// Whether a received Pong answers one of our keepalive Pings; if so, it is taken in
    /// (and not handed to the application).
    pub(super) fn is_keepalive_pong(&mut self, payload: &[u8]) -> bool {
        let Some(seq) = payload
            .strip_prefix(PING_TAG)
            .and_then(|seq| <[u8; 4]>::try_from(seq).ok())
            .map(u32::from_be_bytes)
        else {
            return false;
        };
        if seq == 0 || seq > self.timers.ping_seq {
            // Not a Ping we sent.
            return false;
        }
        if let (Some(sent), Some(heard)) = (self.timers.ping, self.timers.heard) {
            if seq == self.timers.ping_seq {
                self.timers.ping = None;
                let us = heard.saturating_duration_since(sent).as_micros();
                self.timers.latency_us = Some(u32::try_from(us).unwrap_or(u32::MAX));
            }
        }
        true
    }

    /// A data message was received: it counts for the idle timeout, from when its bytes
    /// arrived.
    #[inline]
    pub(super) fn data_received(&mut self) {
        if self.config.idle_timeout.is_some() {
            self.timers.data = self.timers.heard;
        }
    }

    /// The connection stopped being open: its end is bounded by the close timeout from the
    /// next instant passed in. A bound already running stays.
    pub(super) fn start_close_deadline(&mut self) {
        if self.timers.close == CloseDeadline::Open {
            self.timers.close = CloseDeadline::Starting;
        }
    }
}
