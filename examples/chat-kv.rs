//! A line-based chat and key-value server, written for tokio's current-thread runtime and
//! ported to evloop by changing its imports.
//!
//! Run it (the address shown is the default):
//!
//! ```text
//! cargo run --features macros --example chat-kv -- --addr 127.0.0.1:7001
//! ```
//!
//! It prints `listening on 127.0.0.1:7001` (with port 0, the port the system picked). Poke it
//! with `nc 127.0.0.1 7001` from two terminals: every line is a command and gets one line back.
//!
//! | command | reply |
//! |---|---|
//! | `SET key value` | `OK`; the value is the rest of the line, spaces included |
//! | `GET key` | the value, or `(nil)` |
//! | `DEL key` | `OK`, or `(nil)` if there was no such key |
//! | `SAY message` | `OK`; every *other* client gets `from 127.0.0.1:PORT: message` |
//! | `QUIT` | `bye`, and the server closes the connection |
//!
//! Every connection is a task of a `JoinSet`; they share the map (`Arc<Mutex<HashMap>>`) and a
//! `broadcast` channel for the chat. On Ctrl-C (SIGINT) or SIGTERM a `watch` channel tells every
//! connection to say `bye` and close; the server stops accepting, waits for them (at most
//! `GRACE`, so that a client that stops reading cannot hold it up) and exits with status 0. A
//! bad flag is one `error:` line and status 2, an address it cannot listen on one `error:` line
//! and status 1 (see `support/args.rs`).
//!
//! # The port
//!
//! The tokio original is this file with `tokio` for `evloop` in seven `use` lines, the
//! `#[evloop::main]` attribute and the two `select!` paths, and nothing else: 190 lines after
//! this doc in both. It needs evloop's `macros` feature for `#[evloop::main]`, as tokio needs
//! its own. One thing ports but reads differently: `Arc<Mutex<_>>` compiles and works, yet
//! evloop's `Mutex` is `!Sync` (one thread), so the `Arc` buys nothing over an `Rc`, and
//! clippy's `arc_with_non_send_sync` (a warning by default) flags the tokio tutorial's
//! `Arc::new(Mutex::new(HashMap::new()))`; here the map is made with `Db::default()`, which the
//! lint does not see. New evloop code would use `Rc`. README's "Coming from tokio" lists the
//! other differences.

use std::collections::HashMap;
use std::error::Error;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use evloop::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use evloop::net::{TcpListener, TcpStream};
use evloop::signal::unix::{SignalKind, signal};
use evloop::sync::broadcast::error::RecvError;
use evloop::sync::{Mutex, broadcast, watch};
use evloop::task::JoinSet;
use evloop::time::timeout;

#[path = "support/args.rs"]
#[allow(dead_code, reason = "chat-kv takes one flag, an address")]
mod args;

/// Any error, as `?` converts it: an I/O error, a task's `JoinError`, a message.
type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

/// The key-value map every connection shares.
type Db = Arc<Mutex<HashMap<String, String>>>;

/// A chat message: who said it and what.
type Said = (SocketAddr, String);

/// Where the server listens unless `--addr` says otherwise.
const DEFAULT_ADDR: &str = "127.0.0.1:7001";

/// Chat messages kept for a client that reads slowly; past that it is told how many it missed.
const CHAT_BACKLOG: usize = 64;

/// After SIGINT or SIGTERM, how long the connections get to say `bye` before they are dropped:
/// a client that stops reading must not hold the server up forever.
const GRACE: Duration = Duration::from_secs(5);

#[evloop::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let usage = format!(
        "A line-based chat and key-value server: SET key value, GET key, DEL key, SAY message, \
         QUIT.\n\n\
         Usage: cargo run --features macros --example chat-kv -- [--addr HOST:PORT]\n\n\
         Options:\n  \
         --addr HOST:PORT  address to listen on; port 0 picks a free port\n                    \
         (default {DEFAULT_ADDR})\n  \
         -h, --help        print this help\n"
    );
    let flags = args::Flags::from_env(usage, &["--addr"]);
    match serve(flags.addr("--addr", DEFAULT_ADDR)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line that names what failed (see `args`), not `main`'s `Debug` form.
            eprintln!("error: {e}");
            ExitCode::from(args::REFUSED)
        }
    }
}

/// Serves until SIGINT or SIGTERM, then tells every connection to say `bye` and waits for them.
async fn serve(addr: SocketAddr) -> Result<()> {
    // Before the port is announced: whoever learns it may send SIGTERM.
    let mut interrupts = signal(SignalKind::interrupt())?;
    let mut terminations = signal(SignalKind::terminate())?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    println!("listening on {}", listener.local_addr()?);
    let db = Db::default();
    let (chat, _) = broadcast::channel::<Said>(CHAT_BACKLOG);
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    loop {
        evloop::select! {
            // Ctrl-C or SIGTERM: stop accepting, and shut down below.
            _ = interrupts.recv() => break,
            _ = terminations.recv() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let (db, chat, stopping) = (db.clone(), chat.clone(), stopping.clone());
                    connections.spawn(serve_connection(stream, peer, db, chat, stopping));
                }
                // One would-be connection failed (the client gave up, no descriptor left).
                Err(e) => eprintln!("accept: {e}"),
            },
            // Reaps the connections that ended; `?` ends the server if one panicked.
            Some(ended) = connections.join_next() => report(ended?),
        }
    }
    drop(listener);
    stop.send(true)?;
    match timeout(GRACE, every_connection_ended(&mut connections)).await {
        Ok(ended) => ended,
        Err(_) => {
            let open = connections.len();
            eprintln!("{open} connections still open after {GRACE:?}: closing them");
            Ok(())
        }
    }
}

/// Waits for every connection to end.
async fn every_connection_ended(connections: &mut JoinSet<Result<()>>) -> Result<()> {
    while let Some(ended) = connections.join_next().await {
        report(ended?);
    }
    Ok(())
}

/// Says why a connection ended, if it was an error; the server goes on either way.
fn report(ended: Result<()>) {
    if let Err(e) = ended {
        eprintln!("connection: {e}");
    }
}

/// Serves one client until it says `QUIT` or the server stops (then says `bye`), or hangs up.
async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    db: Db,
    chat: broadcast::Sender<Said>,
    mut stopping: watch::Receiver<bool>,
) -> Result<()> {
    let mut heard = chat.subscribe();
    let (reader, mut writer) = stream.into_split();
    let mut lines = BufReader::new(reader).lines();
    loop {
        let reply = evloop::select! {
            line = lines.next_line() => match line? {
                Some(line) => match execute(&line, peer, &db, &chat).await {
                    Some(reply) => reply,
                    None => break, // QUIT
                },
                // The client hung up: there is nobody to say `bye` to.
                None => return Ok(()),
            },
            said = heard.recv() => match said {
                // The sender's own message: it got its `OK` already.
                Ok((from, _)) if from == peer => continue,
                Ok((from, text)) => format!("from {from}: {text}"),
                Err(RecvError::Lagged(missed)) => format!("missed {missed} messages"),
                // Not while this task holds `chat`; were it to happen, the server is leaving.
                Err(RecvError::Closed) => break,
            },
            // The server is shutting down (an error: it is gone); both say `bye`.
            _ = stopping.changed() => break,
        };
        writer.write_all(format!("{reply}\n").as_bytes()).await?;
    }
    writer.write_all(b"bye\n").await?;
    Ok(())
}

/// Runs one command and returns its reply, or `None` for `QUIT`.
async fn execute(
    line: &str,
    peer: SocketAddr,
    db: &Db,
    chat: &broadcast::Sender<Said>,
) -> Option<String> {
    let (command, rest) = line.split_once(' ').unwrap_or((line, ""));
    let reply = match command {
        "SET" => match rest.split_once(' ') {
            Some((key, value)) => {
                db.lock().await.insert(key.to_string(), value.to_string());
                "OK".to_string()
            }
            None => "error: SET needs a key and a value".to_string(),
        },
        "GET" => match db.lock().await.get(rest) {
            Some(value) => value.clone(),
            None => "(nil)".to_string(),
        },
        "DEL" => match db.lock().await.remove(rest) {
            Some(_) => "OK".to_string(),
            None => "(nil)".to_string(),
        },
        "SAY" => {
            // Fails only without receivers, and this connection's own is one.
            let _ = chat.send((peer, rest.to_string()));
            "OK".to_string()
        }
        "QUIT" => return None,
        _ => format!("error: unknown command {command:?}: SET, GET, DEL, SAY or QUIT"),
    };
    Some(reply)
}
