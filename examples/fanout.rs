//! Fan-out: one request handler that calls many services at once, so that it takes as long as
//! its slowest chain of calls, not as long as all of them together (Amdahl's law).
//!
//! ```text
//! cargo run --release --example fanout
//! cargo run --release --example fanout -- --quick    # the same run: it takes well under 1 s
//! ```
//!
//! Every service is a loopback TCP server in this process, an evloop task that reads one line,
//! sleeps for the service's latency, and answers one line (`KEY ANSWER`) before closing. The
//! handler follows the search pipeline of the asyncio article this example comes from:
//!
//! 1. in parallel (`join!`): geocode the client's IP, look up its session, and ask every
//!    rate-limiter shard (`join_all`) whether the IP is over its limit; if any shard says so,
//!    answer 503 at once;
//! 2. in parallel (`join!`): run the queries as tasks in a `JoinSet` and rank their results as
//!    they complete (asyncio's `as_completed`), and ask the recommendations service, the
//!    slowest, under a timeout that fires, so the handler answers without it.
//!
//! Two requests are handled: one that passes (200) and one from an IP that a shard holds over
//! its limit (503). For each, a table lists every call with its configured latency and how long
//! it took, then the summary puts the sum of the call times (what a handler that awaited them
//! one by one would take) next to the critical path (the slowest call of each stage, added up)
//! and the measured wall time.
//!
//! What to look for: the wall time matches the critical path, not the sum; the queries complete
//! in order of latency, not of spawning; the recommendations call shows "timed out". The
//! example exits with status 1 if a status, an answer, the completion order or the timeout is
//! not as described.

use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use evloop::future::join_all;
use evloop::io::{AsyncReadExt, AsyncWriteExt};
use evloop::net::{TcpListener, TcpStream};
use evloop::task::JoinSet;
use evloop::time::{sleep, timeout};

#[path = "support/lesson.rs"]
mod lesson;
#[path = "support/table.rs"]
mod table;

use lesson::Checks;
use table::Table;

/// The services' latencies. They are far apart, so that the order in which calls complete
/// does not depend on scheduling noise.
const GEOCODE_LATENCY: Duration = Duration::from_millis(40);
const SESSION_LATENCY: Duration = Duration::from_millis(25);
/// One per rate-limiter shard.
const SHARD_LATENCIES: [Duration; 4] = millis([5, 10, 15, 20]);
/// One per query, in the order they are spawned; they complete in another order.
const QUERY_LATENCIES: [Duration; 4] = millis([65, 20, 50, 35]);
const RECOMMENDATIONS_LATENCY: Duration = Duration::from_millis(300);

/// How long the handler waits for the recommendations before answering without them.
const RECOMMENDATIONS_TIMEOUT: Duration = Duration::from_millis(80);

/// The limit every rate-limiter shard enforces, in requests per window.
const RATE_LIMIT: u32 = 100;

/// The client IP that shard [`HOT_SHARD`] holds over its limit: requests from it get a 503.
const HOT_IP: &str = "10.0.0.66";
const HOT_SHARD: usize = 2;

/// The most bytes of a request or answer line; every line here is under 100.
const MAX_LINE: usize = 1024;

/// How long one call may take before it counts as failed (the recommendations call has its
/// own, shorter timeout): only a hung service reaches it.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

const USAGE: &str = "A request handler fanning out to simulated services: join!, join_all, \
                     JoinSet in completion order, a timeout, and a 503 path.\n\n\
                     Usage: cargo run --release --example fanout -- [--quick]\n\n\
                     Options:\n  \
                     --quick     accepted for CI uniformity; the run already takes under a \
                     second (or set EVLOOP_EXAMPLE_QUICK=1)\n  \
                     -h, --help  print this help\n";

/// `Duration`s from milliseconds, usable in constants.
const fn millis<const N: usize>(ms: [u64; N]) -> [Duration; N] {
    let mut out = [Duration::ZERO; N];
    let mut i = 0;
    while i < N {
        out[i] = Duration::from_millis(ms[i]);
        i += 1;
    }
    out
}

/// What the handler is asked.
struct Request {
    ip: &'static str,
    session: &'static str,
    query: &'static str,
}

/// One simulated service: where it listens and how slow it is.
#[derive(Clone, Copy)]
struct Service {
    name: &'static str,
    addr: SocketAddr,
    latency: Duration,
}

/// Every service the handler calls.
struct Services {
    geocode: Service,
    session: Service,
    shards: Vec<Service>,
    queries: Vec<Service>,
    recommendations: Service,
}

/// How one call ended.
enum Outcome {
    /// The answer, without the echoed key.
    Answered(String),
    /// The handler stopped waiting after this long.
    TimedOut(Duration),
    Failed(String),
}

/// One call the handler made, for the report.
struct Call {
    service: Service,
    /// 1 or 2: the stage of the handler that made it.
    stage: u8,
    took: Duration,
    outcome: Outcome,
}

/// What the handler answered, and everything it did to get there.
struct Handled {
    status: u16,
    /// The best query result, for a 200.
    best: Option<String>,
    calls: Vec<Call>,
    /// The queries' services, in the order their tasks completed.
    completion_order: Vec<&'static str>,
    wall: Duration,
}

fn main() -> io::Result<()> {
    // Quick mode changes only the watchdog's limit here (see USAGE); the flag is still parsed
    // so that a CI loop can pass it to every example.
    let quick = lesson::quick_mode(USAGE);
    lesson::start_watchdog(quick);
    // Without a runtime (no epoll instance, out of descriptors) there is nothing to show.
    let runtime = evloop::Runtime::new()?;
    runtime.block_on(run())
}

async fn run() -> io::Result<()> {
    // The servers' accept loops live in this set; dropping it at the end aborts them.
    let mut servers = JoinSet::new();
    let services = start_services(&mut servers).await?;
    let requests = [
        Request {
            ip: "10.0.0.7",
            session: "s-ada",
            query: "coffee",
        },
        Request {
            ip: HOT_IP,
            session: "s-bob",
            query: "coffee",
        },
    ];
    let expected_status = [200, 503];

    let mut checks = Checks::new();
    let mut summary = Table::new(&[
        "request",
        "status",
        "calls",
        "sum of calls (ms)",
        "critical path (ms)",
        "wall (ms)",
        "sum ÷ wall",
    ]);
    for (number, (request, expected)) in (1..).zip(requests.iter().zip(expected_status)) {
        let handled = handle(&services, request).await;
        report(number, request, &handled);
        check(&mut checks, number, expected, &handled);
        let sum: Duration = handled.calls.iter().map(|call| call.took).sum();
        summary.row(vec![
            format!("{number} ({})", request.ip),
            handled.status.to_string(),
            handled.calls.len().to_string(),
            ms(sum),
            ms(critical_path(&handled.calls)),
            ms(handled.wall),
            format!("{:.1}×", sum.as_secs_f64() / handled.wall.as_secs_f64()),
        ]);
    }
    println!("summary: the handler takes its critical path, not the sum of its calls\n");
    print!("{summary}");
    drop(servers);
    checks.finish();
    Ok(())
}

/// Starts every service on its own loopback port.
async fn start_services(servers: &mut JoinSet<()>) -> io::Result<Services> {
    let geocode = serve(servers, "geocode", GEOCODE_LATENCY, Rc::new(city_of)).await?;
    let session = serve(servers, "session", SESSION_LATENCY, Rc::new(user_of)).await?;
    let mut shards = Vec::new();
    for (shard, latency) in SHARD_LATENCIES.into_iter().enumerate() {
        let name = ["ratelimit-0", "ratelimit-1", "ratelimit-2", "ratelimit-3"][shard];
        let answer = Rc::new(move |ip: &str| rate_limit_answer(shard, ip));
        shards.push(serve(servers, name, latency, answer).await?);
    }
    let mut queries = Vec::new();
    for (query, latency) in QUERY_LATENCIES.into_iter().enumerate() {
        let name = ["query-0", "query-1", "query-2", "query-3"][query];
        let answer = Rc::new(move |key: &str| query_answer(query, key));
        queries.push(serve(servers, name, latency, answer).await?);
    }
    let recommendations = serve(
        servers,
        "recommendations",
        RECOMMENDATIONS_LATENCY,
        Rc::new(|user: &str| format!("more coffee for {user}")),
    )
    .await?;
    Ok(Services {
        geocode,
        session,
        shards,
        queries,
        recommendations,
    })
}

/// The geocoder's answer: a city picked from the IP.
fn city_of(ip: &str) -> String {
    let cities = ["Lyon", "Paris", "Nantes", "Lille"];
    let sum: usize = ip.bytes().map(usize::from).sum();
    cities[sum % cities.len()].to_string()
}

/// The session store's answer: the user behind a session id.
fn user_of(session: &str) -> String {
    format!("user={}", session.strip_prefix("s-").unwrap_or(session))
}

/// A rate-limiter shard's answer: `OK n/limit`, or `OVER n/limit` for the hot IP on the hot
/// shard. The counts are made up from the IP, as if other requests had been counted before.
fn rate_limit_answer(shard: usize, ip: &str) -> String {
    let count = if shard == HOT_SHARD && ip == HOT_IP {
        RATE_LIMIT + 40
    } else {
        ip.bytes().map(u32::from).sum::<u32>() % (RATE_LIMIT / 2) + shard as u32
    };
    let verdict = if count > RATE_LIMIT { "OVER" } else { "OK" };
    format!("{verdict} {count}/{RATE_LIMIT}")
}

/// A query service's answer: a relevance score and a result.
fn query_answer(query: usize, key: &str) -> String {
    let score = (key.len() * 7 + query * 31) % 100;
    format!("{score} result-{query} for {key:?}")
}

/// Starts one service: a listener on a free loopback port whose accept loop runs in `servers`.
/// Each connection gets a task that reads a line `KEY`, sleeps `latency`, and answers
/// `KEY ANSWER` with `answer(KEY)`.
async fn serve(
    servers: &mut JoinSet<()>,
    name: &'static str,
    latency: Duration,
    answer: Rc<dyn Fn(&str) -> String>,
) -> io::Result<Service> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    servers.spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _peer)) => {
                    // Detached: the connection's task ends by itself, or with the runtime.
                    drop(evloop::spawn(answer_one(
                        stream,
                        latency,
                        Rc::clone(&answer),
                    )));
                }
                // One would-be connection failed; the listener is fine, and the caller sees
                // its call fail.
                Err(e) => eprintln!("{name}: accept: {e}"),
            }
        }
    });
    Ok(Service {
        name,
        addr,
        latency,
    })
}

/// Serves one call. Errors are not reported: the only expected one is the handler hanging up
/// on a call it timed out, and any other shows as a failed call on the handler's side.
async fn answer_one(mut stream: TcpStream, latency: Duration, answer: Rc<dyn Fn(&str) -> String>) {
    let served = async {
        let key = read_line(&mut stream).await?;
        sleep(latency).await;
        let line = format!("{key} {}\n", answer(&key));
        stream.write_all(line.as_bytes()).await?;
        stream.shutdown().await
    };
    let _ = served.await;
}

/// Reads one `\n`-terminated line (without the `\n`). The peer sends nothing after it.
async fn read_line(stream: &mut TcpStream) -> io::Result<String> {
    let mut line = Vec::new();
    let mut buf = [0; 256];
    while !line.ends_with(b"\n") {
        if line.len() > MAX_LINE {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "line too long"));
        }
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        line.extend_from_slice(&buf[..n]);
    }
    line.pop();
    String::from_utf8(line).map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8"))
}

/// Calls `service` with `key` and times the call: connect, send the line, read the answer
/// until the service closes, and check that it is about `key`.
async fn call(service: Service, stage: u8, key: String) -> Call {
    let started = Instant::now();
    let exchange = async {
        let mut stream = TcpStream::connect(service.addr).await?;
        stream.write_all(format!("{key}\n").as_bytes()).await?;
        read_line(&mut stream).await
    };
    let outcome = match timeout(CALL_TIMEOUT, exchange).await {
        Ok(Ok(line)) => match line.strip_prefix(key.as_str()) {
            Some(answer) => Outcome::Answered(answer.trim_start().to_string()),
            None => Outcome::Failed(format!("answered {line:?} to {key:?}")),
        },
        Ok(Err(e)) => Outcome::Failed(e.to_string()),
        Err(_elapsed) => Outcome::Failed(format!("no answer within {CALL_TIMEOUT:?}")),
    };
    Call {
        service,
        stage,
        took: started.elapsed(),
        outcome,
    }
}

/// The handler.
async fn handle(services: &Services, request: &Request) -> Handled {
    let started = Instant::now();
    let mut calls = Vec::new();

    // Stage 1: three independent lookups at once; the rate-limit shards at once among
    // themselves too.
    let (geocode, session, limits) = evloop::join!(
        call(services.geocode, 1, request.ip.to_string()),
        call(services.session, 1, request.session.to_string()),
        join_all(
            services
                .shards
                .iter()
                .map(|&shard| call(shard, 1, request.ip.to_string()))
        ),
    );
    let over_limit = limits
        .iter()
        .any(|limit| matches!(&limit.outcome, Outcome::Answered(a) if a.starts_with("OVER")));
    let city = answer_of(&geocode).unwrap_or("unknown").to_string();
    let user = answer_of(&session).unwrap_or("anonymous").to_string();
    calls.extend([geocode, session]);
    calls.extend(limits);
    if over_limit {
        // Abort before the expensive stage: nothing of it was started.
        return Handled {
            status: 503,
            best: None,
            calls,
            completion_order: Vec::new(),
            wall: started.elapsed(),
        };
    }

    // Stage 2: the queries as separate tasks, ranked as they complete, alongside the
    // recommendations call under its timeout.
    let ranked = async {
        let mut set = JoinSet::new();
        for &query in &services.queries {
            set.spawn(call(query, 2, format!("{city} {}", request.query)));
        }
        let mut order = Vec::new();
        let mut done = Vec::new();
        let mut best: Option<(usize, String)> = None;
        while let Some(joined) = set.join_next().await {
            let Ok(call) = joined else {
                // A call's task panicked: a bug in this example, reported by the panic
                // message on stderr; the query counts as not answered.
                continue;
            };
            order.push(call.service.name);
            if let Some((score, result)) = answer_of(&call).and_then(|a| a.split_once(' '))
                && let Ok(score) = score.parse::<usize>()
                && best.as_ref().is_none_or(|(top, _)| score > *top)
            {
                best = Some((score, result.to_string()));
            }
            done.push(call);
        }
        (order, done, best)
    };
    let recommended = async {
        let asked = Instant::now();
        let service = services.recommendations;
        match timeout(RECOMMENDATIONS_TIMEOUT, call(service, 2, user.clone())).await {
            Ok(call) => call,
            // The call future was dropped, which closed its connection: the service's
            // answer, if it ever comes, goes nowhere.
            Err(_elapsed) => Call {
                service,
                stage: 2,
                took: asked.elapsed(),
                outcome: Outcome::TimedOut(RECOMMENDATIONS_TIMEOUT),
            },
        }
    };
    let ((completion_order, queries, best), recommendations) = evloop::join!(ranked, recommended);
    calls.extend(queries);
    calls.push(recommendations);
    Handled {
        status: 200,
        best: best.map(|(_, result)| result),
        calls,
        completion_order,
        wall: started.elapsed(),
    }
}

/// The answer of a call that got one.
fn answer_of(call: &Call) -> Option<&str> {
    match &call.outcome {
        Outcome::Answered(answer) => Some(answer),
        _ => None,
    }
}

/// The time the handler cannot avoid: the slowest call of each stage, added up.
fn critical_path(calls: &[Call]) -> Duration {
    [1, 2]
        .iter()
        .map(|&stage| {
            calls
                .iter()
                .filter(|call| call.stage == stage)
                .map(|call| call.took)
                .max()
                .unwrap_or_default()
        })
        .sum()
}

/// Prints one request's calls.
fn report(number: usize, request: &Request, handled: &Handled) {
    print!(
        "request {number}: client {}, session {}, query {:?} -> {}",
        request.ip, request.session, request.query, handled.status
    );
    match &handled.best {
        Some(best) => println!(", best result: {best}\n"),
        None => println!(" (a rate limit tripped)\n"),
    }
    let mut table = Table::new(&["call", "stage", "latency (ms)", "took (ms)", "answer"]);
    for call in &handled.calls {
        let answer = match &call.outcome {
            Outcome::Answered(answer) => answer.clone(),
            Outcome::TimedOut(after) => format!("timed out after {} ms", after.as_millis()),
            Outcome::Failed(problem) => format!("FAILED: {problem}"),
        };
        table.row(vec![
            call.service.name.to_string(),
            call.stage.to_string(),
            call.service.latency.as_millis().to_string(),
            ms(call.took),
            answer,
        ]);
    }
    print!("{table}");
    if !handled.completion_order.is_empty() {
        println!(
            "queries as they completed (JoinSet::join_next): {}",
            handled.completion_order.join(", ")
        );
    }
    println!();
}

/// The run's correctness checks for one request.
fn check(checks: &mut Checks, number: usize, expected_status: u16, handled: &Handled) {
    checks.check(
        handled.status == expected_status,
        format!(
            "request {number}: status {}, expected {expected_status}",
            handled.status
        ),
    );
    for call in &handled.calls {
        if let Outcome::Failed(problem) = &call.outcome {
            checks.check(
                false,
                format!("request {number}: {}: {problem}", call.service.name),
            );
        }
    }
    if handled.status == 200 {
        let mut by_latency: Vec<&Call> = handled
            .calls
            .iter()
            .filter(|call| call.service.name.starts_with("query-"))
            .collect();
        by_latency.sort_by_key(|call| call.service.latency);
        let expected: Vec<&str> = by_latency.iter().map(|call| call.service.name).collect();
        checks.check(
            handled.completion_order == expected,
            format!(
                "request {number}: queries completed as {:?}, expected {expected:?}",
                handled.completion_order
            ),
        );
        let timed_out = handled.calls.iter().any(|call| {
            call.service.name == "recommendations" && matches!(call.outcome, Outcome::TimedOut(_))
        });
        checks.check(
            timed_out,
            format!("request {number}: the recommendations call did not time out"),
        );
    }
    let sum: Duration = handled.calls.iter().map(|call| call.took).sum();
    checks.check(
        handled.wall < sum,
        format!(
            "request {number}: wall {:?} not below the sum {sum:?}: the calls did not overlap",
            handled.wall
        ),
    );
}

/// A duration in milliseconds with one decimal.
fn ms(duration: Duration) -> String {
    format!("{:.1}", duration.as_secs_f64() * 1000.0)
}
