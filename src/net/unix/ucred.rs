//! `UCred`: who is at the other end of a Unix stream.

/// The credentials of the process at the other end of a [`UnixStream`](super::UnixStream),
/// as the kernel recorded them when it connected (or created the pair): they do not follow
/// later `setuid` calls, and the process may have exited since. From `SO_PEERCRED`.
///
/// ```
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let (ours, _theirs) = evloop::net::UnixStream::pair()?;
///     let cred = ours.peer_cred()?;
///     assert_eq!(cred.pid(), Some(std::process::id() as i32));
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UCred {
    pid: Option<libc::pid_t>,
    uid: libc::uid_t,
    gid: libc::gid_t,
}

impl UCred {
    pub(crate) fn from_libc(cred: libc::ucred) -> UCred {
        UCred {
            // Linux reports 0 for a peer in a pid namespace that cannot see it.
            pid: (cred.pid != 0).then_some(cred.pid),
            uid: cred.uid,
            gid: cred.gid,
        }
    }

    /// The peer's effective user id.
    pub fn uid(&self) -> libc::uid_t {
        self.uid
    }

    /// The peer's effective group id.
    pub fn gid(&self) -> libc::gid_t {
        self.gid
    }

    /// The peer's process id; `None` if the kernel could not name it (a peer outside this
    /// process's pid namespace).
    pub fn pid(&self) -> Option<libc::pid_t> {
        self.pid
    }
}
