//! Pipelining on one connection: awaiting each response before sending the next request makes
//! async code exactly as slow as blocking code.
//!
//! ```text
//! cargo run --release --example pipelining
//! cargo run --release --example pipelining -- --quick    # 1,000 requests instead of 10,000
//! ```
//!
//! A tiny request/response server runs in this process, on its own thread with its own
//! runtime. A frame is a 4-byte big-endian length and a payload; a request's payload is an
//! 8-byte id and an 8-byte argument, and the response echoes the id with a value computed from
//! the argument. The same 10,000 requests then go over one connection three ways:
//!
//! 1. a blocking `std::net` client, one request at a time: the baseline;
//! 2. an evloop client that awaits each response before it sends the next request: one round
//!    trip per request, just like the baseline, although it is "async" (the asyncio question
//!    this example comes from: "performance exactly matches synchronous code");
//! 3. the same evloop client, pipelined: it sends every request first and awaits the responses
//!    afterwards. A reader task resolves a FIFO of oneshot senders as responses arrive, which
//!    works because the server answers in order.
//!
//! Clients 2 and 3 are the same code; only where the `.await` on the response sits differs.
//! Every response is checked against its request (id and value).
//!
//! What to look for: rows 1 and 2 are close; row 3 is many times faster (the ratio is printed
//! last). The example exits with status 1 if any response is wrong or missing.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, BufReader, Read, Write};
use std::net::SocketAddr;
use std::rc::Rc;
use std::thread;
use std::time::{Duration, Instant};

use evloop::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use evloop::net::{OwnedReadHalf, OwnedWriteHalf, TcpListener, TcpStream};
use evloop::sync::oneshot;
use evloop::task::JoinHandle;

#[path = "support/lesson.rs"]
mod lesson;
#[path = "support/table.rs"]
mod table;

use lesson::Checks;
use table::Table;

/// Requests per client, in a full run and in quick mode.
const REQUESTS: u64 = 10_000;
const QUICK_REQUESTS: u64 = 1_000;

/// The size of a request's and of a response's payload: an id and a number, 8 bytes each.
const PAYLOAD: usize = 16;

/// The size of a whole frame: the length prefix and the payload.
const FRAME: usize = 4 + PAYLOAD;

/// How many connections the server serves before it stops: one per client.
const CLIENTS: usize = 3;

/// How many bytes the readers ask for at once: room for a few thousand responses, so that a
/// pipelined reader takes many per system call.
const READ_BUFFER: usize = 64 * 1024;

const USAGE: &str = "One connection, 10,000 requests: blocking, async awaiting each response, \
                     and async pipelined.\n\n\
                     Usage: cargo run --release --example pipelining -- [--quick]\n\n\
                     Options:\n  \
                     --quick     1,000 requests instead of 10,000 (or set EVLOOP_EXAMPLE_QUICK=1)\n  \
                     -h, --help  print this help\n";

/// One request: its id, and the argument the server computes with.
#[derive(Clone, Copy)]
struct Request {
    id: u64,
    argument: u64,
}

/// One response: the id of the request it answers, and the computed value.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Response {
    id: u64,
    value: u64,
}

impl Request {
    /// Request number `id` of a run; arguments differ, so a response to the wrong request
    /// carries the wrong value as well as the wrong id.
    fn numbered(id: u64) -> Request {
        Request {
            id,
            argument: id.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        }
    }

    /// The response a correct server sends.
    fn expected(self) -> Response {
        Response {
            id: self.id,
            value: compute(self.argument),
        }
    }

    /// The request as a frame.
    fn encode(self, frame: &mut [u8; FRAME]) {
        encode_frame(frame, self.id, self.argument);
    }
}

/// What the server computes from an argument: cheap, but not an echo.
fn compute(argument: u64) -> u64 {
    argument.wrapping_mul(argument).rotate_left(17) ^ 0xA5A5_A5A5_A5A5_A5A5
}

/// Writes a frame holding the two numbers.
fn encode_frame(frame: &mut [u8; FRAME], first: u64, second: u64) {
    frame[..4].copy_from_slice(&(PAYLOAD as u32).to_be_bytes());
    frame[4..12].copy_from_slice(&first.to_be_bytes());
    frame[12..].copy_from_slice(&second.to_be_bytes());
}

/// Reads the two numbers of a payload.
fn decode_payload(payload: &[u8]) -> (u64, u64) {
    let number = |at: usize| u64::from_be_bytes(payload[at..at + 8].try_into().expect("8 bytes"));
    (number(0), number(8))
}

/// Checks a frame's length prefix: every frame of this protocol carries [`PAYLOAD`] bytes.
fn check_length(prefix: &[u8]) -> io::Result<()> {
    let length = u32::from_be_bytes(prefix[..4].try_into().expect("4 bytes"));
    if length as usize == PAYLOAD {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a frame of {length} bytes; this protocol's are {PAYLOAD}"),
        ))
    }
}

/// What one client run measured.
struct Measured {
    label: &'static str,
    elapsed: Duration,
    /// Responses that matched their request.
    correct: u64,
    /// Responses that did not; the first few are described on stderr.
    wrong: u64,
}

fn main() -> io::Result<()> {
    let quick = lesson::quick_mode(USAGE);
    lesson::start_watchdog(quick);
    let requests = if quick { QUICK_REQUESTS } else { REQUESTS };

    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let server = thread::Builder::new()
        .name("frame-server".to_string())
        .spawn(move || {
            let runtime = evloop::Runtime::new()?;
            runtime.block_on(serve(listener))
        })?;

    // Each client returns an error only if the connection broke; then the server may still
    // wait for a connection that never comes, so `main` returns without joining it (the
    // process exit ends it).
    let blocking = blocking_client(addr, requests)?;
    let runtime = evloop::Runtime::new()?;
    let awaited = runtime.block_on(async_client(addr, requests, false))?;
    let pipelined = runtime.block_on(async_client(addr, requests, true))?;
    match server.join() {
        Ok(served) => served?,
        Err(_) => return Err(io::Error::other("the server thread panicked")),
    }

    println!("{requests} requests of {FRAME} bytes on one loopback connection per client\n");
    let mut table = Table::new(&["client", "requests", "seconds", "requests/s", "µs each"]);
    let mut checks = Checks::new();
    for run in [&blocking, &awaited, &pipelined] {
        let secs = run.elapsed.as_secs_f64();
        table.row(vec![
            run.label.to_string(),
            run.correct.to_string(),
            format!("{secs:.3}"),
            format!("{:.0}", run.correct as f64 / secs),
            format!("{:.1}", secs * 1e6 / requests as f64),
        ]);
        checks.check(
            run.correct == requests && run.wrong == 0,
            format!(
                "{}: {} correct and {} wrong responses to {requests} requests",
                run.label, run.correct, run.wrong
            ),
        );
    }
    print!("{table}");
    let rate = |run: &Measured| run.correct as f64 / run.elapsed.as_secs_f64();
    println!(
        "\npipelined ÷ awaiting each: {:.1}×   awaiting each ÷ blocking: {:.2}×",
        rate(&pipelined) / rate(&awaited),
        rate(&awaited) / rate(&blocking)
    );
    checks.finish();
    Ok(())
}

/// Serves [`CLIENTS`] connections, one task each, and returns when they have all closed.
async fn serve(listener: std::net::TcpListener) -> io::Result<()> {
    let listener = TcpListener::from_std(listener)?;
    let mut connections = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS {
        let (stream, _peer) = listener.accept().await?;
        connections.push(evloop::spawn(answer_frames(stream)));
    }
    for connection in connections {
        connection
            .await
            .map_err(|e| io::Error::other(format!("a server task failed: {e:?}")))??;
    }
    Ok(())
}

/// Answers every complete request in each read with one write, until the client closes.
async fn answer_frames(mut stream: TcpStream) -> io::Result<()> {
    // Responses are small and must leave at once: with Nagle's algorithm a response waits for
    // the ACK of the previous one, which the client may delay by up to 40 ms.
    stream.set_nodelay(true)?;
    let mut input = vec![0; READ_BUFFER];
    let mut filled = 0;
    let mut output = Vec::with_capacity(READ_BUFFER);
    loop {
        let n = stream.read(&mut input[filled..]).await?;
        if n == 0 {
            if filled > 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the client closed in the middle of a frame",
                ));
            }
            return stream.shutdown().await;
        }
        filled += n;
        let mut used = 0;
        while filled - used >= FRAME {
            let frame = &input[used..used + FRAME];
            check_length(frame)?;
            let (id, argument) = decode_payload(&frame[4..]);
            let mut response = [0; FRAME];
            encode_frame(&mut response, id, compute(argument));
            output.extend_from_slice(&response);
            used += FRAME;
        }
        // Keep the start of a frame that has not fully arrived.
        input.copy_within(used..filled, 0);
        filled -= used;
        stream.write_all(&output).await?;
        output.clear();
    }
}

/// Compares a response with what its request expects; describes the first few mismatches.
fn tally(run: &mut Measured, request: Request, response: Response) {
    if response == request.expected() {
        run.correct += 1;
    } else {
        run.wrong += 1;
        if run.wrong <= 5 {
            eprintln!(
                "{}: request {} got {response:?}, expected {:?}",
                run.label,
                request.id,
                request.expected()
            );
        }
    }
}

/// The baseline: a blocking socket, each request written after the previous response.
fn blocking_client(addr: SocketAddr, requests: u64) -> io::Result<Measured> {
    let stream = std::net::TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::with_capacity(READ_BUFFER, stream);
    let mut run = Measured {
        label: "std::net, blocking, one at a time",
        elapsed: Duration::ZERO,
        correct: 0,
        wrong: 0,
    };
    let started = Instant::now();
    let mut frame = [0; FRAME];
    for id in 0..requests {
        let request = Request::numbered(id);
        request.encode(&mut frame);
        writer.write_all(&frame)?;
        let mut response = [0; FRAME];
        reader.read_exact(&mut response)?;
        check_length(&response)?;
        let (id, value) = decode_payload(&response[4..]);
        tally(&mut run, request, Response { id, value });
    }
    run.elapsed = started.elapsed();
    writer.shutdown(std::net::Shutdown::Write)?;
    Ok(run)
}

/// The evloop client: `pipelined` sends every request before awaiting any response, otherwise
/// each response is awaited before the next request goes out.
async fn async_client(addr: SocketAddr, requests: u64, pipelined: bool) -> io::Result<Measured> {
    let mut client = Client::connect(addr).await?;
    let mut run = Measured {
        label: if pipelined {
            "evloop, pipelined"
        } else {
            "evloop, awaiting each response"
        },
        elapsed: Duration::ZERO,
        correct: 0,
        wrong: 0,
    };
    let started = Instant::now();
    if pipelined {
        let mut in_flight = VecDeque::with_capacity(requests as usize);
        for id in 0..requests {
            let request = Request::numbered(id);
            in_flight.push_back((request, client.send(request).await?));
        }
        for (request, response) in in_flight {
            tally(&mut run, request, client.response(response).await?);
        }
    } else {
        for id in 0..requests {
            let request = Request::numbered(id);
            let response = client.send(request).await?;
            tally(&mut run, request, client.response(response).await?);
        }
    }
    run.elapsed = started.elapsed();
    client.close().await?;
    Ok(run)
}

/// The senders of the responses not yet received, oldest first: the server answers in order,
/// so the next response that arrives belongs to the front one.
type Pending = Rc<RefCell<VecDeque<oneshot::Sender<Response>>>>;

/// One connection, shared by any number of requests in flight.
struct Client {
    writer: OwnedWriteHalf,
    pending: Pending,
    /// The task that reads responses and resolves `pending`; it ends when the server closes.
    reader: JoinHandle<io::Result<()>>,
}

impl Client {
    async fn connect(addr: SocketAddr) -> io::Result<Client> {
        let stream = TcpStream::connect(addr).await?;
        // Each request must leave at once, not wait for the previous one's ACK.
        stream.set_nodelay(true)?;
        let (read_half, writer) = stream.into_split();
        let pending = Pending::default();
        let reader = evloop::spawn(read_responses(read_half, Rc::clone(&pending)));
        Ok(Client {
            writer,
            pending,
            reader,
        })
    }

    /// Sends `request` and returns the receiver its response will arrive on. The sender goes
    /// into the FIFO before the request is written, so it is there when the response comes.
    async fn send(&mut self, request: Request) -> io::Result<oneshot::Receiver<Response>> {
        let (sender, receiver) = oneshot::channel();
        self.pending.borrow_mut().push_back(sender);
        let mut frame = [0; FRAME];
        request.encode(&mut frame);
        self.writer.write_all(&frame).await?;
        Ok(receiver)
    }

    /// Waits for a response. The sender is dropped unsent only if the reader task ended
    /// early, so its error is the one worth returning.
    async fn response(&mut self, receiver: oneshot::Receiver<Response>) -> io::Result<Response> {
        match receiver.await {
            Ok(response) => Ok(response),
            Err(_closed) => match (&mut self.reader).await {
                Ok(Err(e)) => Err(e),
                Ok(Ok(())) => Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the server closed the connection with requests unanswered",
                )),
                Err(e) => Err(io::Error::other(format!("the reader task failed: {e:?}"))),
            },
        }
    }

    /// Half-closes, so the server finishes and closes, then waits for the reader to see it.
    async fn close(mut self) -> io::Result<()> {
        self.writer.shutdown().await?;
        self.reader
            .await
            .map_err(|e| io::Error::other(format!("the reader task failed: {e:?}")))?
    }
}

/// Reads responses until the server closes, handing each to the oldest pending sender.
async fn read_responses(mut reader: OwnedReadHalf, pending: Pending) -> io::Result<()> {
    let mut frames = FrameReader::new();
    while let Some((id, value)) = frames.next(&mut reader).await? {
        let sender = pending.borrow_mut().pop_front();
        let Some(sender) = sender else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "a response arrived with no request waiting",
            ));
        };
        // The requester stopped waiting (it was dropped): the response is not needed.
        let _ = sender.send(Response { id, value });
    }
    Ok(())
}

/// Splits a byte stream into frames, reading many at a time.
struct FrameReader {
    buf: Vec<u8>,
    /// `buf[start..end]` holds bytes read but not yet returned as frames.
    start: usize,
    end: usize,
}

impl FrameReader {
    fn new() -> FrameReader {
        FrameReader {
            buf: vec![0; READ_BUFFER],
            start: 0,
            end: 0,
        }
    }

    /// The next frame's two numbers, or `None` at a clean end of stream (between frames).
    async fn next<R: AsyncRead + Unpin>(
        &mut self,
        reader: &mut R,
    ) -> io::Result<Option<(u64, u64)>> {
        while self.end - self.start < FRAME {
            // Move a partial frame to the front to make room behind it.
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            let n = reader.read(&mut self.buf[self.end..]).await?;
            if n == 0 {
                if self.end == 0 {
                    return Ok(None);
                }
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the stream ended in the middle of a frame",
                ));
            }
            self.end += n;
        }
        let frame = &self.buf[self.start..self.start + FRAME];
        check_length(frame)?;
        self.start += FRAME;
        Ok(Some(decode_payload(&frame[4..])))
    }
}
