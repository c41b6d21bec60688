//! An HTTP/1.1 server: hyper 1.x on evloop, through `evloop::compat::hyper`.
//!
//! Run it (these are the defaults):
//!
//! ```text
//! cargo run --release --features hyper --example hyper-server -- --addr 127.0.0.1:8080
//! ```
//!
//! Once it accepts connections it prints `listening on 127.0.0.1:8080` (with port 0, the port
//! the system picked). Poke it with `curl http://127.0.0.1:8080/` (a short greeting),
//! `curl --data-binary @FILE http://127.0.0.1:8080/` (the body comes back), or the
//! `hyper-client` example. Connections are kept alive between requests; a client that sends
//! half a request head is dropped after hyper's 30 s header-read timeout, which needs the
//! timer (`.timer(Timer)`).
//!
//! On SIGINT (Ctrl-C) or SIGTERM it shuts down gracefully: it stops accepting, tells every
//! open connection to finish the request in flight and then close (hyper's
//! `graceful_shutdown`), waits up to `--grace-ms` (default 5000) for them, and exits with
//! status 0.
//!
//! A bad flag gets one `error:` line and exit status 2; an address that cannot be bound, one
//! `error:` line naming it and status 1.

use std::cell::Cell;
use std::io;
use std::pin::pin;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use evloop::compat::hyper::Timer;
use evloop::net::{TcpListener, TcpStream};
use evloop::signal::unix::{SignalKind, signal};
use evloop::sync::{Notify, watch};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};

#[path = "support/args.rs"]
#[allow(
    dead_code,
    reason = "the shared flag parser has kinds of flags this example lacks"
)]
mod args;
#[path = "support/http_body.rs"]
mod http_body;

use http_body::Full;

/// Where the server listens unless `--addr` says otherwise.
const DEFAULT_ADDR: &str = "127.0.0.1:8080";

/// The default `--grace-ms`, and the largest (one hour; see `echo-server`).
const DEFAULT_GRACE_MS: u64 = 5000;
const MAX_GRACE_MS: u64 = 60 * 60 * 1000;

/// The body of `GET /`: the same short greeting as `http-bench`'s peer servers send, so that
/// they are compared on identical responses.
const GREETING: &str = "hello, world\n";

/// The largest body echoed back: the echo holds a whole body in memory, so a client must not
/// choose how much. A larger one gets `413 Payload Too Large`.
const MAX_ECHO_BYTES: usize = 16 << 20;

fn main() -> ExitCode {
    let usage = format!(
        "An HTTP/1.1 server: hyper on evloop. GET / greets, POST echoes the body.\n\n\
         Usage: cargo run --release --features hyper --example hyper-server -- \
         [--addr HOST:PORT] [--grace-ms MS]\n\n\
         Options:\n  \
         --addr HOST:PORT  address to listen on; port 0 picks a free port (default {DEFAULT_ADDR})\n  \
         --grace-ms MS     on SIGINT or SIGTERM, let open connections finish for up to MS\n                    \
         milliseconds (0 to {MAX_GRACE_MS}, default {DEFAULT_GRACE_MS})\n  \
         -h, --help        print this help\n"
    );
    let flags = args::Flags::from_env(usage, &["--addr", "--grace-ms"]);
    let addr = flags.addr("--addr", DEFAULT_ADDR);
    let grace = Duration::from_millis(flags.number(
        "--grace-ms",
        DEFAULT_GRACE_MS,
        0,
        MAX_GRACE_MS,
        "milliseconds",
    ));
    args::finish(run(addr, grace))
}

/// Serves until SIGINT or SIGTERM; an error here ends the program with one `error:` line.
fn run(addr: std::net::SocketAddr, grace: Duration) -> io::Result<()> {
    // Without a runtime (no epoll instance, out of descriptors) there is nothing to serve with.
    let runtime = evloop::Runtime::new()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot start the runtime: {e}")))?;
    runtime.block_on(serve(addr, grace))
    // Connections still open after the grace period are tasks left in the runtime; dropping
    // it at the end of `main` drops them, which closes their sockets.
}

/// Accepts connections, one hyper connection task each, until a signal; then shuts down.
async fn serve(addr: std::net::SocketAddr, grace: Duration) -> io::Result<()> {
    // Installed before the port is announced: whoever learns it may send SIGTERM.
    let mut interrupts = signal(SignalKind::interrupt())?;
    let mut terminations = signal(SignalKind::terminate())?;
    // Nothing to serve without the address: the error ends the program, naming it.
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
    let local_addr = listener.local_addr()?;
    println!("listening on {local_addr}");
    // `false` until shutdown; every connection watches it.
    let (shutdown, _) = watch::channel(false);
    let open = Rc::new(OpenConnections::default());
    loop {
        // Biased to the signals: a storm of connections must not delay a shutdown.
        let accepted = evloop::select! {
            Some(()) = interrupts.recv() => break,
            Some(()) = terminations.recv() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _peer)) => {
                let connection = serve_connection(stream, shutdown.subscribe(), open.clone());
                drop(evloop::spawn(connection));
            }
            // One would-be connection failed (the client gave up, or the process is out of
            // descriptors for a moment): the listener itself is fine, so the loop goes on,
            // after a pause that lets other connections close.
            Err(e) => {
                eprintln!("accept: {e}");
                evloop::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    // Refuse new connections at once, then let the open ones finish.
    drop(listener);
    println!(
        "shutting down: waiting up to {} ms for {} connections",
        grace.as_millis(),
        open.count.get()
    );
    // Fails only if no connection is listening, which leaves nothing to tell.
    let _ = shutdown.send(true);
    match evloop::time::timeout(grace, open.all_closed()).await {
        Ok(()) => println!("shut down: every connection finished"),
        Err(_elapsed) => println!(
            "shut down: grace period over, dropping {} connections still open",
            open.count.get()
        ),
    }
    Ok(())
}

/// Serves one connection until the client closes it or the server shuts down.
async fn serve_connection(
    stream: TcpStream,
    mut shutdown: watch::Receiver<bool>,
    open: Rc<OpenConnections>,
) {
    let _guard = open.open();
    // Responses are small and the client waits for each one: Nagle would hold them back.
    if let Err(e) = stream.set_nodelay(true) {
        eprintln!("set_nodelay: {e}");
    }
    let mut connection = pin!(
        hyper::server::conn::http1::Builder::new()
            .timer(Timer)
            .serve_connection(stream, hyper::service::service_fn(respond))
    );
    let served = evloop::select! {
        served = connection.as_mut() => served,
        // `Err` only if the sender is gone, which happens only as the server exits.
        _ = shutdown.changed() => {
            // Finish the request in flight (if any), then close.
            connection.as_mut().graceful_shutdown();
            connection.as_mut().await
        }
    };
    if let Err(e) = served {
        // A client that leaves mid-request, or a timeout, ends its connection only.
        if !e.is_incomplete_message() {
            eprintln!("connection: {e}");
        }
    }
}

/// `GET /` greets; `POST` (any path) echoes its body; anything else is 404 or 405.
async fn respond(request: Request<Incoming>) -> hyper::Result<Response<Full>> {
    let response = match (request.method(), request.uri().path()) {
        (&Method::GET, "/") => Response::new(Full::new(GREETING)),
        (&Method::POST, _) => {
            match http_body::collect(request.into_body(), MAX_ECHO_BYTES).await? {
                Some(body) => Response::new(Full::new(body)),
                // The rest of the body is not read: hyper closes the connection after this
                // response rather than read on.
                None => status(StatusCode::PAYLOAD_TOO_LARGE),
            }
        }
        (&Method::GET, _) => status(StatusCode::NOT_FOUND),
        _ => status(StatusCode::METHOD_NOT_ALLOWED),
    };
    Ok(response)
}

/// An empty response with `code`.
fn status(code: StatusCode) -> Response<Full> {
    let mut response = Response::new(Full::new(""));
    *response.status_mut() = code;
    response
}

/// The number of open connections, and a way to wait until it is 0.
#[derive(Default)]
struct OpenConnections {
    count: Cell<usize>,
    /// Notified whenever `count` drops to zero.
    closed: Notify,
}

/// Counts one connection as open until its task ends or is dropped.
struct ConnectionGuard(Rc<OpenConnections>);

impl OpenConnections {
    fn open(self: &Rc<Self>) -> ConnectionGuard {
        self.count.set(self.count.get() + 1);
        ConnectionGuard(self.clone())
    }

    async fn all_closed(&self) {
        while self.count.get() > 0 {
            self.closed.notified().await;
        }
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        let count = self.0.count.get() - 1;
        self.0.count.set(count);
        if count == 0 {
            self.0.closed.notify_one();
        }
    }
}
