//! The `futures-io` bridge (`--features futures-io`): `futures`' combinators on evloop's
//! streams, evloop's helpers on `futures` streams, and the two wrappers.

mod support;

use std::io::IoSlice;
use std::time::Duration;

use evloop::compat::{EvloopIo, FuturesIo};
use evloop::net::{TcpListener, TcpStream};
use futures::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _};

use support::{join, pattern, rt, with_deadline};

/// Far more than any case here needs: only a hang reaches it.
const HANG_GUARD: Duration = Duration::from_secs(20);

/// A connected pair: (client, server side).
async fn connected() -> std::io::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let client = TcpStream::connect(listener.local_addr()?).await?;
    let (server, _) = listener.accept().await?;
    Ok((client, server))
}

/// An echo through `futures::io::copy` between the split halves of an evloop stream, driven by
/// `futures`' `write_all`, `close` and `read_to_end` on the other end: the data is larger than
/// the socket buffers, so every bridge method waits and resumes.
#[test]
fn futures_copy_echoes_through_evloop_halves() {
    rt().block_on(with_deadline(HANG_GUARD, "a 2 MiB echo", async {
        let (mut client, mut server) = connected().await?;
        let data = pattern(7, 2 << 20);
        let echo = async {
            // Named: with `futures`' `AsyncReadExt` in scope, `server.split()` would pick its
            // by-value `split` (a lock around the whole stream) over evloop's `&mut` one.
            let (mut reader, mut writer) = TcpStream::split(&mut server);
            let copied = futures::io::copy(&mut reader, &mut writer).await?;
            writer.close().await?;
            Ok::<u64, std::io::Error>(copied)
        };
        let (mut read_side, mut write_side) = TcpStream::split(&mut client);
        let talk = async {
            let send = async {
                write_side.write_all(&data).await?;
                // `close` is evloop's shutdown: the echo sees EOF.
                write_side.close().await
            };
            let mut back = Vec::new();
            let (sent, read) = join(send, read_side.read_to_end(&mut back)).await;
            sent?;
            read?;
            Ok::<Vec<u8>, std::io::Error>(back)
        };
        let (copied, back) = join(echo, talk).await;
        assert_eq!(copied?, data.len() as u64);
        assert!(back? == data, "the echo differs from what was sent");
        Ok::<(), std::io::Error>(())
    }))
    .unwrap();
}

/// The stream's vectored write sends every buffer in one call; the trait's default would send
/// only the first.
#[test]
fn write_vectored_on_a_stream_sends_every_buffer() {
    rt().block_on(with_deadline(HANG_GUARD, "a vectored write", async {
        let (mut client, mut server) = connected().await?;
        let parts = [
            IoSlice::new(b"head "),
            IoSlice::new(b""),
            IoSlice::new(b"body"),
        ];
        let n = client.write_vectored(&parts).await?;
        assert_eq!(n, 9, "a fresh socket's send buffer takes nine bytes whole");
        client.close().await?;
        let mut got = String::new();
        server.read_to_string(&mut got).await?;
        assert_eq!(got, "head body");
        Ok::<(), std::io::Error>(())
    }))
    .unwrap();
}

/// evloop's `BufReader` over a stream, read by `futures`' line and delimiter helpers.
#[test]
fn futures_read_line_on_an_evloop_buf_reader() {
    rt().block_on(with_deadline(HANG_GUARD, "two lines", async {
        let (mut client, server) = connected().await?;
        client
            .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\nrest")
            .await?;
        client.close().await?;
        let mut reader = evloop::io::BufReader::new(server);
        let mut line = String::new();
        reader.read_line(&mut line).await?;
        assert_eq!(line, "GET / HTTP/1.1\r\n");
        let mut until = Vec::new();
        reader.read_until(b':', &mut until).await?;
        assert_eq!(until, b"host:");
        let mut rest = Vec::new();
        reader.read_to_end(&mut rest).await?;
        assert_eq!(rest, b" x\r\n\r\nrest");
        Ok::<(), std::io::Error>(())
    }))
    .unwrap();
}

/// `futures` in-memory streams, wrapped in `EvloopIo`, driven by evloop's helpers: its
/// `AsyncReadExt`, its `BufReader`, its `AsyncBufReadExt` (through `futures`' own
/// `BufReader`), its `copy` and its `shutdown`.
#[test]
fn evloop_helpers_on_futures_streams() {
    use evloop::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    rt().block_on(async {
        let data = pattern(3, 100_000);

        let mut reader = EvloopIo::new(futures::io::Cursor::new(data.clone()));
        let mut all = Vec::new();
        reader.read_to_end(&mut all).await?;
        assert!(all == data);

        let cursor = futures::io::Cursor::new(b"one\ntwo\n".to_vec());
        let mut lines = EvloopIo::new(futures::io::BufReader::new(cursor));
        let mut line = String::new();
        lines.read_line(&mut line).await?;
        assert_eq!(line, "one\n");
        line.clear();
        let mut buffered = evloop::io::BufReader::new(lines);
        // Both `read_line`s apply to evloop's `BufReader` with the feature on: name one.
        AsyncBufReadExt::read_line(&mut buffered, &mut line).await?;
        assert_eq!(line, "two\n");

        let mut source = EvloopIo::new(futures::io::Cursor::new(data.clone()));
        let mut sink = EvloopIo::new(futures::io::Cursor::new(Vec::new()));
        let copied = evloop::io::copy(&mut source, &mut sink).await?;
        assert_eq!(copied, data.len() as u64);
        sink.shutdown().await?;
        assert!(sink.into_inner().into_inner() == data);
        Ok::<(), std::io::Error>(())
    })
    .unwrap();
}

/// Both wrappers around one TCP stream: evloop → futures → evloop again, then `FuturesIo`
/// around evloop's in-memory duplex pipe, driven by `futures`.
#[test]
fn wrappers_compose_both_ways() {
    use evloop::io::{AsyncReadExt, AsyncWriteExt};
    rt().block_on(with_deadline(HANG_GUARD, "the wrappers", async {
        let (client, server) = connected().await?;
        let mut there_and_back = EvloopIo::new(FuturesIo::new(client));
        there_and_back.write_all(b"ping").await?;
        there_and_back.shutdown().await?;
        let mut server = FuturesIo::new(server);
        let mut got = Vec::new();
        futures::io::AsyncReadExt::read_to_end(&mut server, &mut got).await?;
        assert_eq!(got, b"ping");

        let (left, right) = evloop::io::duplex(64);
        let mut left = FuturesIo::new(left);
        let mut right = FuturesIo::new(right);
        let message = pattern(9, 10_000);
        let send = async {
            futures::io::AsyncWriteExt::write_all(&mut left, &message).await?;
            futures::io::AsyncWriteExt::close(&mut left).await
        };
        let mut received = Vec::new();
        let receive = futures::io::AsyncReadExt::read_to_end(&mut right, &mut received);
        let (sent, read) = join(send, receive).await;
        sent?;
        read?;
        assert!(received == message);
        // The wrapped stream is still reachable.
        right.get_mut().read(&mut [0; 1]).await?;
        Ok::<(), std::io::Error>(())
    }))
    .unwrap();
}
