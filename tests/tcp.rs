//! TCP through evloop's reactor: echo under load, half-close and end of stream, split halves,
//! refused and reset connections, socket addresses and options, and sockets used without
//! their runtime.

// Miri cannot open sockets or call epoll, so this whole file is left out under it.
#![cfg(not(miri))]

mod support;

use std::cell::Cell;
use std::future::Future;
use std::io::{self, ErrorKind, Write as _};
use std::net::{Ipv4Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::pin::pin;
use std::rc::Rc;
use std::sync::mpsc;
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

use evloop::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use evloop::net::{TcpListener, TcpStream};
use evloop::task::yield_now;

use support::{join, pattern, rt, with_deadline};

/// Hang guard for a whole test: far above the tens of milliseconds each one needs.
const TEST_LIMIT: Duration = Duration::from_secs(20);

/// Hang guard for one operation that must not wait forever (a read after FIN or RST).
const OP_LIMIT: Duration = Duration::from_secs(5);

/// Write sizes cycled through by [`write_in_uneven_chunks`]: from one byte to a loopback
/// segment's worth, mostly primes, so that writes line up with no read buffer size.
const CHUNK_SIZES: [usize; 8] = [1, 13, 509, 4093, 9001, 2, 1500, 65_521];

/// A connected pair: `(client, server side)`, both in the current runtime.
async fn connected_pair() -> (TcpStream, TcpStream) {
    let (listener, addr) = support::listen().await;
    let client = TcpStream::connect(addr)
        .await
        .expect("connect to own listener");
    let (server, _) = listener.accept().await.expect("accept own client");
    (client, server)
}

/// Echoes everything `stream` receives until end of stream, then shuts down its write side.
/// Returns how many bytes it echoed; fails if more than `max_bytes` arrive.
async fn echo(mut stream: TcpStream, max_bytes: usize) -> io::Result<usize> {
    let mut buf = vec![0; 16 * 1024];
    let mut echoed = 0;
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        stream.write_all(&buf[..n]).await?;
        echoed += n;
        assert!(
            echoed <= max_bytes,
            "echo got {echoed} bytes, over {max_bytes}"
        );
    }
    stream.shutdown().await?;
    Ok(echoed)
}

/// Writes `data` in chunks whose sizes cycle through [`CHUNK_SIZES`], starting at `offset`.
async fn write_in_uneven_chunks<W>(writer: &mut W, data: &[u8], offset: usize) -> io::Result<()>
where
    W: AsyncWrite + Unpin,
{
    let mut rest = data;
    let mut turn = offset;
    while !rest.is_empty() {
        let n = CHUNK_SIZES[turn % CHUNK_SIZES.len()].min(rest.len());
        writer.write_all(&rest[..n]).await?;
        rest = &rest[n..];
        turn += 1;
    }
    Ok(())
}

/// Reads until end of stream; fails the test if more than `max_bytes` arrive.
async fn read_until_eof<R>(reader: &mut R, max_bytes: usize) -> io::Result<Vec<u8>>
where
    R: AsyncRead + Unpin,
{
    let mut received = Vec::new();
    let mut buf = vec![0; 32 * 1024];
    loop {
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            return Ok(received);
        }
        received.extend_from_slice(&buf[..n]);
        assert!(
            received.len() <= max_bytes,
            "read {} bytes, over {max_bytes}",
            received.len()
        );
    }
}

/// Asserts that `actual` equals `expected`, reporting lengths and the first differing offset
/// instead of printing megabytes.
fn assert_same_bytes(actual: &[u8], expected: &[u8], what: &str) {
    if actual == expected {
        return;
    }
    let first_difference = actual
        .iter()
        .zip(expected)
        .position(|(a, e)| a != e)
        .unwrap_or(actual.len().min(expected.len()));
    panic!(
        "{what}: got {} bytes, expected {}; first difference at offset {first_difference}",
        actual.len(),
        expected.len()
    );
}

/// Sets a socket option with `setsockopt(2)`; `value` must be the type the option expects.
fn set_socket_option<T: Copy>(
    socket: &impl AsRawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: T,
) -> io::Result<()> {
    let len = libc::socklen_t::try_from(size_of::<T>()).expect("option value fits socklen_t");
    // SAFETY: the pointer is to `value`, which is `len` bytes long and lives on this stack
    // frame for the whole call; the kernel only reads it. `socket` borrows an open descriptor,
    // so it cannot be closed or reused while the call runs.
    let result = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (&raw const value).cast(),
            len,
        )
    };
    if result == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Kernel buffer size set on [`client_with_small_buffers`]: a small fraction of what the split
/// tests send, so the writer fills it long before it is done.
const SMALL_SOCKET_BUFFER: libc::c_int = 64 * 1024;

/// Connects to `addr` with the socket's send and receive buffers fixed at
/// [`SMALL_SOCKET_BUFFER`]. Setting them turns off the kernel's buffer autotuning, which on
/// loopback can otherwise absorb several MiB: with it off, a writer far ahead of its reader
/// has to wait, whatever the machine's sysctls.
fn client_with_small_buffers(addr: SocketAddr) -> TcpStream {
    // A blocking connect is fine inside the runtime: the listener's backlog completes it.
    let stream = std::net::TcpStream::connect(addr).expect("connect to own listener");
    for option in [libc::SO_SNDBUF, libc::SO_RCVBUF] {
        set_socket_option(&stream, libc::SOL_SOCKET, option, SMALL_SOCKET_BUFFER)
            .expect("set a socket buffer size");
    }
    TcpStream::from_std(stream).expect("register the client with the runtime")
}

/// A std peer that sends `payload` and its FIN in one segment: with `TCP_CORK` on, the data
/// waits in the send queue, and `shutdown(Write)` sets FIN on that queued segment and sends it.
fn send_with_fin_in_one_segment(stream: &mut std::net::TcpStream, payload: &[u8]) {
    set_socket_option(stream, libc::IPPROTO_TCP, libc::TCP_CORK, 1 as libc::c_int)
        .expect("set TCP_CORK");
    stream.write_all(payload).expect("peer writes its payload");
    stream
        .shutdown(std::net::Shutdown::Write)
        .expect("peer shuts down its write side");
}

#[test]
fn echo_of_100_concurrent_connections_is_byte_exact_and_releases_everything() {
    const CLIENTS: usize = 100;
    const BYTES_PER_CLIENT: usize = 64 * 1024;

    /// Client `index` sends its own pattern, a little longer than its predecessor's.
    fn client_data(index: usize) -> Vec<u8> {
        pattern(index as u64, BYTES_PER_CLIENT + 7 * index)
    }

    let rt = rt();
    rt.block_on(with_deadline(TEST_LIMIT, "100 echo clients", async {
        let (listener, addr) = support::listen().await;
        let open = Rc::new(Cell::new(0));
        let most_open = Rc::new(Cell::new(0));
        let server = evloop::spawn({
            let most_open = most_open.clone();
            async move {
                let mut connections = Vec::with_capacity(CLIENTS);
                for _ in 0..CLIENTS {
                    let (stream, _) = listener.accept().await.expect("accept");
                    let open = open.clone();
                    let most_open = most_open.clone();
                    connections.push(evloop::spawn(async move {
                        open.set(open.get() + 1);
                        most_open.set(most_open.get().max(open.get()));
                        let echoed = echo(stream, 2 * BYTES_PER_CLIENT).await;
                        open.set(open.get() - 1);
                        echoed
                    }));
                }
                let mut echoed = 0;
                for connection in connections {
                    echoed += connection.await.expect("echo task").expect("echo");
                }
                echoed
            }
        });
        let clients: Vec<_> = (0..CLIENTS)
            .map(|index| {
                evloop::spawn(async move {
                    let data = client_data(index);
                    let mut stream = TcpStream::connect(addr).await?;
                    let (mut reader, mut writer) = stream.split();
                    let send = async {
                        write_in_uneven_chunks(&mut writer, &data, index).await?;
                        writer.shutdown().await
                    };
                    let (sent, received) =
                        join(send, read_until_eof(&mut reader, data.len())).await;
                    sent?;
                    assert_same_bytes(&received?, &data, &format!("client {index}"));
                    Ok::<usize, io::Error>(data.len())
                })
            })
            .collect();
        let mut sent = 0;
        for client in clients {
            sent += client.await.expect("client task").expect("client I/O");
        }
        let echoed = server.await.expect("server task");
        assert_eq!(echoed, sent, "the server echoed what the clients sent");
        assert!(
            most_open.get() >= 10,
            "premise: the connections were served at the same time, not one after another \
             (at most {} were open at once)",
            most_open.get()
        );
    }));
    let metrics = rt.metrics();
    assert_eq!(metrics.io_registrations, 0, "every socket deregistered");
    assert_eq!(metrics.live_tasks, 0, "every task finished");
    assert_eq!(
        metrics.pending_timers, 0,
        "the deadline's timer was removed"
    );
}

#[test]
fn half_closed_client_still_reads_the_whole_echo_until_eof() {
    // Small enough for the kernel's buffers to hold even if the client read nothing back.
    const BYTES: usize = 48 * 1024;

    rt().block_on(with_deadline(TEST_LIMIT, "half-close", async {
        let (listener, addr) = support::listen().await;
        let server = evloop::spawn(async move {
            let (mut stream, _) = listener.accept().await?;
            let mut buf = vec![0; 3000];
            let mut seen = 0;
            loop {
                let n = stream.read(&mut buf).await?;
                if n == 0 {
                    break;
                }
                seen += n;
                assert!(seen <= BYTES, "server got more than was sent");
                stream.write_all(&buf[..n]).await?;
            }
            // The client's FIN was read as 0: only now close this side, after the last echo.
            stream.shutdown().await?;
            Ok::<usize, io::Error>(seen)
        });

        let data = pattern(1, BYTES);
        let mut client = TcpStream::connect(addr).await.unwrap();
        client.write_all(&data).await.unwrap();
        client.shutdown().await.unwrap();
        let late = client.write(b"late").await;
        assert_eq!(
            late.map_err(|error| error.kind()).unwrap_err(),
            ErrorKind::BrokenPipe,
            "a write after shutdown() fails"
        );

        let echoed = read_until_eof(&mut client, BYTES).await.unwrap();
        assert_same_bytes(&echoed, &data, "echo read after our shutdown");
        let seen = server.await.unwrap().unwrap();
        assert_eq!(seen, BYTES, "the server saw EOF only after every byte");
    }));
}

#[test]
fn data_and_fin_queued_before_accept_are_read_then_eof() {
    const PAYLOAD: &[u8] = b"data and FIN, queued before anyone listened for them";

    rt().block_on(with_deadline(TEST_LIMIT, "data+FIN before accept", async {
        let (listener, addr) = support::listen().await;
        let peer = thread::spawn(move || {
            // Connecting needs no accept(): the kernel completes the handshake from its backlog.
            let mut stream = std::net::TcpStream::connect(addr).expect("peer connects");
            send_with_fin_in_one_segment(&mut stream, PAYLOAD);
        });
        // Blocking this thread is fine here: the peer needs nothing from the runtime.
        peer.join().expect("peer thread");

        // The socket is readable and read-closed before it is registered: its first edge
        // carries both, and no other edge will ever come.
        let (mut stream, _) = listener.accept().await.unwrap();
        let received = with_deadline(
            OP_LIMIT,
            "reading data and EOF that were already there",
            read_until_eof(&mut stream, PAYLOAD.len()),
        )
        .await
        .unwrap();
        assert_eq!(received, PAYLOAD);
    }));
}

#[test]
fn data_and_fin_in_one_edge_wake_a_parked_reader_for_both() {
    const PAYLOAD: &[u8] = b"data and FIN, one segment, one edge";

    rt().block_on(with_deadline(TEST_LIMIT, "data+FIN in one edge", async {
        let (listener, addr) = support::listen().await;
        let (go, wait_for_go) = mpsc::channel::<()>();
        let (done, wait_for_done) = mpsc::channel::<()>();
        let peer = thread::spawn(move || {
            let mut stream = std::net::TcpStream::connect(addr).expect("peer connects");
            wait_for_go
                .recv_timeout(OP_LIMIT)
                .expect("the test says go");
            send_with_fin_in_one_segment(&mut stream, PAYLOAD);
            // Keep the socket open until the test has read: only the FIN may end the stream.
            let _ = wait_for_done.recv_timeout(OP_LIMIT);
        });
        let (mut stream, _) = listener.accept().await.unwrap();
        let reader = evloop::spawn(async move {
            let mut buf = [0; 4096];
            let first = stream.read(&mut buf).await?;
            let data = buf[..first].to_vec();
            let second = stream.read(&mut buf).await?;
            Ok::<(Vec<u8>, usize), io::Error>((data, second))
        });
        // Let the reader find nothing and park on its waker before anything is sent.
        yield_now().await;
        yield_now().await;
        go.send(()).unwrap();

        let (data, second) = with_deadline(OP_LIMIT, "reader woken by data+FIN", reader)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(data, PAYLOAD, "the first read returns the whole segment");
        assert_eq!(second, 0, "the next read sees the FIN of the same edge");
        done.send(()).unwrap();
        peer.join().expect("peer thread");
    }));
}

#[test]
fn short_read_does_not_lose_the_eof_behind_it() {
    const PAYLOAD: &[u8] = b"fewer bytes than the buffer";

    rt().block_on(with_deadline(TEST_LIMIT, "short read then EOF", async {
        let (mut client, mut server) = connected_pair().await;
        let writer = evloop::spawn(async move {
            client.write_all(PAYLOAD).await?;
            client.shutdown().await?;
            // Keep the socket open: the stream must end by FIN, not by a close.
            Ok::<TcpStream, io::Error>(client)
        });
        let _client = writer.await.unwrap().unwrap();

        let mut buf = [0; 1024];
        let reads = with_deadline(OP_LIMIT, "reads after a short read", async {
            let first = server.read(&mut buf).await?;
            let data = buf[..first].to_vec();
            let second = server.read(&mut buf).await?;
            let third = server.read(&mut buf).await?;
            Ok::<_, io::Error>((data, second, third))
        });
        let (data, second, third) = reads.await.unwrap();
        assert_eq!(
            data, PAYLOAD,
            "a read with a larger buffer returns all the data"
        );
        assert_eq!(second, 0, "the next read returns EOF instead of waiting");
        assert_eq!(third, 0, "EOF stays EOF");
    }));
}

#[test]
fn borrowed_halves_read_and_write_concurrently_in_one_task() {
    // Far more than the client's fixed buffers hold: the writer must wait for room while
    // the reader waits for the echo.
    const BYTES: usize = 4 * 1024 * 1024;

    rt().block_on(with_deadline(TEST_LIMIT, "borrowed split", async {
        let (listener, addr) = support::listen().await;
        let server = evloop::spawn(async move {
            let (stream, _) = listener.accept().await?;
            echo(stream, BYTES).await
        });
        let data = pattern(2, BYTES);
        let mut stream = client_with_small_buffers(addr);
        let written = Cell::new(0);
        let written_at_first_echo = Cell::new(None);

        let (mut reader, mut writer) = stream.split();
        let send = async {
            for chunk in data.chunks(64 * 1024) {
                writer.write_all(chunk).await?;
                written.set(written.get() + chunk.len());
            }
            writer.shutdown().await
        };
        let receive = async {
            let mut received = Vec::with_capacity(BYTES);
            let mut buf = vec![0; 24 * 1024];
            loop {
                let n = reader.read(&mut buf).await?;
                if n == 0 {
                    return Ok::<_, io::Error>(received);
                }
                if written_at_first_echo.get().is_none() {
                    written_at_first_echo.set(Some(written.get()));
                }
                received.extend_from_slice(&buf[..n]);
                assert!(received.len() <= BYTES, "more echoed than sent");
            }
        };
        let (sent, received) = join(send, receive).await;
        sent.unwrap();
        assert_same_bytes(&received.unwrap(), &data, "echo through borrowed halves");
        assert_eq!(server.await.unwrap().unwrap(), BYTES);
        let overlap = written_at_first_echo.get().expect("some echo arrived");
        assert!(
            overlap < BYTES,
            "premise: the echo started arriving before the writer finished \
             (it had written {overlap} of {BYTES} bytes)"
        );
    }));
}

#[test]
fn owned_halves_read_and_write_concurrently_in_two_tasks() {
    // As above: the two tasks wait at the same time, each on its own direction.
    const BYTES: usize = 4 * 1024 * 1024;

    let rt = rt();
    rt.block_on(with_deadline(TEST_LIMIT, "owned split", async {
        let (listener, addr) = support::listen().await;
        let server = evloop::spawn(async move {
            let (stream, _) = listener.accept().await?;
            echo(stream, BYTES).await
        });
        let data = Rc::new(pattern(3, BYTES));
        let written = Rc::new(Cell::new(0));
        let stream = client_with_small_buffers(addr);
        let (mut read_half, mut write_half) = stream.into_split();

        let writer = evloop::spawn({
            let data = data.clone();
            let written = written.clone();
            async move {
                for chunk in data.chunks(64 * 1024) {
                    write_half.write_all(chunk).await?;
                    written.set(written.get() + chunk.len());
                }
                // Dropping the half shuts down the write side: that is the echo's only EOF.
                drop(write_half);
                Ok::<(), io::Error>(())
            }
        });
        let reader = evloop::spawn({
            let written = written.clone();
            async move {
                let mut received = Vec::with_capacity(BYTES);
                let mut written_at_first_echo = None;
                let mut buf = vec![0; 24 * 1024];
                loop {
                    let n = read_half.read(&mut buf).await?;
                    if n == 0 {
                        return Ok::<_, io::Error>((received, written_at_first_echo));
                    }
                    written_at_first_echo.get_or_insert(written.get());
                    received.extend_from_slice(&buf[..n]);
                    assert!(received.len() <= BYTES, "more echoed than sent");
                }
            }
        });
        writer.await.unwrap().unwrap();
        let (received, written_at_first_echo) = reader.await.unwrap().unwrap();
        assert_same_bytes(&received, &data, "echo through owned halves");
        assert_eq!(server.await.unwrap().unwrap(), BYTES);
        let overlap = written_at_first_echo.expect("some echo arrived");
        assert!(
            overlap < BYTES,
            "premise: the echo started arriving before the writer finished \
             (it had written {overlap} of {BYTES} bytes)"
        );
    }));
    assert_eq!(
        rt.metrics().io_registrations,
        0,
        "the halves' socket deregistered"
    );
}

#[test]
fn dropping_the_owned_write_half_makes_the_peer_read_eof() {
    rt().block_on(with_deadline(TEST_LIMIT, "drop write half", async {
        let (client, mut server) = connected_pair().await;
        let (mut read_half, mut write_half) = client.into_split();
        write_half.write_all(b"last words").await.unwrap();
        drop(write_half);

        let received = with_deadline(
            OP_LIMIT,
            "peer reading after the write half dropped",
            read_until_eof(&mut server, 64),
        )
        .await
        .unwrap();
        assert_eq!(received, b"last words");

        // Only the write direction closed: the read half still receives.
        server.write_all(b"reply").await.unwrap();
        server.shutdown().await.unwrap();
        let reply = read_until_eof(&mut read_half, 64).await.unwrap();
        assert_eq!(reply, b"reply");
    }));
}

#[test]
fn reunite_rejects_halves_of_different_streams_and_rejoins_the_same() {
    rt().block_on(with_deadline(TEST_LIMIT, "reunite", async {
        let (first, mut first_peer) = connected_pair().await;
        let (second, _second_peer) = connected_pair().await;
        let first_addr = first.local_addr().unwrap();
        let second_addr = second.local_addr().unwrap();
        let (first_read, first_write) = first.into_split();
        let (second_read, second_write) = second.into_split();

        let error = first_read
            .reunite(second_write)
            .expect_err("halves of two streams must not reunite");
        let evloop::net::ReuniteError(first_read, second_write) = error;
        assert_eq!(
            first_read.local_addr().unwrap(),
            first_addr,
            "read half given back"
        );
        assert_eq!(
            second_write.local_addr().unwrap(),
            second_addr,
            "write half given back"
        );

        let mut rejoined = first_read
            .reunite(first_write)
            .expect("halves of one stream reunite");
        assert_eq!(rejoined.local_addr().unwrap(), first_addr);
        drop((second_read, second_write));

        // Reuniting must not have shut the write direction down: the stream still sends.
        rejoined.write_all(b"still open").await.unwrap();
        rejoined.shutdown().await.unwrap();
        let received = read_until_eof(&mut first_peer, 64).await.unwrap();
        assert_eq!(received, b"still open");
    }));
}

#[test]
fn connect_to_a_closed_port_is_refused() {
    // Bind then drop: the port is free and, on loopback, nothing listens on it.
    let addr = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .unwrap();
    let rt = rt();
    let result = rt.block_on(with_deadline(
        OP_LIMIT,
        "connect to a closed port",
        TcpStream::connect(addr),
    ));
    let error = result.expect_err("nobody listens there");
    assert_eq!(error.kind(), ErrorKind::ConnectionRefused, "{error}");
    assert_eq!(
        rt.metrics().io_registrations,
        0,
        "the failed socket deregistered"
    );
}

#[test]
fn peer_reset_ends_a_waiting_read_without_hanging() {
    rt().block_on(with_deadline(TEST_LIMIT, "reset", async {
        let (listener, addr) = support::listen().await;
        let (go, wait_for_go) = mpsc::channel::<()>();
        let peer = thread::spawn(move || {
            let stream = std::net::TcpStream::connect(addr).expect("peer connects");
            let linger = libc::linger {
                l_onoff: 1,
                l_linger: 0,
            };
            set_socket_option(&stream, libc::SOL_SOCKET, libc::SO_LINGER, linger)
                .expect("set SO_LINGER 0");
            wait_for_go
                .recv_timeout(OP_LIMIT)
                .expect("the test says go");
            // Closing with a zero linger time sends RST instead of FIN.
            drop(stream);
        });
        let (mut stream, _) = listener.accept().await.unwrap();
        let reader = evloop::spawn(async move {
            let mut buf = [0; 64];
            let result = stream.read(&mut buf).await;
            (result, stream)
        });
        // Let the reader park on its waker before the reset arrives.
        yield_now().await;
        yield_now().await;
        go.send(()).unwrap();

        let (result, mut stream) = with_deadline(OP_LIMIT, "read woken by RST", reader)
            .await
            .unwrap();
        match result {
            Err(error) if error.kind() == ErrorKind::ConnectionReset => {}
            Ok(0) => {}
            other => panic!("a reset read gives ConnectionReset or EOF, got {other:?}"),
        }
        let write = with_deadline(OP_LIMIT, "write after RST", stream.write(b"anyone?")).await;
        assert!(
            write.is_err(),
            "a write to a reset connection fails: {write:?}"
        );
        peer.join().expect("peer thread");
    }));
}

#[test]
fn addresses_and_nodelay_are_reported_and_set() {
    rt().block_on(with_deadline(TEST_LIMIT, "addresses", async {
        let (listener, addr) = support::listen().await;
        assert_eq!(addr.ip(), Ipv4Addr::LOCALHOST);
        assert_ne!(addr.port(), 0, "port 0 was replaced by the port picked");

        let client = TcpStream::connect(addr).await.unwrap();
        let (server, peer) = listener.accept().await.unwrap();
        assert_eq!(
            peer,
            client.local_addr().unwrap(),
            "accept returns the peer's address"
        );
        assert_eq!(client.peer_addr().unwrap(), addr);
        assert_eq!(server.local_addr().unwrap(), addr);
        assert_eq!(server.peer_addr().unwrap(), client.local_addr().unwrap());

        for stream in [&client, &server] {
            stream.set_nodelay(true).unwrap();
            assert!(stream.nodelay().unwrap());
            stream.set_nodelay(false).unwrap();
            assert!(!stream.nodelay().unwrap());
        }
    }));
}

#[test]
fn stream_used_after_its_runtime_dropped_fails_instead_of_hanging() {
    let std_listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let addr = std_listener.local_addr().unwrap();

    let first = rt();
    let mut stream = first
        .block_on(with_deadline(OP_LIMIT, "connect", TcpStream::connect(addr)))
        .unwrap();
    // The peer stays open and silent: nothing but the error can end a read.
    let (_peer, _) = std_listener.accept().unwrap();
    drop(first);

    let second = rt();
    let (read, write) = second.block_on(with_deadline(
        OP_LIMIT,
        "I/O on a stream whose runtime is gone",
        async {
            let mut buf = [0; 16];
            let read = stream.read(&mut buf).await;
            let write = stream.write(b"x").await;
            (read, write)
        },
    ));
    assert!(read.is_err(), "read after the runtime dropped: {read:?}");
    assert!(write.is_err(), "write after the runtime dropped: {write:?}");
    drop(stream);
    assert_eq!(
        second.metrics().io_registrations,
        0,
        "nothing registered here"
    );
}

#[test]
fn stream_used_in_another_live_runtime_does_not_hang() {
    let std_listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let addr = std_listener.local_addr().unwrap();

    let first = rt();
    let mut stream = first
        .block_on(with_deadline(OP_LIMIT, "connect", TcpStream::connect(addr)))
        .unwrap();
    let (mut peer, _) = std_listener.accept().unwrap();
    // The data is there before the second runtime looks: only `first`'s epoll has seen it.
    peer.write_all(b"hi").unwrap();

    let second = rt();
    let read = second.block_on(with_deadline(
        OP_LIMIT,
        "read on a stream registered with another, live runtime",
        async {
            let mut buf = [0; 16];
            let n = stream.read(&mut buf).await?;
            Ok::<Vec<u8>, io::Error>(buf[..n].to_vec())
        },
    ));
    // Either answer is fine (read the data, or refuse with an error); waiting forever is not.
    if let Ok(data) = read {
        assert_eq!(data, b"hi");
    }
    drop(first);
}

/// Polls `future` once with a no-op waker, on a thread with no runtime: the least an executor
/// can be. Nothing will ever wake it, so it must be ready at the first poll.
fn poll_outside_any_runtime<F: Future>(future: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(future).poll(&mut cx) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("outside a runtime the future must fail at once, not wait"),
    }
}

#[test]
fn io_objects_made_outside_a_runtime_fail_with_an_error_naming_evloop() {
    fn assert_names_evloop<T: std::fmt::Debug>(result: io::Result<T>, what: &str) {
        let error = result.expect_err(what);
        assert!(
            error.to_string().contains("evloop"),
            "{what}: the error should say evloop is missing, got: {error}"
        );
    }

    let bind = poll_outside_any_runtime(TcpListener::bind((Ipv4Addr::LOCALHOST, 0)));
    assert_names_evloop(bind, "TcpListener::bind outside a runtime");

    let std_listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let addr = std_listener.local_addr().unwrap();
    let connect = poll_outside_any_runtime(TcpStream::connect(addr));
    assert_names_evloop(connect, "TcpStream::connect outside a runtime");

    let std_stream = std::net::TcpStream::connect(addr).unwrap();
    assert_names_evloop(
        TcpStream::from_std(std_stream),
        "TcpStream::from_std outside a runtime",
    );
    assert_names_evloop(
        TcpListener::from_std(std_listener),
        "TcpListener::from_std outside a runtime",
    );
}
