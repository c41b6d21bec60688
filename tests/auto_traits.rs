//! The auto traits of every public type, checked at compile time: a change that makes a type
//! `Send` or `Sync` where it was not (or the reverse) stops this file from compiling.
//!
//! What the rules are: the runtime and everything that holds a piece of it (`Rc`s into the
//! executor or the reactor) stays on the runtime's thread, so it is neither `Send` nor `Sync`;
//! plain data (errors, settings, reports) is both; `Semaphore` and `Notify` own their state in
//! `Cell`s, so they may move with their owner but are not `Sync`; `threadsafe::oneshot` and `signal::unix::Signal`
//! are the types meant to cross threads. Wrappers generic over a user type (`io::Read<R>`,
//! `future::JoinAll<F>`, the `mpsc` errors) are `Send` exactly when what they wrap is, which is
//! checked with a `Send` type and with a `!Send` one.
//!
//! The locks (`Mutex`, `RwLock`) and `Barrier` are built on a `Semaphore` or `Notify` and
//! `Cell`s, so they follow `Semaphore`: `Send` when what they guard is, never `Sync`; their
//! borrowing guards hold a reference to that `!Sync` state and so are `!Send`. `TcpSocket` is
//! registered with no reactor and is `Send` (net/socket.rs, invariant 2).

use std::cell::Cell;
use std::future::Ready;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use evloop::future::{Either, JoinAll, SelectAll};
use evloop::io::{AsyncRead, AsyncWrite};
use evloop::net::{
    OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, TcpListener, TcpStream, WriteHalf,
};
use evloop::runtime::{Builder, Runtime, RuntimeMetrics, SlowPoll};
use evloop::signal::unix::{Signal, SignalKind};
use evloop::sync::{
    Acquire, AcquireError, AcquireOwned, Notified, Notify, OwnedSemaphorePermit, Semaphore,
    SemaphorePermit, TryAcquireError, mpsc, oneshot, threadsafe,
};
use evloop::task::{AbortHandle, Id, JoinError, JoinHandle, JoinSet};
use evloop::time::error::Elapsed;
use evloop::time::{Interval, MissedTickBehavior, Sleep};

/// Compiles only if every listed type is `Send`.
macro_rules! assert_send {
    ($($t:ty),* $(,)?) => {{
        fn check<T: Send + ?Sized>() {}
        $(check::<$t>();)*
    }};
}

/// Compiles only if every listed type is `Sync`.
macro_rules! assert_sync {
    ($($t:ty),* $(,)?) => {{
        fn check<T: Sync + ?Sized>() {}
        $(check::<$t>();)*
    }};
}

/// `<T as Probe<_>>::resolve` names one function only if exactly one impl of `Probe` applies
/// to `T`. The first impl always applies; the second applies when `T` has the auto trait. So
/// the path is ambiguous, and the file fails to compile, exactly when `T` has it.
macro_rules! assert_not {
    ($probe:ident, $auto:path; $($t:ty),* $(,)?) => {{
        trait $probe<Which> {
            fn resolve() {}
        }
        impl<T: ?Sized> $probe<()> for T {}
        struct HasIt;
        impl<T: ?Sized + $auto> $probe<HasIt> for T {}
        $(let _ = <$t as $probe<_>>::resolve;)*
    }};
}

macro_rules! assert_not_send {
    ($($t:ty),* $(,)?) => { assert_not!(NotSend, Send; $($t),*) };
}

macro_rules! assert_not_sync {
    ($($t:ty),* $(,)?) => { assert_not!(NotSync, Sync; $($t),*) };
}

/// An I/O object that is `Send` and `Sync`, to check the helper futures with.
struct SendIo;

impl AsyncRead for SendIo {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        _: &mut [u8],
    ) -> Poll<std::io::Result<usize>> {
        Poll::Ready(Ok(0))
    }
}

impl AsyncWrite for SendIo {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// A `Send` future and a `!Send` one, for the combinators.
type SendFuture = Ready<u32>;
type LocalFuture = Ready<Rc<u32>>;

#[test]
fn runtime_and_task_types() {
    assert_send!(
        RuntimeMetrics,
        SlowPoll,
        evloop::task::Builder,
        JoinError,
        Id
    );
    assert_sync!(
        RuntimeMetrics,
        SlowPoll,
        evloop::task::Builder,
        JoinError,
        Id
    );
    // `AbortHandle` sets a cancel flag that is a `Cell` on the runtime's thread.
    assert_not_send!(Runtime, Builder, JoinHandle<u32>, JoinSet<u32>, AbortHandle);
    assert_not_sync!(Runtime, Builder, JoinHandle<u32>, JoinSet<u32>, AbortHandle);
}

/// `?` turns a `JoinError` into the boxed error type code written for tokio returns.
#[test]
fn a_join_error_converts_into_a_boxed_send_sync_error() {
    fn join() -> Result<u32, Box<dyn std::error::Error + Send + Sync>> {
        let rt = Runtime::new()?;
        let output =
            rt.block_on(async { evloop::spawn(async { panic!("the task failed") }).await })?;
        Ok(output)
    }
    let error = join().unwrap_err();
    assert!(error.to_string().contains("the task failed"), "{error}");
    let error = error.downcast::<JoinError>().expect("a JoinError inside");
    assert!(error.is_panic());
}

#[test]
fn net_types() {
    assert_not_send!(
        TcpListener,
        TcpStream,
        ReadHalf<'static>,
        WriteHalf<'static>,
        OwnedReadHalf,
        OwnedWriteHalf,
        ReuniteError,
    );
    assert_not_sync!(
        TcpListener,
        TcpStream,
        ReadHalf<'static>,
        WriteHalf<'static>,
        OwnedReadHalf,
        OwnedWriteHalf,
        ReuniteError,
    );
}

#[test]
fn io_helper_futures_follow_their_io_object() {
    use evloop::io::{Flush, Read, ReadExact, ReadToEnd, Shutdown, Write, WriteAll};
    assert_send!(
        Read<'static, SendIo>,
        ReadExact<'static, SendIo>,
        ReadToEnd<'static, SendIo>,
        Write<'static, SendIo>,
        WriteAll<'static, SendIo>,
        Flush<'static, SendIo>,
        Shutdown<'static, SendIo>,
    );
    assert_not_send!(
        Read<'static, TcpStream>,
        ReadExact<'static, TcpStream>,
        ReadToEnd<'static, TcpStream>,
        Write<'static, TcpStream>,
        WriteAll<'static, TcpStream>,
        Flush<'static, TcpStream>,
        Shutdown<'static, TcpStream>,
    );
}

#[test]
fn signal_types() {
    assert_send!(Signal, SignalKind);
    assert_sync!(Signal, SignalKind);
}

#[test]
fn local_sync_types_are_not_shared_between_threads() {
    assert_not_send!(
        oneshot::Sender<u32>,
        oneshot::Receiver<u32>,
        mpsc::Sender<u32>,
        mpsc::Receiver<u32>,
        mpsc::UnboundedSender<u32>,
        mpsc::UnboundedReceiver<u32>,
        SemaphorePermit<'static>,
        OwnedSemaphorePermit,
        Acquire<'static>,
        AcquireOwned,
        Notified<'static>,
    );
    // Owned and built on `Cell`s, not `Rc`s: they may move to another thread with their
    // owner, but never be shared by two.
    assert_send!(Semaphore, Notify);
    assert_not_sync!(
        oneshot::Sender<u32>,
        oneshot::Receiver<u32>,
        mpsc::Sender<u32>,
        mpsc::Receiver<u32>,
        mpsc::UnboundedSender<u32>,
        mpsc::UnboundedReceiver<u32>,
        Semaphore,
        OwnedSemaphorePermit,
        AcquireOwned,
        Notify,
    );
}

#[test]
fn threadsafe_oneshot_crosses_threads() {
    assert_send!(
        threadsafe::oneshot::Sender<u32>,
        threadsafe::oneshot::Receiver<u32>
    );
    assert_sync!(
        threadsafe::oneshot::Sender<u32>,
        threadsafe::oneshot::Receiver<u32>
    );
    assert_not_send!(
        threadsafe::oneshot::Sender<Rc<u32>>,
        threadsafe::oneshot::Receiver<Rc<u32>>,
    );
}

#[test]
fn error_types_are_plain_data() {
    assert_send!(
        AcquireError,
        TryAcquireError,
        Elapsed,
        MissedTickBehavior,
        oneshot::error::RecvError,
        oneshot::error::TryRecvError,
        mpsc::error::TryRecvError,
        mpsc::error::SendError<u32>,
        mpsc::error::TrySendError<u32>,
    );
    assert_sync!(
        AcquireError,
        TryAcquireError,
        Elapsed,
        MissedTickBehavior,
        oneshot::error::RecvError,
        oneshot::error::TryRecvError,
        mpsc::error::TryRecvError,
        mpsc::error::SendError<u32>,
        mpsc::error::TrySendError<u32>,
    );
    assert_not_send!(
        mpsc::error::SendError<Rc<u32>>,
        mpsc::error::TrySendError<Rc<u32>>,
    );
    assert_not_sync!(
        mpsc::error::SendError<Cell<u32>>,
        mpsc::error::TrySendError<Cell<u32>>,
    );
}

#[test]
fn timers_hold_the_runtime() {
    assert_not_send!(Sleep, Interval);
    assert_not_sync!(Sleep, Interval);
}

#[test]
fn combinators_follow_their_futures() {
    assert_send!(
        JoinAll<SendFuture>,
        SelectAll<SendFuture>,
        Either<SendFuture, SendFuture>,
    );
    assert_not_send!(
        JoinAll<LocalFuture>,
        SelectAll<LocalFuture>,
        Either<LocalFuture, SendFuture>,
    );
}

#[test]
fn locks_and_barrier_follow_the_semaphore() {
    use evloop::sync::{
        Barrier, BarrierWaitResult, MappedMutexGuard, Mutex, MutexGuard, OwnedMutexGuard, RwLock,
        RwLockReadGuard, RwLockWriteGuard, TryLockError,
    };
    assert_send!(Mutex<u32>, RwLock<u32>, Barrier);
    assert_not_send!(Mutex<Rc<u32>>, RwLock<Rc<u32>>);
    assert_not_sync!(Mutex<u32>, RwLock<u32>, Barrier);
    assert_not_send!(
        MutexGuard<'static, u32>,
        MappedMutexGuard<'static, u32>,
        OwnedMutexGuard<u32>,
        RwLockReadGuard<'static, u32>,
        RwLockWriteGuard<'static, u32>,
    );
    assert_not_sync!(
        MutexGuard<'static, u32>,
        MappedMutexGuard<'static, u32>,
        OwnedMutexGuard<u32>,
        RwLockReadGuard<'static, u32>,
        RwLockWriteGuard<'static, u32>,
    );
    assert_send!(BarrierWaitResult, TryLockError);
    assert_sync!(BarrierWaitResult, TryLockError);
}

#[test]
fn channel_halves_share_an_rc() {
    use evloop::sync::{broadcast, watch};
    assert_not_send!(
        watch::Sender<u32>,
        watch::Receiver<u32>,
        watch::Ref<'static, u32>,
        broadcast::Sender<u32>,
        broadcast::Receiver<u32>,
        mpsc::Permit<'static, u32>,
        mpsc::PermitIterator<'static, u32>,
        mpsc::OwnedPermit<u32>,
        mpsc::WeakSender<u32>,
        mpsc::WeakUnboundedSender<u32>,
    );
    assert_not_sync!(
        watch::Sender<u32>,
        watch::Receiver<u32>,
        watch::Ref<'static, u32>,
        broadcast::Sender<u32>,
        broadcast::Receiver<u32>,
        mpsc::Permit<'static, u32>,
        mpsc::PermitIterator<'static, u32>,
        mpsc::OwnedPermit<u32>,
        mpsc::WeakSender<u32>,
        mpsc::WeakUnboundedSender<u32>,
    );
}

#[test]
fn channel_errors_are_plain_data() {
    use evloop::sync::{broadcast, watch};
    assert_send!(
        watch::error::SendError<u32>,
        watch::error::RecvError,
        broadcast::error::SendError<u32>,
        broadcast::error::RecvError,
        broadcast::error::TryRecvError,
        mpsc::error::SendTimeoutError<u32>,
        threadsafe::oneshot::error::RecvError,
        threadsafe::oneshot::error::TryRecvError,
    );
    assert_sync!(
        watch::error::SendError<u32>,
        watch::error::RecvError,
        broadcast::error::SendError<u32>,
        broadcast::error::RecvError,
        broadcast::error::TryRecvError,
        mpsc::error::SendTimeoutError<u32>,
        threadsafe::oneshot::error::RecvError,
        threadsafe::oneshot::error::TryRecvError,
    );
    assert_not_send!(
        watch::error::SendError<Rc<u32>>,
        broadcast::error::SendError<Rc<u32>>,
        mpsc::error::SendTimeoutError<Rc<u32>>,
    );
}

#[test]
fn io_wrappers_follow_their_io_object() {
    use evloop::io::{BufReader, BufStream, BufWriter, FillBuf, Lines, ReadLine, ReadUntil, Split};
    assert_send!(
        BufReader<SendIo>,
        BufWriter<SendIo>,
        BufStream<SendIo>,
        Lines<BufReader<SendIo>>,
        Split<BufReader<SendIo>>,
        ReadUntil<'static, BufReader<SendIo>>,
        ReadLine<'static, BufReader<SendIo>>,
        FillBuf<'static, BufReader<SendIo>>,
    );
    assert_sync!(BufReader<SendIo>, BufWriter<SendIo>, BufStream<SendIo>);
    assert_not_send!(
        BufReader<TcpStream>,
        BufWriter<TcpStream>,
        BufStream<TcpStream>,
        Lines<BufReader<TcpStream>>,
        Split<BufReader<TcpStream>>,
        ReadUntil<'static, BufReader<TcpStream>>,
        ReadLine<'static, BufReader<TcpStream>>,
        FillBuf<'static, BufReader<TcpStream>>,
    );
}

#[test]
fn in_memory_io() {
    use evloop::io::{DuplexStream, Empty, ReadHalf, Repeat, Sink, WriteHalf};
    // Plain values with no state to share.
    assert_send!(Empty, Repeat, Sink);
    assert_sync!(Empty, Repeat, Sink);
    // Both ends of a duplex pipe, and both halves of `io::split`, share an `Rc<RefCell<_>>`.
    assert_not_send!(DuplexStream, ReadHalf<SendIo>, WriteHalf<SendIo>);
    assert_not_sync!(DuplexStream, ReadHalf<SendIo>, WriteHalf<SendIo>);
}

#[test]
fn more_net_types() {
    use evloop::net::unix;
    use evloop::net::{
        Interest, Ready, TcpSocket, UdpSocket, UnixDatagram, UnixListener, UnixStream,
    };
    // Plain data, and a socket that is registered with no reactor yet.
    assert_send!(Interest, Ready, TcpSocket, unix::UCred);
    assert_sync!(Interest, Ready, TcpSocket, unix::UCred);
    assert_not_send!(
        UdpSocket,
        UnixListener,
        UnixStream,
        UnixDatagram,
        unix::ReadHalf<'static>,
        unix::WriteHalf<'static>,
        unix::OwnedReadHalf,
        unix::OwnedWriteHalf,
        unix::ReuniteError,
    );
    assert_not_sync!(
        UdpSocket,
        UnixListener,
        UnixStream,
        UnixDatagram,
        unix::ReadHalf<'static>,
        unix::WriteHalf<'static>,
        unix::OwnedReadHalf,
        unix::OwnedWriteHalf,
        unix::ReuniteError,
    );
}

#[test]
fn unconstrained_follows_its_future() {
    use evloop::task::Unconstrained;
    assert_send!(Unconstrained<SendFuture>);
    assert_not_send!(Unconstrained<LocalFuture>);
}

#[cfg(feature = "futures-io")]
#[test]
fn futures_io_wrappers_follow_their_io_object() {
    use evloop::compat::{EvloopIo, FuturesIo};
    assert_send!(FuturesIo<SendIo>, EvloopIo<SendIo>);
    assert_not_send!(FuturesIo<TcpStream>, EvloopIo<TcpStream>);
}

/// hyper requires its executor, timer and sleep future to be `Send + Sync`.
#[cfg(feature = "hyper")]
#[test]
fn hyper_bridges_are_send_and_sync() {
    use evloop::compat::hyper::{Executor, Sleep, Timer};
    assert_send!(Executor, Timer, Sleep);
    assert_sync!(Executor, Timer, Sleep);
}
