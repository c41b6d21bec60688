//! One runtime per core: `N` shards, each a thread pinned to a CPU and running its own evloop
//! runtime over its own listening socket, every socket bound to one port with `SO_REUSEPORT`
//! so that the kernel spreads the connections over them. A connection lives on the shard that
//! accepted it, from its first byte to its close. (DESIGN.md, "One runtime per core".)
//!
//! `echo-server --shards N` runs on this, and `tests/shards.rs` runs the same code with its own
//! per-shard server.
//!
//! # Invariants
//!
//! 1. Every shard's socket is bound before any shard starts ([`bind`]): an address in use ends
//!    the program before a thread exists, and with port 0 all shards share the port the first
//!    bind picked.
//! 2. Only `Send` things cross threads: the bound [`TcpSocket`] (not registered with any
//!    runtime yet), and per shard three `threadsafe::oneshot`s: `ready` (the shard listens),
//!    `stop` (main asks it to stop) and `ended` (its thread has ended). Everything a shard's
//!    runtime creates stays on the shard's thread.
//! 3. A shard's `ended` sender is the first thing its thread holds and so the last thing it
//!    drops, after its runtime (and with it the listener): also when the thread unwinds from a
//!    panic. When the main thread sees a shard end, the kernel already routes new connections
//!    to the other shards only.
//! 4. A shard's `stop` completes when the main thread sends it or drops its sender: a shard
//!    never outlives a main thread that has stopped caring for it.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::thread::{self, JoinHandle};

use evloop::future::{Either, select, select_all};
use evloop::net::{TcpListener, TcpSocket};
use evloop::sync::threadsafe::oneshot;

use crate::cpus;

/// The most shards `--shards` allows: [`cpus::MAX_CPUS`] (1024), the most CPUs a thread can be
/// pinned to with glibc's `cpu_set_t`, so every shard can have a core of its own on any
/// machine this pins on. Shards past the CPUs this process may use share them, round robin:
/// correct, but each shard then competes with another for its core, which the model assumes
/// it has to itself.
pub const MAX_SHARDS: usize = cpus::MAX_CPUS;

/// Each shard's listen backlog: `SOMAXCONN`, what `TcpListener::bind` uses, so that a burst of
/// connections waits in the kernel instead of being refused. (A positive constant: the cast
/// cannot wrap.)
pub const BACKLOG: u32 = libc::SOMAXCONN as u32;

/// What a shard's server gets, on the shard's thread, inside the shard's runtime.
#[derive(Debug)]
pub struct Shard {
    /// The shard's number, 0 to N - 1.
    pub index: usize,
    /// The shard's own listener, on the shared port, registered with the shard's runtime.
    pub listener: TcpListener,
    /// Completes (with `Ok` or `Err`, either means stop) when the shard is asked to stop
    /// (Invariant 4).
    pub stop: oneshot::Receiver<()>,
}

/// `count` sockets bound to `addr`, each with `SO_REUSEADDR` (as `TcpListener::bind` sets it:
/// a restarted server binds despite connections in `TIME_WAIT`) and `SO_REUSEPORT` (all of
/// them listen on the one port). With port 0, the first bind picks a free port and the others
/// bind that port.
///
/// Another program of the same user that also sets `SO_REUSEPORT` can join the group and take
/// a share of the connections: Linux checks only that every socket set the option and that
/// their owners match.
pub fn bind(addr: SocketAddr, count: usize) -> io::Result<Vec<TcpSocket>> {
    let mut addr = addr;
    let mut sockets = Vec::with_capacity(count);
    for _ in 0..count {
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        socket.set_reuseport(true)?;
        socket.bind(addr)?;
        addr = socket.local_addr()?;
        sockets.push(socket);
    }
    Ok(sockets)
}

/// How one shard ended.
#[derive(Debug)]
pub enum Outcome<T> {
    /// Its server returned this after it was asked to stop (or by itself).
    Served(T),
    /// Its runtime, its listener or its server failed with this error.
    Failed(io::Error),
    /// Its thread panicked with this message; its runtime, listener and connections were
    /// dropped as the thread unwound.
    Panicked(String),
}

/// One shard's end, from [`Shards::join`].
#[derive(Debug)]
pub struct Report<T> {
    /// The shard's number.
    pub index: usize,
    /// The CPU it was pinned to, if any.
    pub cpu: Option<usize>,
    /// How it ended.
    pub outcome: Outcome<T>,
}

/// The running shards, held by the main thread.
#[derive(Debug)]
pub struct Shards<T> {
    shards: Vec<Running<T>>,
}

#[derive(Debug)]
struct Running<T> {
    index: usize,
    cpu: Option<usize>,
    thread: JoinHandle<io::Result<T>>,
    /// Taken when the stop is sent.
    stop: Option<oneshot::Sender<()>>,
    /// Taken once awaited.
    ready: Option<oneshot::Receiver<()>>,
    /// Taken once the shard has been seen to end.
    ended: Option<oneshot::Receiver<()>>,
}

impl<T: Send + 'static> Shards<T> {
    /// Starts one shard per socket: a thread named `shard-I`, pinned to the I-th CPU this
    /// process may use (round robin when there are more shards than CPUs), that builds a
    /// runtime, listens on its socket and runs `serve` until it returns.
    ///
    /// Returns at once, before the shards listen: await [`ready`](Self::ready) before telling
    /// anyone the port. If the system refuses a thread, the shards already started are stopped
    /// and joined, and the error returned.
    pub fn start<F, Fut>(sockets: Vec<TcpSocket>, serve: F) -> io::Result<Shards<T>>
    where
        F: Fn(Shard) -> Fut + Clone + Send + 'static,
        Fut: Future<Output = io::Result<T>>,
    {
        // Pinning is how a shard gets a core to itself, but a shard that runs unpinned still
        // serves correctly: a failure here costs speed, not service, so it is only reported.
        let cpus = match cpus::allowed_cpus() {
            Ok(cpus) if !cpus.is_empty() => Some(cpus),
            Ok(_) => None,
            Err(e) => {
                eprintln!("warning: the shards run unpinned: cannot list the CPUs: {e}");
                None
            }
        };
        let mut shards = Shards {
            shards: Vec::with_capacity(sockets.len()),
        };
        for (index, socket) in sockets.into_iter().enumerate() {
            let cpu = cpus.as_ref().map(|cpus| cpus[index % cpus.len()]);
            match Running::spawn(index, cpu, socket, serve.clone()) {
                Ok(running) => shards.shards.push(running),
                Err(e) => {
                    shards.stop();
                    drop(shards.join());
                    return Err(io::Error::new(
                        e.kind(),
                        format!("cannot start a thread for shard {index}: {e}"),
                    ));
                }
            }
        }
        Ok(shards)
    }

    /// Waits until every shard listens. `Err(index)` names a shard whose thread ended before
    /// it did: [`join`](Self::join) tells why.
    pub async fn ready(&mut self) -> Result<(), usize> {
        for shard in &mut self.shards {
            if let Some(ready) = shard.ready.take()
                && ready.await.is_err()
            {
                return Err(shard.index);
            }
        }
        Ok(())
    }

    /// Waits until one more shard's thread ends by itself (however: returned, failed,
    /// panicked) and returns its number; `None` once every shard has ended.
    pub async fn next_end(&mut self) -> Option<usize> {
        let running: Vec<usize> = (0..self.shards.len())
            .filter(|&position| self.shards[position].ended.is_some())
            .collect();
        if running.is_empty() {
            return None;
        }
        let ended = self
            .shards
            .iter_mut()
            .filter_map(|shard| shard.ended.as_mut());
        // Either outcome means the same: the sender is dropped only as the thread ends.
        let (_, which) = select_all(ended).await;
        let shard = &mut self.shards[running[which]];
        shard.ended = None;
        Some(shard.index)
    }

    /// Serves until `stop` completes, or until every shard has ended by itself. A shard that
    /// ends early is reported on stderr as it happens; the others go on serving.
    pub async fn serve_until(&mut self, stop: impl Future<Output = ()>) {
        let mut stop = pin!(stop);
        loop {
            match select(stop.as_mut(), self.next_end()).await {
                Either::Left(()) | Either::Right(None) => return,
                Either::Right(Some(index)) => eprintln!(
                    "warning: shard {index} stopped serving (why is reported at exit); {} of {} shards still serving",
                    self.running(),
                    self.shards.len()
                ),
            }
        }
    }

    /// How many shards have not been seen to end.
    pub fn running(&self) -> usize {
        self.shards
            .iter()
            .filter(|shard| shard.ended.is_some())
            .count()
    }

    /// The CPUs the shards are pinned to, in shard order (`None` for an unpinned one).
    pub fn cpus(&self) -> Vec<Option<usize>> {
        self.shards.iter().map(|shard| shard.cpu).collect()
    }

    /// Asks every shard to stop. Returns at once; [`join`](Self::join) waits for them.
    pub fn stop(&mut self) {
        for shard in &mut self.shards {
            if let Some(stop) = shard.stop.take() {
                // An error means the shard has ended already: nothing to stop.
                let _ = stop.send(());
            }
        }
    }

    /// Waits for every shard's thread to end (blocking: call it outside any runtime) and says
    /// how each ended, in shard order.
    pub fn join(self) -> Vec<Report<T>> {
        self.shards
            .into_iter()
            .map(|shard| Report {
                index: shard.index,
                cpu: shard.cpu,
                outcome: match shard.thread.join() {
                    Ok(Ok(served)) => Outcome::Served(served),
                    Ok(Err(e)) => Outcome::Failed(e),
                    Err(payload) => Outcome::Panicked(panic_message(payload.as_ref())),
                },
            })
            .collect()
    }
}

impl<T: Send + 'static> Running<T> {
    fn spawn<F, Fut>(
        index: usize,
        cpu: Option<usize>,
        socket: TcpSocket,
        serve: F,
    ) -> io::Result<Running<T>>
    where
        F: Fn(Shard) -> Fut + Send + 'static,
        Fut: Future<Output = io::Result<T>>,
    {
        let (stop_tx, stop_rx) = oneshot::channel();
        let (ready_tx, ready_rx) = oneshot::channel();
        let (ended_tx, ended_rx) = oneshot::channel::<()>();
        let thread = thread::Builder::new()
            .name(format!("shard-{index}"))
            .spawn(move || {
                // Invariant 3: held first, so dropped last.
                let _ended = ended_tx;
                if let Some(cpu) = cpu
                    && let Err(e) = cpus::pin_current_thread(cpu)
                {
                    eprintln!(
                        "warning: shard {index} runs unpinned: cannot pin it to CPU {cpu}: {e}"
                    );
                }
                let runtime = evloop::Runtime::new().map_err(|e| {
                    io::Error::new(e.kind(), format!("cannot start the runtime: {e}"))
                })?;
                runtime.block_on(async move {
                    let listener = socket.listen(BACKLOG)?;
                    // Nobody waiting means the main thread is gone; the stop says the rest.
                    let _ = ready_tx.send(());
                    serve(Shard {
                        index,
                        listener,
                        stop: stop_rx,
                    })
                    .await
                })
            })?;
        Ok(Running {
            index,
            cpu,
            thread,
            stop: Some(stop_tx),
            ready: Some(ready_rx),
            ended: Some(ended_rx),
        })
    }
}

/// The message a panic was raised with (`panic!("...")` gives a `&str` or a `String`).
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&str>() {
        message.to_string()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "a panic with a payload that is not a message".to_string()
    }
}
