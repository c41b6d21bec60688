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
