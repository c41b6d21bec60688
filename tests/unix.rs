//! Unix-domain sockets: `UnixListener`, `UnixStream` (halves, peer credentials) and
//! `UnixDatagram`, on pathnames in a temporary directory each test creates and removes, and
//! on abstract names. Bad input: a path that exists, a path with no socket, a name too long,
//! a datagram larger than the buffer.

#![cfg(not(miri))] // Miri cannot create sockets.

mod support;

use std::cell::Cell;
use std::fs;
use std::future::poll_fn;
use std::io::ErrorKind;
use std::net::Shutdown;
use std::os::linux::net::SocketAddrExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

use evloop::io::{AsyncReadExt, AsyncWriteExt};
use evloop::net::unix::SocketAddr;
use evloop::net::{Interest, UnixDatagram, UnixListener, UnixStream};
use evloop::time::sleep;
use support::{join, pattern, rt, with_deadline};

/// Bounds every wait: far more than any of these operations needs.
const LIMIT: Duration = Duration::from_secs(10);

/// Long enough for spawned tasks to run up to their first `Pending`.
const SETTLE: Duration = Duration::from_millis(20);

/// A directory of its own under the system's temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> TempDir {
        thread_local!(static NEXT: Cell<u32> = const { Cell::new(0) });
        let n = NEXT.with(|next| next.replace(next.get() + 1));
        let dir =
            std::env::temp_dir().join(format!("evloop-unix-{}-{test}-{n}", std::process::id()));
        fs::create_dir_all(&dir).expect("creating the test's temporary directory");
        TempDir(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// An abstract name no other process uses.
fn abstract_name(test: &str) -> String {
    format!("evloop-test-{}-{test}", std::process::id())
}

#[test]
fn listener_accepts_and_streams_echo_on_a_pathname() {
    let dir = TempDir::new("echo");
    let path = dir.path("echo.sock");
    rt().block_on(with_deadline(LIMIT, "echo", async {
        let listener = UnixListener::bind(&path).unwrap();
        assert_eq!(listener.local_addr().unwrap().as_pathname(), Some(&*path));
        assert!(path.exists(), "binding created the socket file");

        let data = pattern(3, 256 * 1024);
        let expected = data.clone();
        let client = evloop::spawn({
            let path = path.clone();
            async move {
                let mut stream = UnixStream::connect(&path).await.unwrap();
                assert_eq!(stream.peer_addr().unwrap().as_pathname(), Some(&*path));
                assert!(stream.local_addr().unwrap().is_unnamed());
                let (mut read, mut write) = stream.split();
                let (_, echoed) = join(
                    async {
                        write.write_all(&data).await.unwrap();
                        write.shutdown().await.unwrap();
                    },
                    async {
                        let mut echoed = Vec::new();
                        read.read_to_end(&mut echoed).await.unwrap();
                        echoed
                    },
                )
                .await;
                echoed
            }
        });
        let (mut conn, peer) = listener.accept().await.unwrap();
        assert!(peer.is_unnamed(), "the client did not bind");
        let mut buf = vec![0; 4096];
        loop {
            let n = conn.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            conn.write_all(&buf[..n]).await.unwrap();
        }
        conn.shutdown().await.unwrap();
        let echoed = client.await.unwrap();
        assert!(echoed == expected, "the echo is byte-exact");
    }));
    assert!(path.exists(), "evloop does not remove the socket file");
}

/// The bad input: a pathname that already exists. Binding fails with `AddrInUse`
/// whether a socket or a plain file is there, and the file is left as it was.
#[test]
fn binding_a_path_that_exists_is_addr_in_use_and_leaves_the_file() {
    let dir = TempDir::new("exists");
    let file = dir.path("plain-file");
    fs::write(&file, b"not a socket").unwrap();
    let socket_path = dir.path("live.sock");
    rt().block_on(with_deadline(LIMIT, "exists", async {
        let error = UnixListener::bind(&file).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::AddrInUse, "{error}");
        let error = UnixDatagram::bind(&file).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::AddrInUse, "{error}");
        assert_eq!(fs::read(&file).unwrap(), b"not a socket");

        let _listener = UnixListener::bind(&socket_path).unwrap();
        let error = UnixListener::bind(&socket_path).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::AddrInUse, "{error}");
    }));
    // Closed, but the file stays: binding again still fails until someone removes it.
    rt().block_on(async {
        let error = UnixListener::bind(&socket_path).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::AddrInUse, "{error}");
        fs::remove_file(&socket_path).unwrap();
        UnixListener::bind(&socket_path).expect("bind after removing the stale file");
    });
}

#[test]
fn connecting_where_no_one_listens_fails_at_once() {
    let dir = TempDir::new("nobody");
    rt().block_on(with_deadline(LIMIT, "nobody", async {
        let error = UnixStream::connect(dir.path("missing.sock"))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");

        let stale = dir.path("stale.sock");
        drop(UnixListener::bind(&stale).unwrap());
        let error = UnixStream::connect(&stale).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ConnectionRefused, "{error}");

        let long = dir.path(&"x".repeat(200));
        let error = UnixListener::bind(&long).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput, "{error}");
        let error = UnixStream::connect(&long).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput, "{error}");
    }));
}

/// A listener whose accept queue is full: Linux refuses a non-blocking Unix connect with
/// `EAGAIN` and gives no event for room later, so `connect` fails at once (`WouldBlock`, with
/// a message that says why) instead of waiting for an edge that never comes.
#[test]
fn connecting_to_a_full_accept_queue_fails_at_once_and_works_after_an_accept() {
    use std::os::fd::AsRawFd;

    let dir = TempDir::new("backlog");
    let path = dir.path("full.sock");
    rt().block_on(with_deadline(LIMIT, "full backlog", async {
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        // SAFETY: `listen` only reads its two integer arguments; `listener` keeps the
        // descriptor open across the call.
        let listened = unsafe { libc::listen(listener.as_raw_fd(), 0) };
        assert_eq!(
            listened, 0,
            "lowering the backlog to 0 (one queued connection)"
        );
        let listener = UnixListener::from_std(listener).unwrap();

        let _queued = UnixStream::connect(&path).await.unwrap();
        let error = UnixStream::connect(&path).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::WouldBlock, "{error}");
        assert!(
            error.to_string().contains("accept queue is full"),
            "{error}"
        );

        listener.accept().await.unwrap();
        UnixStream::connect(&path)
            .await
            .expect("room in the queue again after an accept");
    }));
}

/// The bad input: abstract-namespace names. They work through `bind_addr` and through
/// a path with a leading NUL, and leave no file anywhere (the same name as a path in the test
/// directory stays absent).
#[test]
fn abstract_names_connect_and_leave_no_file() {
    let dir = TempDir::new("abstract");
    rt().block_on(with_deadline(LIMIT, "abstract", async {
        let name = abstract_name("stream");
        let addr = SocketAddr::from_abstract_name(&name).unwrap();
        let listener = UnixListener::bind_addr(&addr).unwrap();
        let bound = listener.local_addr().unwrap();
        assert_eq!(bound.as_abstract_name(), Some(name.as_bytes()));
        assert_eq!(bound.as_pathname(), None);

        let mut client = UnixStream::connect_addr(&addr).await.unwrap();
        let (mut conn, _) = listener.accept().await.unwrap();
        client.write_all(b"abstract").await.unwrap();
        let mut buf = [0; 8];
        conn.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"abstract");

        // The same name given as "\0name" reaches the same listener.
        let nul_path = format!("\0{name}");
        let _second = UnixStream::connect(&nul_path).await.unwrap();
        let (_, _) = listener.accept().await.unwrap();

        // A second bind of a live abstract name is refused like a pathname's.
        let error = UnixListener::bind(&nul_path).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::AddrInUse, "{error}");

        // Datagrams too, in both directions.
        let dgram_name = format!("\0{}", abstract_name("dgram"));
        let server = UnixDatagram::bind(&dgram_name).unwrap();
        let client = UnixDatagram::unbound().unwrap();
        client
            .send_to(b"to an abstract name", &dgram_name)
            .await
            .unwrap();
        let mut buf = [0; 64];
        let (n, from) = server.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"to an abstract name");
        assert!(from.is_unnamed());
        client.connect(&dgram_name).unwrap();
        client.send(b"connected").await.unwrap();
        let n = server.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"connected");

        for name in [&name, &dgram_name[1..].to_string()] {
            assert!(!dir.path(name).exists());
            assert!(!Path::new(name).exists());
        }
    }));
    assert_eq!(
        fs::read_dir(&dir.0).unwrap().count(),
        0,
        "no file was created"
    );
}

#[test]
fn peer_credentials_name_this_process() {
    rt().block_on(async {
        let (a, b) = UnixStream::pair().unwrap();
        // SAFETY: getuid and getgid cannot fail and have no preconditions.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        for stream in [&a, &b] {
            let cred = stream.peer_cred().unwrap();
            assert_eq!(cred.uid(), uid);
            assert_eq!(cred.gid(), gid);
            assert_eq!(cred.pid(), Some(std::process::id() as libc::pid_t));
        }
        assert!(a.local_addr().unwrap().is_unnamed());
        assert!(a.peer_addr().unwrap().is_unnamed());
    });
}

#[test]
fn owned_halves_work_in_two_tasks_and_dropping_the_writer_sends_eof() {
    rt().block_on(with_deadline(LIMIT, "owned halves", async {
        let (a, mut b) = UnixStream::pair().unwrap();
        let (mut read, write) = a.into_split();
        let data = pattern(4, 100_000);
        let writer = evloop::spawn({
            let data = data.clone();
            async move {
                let mut write = write;
                write.write_all(&data).await.unwrap();
                // Dropped here: shuts down the write direction.
            }
        });
        let echo = evloop::spawn(async move {
            let mut received = Vec::new();
            b.read_to_end(&mut received).await.unwrap();
            b.write_all(b"done").await.unwrap();
            received
        });
        writer.await.unwrap();
        let received = echo.await.unwrap();
        assert!(received == data, "every byte arrived, then EOF");
        let mut reply = [0; 4];
        read.read_exact(&mut reply).await.unwrap();
        assert_eq!(&reply, b"done");
    }));
}

#[test]
fn reunite_rejects_halves_of_different_streams_and_rejoins_the_same() {
    rt().block_on(with_deadline(LIMIT, "reunite", async {
        let (a, mut a_peer) = UnixStream::pair().unwrap();
        let (b, _b_peer) = UnixStream::pair().unwrap();
        let (a_read, a_write) = a.into_split();
        let (b_read, b_write) = b.into_split();
        let error = a_read.reunite(b_write).unwrap_err();
        assert!(error.to_string().contains("UnixStream"), "{error}");
        let (a_read, b_write) = (error.0, error.1);
        drop((b_read, b_write));
        let mut rejoined = a_read.reunite(a_write).unwrap();
        rejoined.write_all(b"still open").await.unwrap();
        rejoined.shutdown().await.unwrap();
        let mut received = Vec::new();
        a_peer.read_to_end(&mut received).await.unwrap();
        assert_eq!(received, b"still open");
    }));
}

#[test]
fn stream_readiness_and_try_operations() {
    rt().block_on(with_deadline(LIMIT, "stream readiness", async {
        let (a, b) = UnixStream::pair().unwrap();
        let mut buf = [0; 16];
        assert_eq!(
            b.try_read(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        assert_eq!(
            b.try_read(&mut []).unwrap(),
            0,
            "an empty buffer reads nothing"
        );
        a.writable().await.unwrap();
        assert_eq!(a.try_write(b"ready").unwrap(), 5);
        let n = loop {
            let ready = b.ready(Interest::READABLE).await.unwrap();
            assert!(ready.is_readable());
            match b.try_read(&mut buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
                Err(e) => panic!("try_read: {e}"),
            }
        };
        assert_eq!(&buf[..n], b"ready");
        drop(a);
        b.readable().await.unwrap();
        assert_eq!(
            b.try_read(&mut buf).unwrap(),
            0,
            "EOF after the peer closed"
        );
        poll_fn(|cx| b.poll_read_ready(cx)).await.unwrap();
    }));
}

/// Many waiters on a Unix listener: each `accept` is a waiter of its own.
#[test]
fn two_tasks_accepting_on_one_unix_listener_both_get_a_connection() {
    let dir = TempDir::new("accepters");
    let path = dir.path("many.sock");
    rt().block_on(with_deadline(LIMIT, "two accepters", async {
        let listener = Rc::new(UnixListener::bind(&path).unwrap());
        let tasks: Vec<_> = (0..2)
            .map(|_| {
                let listener = listener.clone();
                evloop::spawn(async move { listener.accept().await.map(drop) })
            })
            .collect();
        sleep(SETTLE).await; // both wait in accept
        let _clients = [
            UnixStream::connect(&path).await.unwrap(),
            UnixStream::connect(&path).await.unwrap(),
        ];
        for task in tasks {
            with_deadline(LIMIT, "each accepter", task)
                .await
                .unwrap()
                .unwrap();
        }
        assert_eq!(
            listener.try_accept().unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
    }));
}

#[test]
fn datagrams_between_pathnames_carry_their_sender() {
    let dir = TempDir::new("dgram");
    let (a_path, b_path) = (dir.path("a.sock"), dir.path("b.sock"));
    rt().block_on(with_deadline(LIMIT, "datagrams", async {
        let a = UnixDatagram::bind(&a_path).unwrap();
        let b = UnixDatagram::bind(&b_path).unwrap();
        assert_eq!(a.local_addr().unwrap().as_pathname(), Some(&*a_path));
        assert_eq!(a.peer_addr().unwrap_err().kind(), ErrorKind::NotConnected);
        a.send_to(b"hello", &b_path).await.unwrap();
        let mut buf = [0; 16];
        let (n, from) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"hello");
        assert_eq!(from.as_pathname(), Some(&*a_path));

        let error = a.send_to(b"x", dir.path("missing.sock")).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");
        let error = a.connect(dir.path("missing.sock")).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");
    }));
}

/// The bad input for Unix datagrams: a datagram larger than the buffer is cut to the
/// buffer (the receive returns `buf.len()`) and the rest is discarded.
#[test]
fn a_unix_datagram_larger_than_the_buffer_is_cut_and_the_rest_discarded() {
    rt().block_on(with_deadline(LIMIT, "unix truncation", async {
        let (a, b) = UnixDatagram::pair().unwrap();
        let big = pattern(5, 2000);
        a.send(&big).await.unwrap();
        a.send(b"next").await.unwrap();
        let mut small = [0; 100];
        assert_eq!(b.recv(&mut small).await.unwrap(), 100);
        assert_eq!(&small[..], &big[..100]);
        let n = b.recv(&mut small).await.unwrap();
        assert_eq!(&small[..n], b"next");
    }));
}

/// A Unix datagram shorter than the buffer does not mean the queue is empty (the
/// stream-socket shortcut would park the second `recv` with a datagram queued).
#[test]
fn a_short_unix_datagram_does_not_hide_the_one_queued_behind_it() {
    rt().block_on(with_deadline(LIMIT, "short datagrams", async {
        let (a, b) = UnixDatagram::pair().unwrap();
        a.send(b"first").await.unwrap();
        a.send(b"second").await.unwrap();
        let mut buf = [0; 64];
        let n = b.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"first");
        let n = b.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"second");
    }));
}

/// A connected sender that fills its peer's queue waits (it does not fail or spin), and is
/// woken when the peer drains the queue.
#[test]
fn a_sender_to_a_full_queue_waits_until_the_reader_drains_it() {
    rt().block_on(with_deadline(LIMIT, "full queue", async {
        let (a, b) = UnixDatagram::pair().unwrap();
        let mut queued = 0;
        while a.try_send(&[7; 512]).is_ok() {
            queued += 1;
            assert!(queued < 1_000_000, "the queue never filled");
        }
        assert_eq!(a.try_send(b"x").unwrap_err().kind(), ErrorKind::WouldBlock);
        let (sent, drained) = join(a.send(b"last"), async {
            sleep(SETTLE).await; // the sender is parked first
            let mut buf = [0; 512];
            for _ in 0..queued {
                b.recv(&mut buf).await.unwrap();
            }
            let n = b.recv(&mut buf).await.unwrap();
            buf[..n].to_vec()
        })
        .await;
        assert_eq!(sent.unwrap(), 4);
        assert_eq!(drained, b"last");
    }));
}

#[test]
fn datagram_try_and_poll_operations_and_shutdown() {
    rt().block_on(with_deadline(LIMIT, "datagram try ops", async {
        let (a, b) = UnixDatagram::pair().unwrap();
        let mut buf = [0; 16];
        assert_eq!(
            b.try_recv(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        assert_eq!(
            b.try_recv_from(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        poll_fn(|cx| a.poll_send_ready(cx)).await.unwrap();
        assert_eq!(poll_fn(|cx| a.poll_send(cx, b"p")).await.unwrap(), 1);
        poll_fn(|cx| b.poll_recv_ready(cx)).await.unwrap();
        let n = poll_fn(|cx| b.poll_recv(cx, &mut buf)).await.unwrap();
        assert_eq!(&buf[..n], b"p");
        a.writable().await.unwrap();
        assert_eq!(a.try_send(b"t").unwrap(), 1);
        b.readable().await.unwrap();
        let (n, from) = b.try_recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"t");
        assert!(from.is_unnamed());

        a.shutdown(Shutdown::Write).unwrap();
        let error = a.send(b"after shutdown").await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::BrokenPipe, "{error}");
    }));
}

#[test]
fn into_std_and_from_std_keep_the_socket_and_its_queue() {
    let rt = rt();
    rt.block_on(with_deadline(LIMIT, "std round trip", async {
        let (a, b) = UnixStream::pair().unwrap();
        let mut a = UnixStream::from_std(a.into_std().unwrap()).unwrap();
        a.write_all(b"kept").await.unwrap();
        let b = b.into_std().unwrap();
        let mut b = UnixStream::from_std(b).unwrap();
        let mut buf = [0; 4];
        b.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"kept");

        let (x, y) = UnixDatagram::pair().unwrap();
        x.send(b"queued").await.unwrap();
        let y = UnixDatagram::from_std(y.into_std().unwrap()).unwrap();
        let mut buf = [0; 8];
        let n = y.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"queued");

        let name = format!("\0{}", abstract_name("into-std"));
        let listener = UnixListener::bind(&name).unwrap().into_std().unwrap();
        let listener = UnixListener::from_std(listener).unwrap();
        let _client = UnixStream::connect(&name).await.unwrap();
        listener.accept().await.unwrap();
    }));
    assert_eq!(rt.metrics().io_registrations, 0, "nothing left registered");
}
