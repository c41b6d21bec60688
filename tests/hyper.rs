//! hyper 1.x on evloop (`--features hyper`): a server and a client talking over evloop's TCP
//! stream, the header-read timeout that needs evloop's timer, and the timer's sleep itself.

mod support;

use std::cell::{Cell, RefCell};
use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use evloop::compat::hyper::{Sleep, Timer};
use evloop::io::{AsyncReadExt, AsyncWriteExt};
use evloop::net::{TcpListener, TcpStream};
use hyper::body::{Body, Bytes, Frame, Incoming};
use hyper::rt::Timer as _;
use hyper::{Method, Request, Response};

use support::{pattern, rt, with_deadline};

/// Far more than any case here needs: only a hang reaches it.
const HANG_GUARD: Duration = Duration::from_secs(20);

/// A body of one chunk, known in advance.
struct Full(Option<Bytes>);

impl Full {
    fn new(bytes: impl Into<Bytes>) -> Full {
        Full(Some(bytes.into()))
    }
}

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
}

/// Every data frame of `body`, concatenated.
async fn collect(mut body: Incoming) -> hyper::Result<Vec<u8>> {
    let mut all = Vec::new();
    while let Some(frame) = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        if let Ok(data) = frame?.into_data() {
            all.extend_from_slice(&data);
        }
    }
    Ok(all)
}

/// `GET /` says hello; any `POST` gets its body back.
async fn hello_or_echo(request: Request<Incoming>) -> hyper::Result<Response<Full>> {
    Ok(match *request.method() {
        Method::POST => Response::new(Full::new(collect(request.into_body()).await?)),
        _ => Response::new(Full::new("hello")),
    })
}

/// A server for `connections` connections, each served with evloop's timer; returns its
/// address and each connection's result, filled in as they end.
async fn serve(
    connections: usize,
    header_read_timeout: Duration,
) -> std::io::Result<(std::net::SocketAddr, Rc<RefCell<Vec<hyper::Result<()>>>>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let results = Rc::new(RefCell::new(Vec::new()));
    let ended = results.clone();
    evloop::spawn(async move {
        for _ in 0..connections {
            let (stream, _) = listener.accept().await.expect("accept");
            let ended = ended.clone();
            evloop::spawn(async move {
                let served = hyper::server::conn::http1::Builder::new()
                    .timer(Timer)
                    .header_read_timeout(header_read_timeout)
                    .serve_connection(stream, hyper::service::service_fn(hello_or_echo))
                    .await;
                ended.borrow_mut().push(served);
            });
        }
    });
    Ok((addr, results))
}

#[test]
fn get_and_large_post_share_one_keep_alive_connection() {
    rt().block_on(with_deadline(HANG_GUARD, "three requests", async {
        let (addr, results) = serve(1, Duration::from_secs(30)).await?;
        let stream = TcpStream::connect(addr).await?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(stream)
            .await
            .expect("handshake");
        let client_connection = evloop::spawn(connection);

        // Larger than a socket's send buffer, so both sides' vectored writes are partial and
        // must carry on where they stopped.
        let big = pattern(12, 3 << 20);
        for (method, body, expected) in [
            (Method::GET, Bytes::new(), Bytes::from_static(b"hello")),
            (
                Method::POST,
                Bytes::from(big.clone()),
                Bytes::from(big.clone()),
            ),
            (Method::GET, Bytes::new(), Bytes::from_static(b"hello")),
        ] {
            let request = Request::builder()
                .method(method.clone())
                .uri("/")
                .body(Full::new(body))
                .expect("a valid request");
            let response = sender.send_request(request).await.expect("a response");
            assert_eq!(response.status(), 200, "{method}");
            let got = collect(response.into_body()).await.expect("the body");
            assert!(got == expected, "{method}: {} bytes back", got.len());
        }
        // The one connection the server accepted served all three; closing ours ends it.
        drop(sender);
        client_connection
            .await
            .expect("the client task")
            .expect("the client connection ends cleanly");
        for _ in 0..200 {
            if !results.borrow().is_empty() {
                break;
            }
            evloop::time::sleep(Duration::from_millis(10)).await;
        }
        let results = results.borrow();
        assert_eq!(results.len(), 1, "the server connection ended");
        assert!(results[0].is_ok(), "{:?}", results[0]);
        Ok::<(), std::io::Error>(())
    }))
    .unwrap();
}

/// A client that sends half a request head must lose its connection when the server's
/// header-read timeout expires. Without a timer hyper drops that timeout silently, and the
/// connection stays open for as long as the client likes.
#[test]
fn half_a_request_head_is_closed_when_the_header_read_timeout_expires() {
    const TIMEOUT: Duration = Duration::from_millis(300);
    rt().block_on(with_deadline(HANG_GUARD, "half a request head", async {
        let (addr, results) = serve(1, TIMEOUT).await?;
        let mut stream = TcpStream::connect(addr).await?;
        let sent = Instant::now();
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: evloop\r\n")
            .await?;
        // Whatever the server says before it closes (hyper may answer 408), then EOF.
        let mut reply = Vec::new();
        let read = evloop::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut reply))
            .await
            .expect("the server still holds the connection 10 s after half a request head");
        match read {
            Ok(_) => {}
            // A reset also closes the connection.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            Err(e) => panic!("reading the reply: {e}"),
        }
        assert!(
            sent.elapsed() >= TIMEOUT,
            "closed after {:?}, before the {TIMEOUT:?} timeout",
            sent.elapsed()
        );
        // The server's connection future has ended, with hyper's timeout error.
        for _ in 0..200 {
            if !results.borrow().is_empty() {
                break;
            }
            evloop::time::sleep(Duration::from_millis(10)).await;
        }
        let results = results.borrow();
        assert_eq!(results.len(), 1, "the server connection ended");
        let error = results[0].as_ref().expect_err("a header-read timeout");
        assert!(error.is_timeout(), "{error:?}");
        Ok::<(), std::io::Error>(())
    }))
    .unwrap();
}

#[test]
fn sleep_is_send_and_sync_as_hyper_requires() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Sleep>();
    assert_send_sync::<Timer>();
}

#[test]
fn sleep_completes_at_its_deadline_and_not_before() {
    rt().block_on(with_deadline(HANG_GUARD, "a 30 ms sleep", async {
        let started = Instant::now();
        Timer.sleep(Duration::from_millis(30)).await;
        assert!(started.elapsed() >= Duration::from_millis(30));
        // A deadline in the past completes at the first poll.
        Sleep::until(Instant::now() - Duration::from_secs(1)).await;
    }));
}

#[test]
fn dropping_a_waiting_sleep_frees_its_timer() {
    let rt = rt();
    let before = rt.metrics().pending_timers;
    rt.block_on(async {
        let mut sleep = pin!(Sleep::until(Instant::now() + Duration::from_secs(60)));
        let polled = poll_fn(|cx| Poll::Ready(sleep.as_mut().poll(cx))).await;
        assert!(polled.is_pending());
        assert_eq!(
            rt.metrics().pending_timers,
            before + 1,
            "registered on first poll"
        );
    });
    assert_eq!(
        rt.metrics().pending_timers,
        before,
        "dropped with the sleep"
    );
}

#[test]
fn timer_reset_moves_a_sleep_in_place() {
    rt().block_on(with_deadline(HANG_GUARD, "a reset sleep", async {
        let mut sleep = Timer.sleep(Duration::from_secs(3600));
        // Registered with the far deadline first.
        let polled = poll_fn(|cx| Poll::Ready(sleep.as_mut().poll(cx))).await;
        assert!(polled.is_pending());
        let before: *const () = (&*sleep as *const dyn hyper::rt::Sleep).cast();
        let started = Instant::now();
        Timer.reset(&mut sleep, started + Duration::from_millis(20));
        let after: *const () = (&*sleep as *const dyn hyper::rt::Sleep).cast();
        assert_eq!(before, after, "reset in place, not replaced");
        sleep.await;
        assert!(started.elapsed() >= Duration::from_millis(20));
    }));
}

#[test]
fn executor_runs_what_hyper_spawns() {
    use hyper::rt::Executor as _;
    rt().block_on(with_deadline(HANG_GUARD, "an executed future", async {
        let ran = Rc::new(Cell::new(false));
        let flag = ran.clone();
        // `!Send` on purpose: evloop's executor takes such futures.
        evloop::compat::hyper::Executor.execute(async move { flag.set(true) });
        while !ran.get() {
            evloop::task::yield_now().await;
        }
    }));
}

/// The `hyper-server` example, run as a child: it answers `GET /`, keeps the connection
/// alive, and on SIGTERM closes that idle connection and exits 0 (graceful shutdown).
#[test]
#[cfg(not(miri))] // child processes are beyond Miri
fn hyper_server_example_answers_then_shuts_down_on_sigterm() {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::process::{Command, Stdio};

    #[path = "support/examples.rs"]
    mod examples;

    let Some(binary) = examples::example_binary("hyper-server") else {
        panic!("hyper-server is not built: run `cargo test --features hyper`");
    };
    let mut child = Command::new(binary)
        .args(["--addr", "127.0.0.1:0", "--grace-ms", "5000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start hyper-server");
    // A watchdog for the blocking reads below: it kills the child after HANG_GUARD unless
    // told to stand down first, which happens before the child is reaped, so the pid it
    // signals is always our child's.
    let pid = child.id() as libc::pid_t;
    let (stand_down, orders) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if orders.recv_timeout(HANG_GUARD).is_err() {
            // SAFETY: `kill` only sends a signal, to our child, not reaped yet (see above).
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    });
    let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("the announce line");
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();

    let mut client = std::net::TcpStream::connect(&addr).expect("connect");
    client.set_read_timeout(Some(HANG_GUARD)).unwrap();
    client
        .write_all(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
        .unwrap();
    let mut reply = vec![0; 1024];
    let n = client.read(&mut reply).expect("the response");
    let reply = String::from_utf8_lossy(&reply[..n]).to_string();
    assert!(reply.starts_with("HTTP/1.1 200 OK"), "{reply}");
    assert!(reply.ends_with("hello, world\n"), "{reply}");

    // The connection is idle and kept alive; SIGTERM must close it and end the server.
    // SAFETY: sends SIGTERM to our own child, which has not been reaped yet.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let mut rest = Vec::new();
    let closed = client.read_to_end(&mut rest);
    let mut output = String::new();
    // Ends when the child exits (or the watchdog kills it).
    stdout.read_to_string(&mut output).unwrap();
    let _ = stand_down.send(());
    watchdog.join().unwrap();
    let status = child.wait().expect("wait for hyper-server");
    closed.expect("EOF after shutdown");
    assert!(rest.is_empty(), "nothing more after shutdown");
    assert!(status.success(), "hyper-server exited with {status}");
    assert!(
        output.contains("shut down: every connection finished"),
        "{output}"
    );
}
