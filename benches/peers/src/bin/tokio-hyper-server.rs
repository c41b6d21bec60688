//! hyper 1.x on tokio's current_thread runtime: the peer `http-bench` compares evloop's
//! `hyper-server` example with. The same service (`GET /` answers `hello, world\n`; a `POST`
//! gets its body back), the same listener and `TCP_NODELAY`, and a timer (so hyper's 30 s
//! header-read timeout is armed per request here too, as on evloop).
//!
//! ```text
//! cargo run --release -p evloop-peers --bin tokio-hyper-server -- --addr 127.0.0.1:8081
//! ```
//!
//! hyper 1.x has no tokio glue of its own (that is `hyper-util`, which the comparison leaves
//! out on both sides); the two adapters below, `TokioIo` and `TokioTimer`, are the usual ones,
//! written out. SIGINT and SIGTERM end it at once.

#![warn(missing_docs, rust_2018_idioms)]

use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use evloop_peers::{args, listener};
use hyper::body::{Body, Bytes, Frame, Incoming};
use hyper::rt::ReadBufCursor;
use hyper::{Method, Request, Response};

/// The body of `GET /`, byte for byte `hyper-server`'s.
const GREETING: &str = "hello, world\n";

/// The largest body echoed back, as in `hyper-server`.
const MAX_ECHO_BYTES: usize = 16 << 20;

fn main() -> io::Result<()> {
    let usage = "hyper on tokio current_thread, http-bench's peer.\n\n\
                 Usage: tokio-hyper-server [--addr HOST:PORT]\n"
        .to_string();
    let flags = args::Flags::from_env(usage, &["--addr"]);
    let addr = flags.addr("--addr", "127.0.0.1:8081");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::from_std(listener::bind(addr)?)?;
        println!("listening on {}", listener.local_addr()?);
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    eprintln!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            // Small answers to a waiting client: Nagle would hold them back.
            let _ = stream.set_nodelay(true);
            // hyper's connection over a tokio stream is `Send`, so plain `spawn` takes it.
            tokio::spawn(serve(stream));
        }
    })
}

/// Serves one connection until the client closes it.
async fn serve(stream: tokio::net::TcpStream) {
    let served = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer)
        .serve_connection(TokioIo(stream), hyper::service::service_fn(respond))
        .await;
    if let Err(e) = served
        && !e.is_incomplete_message()
    {
        eprintln!("connection: {e}");
    }
}

/// `GET /` greets; `POST` echoes its body (up to [`MAX_ECHO_BYTES`]); anything else is 404.
async fn respond(request: Request<Incoming>) -> hyper::Result<Response<Full>> {
    Ok(match *request.method() {
        Method::GET if request.uri().path() == "/" => Response::new(Full(Some(GREETING.into()))),
        Method::POST => {
            let mut body = request.into_body();
            let mut all = Vec::new();
            while let Some(frame) = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
                if let Ok(data) = frame?.into_data() {
                    if data.len() > MAX_ECHO_BYTES - all.len() {
                        return Ok(status(413));
                    }
                    all.extend_from_slice(&data);
                }
            }
            Response::new(Full(Some(all.into())))
        }
        _ => status(404),
    })
}

fn status(code: u16) -> Response<Full> {
    let mut response = Response::new(Full(None));
    *response.status_mut() = hyper::StatusCode::from_u16(code).expect("a valid status");
    response
}

/// A body of one chunk (or none).
struct Full(Option<Bytes>);

impl Body for Full {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.take().map(|bytes| Ok(Frame::data(bytes))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_none()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(self.0.as_ref().map_or(0, |b| b.len() as u64))
    }
}

/// hyper's I/O traits over a tokio stream, vectored as evloop's are.
struct TokioIo(tokio::net::TcpStream);

impl hyper::rt::Read for TokioIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        // SAFETY: tokio's `ReadBuf` never de-initializes bytes (the rule `as_mut` asks us to
        // keep), and `advance(n)` follows a read that filled exactly `n` bytes of that slice.
        let n = unsafe {
            let mut tokio_buf = tokio::io::ReadBuf::uninit(buf.as_mut());
            ready!(tokio::io::AsyncRead::poll_read(
                Pin::new(&mut self.0),
                cx,
                &mut tokio_buf
            ))?;
            tokio_buf.filled().len()
        };
        // SAFETY: see above: the first `n` unfilled bytes were written by the read.
        unsafe { buf.advance(n) };
        Poll::Ready(Ok(()))
    }
}

impl hyper::rt::Write for TokioIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        tokio::io::AsyncWrite::poll_write(Pin::new(&mut self.0), cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        tokio::io::AsyncWrite::poll_write_vectored(Pin::new(&mut self.0), cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        tokio::io::AsyncWrite::poll_flush(Pin::new(&mut self.0), cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        tokio::io::AsyncWrite::poll_shutdown(Pin::new(&mut self.0), cx)
    }
}

/// hyper's timer on tokio's: tokio's `Sleep` is `Send + Sync` already.
#[derive(Clone, Copy)]
struct TokioTimer;

/// A tokio sleep, boxed for hyper.
struct TokioSleep(tokio::time::Sleep);

impl Future for TokioSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: structural pinning of the only field; `TokioSleep` never moves it out and
        // has no `Drop` or `Unpin` impl of its own.
        unsafe { self.map_unchecked_mut(|sleep| &mut sleep.0) }.poll(cx)
    }
}

impl hyper::rt::Sleep for TokioSleep {}

impl hyper::rt::Timer for TokioTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(TokioSleep(tokio::time::sleep(duration)))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(TokioSleep(tokio::time::sleep_until(deadline.into())))
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<TokioSleep>() {
            // SAFETY: structural pinning of the only field, as in `poll`.
            Some(ours) => {
                unsafe { ours.map_unchecked_mut(|sleep| &mut sleep.0) }.reset(new_deadline.into())
            }
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}
