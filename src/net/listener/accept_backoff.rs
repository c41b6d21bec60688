//! What a [`TcpListener`](super::TcpListener) does when `accept` fails for lack of
//! descriptors (`EMFILE`, `ENFILE`) or kernel memory (`ENOBUFS`, `ENOMEM`).
//!
//! Such a failure leaves the connection in the kernel's queue and the listener readable, and
//! the readiness bit is not cleared (only `WouldBlock` clears it): retrying at once would spin,
//! and waiting for the next edge could wait forever, since a queued connection raises no new
//! edge. The listener does two things instead:
//!
//! 1. **Shed with the spare.** Each listener holds one spare descriptor (`/dev/null`). On
//!    exhaustion it closes the spare, accepts the oldest queued connection into the freed slot,
//!    closes it at once with a reset (`SO_LINGER` 0), and reopens the spare. The queue drains,
//!    and its clients see a reset instead of a connection that hangs.
//! 2. **Pause on a timer.** If shedding cannot help (no spare, `ENFILE` or memory pressure
//!    with the slot taken by someone else), accepting pauses for [`FIRST_PAUSE`], doubling up
//!    to [`MAX_PAUSE`]; the next successful accept makes the next pause short again.
//!    When the pause ends, the accept syscall is retried directly: the readiness bit is still
//!    set, so no new edge is needed.
//!
//! # Invariants
//!
//! 1. While a pause is armed, `poll_accept` makes no accept syscall: it only polls a timer set
//!    to the pause's end, whose waker is the accepting task's. Nothing else wakes it meanwhile
//!    (no reader waker is stored), so an out-of-descriptors listener costs one wake-up per
//!    pause and waiting future. Each `accept` future polls a timer of its own (a `Sleep` wakes
//!    one waker); `poll_accept` callers share one, and the most recent caller is woken.
//! 2. The spare is closed only for the duration of one shedding accept, on the runtime's
//!    thread, and reopened before `poll_accept` returns (if the open fails, the spare stays
//!    missing and is retried after the next successful accept).

use std::cell::Cell;
use std::fs::File;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::time::{Sleep, sleep_until};

/// The first pause after an accept fails for lack of resources.
///
/// Short enough that a server recovers almost as soon as descriptors free up; long enough that
/// a listener stuck out of descriptors wakes at most twenty times a second at first.
pub(crate) const FIRST_PAUSE: Duration = Duration::from_millis(50);

/// The longest pause: each failure doubles the pause up to this.
///
/// One second bounds how long a listener stays deaf after descriptors free up (the issue asks
/// for recovery "within a second or two") while costing one syscall a second when they don't.
pub(crate) const MAX_PAUSE: Duration = Duration::from_secs(1);

/// True for the `accept` errors that mean "out of descriptors or memory, try later".
pub(crate) fn is_resource_exhaustion(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// The pause that follows `pause`: twice as long, at most [`MAX_PAUSE`].
pub(crate) fn next_pause(pause: Duration) -> Duration {
    pause.saturating_mul(2).min(MAX_PAUSE)
}

/// A listener's state for surviving resource exhaustion. Owned by one `TcpListener`; used only
/// on the runtime's thread, from `poll_accept`.
pub(crate) struct AcceptBackoff {
    /// The reserved descriptor, closed to make room for one shedding accept. `None` if it could
    /// not be opened (the listener was created with the table already full).
    spare: Cell<Option<File>>,
    /// When the armed pause ends, if one is armed. Cleared by the first caller that sees it
    /// end, so every other caller finds no pause on its next poll.
    paused_until: Cell<Option<Instant>>,
    /// The timer of callers without one of their own (`poll_accept`: the most recent caller's
    /// waker is woken). Taken out while polled, so no borrow outlives a call.
    shared_timer: Cell<Option<Sleep>>,
    /// How long the next pause lasts: [`FIRST_PAUSE`] after a successful accept.
    next_pause: Cell<Duration>,
    /// Accepts that failed for lack of resources (see [`is_resource_exhaustion`]).
    exhaustions: Cell<u64>,
    /// Connections accepted and closed at once to drain the queue.
    shed: Cell<u64>,
}

impl AcceptBackoff {
    pub(crate) fn new() -> AcceptBackoff {
        AcceptBackoff {
            spare: Cell::new(open_spare()),
            paused_until: Cell::new(None),
            shared_timer: Cell::new(None),
            next_pause: Cell::new(FIRST_PAUSE),
            exhaustions: Cell::new(0),
            shed: Cell::new(0),
        }
    }

    /// Ready once no pause is armed (the armed one has elapsed); else the task waits for it on
    /// `timer`, a timer of its own (`None`: the shared one).
    ///
    /// A `Sleep` wakes one waker, and several `accept` futures may be paused at once: each
    /// waits on its own timer set to the same deadline, so each is woken when the pause ends.
    pub(crate) fn poll_pause(
        &self,
        cx: &mut Context<'_>,
        timer: Option<&mut Option<Sleep>>,
    ) -> Poll<()> {
        let Some(deadline) = self.paused_until.get() else {
            return Poll::Ready(());
        };
        let elapsed = match timer {
            Some(timer) => poll_timer(timer, deadline, cx),
            None => {
                let mut timer = self.shared_timer.take();
                let elapsed = poll_timer(&mut timer, deadline, cx);
                self.shared_timer.set(timer);
                elapsed
            }
        };
        if elapsed.is_ready() {
            self.paused_until.set(None);
        }
        elapsed
    }

    /// An accept succeeded: the next pause starts short again, and a
    /// spare that could not be opened earlier is opened now that descriptors are available.
    pub(crate) fn on_accept_ok(&self) {
        self.next_pause.set(FIRST_PAUSE);
        let spare = self.spare.take().or_else(open_spare);
        self.spare.set(spare);
    }

    /// An accept failed for lack of resources: counts it.
    pub(crate) fn on_exhaustion(&self) {
        self.exhaustions.set(self.exhaustions.get() + 1);
    }

    /// Closes the spare, runs `accept` in the freed slot and closes what it accepted, then
    /// reopens the spare. Returns what `accept` returned (without the connection), or `None`
    /// if there was no spare to close.
    pub(crate) fn shed<T>(&self, accept: impl FnOnce() -> io::Result<T>) -> Option<io::Result<()>>
    where
        T: std::os::fd::AsRawFd,
    {
        let spare = self.spare.take()?;
        drop(spare);
        let result = accept().map(|connection| {
            // Best effort: without the reset, the client sees an orderly close instead.
            let _ = crate::sys::set_linger_zero(&connection);
            self.shed.set(self.shed.get() + 1);
            // `connection` is closed here, before the spare is reopened into its slot.
        });
        self.spare.set(open_spare());
        Some(result)
    }

    /// Arms a pause of the current length and doubles the next one. The caller must poll it
    /// ([`poll_pause`](Self::poll_pause)) before returning `Pending`, to register the waker.
    pub(crate) fn arm_pause(&self) {
        let pause = self.next_pause.get();
        self.next_pause.set(next_pause(pause));
        self.paused_until.set(Some(Instant::now() + pause));
    }

    pub(crate) fn exhaustions(&self) -> u64 {
        self.exhaustions.get()
    }

    pub(crate) fn shed_count(&self) -> u64 {
        self.shed.get()
    }
}

/// Polls `timer`, set to `deadline` (created, or moved from an earlier pause, as needed).
fn poll_timer(timer: &mut Option<Sleep>, deadline: Instant, cx: &mut Context<'_>) -> Poll<()> {
    let timer = timer.get_or_insert_with(|| sleep_until(deadline));
    if timer.deadline() != deadline {
        timer.reset(deadline);
    }
    Pin::new(timer).poll(cx)
}

/// Opens the spare descriptor; `None` if the table is full (or `/dev/null` is missing).
fn open_spare() -> Option<File> {
    File::open("/dev/null").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_up_to_the_cap() {
        let mut pause = FIRST_PAUSE;
        let mut seen = vec![pause];
        while pause < MAX_PAUSE {
            pause = next_pause(pause);
            seen.push(pause);
        }
        let millis: Vec<u128> = seen.iter().map(Duration::as_millis).collect();
        assert_eq!(millis, [50, 100, 200, 400, 800, 1000]);
        assert_eq!(next_pause(MAX_PAUSE), MAX_PAUSE);
    }

    #[test]
    fn only_resource_errors_pause() {
        for code in [libc::EMFILE, libc::ENFILE, libc::ENOBUFS, libc::ENOMEM] {
            assert!(is_resource_exhaustion(&io::Error::from_raw_os_error(code)));
        }
        for code in [libc::ECONNABORTED, libc::EAGAIN, libc::EINVAL] {
            assert!(!is_resource_exhaustion(&io::Error::from_raw_os_error(code)));
        }
    }
}
