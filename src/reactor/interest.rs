//! [`Interest`] (what a readiness wait asks for) and [`Ready`] (what it found): the public
//! faces of the reactor's readiness bits, re-exported as `evloop::net::{Interest, Ready}`.

use std::fmt;
use std::ops::{BitOr, BitOrAssign};

use super::readiness::{
    CLOSED_BY_SHUTDOWN, Direction, ERROR, READ_CLOSED, READABLE, WRITABLE, WRITE_CLOSED,
};

/// The directions a readiness wait ([`TcpStream::ready`](crate::net::TcpStream::ready)) waits
/// for; combine them with `|`.
///
/// ```
/// use evloop::net::Interest;
/// let both = Interest::READABLE | Interest::WRITABLE;
/// assert!(both.is_readable() && both.is_writable());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Interest(u8);

const READ_INTEREST: u8 = 1 << 0;
const WRITE_INTEREST: u8 = 1 << 1;

impl Interest {
    /// Wait until a read (or accept) will not block: data, a pending connection, EOF, or an
    /// error to report.
    pub const READABLE: Interest = Interest(READ_INTEREST);
    /// Wait until a write will not block: room in the send buffer, or an error to report.
    pub const WRITABLE: Interest = Interest(WRITE_INTEREST);

    /// True if the interest includes reading.
    pub const fn is_readable(self) -> bool {
        self.0 & READ_INTEREST != 0
    }

    /// True if the interest includes writing.
    pub const fn is_writable(self) -> bool {
        self.0 & WRITE_INTEREST != 0
    }

    /// Both interests together (the `const` form of `|`).
    pub const fn add(self, other: Interest) -> Interest {
        Interest(self.0 | other.0)
    }

    /// The readiness bits that satisfy this interest.
    pub(crate) fn mask(self) -> u8 {
        let mut mask = 0;
        if self.is_readable() {
            mask |= Direction::Read.ready_mask();
        }
        if self.is_writable() {
            mask |= Direction::Write.ready_mask();
        }
        mask
    }
}

impl BitOr for Interest {
    type Output = Interest;

    fn bitor(self, other: Interest) -> Interest {
        self.add(other)
    }
}

impl BitOrAssign for Interest {
    fn bitor_assign(&mut self, other: Interest) {
        *self = self.add(other);
    }
}

impl fmt::Debug for Interest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.is_readable(), self.is_writable()) {
            (true, true) => f.write_str("READABLE | WRITABLE"),
            (true, false) => f.write_str("READABLE"),
            (false, true) => f.write_str("WRITABLE"),
            (false, false) => f.write_str("(none)"),
        }
    }
}

/// What a readiness wait found, limited to the directions it asked for.
///
/// Readiness is a hint kept by the reactor: it says the next operation in that direction is
/// worth trying, not that it will succeed. An operation that finds nothing
/// (`WouldBlock`) clears it, and the next wait sleeps until the kernel reports a change.
///
/// ```
/// use evloop::io::AsyncWriteExt;
/// use evloop::net::{Interest, TcpListener, TcpStream};
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let client = TcpStream::connect(listener.local_addr()?).await?;
///     let (mut server, _) = listener.accept().await?;
///     server.write_all(b"x").await?;
///
///     let ready = client.ready(Interest::READABLE | Interest::WRITABLE).await?;
///     assert!(ready.is_writable()); // room in a fresh send buffer
///     let ready = client.ready(Interest::READABLE).await?;
///     assert!(ready.is_readable() && !ready.is_writable()); // only what was asked for
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ready(u8);

impl Ready {
    /// Keeps the bits of `readiness` that `interest` asked for. An error (`EPOLLERR`) makes
    /// both directions ready, so the next operation reports it.
    pub(crate) fn from_readiness(readiness: u8, interest: Interest) -> Ready {
        let mut bits = 0;
        if interest.is_readable() {
            if readiness & (READABLE | ERROR | CLOSED_BY_SHUTDOWN) != 0 {
                bits |= READABLE;
            }
            bits |= readiness & READ_CLOSED;
        }
        if interest.is_writable() {
            if readiness & (WRITABLE | ERROR | CLOSED_BY_SHUTDOWN) != 0 {
                bits |= WRITABLE;
            }
            bits |= readiness & WRITE_CLOSED;
        }
        Ready(bits)
    }

    /// True if a read (or accept) is worth trying: data, a connection, an error, or the
    /// peer's EOF ([`is_read_closed`](Self::is_read_closed) implies this, as in tokio).
    pub fn is_readable(self) -> bool {
        self.0 & (READABLE | READ_CLOSED) != 0
    }

    /// True if a write is worth trying: room, an error, or a closed write side
    /// ([`is_write_closed`](Self::is_write_closed) implies this).
    pub fn is_writable(self) -> bool {
        self.0 & (WRITABLE | WRITE_CLOSED) != 0
    }

    /// True if the peer closed its write side: reads return what is left, then 0.
    pub fn is_read_closed(self) -> bool {
        self.0 & READ_CLOSED != 0
    }

    /// True if this side can no longer write (the peer reset or shut down the connection).
    pub fn is_write_closed(self) -> bool {
        self.0 & WRITE_CLOSED != 0
    }

    /// True if no direction is ready.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Debug for Ready {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ready")
            .field("readable", &self.is_readable())
            .field("writable", &self.is_writable())
            .field("read_closed", &self.is_read_closed())
            .field("write_closed", &self.is_write_closed())
            .finish()
    }
}
