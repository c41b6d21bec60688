//! Unit tests for the I/O helpers, driven by hand against a stream that misbehaves on cue.
//!
//! [`Mock`] is a reader and a writer whose faults each test picks: short reads and writes,
//! `Pending` on every other call, one `Interrupted`, a failing call, a sink that fills up, end
//! of stream. It logs every call with what it returned, so a test can check the order of calls
//! and not only the bytes that came out.

use std::cell::RefCell;
use std::future::Future;
use std::marker::PhantomPinned;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use proptest::collection::vec;
use proptest::prelude::*;

use super::*;
use crate::coop;

/// The four poll methods, as the mock logs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Read,
    Write,
    Flush,
    Shutdown,
}

/// What one call to the mock returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// `Pending`, after waking the waker so the task is polled again.
    Pending,
    /// `Ready(Err)` of kind `Interrupted`.
    Interrupted,
    /// `Ready(Err)` of kind `Other`, or of the kind in `Mock::eof_error`.
    Failed,
    /// `Ready(Ok)`: the bytes moved by a read or write; 0 for flush and shutdown.
    Done(usize),
}

use Outcome::{Done, Failed, Interrupted, Pending};

/// A reader and writer with faults chosen by the test; see the module docs.
#[derive(Debug)]
struct Mock {
    /// What reads hand out; `source[read_pos..]` is still to come.
    source: Vec<u8>,
    read_pos: usize,
    /// Every byte writes accepted, in order.
    sink: Vec<u8>,
    /// The most bytes one read hands out.
    read_chunk: usize,
    /// The most bytes one write accepts.
    write_chunk: usize,
    /// Once `sink` holds this many bytes, writes accept 0: the writer is full.
    sink_limit: usize,
    /// If set, the 1st, 3rd, 5th... call of any kind returns `Pending`.
    pending_every_other: bool,
    /// The first call of this kind that would succeed returns `Interrupted` instead.
    interrupt_once: Option<Op>,
    /// Every call of this kind fails.
    fail: Option<Op>,
    /// If set, a read at the end of `source` fails with this kind instead of returning 0.
    eof_error: Option<ErrorKind>,
    calls: usize,
    log: Vec<(Op, Outcome)>,
}

impl Mock {
    /// A well-behaved stream: reads hand out `source` all at once, writes take everything.
    fn new(source: &[u8]) -> Mock {
        Mock {
            source: source.to_vec(),
            read_pos: 0,
            sink: Vec::new(),
            read_chunk: usize::MAX,
            write_chunk: usize::MAX,
            sink_limit: usize::MAX,
            pending_every_other: false,
            interrupt_once: None,
            fail: None,
            eof_error: None,
            calls: 0,
            log: Vec::new(),
        }
    }

    fn read_chunk(self, read_chunk: usize) -> Mock {
        Mock { read_chunk, ..self }
    }

    fn write_chunk(self, write_chunk: usize) -> Mock {
        Mock {
            write_chunk,
            ..self
        }
    }

    fn sink_limit(self, sink_limit: usize) -> Mock {
        Mock { sink_limit, ..self }
    }

    fn pending_every_other(self) -> Mock {
        Mock {
            pending_every_other: true,
            ..self
        }
    }

    fn interrupt_once(self, op: Op) -> Mock {
        Mock {
            interrupt_once: Some(op),
            ..self
        }
    }

    fn fail(self, op: Op) -> Mock {
        Mock {
            fail: Some(op),
            ..self
        }
    }

    fn eof_error(self, kind: ErrorKind) -> Mock {
        Mock {
            eof_error: Some(kind),
            ..self
        }
    }

    /// Plays the fault, if any, that this call gets instead of doing its work.
    fn fault(&mut self, op: Op, cx: &Context<'_>) -> Option<Poll<Result<usize>>> {
        self.calls += 1;
        if self.pending_every_other && self.calls % 2 == 1 {
            cx.waker().wake_by_ref();
            self.log.push((op, Pending));
            return Some(Poll::Pending);
        }
        if self.interrupt_once == Some(op) {
            self.interrupt_once = None;
            self.log.push((op, Interrupted));
            return Some(Poll::Ready(Err(ErrorKind::Interrupted.into())));
        }
        if self.fail == Some(op) {
            self.log.push((op, Failed));
            return Some(Poll::Ready(Err(Error::other("mock failure"))));
        }
        None
    }

    /// Flush and shutdown do no work, so they only log and play faults.
    fn poll_unit(&mut self, op: Op, cx: &Context<'_>) -> Poll<Result<()>> {
        if let Some(fault) = self.fault(op, cx) {
            return fault.map_ok(drop);
        }
        self.log.push((op, Done(0)));
        Poll::Ready(Ok(()))
    }

    /// The calls of one kind, in order, with what each returned.
    fn calls_of(&self, op: Op) -> Vec<Outcome> {
        self.log
            .iter()
            .filter(|(logged, _)| *logged == op)
            .map(|(_, outcome)| *outcome)
            .collect()
    }
}

impl AsyncRead for Mock {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<Result<usize>> {
        let this = self.get_mut();
        if let Some(fault) = this.fault(Op::Read, cx) {
            return fault;
        }
        let rest = &this.source[this.read_pos..];
        if rest.is_empty()
            && let Some(kind) = this.eof_error
        {
            this.log.push((Op::Read, Failed));
            return Poll::Ready(Err(kind.into()));
        }
        let n = buf.len().min(this.read_chunk).min(rest.len());
        buf[..n].copy_from_slice(&rest[..n]);
        this.read_pos += n;
        this.log.push((Op::Read, Done(n)));
        Poll::Ready(Ok(n))
    }
}

impl AsyncWrite for Mock {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<Result<usize>> {
        let this = self.get_mut();
        if let Some(fault) = this.fault(Op::Write, cx) {
            return fault;
        }
        let room = this.sink_limit - this.sink.len();
        let n = buf.len().min(this.write_chunk).min(room);
        this.sink.extend_from_slice(&buf[..n]);
        this.log.push((Op::Write, Done(n)));
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.get_mut().poll_unit(Op::Flush, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.get_mut().poll_unit(Op::Shutdown, cx)
    }
}

/// A stream that breaks the contract once: its first read or write claims one byte more than
/// the buffer it was given. After that it is at end of stream and takes no more bytes, so a
/// helper that misses the lie finishes, and the test fails, instead of looping for ever.
#[derive(Debug, Default)]
struct Overreporter {
    lied: bool,
}

impl Overreporter {
    fn claim(&mut self, len: usize) -> Poll<Result<usize>> {
        let claimed = if self.lied { 0 } else { len + 1 };
        self.lied = true;
        Poll::Ready(Ok(claimed))
    }
}

impl AsyncRead for Overreporter {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<Result<usize>> {
        self.get_mut().claim(buf.len())
    }
}

impl AsyncWrite for Overreporter {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<Result<usize>> {
        self.get_mut().claim(buf.len())
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// A `!Unpin` reader over a byte slice, for the `Pin<P>` forwarding impl.
///
/// It needs no `unsafe` to read through `Pin<&mut Self>`: the slice sits in a `RefCell`,
/// reached through the shared reference that pinning still allows.
#[derive(Debug)]
struct PinnedReader<'a> {
    rest: RefCell<&'a [u8]>,
    _pinned: PhantomPinned,
}

impl AsyncRead for PinnedReader<'_> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<Result<usize>> {
        let mut rest = self.into_ref().get_ref().rest.borrow_mut();
        Pin::new(&mut *rest).poll_read(cx, buf)
    }
}

/// Counts wake-ups, so [`drive`] can tell a `Pending` that registered the waker from one that
/// did not.
#[derive(Debug, Default)]
struct WakeCount(AtomicUsize);

impl WakeCount {
    fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Wake for WakeCount {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// More polls than any test here needs; reaching it means a future never finishes.
const MAX_POLLS: usize = 100_000;

/// Polls `future` until it is ready; returns its output and how many polls returned `Pending`.
///
/// Panics if a poll returns `Pending` without the waker being woken during it. The mock wakes
/// at once whenever it returns `Pending`, so a `Pending` with no wake-up was made up by the
/// helper under test, and would leave a real task asleep for ever.
fn drive<F: Future>(future: F) -> (F::Output, usize) {
    let wakes = Arc::new(WakeCount::default());
    let waker = Waker::from(Arc::clone(&wakes));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    for pendings in 0..MAX_POLLS {
        let wakes_before = wakes.get();
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(output) => return (output, pendings),
            Poll::Pending => assert!(
                wakes.get() > wakes_before,
                "the future returned Pending without the waker being woken"
            ),
        }
    }
    panic!("the future was still pending after {MAX_POLLS} polls");
}

/// Polls `future` once with a no-op waker.
fn poll_once<F: Future>(future: Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

/// `len` bytes with no short period, so a byte repeated, skipped or reordered shows up.
fn pattern(len: usize) -> Vec<u8> {
    let mut state: u32 = 0x9e37_79b9;
    (0..len)
        .map(|_| {
            // xorshift32
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state.to_le_bytes()[0]
        })
        .collect()
}

fn kind<T: std::fmt::Debug>(result: Result<T>) -> ErrorKind {
    result.expect_err("expected an error").kind()
}

// ---- read ----

#[test]
fn read_returns_what_one_short_read_gives() {
    let source = pattern(10);
    let mut mock = Mock::new(&source).read_chunk(4);
    let mut buf = [0; 8];

    let (read, pendings) = drive(mock.read(&mut buf));

    assert_eq!(read.unwrap(), 4);
    assert_eq!(pendings, 0);
    assert_eq!(buf[..4], source[..4]);
    assert_eq!(mock.log, [(Op::Read, Done(4))]);
}

#[test]
fn read_waits_while_the_reader_is_pending() {
    let source = pattern(3);
    let mut mock = Mock::new(&source).pending_every_other();
    let mut buf = [0; 8];

    let (read, pendings) = drive(mock.read(&mut buf));

    assert_eq!(read.unwrap(), 3);
    assert_eq!(pendings, 1);
    assert_eq!(mock.log, [(Op::Read, Pending), (Op::Read, Done(3))]);
}

#[test]
fn read_hands_interrupted_back_like_std() {
    let mut mock = Mock::new(b"abc").interrupt_once(Op::Read);
    let mut buf = [0; 8];

    assert_eq!(kind(drive(mock.read(&mut buf)).0), ErrorKind::Interrupted);
    assert_eq!(drive(mock.read(&mut buf)).0.unwrap(), 3);
    assert_eq!(mock.log, [(Op::Read, Interrupted), (Op::Read, Done(3))]);
}

#[test]
#[should_panic(expected = "poll_read reported 5 bytes for a buffer of 4 bytes")]
fn read_panics_when_the_reader_reports_more_than_the_buffer() {
    let _ = drive(Overreporter::default().read(&mut [0; 4]));
}

// ---- read_exact ----

#[test]
fn read_exact_keeps_progress_across_pending() {
    let source = pattern(30);
    let mut mock = Mock::new(&source).read_chunk(3).pending_every_other();
    let mut buf = [0; 20];

    let (read, pendings) = drive(mock.read_exact(&mut buf));

    assert_eq!(read.unwrap(), 20);
    // Seven reads (six of 3 bytes, one of 2), each after one `Pending`. Had a `Pending`
    // reset the progress, the bytes would land at the wrong offsets and more would be read.
    assert_eq!(pendings, 7);
    assert_eq!(buf[..], source[..20]);
    assert_eq!(mock.read_pos, 20);
    assert_eq!(
        mock.calls_of(Op::Read),
        [
            Pending,
            Done(3),
            Pending,
            Done(3),
            Pending,
            Done(3),
            Pending,
            Done(3),
            Pending,
            Done(3),
            Pending,
            Done(3),
            Pending,
            Done(2)
        ]
    );
}

#[test]
fn read_exact_shows_its_progress_in_debug() {
    let mut mock = Mock::new(&pattern(10)).read_chunk(3).pending_every_other();
    let mut buf = [0; 10];
    let mut read_exact = mock.read_exact(&mut buf);

    assert!(poll_once(Pin::new(&mut read_exact)).is_pending());
    assert!(poll_once(Pin::new(&mut read_exact)).is_pending());
    assert_eq!(
        format!("{read_exact:?}"),
        "ReadExact { filled: 3, buf_len: 10, .. }"
    );
}

#[test]
fn read_exact_reports_unexpected_eof_when_the_stream_ends_early() {
    let source = pattern(5);
    let mut mock = Mock::new(&source).read_chunk(2);
    let mut buf = [0; 8];

    let (read, _) = drive(mock.read_exact(&mut buf));

    assert_eq!(kind(read), ErrorKind::UnexpectedEof);
    assert_eq!(buf[..5], source[..]);
    assert_eq!(
        mock.calls_of(Op::Read),
        [Done(2), Done(2), Done(1), Done(0)]
    );
}

#[test]
fn read_exact_retries_interrupted_within_one_poll() {
    let source = pattern(6);
    let mut mock = Mock::new(&source).interrupt_once(Op::Read);
    let mut buf = [0; 6];

    let read = poll_once(pin!(mock.read_exact(&mut buf)));

    assert!(matches!(read, Poll::Ready(Ok(6))), "{read:?}");
    assert_eq!(buf, source[..]);
    assert_eq!(mock.log, [(Op::Read, Interrupted), (Op::Read, Done(6))]);
}

#[test]
fn read_exact_reads_no_further_than_the_buffer() {
    let source = pattern(10);
    let mut mock = Mock::new(&source);
    let mut first = [0; 4];
    let mut second = [0; 6];

    drive(mock.read_exact(&mut first)).0.unwrap();
    drive(mock.read_exact(&mut second)).0.unwrap();

    assert_eq!(first, source[..4]);
    assert_eq!(second, source[4..]);
}

#[test]
fn read_exact_of_an_empty_buffer_does_not_touch_the_reader() {
    let mut mock = Mock::new(b"abc").fail(Op::Read);

    assert_eq!(drive(mock.read_exact(&mut [])).0.unwrap(), 0);
    assert_eq!(mock.log, []);
}

#[test]
fn read_exact_hands_back_other_errors_without_retrying() {
    let mut mock = Mock::new(b"abc").fail(Op::Read);

    assert_eq!(
        kind(drive(mock.read_exact(&mut [0; 3])).0),
        ErrorKind::Other
    );
    assert_eq!(mock.log, [(Op::Read, Failed)]);
}

#[test]
#[should_panic(expected = "poll_read reported 5 bytes for a buffer of 4 bytes")]
fn read_exact_panics_when_the_reader_reports_more_than_the_buffer() {
    let _ = drive(Overreporter::default().read_exact(&mut [0; 4]));
}

// ---- read_to_end ----

#[test]
fn read_to_end_appends_every_byte_after_the_old_contents() {
    let source = pattern(20_000);
    let mut mock = Mock::new(&source)
        .read_chunk(1000)
        .pending_every_other()
        .interrupt_once(Op::Read);
    let mut buf = b"head".to_vec();

    let (read, pendings) = drive(mock.read_to_end(&mut buf));

    assert_eq!(read.unwrap(), 20_000);
    assert_eq!(buf[..4], *b"head");
    assert_eq!(buf[4..], source[..]);
    // 20 reads of data, 1 at end of stream and 1 interrupted, each after one `Pending`.
    assert_eq!(pendings, 22);
    assert_eq!(
        mock.calls_of(Op::Read)[..4],
        [Pending, Interrupted, Pending, Done(1000)]
    );
    assert_eq!(mock.calls_of(Op::Read).last(), Some(&Done(0)));
}

#[test]
fn read_to_end_leaves_no_padding_when_dropped_while_pending() {
    let source = pattern(10);
    let mut mock = Mock::new(&source).read_chunk(4).pending_every_other();
    let mut buf = Vec::new();

    {
        let mut read_to_end = mock.read_to_end(&mut buf);
        assert!(poll_once(Pin::new(&mut read_to_end)).is_pending());
        assert!(poll_once(Pin::new(&mut read_to_end)).is_pending());
    }

    assert_eq!(buf, source[..4]);
}

#[test]
fn read_to_end_keeps_the_bytes_read_before_an_error() {
    let source = pattern(10);
    let mut mock = Mock::new(&source)
        .read_chunk(4)
        .eof_error(ErrorKind::ConnectionReset);
    let mut buf = Vec::new();

    let (read, _) = drive(mock.read_to_end(&mut buf));

    assert_eq!(kind(read), ErrorKind::ConnectionReset);
    assert_eq!(buf, source);
}

#[test]
#[should_panic(expected = "poll_read reported 8193 bytes for a buffer of 8192 bytes")]
fn read_to_end_panics_when_the_reader_reports_more_than_the_buffer() {
    let _ = drive(Overreporter::default().read_to_end(&mut Vec::new()));
}

// ---- write ----

#[test]
fn write_returns_what_one_short_write_takes() {
    let mut mock = Mock::new(b"").write_chunk(3);

    let (written, pendings) = drive(mock.write(b"hello"));

    assert_eq!(written.unwrap(), 3);
    assert_eq!(pendings, 0);
    assert_eq!(mock.sink, b"hel");
}

#[test]
fn write_hands_interrupted_back_like_std() {
    let mut mock = Mock::new(b"").interrupt_once(Op::Write);

    assert_eq!(kind(drive(mock.write(b"hi")).0), ErrorKind::Interrupted);
    assert_eq!(mock.sink, b"");
}

#[test]
#[should_panic(expected = "poll_write reported 3 bytes for a buffer of 2 bytes")]
fn write_panics_when_the_writer_reports_more_than_the_buffer() {
    let _ = drive(Overreporter::default().write(b"hi"));
}

// ---- write_all ----

#[test]
fn write_all_writes_every_byte_in_order_through_short_writes() {
    let data = pattern(10_000);
    let mut mock = Mock::new(b"").write_chunk(7).pending_every_other();

    let (written, pendings) = drive(mock.write_all(&data));

    written.unwrap();
    assert_eq!(mock.sink, data);
    // 10_000 / 7 rounded up: 1429 writes, each after one `Pending`.
    assert_eq!(pendings, 1429);
}

#[test]
fn write_all_retries_interrupted_within_one_poll() {
    let mut mock = Mock::new(b"").interrupt_once(Op::Write);

    let written = poll_once(pin!(mock.write_all(b"hello")));

    assert!(matches!(written, Poll::Ready(Ok(()))), "{written:?}");
    assert_eq!(mock.sink, b"hello");
    assert_eq!(mock.log, [(Op::Write, Interrupted), (Op::Write, Done(5))]);
}

#[test]
fn write_all_reports_write_zero_when_the_writer_takes_nothing() {
    let data = pattern(8);
    let mut mock = Mock::new(b"").write_chunk(3).sink_limit(5);

    let (written, _) = drive(mock.write_all(&data));

    assert_eq!(kind(written), ErrorKind::WriteZero);
    assert_eq!(mock.sink, data[..5]);
    assert_eq!(mock.calls_of(Op::Write), [Done(3), Done(2), Done(0)]);
}

#[test]
fn write_all_of_an_empty_buffer_does_not_touch_the_writer() {
    let mut mock = Mock::new(b"").fail(Op::Write);

    drive(mock.write_all(b"")).0.unwrap();
    assert_eq!(mock.log, []);
}

#[test]
fn write_all_hands_back_other_errors_without_retrying() {
    let mut mock = Mock::new(b"").fail(Op::Write);

    assert_eq!(kind(drive(mock.write_all(b"hi")).0), ErrorKind::Other);
    assert_eq!(mock.log, [(Op::Write, Failed)]);
}

#[test]
#[should_panic(expected = "poll_write reported 3 bytes for a buffer of 2 bytes")]
fn write_all_panics_when_the_writer_reports_more_than_the_buffer() {
    let _ = drive(Overreporter::default().write_all(b"hi"));
}

// ---- flush and shutdown ----

#[test]
fn flush_waits_for_poll_flush() {
    let mut mock = Mock::new(b"").pending_every_other();

    let (flushed, pendings) = drive(mock.flush());

    flushed.unwrap();
    assert_eq!(pendings, 1);
    assert_eq!(mock.log, [(Op::Flush, Pending), (Op::Flush, Done(0))]);
}

#[test]
fn shutdown_flushes_then_shuts_down() {
    let mut mock = Mock::new(b"").pending_every_other();

    let (shut, pendings) = drive(mock.shutdown());

    shut.unwrap();
    assert_eq!(pendings, 2);
    // Shutdown starts only once the flush is done, and a pending shutdown does not flush again.
    assert_eq!(
        mock.log,
        [
            (Op::Flush, Pending),
            (Op::Flush, Done(0)),
            (Op::Shutdown, Pending),
            (Op::Shutdown, Done(0))
        ]
    );
}

#[test]
fn shutdown_does_not_shut_down_when_the_flush_fails() {
    let mut mock = Mock::new(b"").fail(Op::Flush);

    assert_eq!(kind(drive(mock.shutdown()).0), ErrorKind::Other);
    assert_eq!(mock.log, [(Op::Flush, Failed)]);
}

// ---- copy ----

#[test]
fn copy_is_byte_exact_and_flushes_at_the_end() {
    let data = pattern(50_000);
    let mut reader = Mock::new(&data)
        .read_chunk(1000)
        .pending_every_other()
        .interrupt_once(Op::Read);
    let mut writer = Mock::new(b"")
        .write_chunk(777)
        .pending_every_other()
        .interrupt_once(Op::Write);

    let (copied, _) = drive(copy(&mut reader, &mut writer));

    assert_eq!(copied.unwrap(), 50_000);
    assert_eq!(writer.sink, data);
    assert_eq!(
        reader.log[..2],
        [(Op::Read, Pending), (Op::Read, Interrupted)]
    );
    assert!(writer.calls_of(Op::Write).contains(&Interrupted));
    // One flush, after the last write, and nothing after it.
    assert_eq!(writer.calls_of(Op::Flush), [Pending, Done(0)]);
    let last_write = writer.log.iter().rposition(|(op, _)| *op == Op::Write);
    let first_flush = writer.log.iter().position(|(op, _)| *op == Op::Flush);
    assert!(last_write < first_flush);
    assert_eq!(writer.log.last(), Some(&(Op::Flush, Done(0))));
    assert_eq!(writer.calls_of(Op::Shutdown), []);
}

#[test]
fn copy_reads_into_an_8_kib_buffer() {
    let data = pattern(20_000);
    let mut reader = Mock::new(&data);
    let mut writer = Vec::new();

    let (copied, _) = drive(copy(&mut reader, &mut writer));

    assert_eq!(copied.unwrap(), 20_000);
    assert_eq!(writer, data);
    // The reader hands out all it can, so each read shows the size of the buffer it was given.
    assert_eq!(
        reader.calls_of(Op::Read),
        [Done(8192), Done(8192), Done(3616), Done(0)]
    );
}

#[test]
fn copy_reports_write_zero_when_the_writer_fills_up() {
    let data = pattern(100);
    let mut reader = Mock::new(&data);
    let mut writer = Mock::new(b"").sink_limit(10);

    let (copied, _) = drive(copy(&mut reader, &mut writer));

    assert_eq!(kind(copied), ErrorKind::WriteZero);
    assert_eq!(writer.sink, data[..10]);
    assert_eq!(writer.calls_of(Op::Flush), []);
}

#[test]
fn copy_hands_back_read_errors_without_flushing() {
    let mut reader = Mock::new(b"abc").fail(Op::Read);
    let mut writer = Mock::new(b"");

    assert_eq!(
        kind(drive(copy(&mut reader, &mut writer)).0),
        ErrorKind::Other
    );
    assert_eq!(writer.log, []);
}

#[test]
fn copy_hands_back_flush_errors() {
    let mut reader = Mock::new(b"abc");
    let mut writer = Mock::new(b"").fail(Op::Flush);

    assert_eq!(
        kind(drive(copy(&mut reader, &mut writer)).0),
        ErrorKind::Other
    );
    assert_eq!(writer.sink, b"abc");
}

#[test]
fn copy_of_an_empty_reader_copies_nothing_and_flushes() {
    let mut reader = Mock::new(b"");
    let mut writer = Mock::new(b"");

    assert_eq!(drive(copy(&mut reader, &mut writer)).0.unwrap(), 0);
    assert_eq!(writer.log, [(Op::Flush, Done(0))]);
}

// ---- in-memory streams and forwarding impls ----

#[test]
fn byte_slice_reads_from_the_front_then_ends() {
    let mut input: &[u8] = b"hello";
    let mut buf = [0; 3];

    assert_eq!(drive(input.read(&mut buf)).0.unwrap(), 3);
    assert_eq!(buf, *b"hel");
    assert_eq!(input, b"lo");
    assert_eq!(drive(input.read(&mut buf)).0.unwrap(), 2);
    assert_eq!(buf[..2], *b"lo");
    assert_eq!(drive(input.read(&mut buf)).0.unwrap(), 0);
}

#[test]
fn vec_appends_every_write() {
    let mut output = b"a".to_vec();

    assert_eq!(drive(output.write(b"bc")).0.unwrap(), 2);
    drive(output.write_all(b"de")).0.unwrap();
    drive(output.shutdown()).0.unwrap();

    assert_eq!(output, b"abcde");
}

/// Reads `reader` to the end through the extension trait, so only the forwarding impl under
/// test stands between the call and the stream.
fn read_through<R: AsyncRead + Unpin>(mut reader: R) -> Vec<u8> {
    let mut buf = Vec::new();
    drive(reader.read_to_end(&mut buf)).0.unwrap();
    buf
}

/// Writes, then shuts down, through the extension trait.
fn write_through<W: AsyncWrite + Unpin>(mut writer: W) {
    drive(writer.write_all(b"xy")).0.unwrap();
    drive(writer.shutdown()).0.unwrap();
}

#[test]
fn forwarding_impls_reach_the_inner_reader() {
    let source = pattern(100);
    let fresh = || Mock::new(&source).read_chunk(30).pending_every_other();

    let mut mock = fresh();
    assert_eq!(read_through(&mut mock), source);
    let boxed: Box<dyn AsyncRead + Unpin> = Box::new(fresh());
    assert_eq!(read_through(boxed), source);
    assert_eq!(read_through(Box::pin(fresh())), source);
    let mut mock = fresh();
    assert_eq!(read_through(Pin::new(&mut mock)), source);

    let pinned = PinnedReader {
        rest: RefCell::new(&source),
        _pinned: PhantomPinned,
    };
    assert_eq!(read_through(Box::pin(pinned)), source);
}

#[test]
fn forwarding_impls_reach_the_inner_writer() {
    let expected = [
        (Op::Write, Done(2)),
        (Op::Flush, Done(0)),
        (Op::Shutdown, Done(0)),
    ];

    let mut mock = Mock::new(b"");
    write_through(&mut mock);
    assert_eq!(mock.log, expected);

    let mut boxed = Box::new(Mock::new(b""));
    write_through(&mut boxed);
    assert_eq!(boxed.log, expected);

    let mut pinned = Box::pin(Mock::new(b""));
    write_through(&mut pinned);
    assert_eq!(pinned.log, expected);

    let mut mock = Mock::new(b"");
    write_through(Pin::new(&mut mock));
    assert_eq!(mock.log, expected);
    assert_eq!(mock.sink, b"xy");
}

#[test]
fn helper_futures_are_unpin_when_the_stream_is() {
    // Checked by the compiler: this test fails by not building.
    fn assert_unpin<T: Unpin>() {}
    assert_unpin::<Read<'_, Mock>>();
    assert_unpin::<ReadExact<'_, Mock>>();
    assert_unpin::<ReadToEnd<'_, Mock>>();
    assert_unpin::<Write<'_, Mock>>();
    assert_unpin::<WriteAll<'_, Mock>>();
    assert_unpin::<Flush<'_, Mock>>();
    assert_unpin::<Shutdown<'_, Mock>>();
}

// ---- cooperative budget ----

/// The budget tests, in a module of their own so that `.ci/run` can run just them under Miri.
mod budget {
    use super::*;

    /// A stream that spends a unit of the budget in its own poll methods, as an evloop socket
    /// does: one byte per read, every byte per write.
    #[derive(Debug, Default)]
    struct SpendingStream {
        calls: usize,
        written: Vec<u8>,
    }

    impl AsyncRead for SpendingStream {
        fn poll_read(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<Result<usize>> {
            let progress = std::task::ready!(coop::poll_proceed(cx));
            let this = self.get_mut();
            this.calls += 1;
            buf[0] = b'x';
            progress.made_progress();
            Poll::Ready(Ok(1))
        }
    }

    impl AsyncWrite for SpendingStream {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<Result<usize>> {
            let progress = std::task::ready!(coop::poll_proceed(cx));
            let this = self.get_mut();
            this.calls += 1;
            this.written.extend_from_slice(buf);
            progress.made_progress();
            Poll::Ready(Ok(buf.len()))
        }

        fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    /// Returns `Interrupted` to its first `limit` reads, then end of stream. A helper that retries
    /// `Interrupted` without spending budget reaches the end (and the test fails) instead of
    /// looping for ever.
    #[derive(Debug)]
    struct AlwaysInterrupted {
        calls: usize,
        limit: usize,
    }

    impl AsyncRead for AlwaysInterrupted {
        fn poll_read(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            _buf: &mut [u8],
        ) -> Poll<Result<usize>> {
            let this = self.get_mut();
            this.calls += 1;
            if this.calls > this.limit {
                return Poll::Ready(Ok(0));
            }
            Poll::Ready(Err(Error::from(ErrorKind::Interrupted)))
        }
    }

    /// Polls `future` once, as a task poll with a budget of `units` would; returns the poll, the
    /// units left after it, and whether it woke its waker.
    fn poll_with_budget<F: Future + ?Sized>(
        units: u32,
        future: Pin<&mut F>,
    ) -> (Poll<F::Output>, Option<u32>, bool) {
        let wakes = Arc::new(WakeCount::default());
        let waker = Waker::from(Arc::clone(&wakes));
        let ((poll, left), _) = coop::with_budget(units, || {
            let poll = future.poll(&mut Context::from_waker(&waker));
            (poll, coop::left())
        });
        (poll, left, wakes.get() > 0)
    }

    #[test]
    fn copy_from_memory_to_memory_yields_once_the_budget_is_spent() {
        let data = pattern(4 * COPY_BUF);
        let mut input: &[u8] = &data;
        let mut output = Vec::new();

        let mut copying = Box::pin(copy(&mut input, &mut output));
        let (poll, left, woke) = poll_with_budget(4, copying.as_mut());
        assert!(poll.is_pending(), "the copy ran past a spent budget");
        assert!(woke, "a copy that yields for the budget must wake its task");
        assert_eq!(left, Some(0));
        drop(copying);
        // One unit per read and one per write: two buffers went through.
        assert_eq!(output.len(), 2 * COPY_BUF);
        assert_eq!(input.len(), data.len() - 2 * COPY_BUF);

        drive(copy(&mut input, &mut output)).0.unwrap();
        assert_eq!(output, data, "no byte lost across the yield");
    }

    /// The size of `copy`'s buffer, which its reads show.
    const COPY_BUF: usize = 8 * 1024;

    /// Polls `future` once with a spent budget: it must return `Pending` after waking its task.
    fn assert_yields_at_once<F: Future>(name: &str, future: F) {
        let (poll, left, woke) = poll_with_budget(0, pin!(future));
        assert!(poll.is_pending(), "{name} completed with a spent budget");
        assert!(
            woke,
            "{name} yielded for the budget without waking its task"
        );
        assert_eq!(left, Some(0), "{name}");
    }

    #[test]
    fn every_helper_yields_without_touching_the_stream_when_the_budget_is_spent() {
        let mut stream = Mock::new(b"abcd");
        let mut buf = [0; 4];
        let mut sink = Vec::new();
        assert_yields_at_once("read", stream.read(&mut buf));
        assert_yields_at_once("read_exact", stream.read_exact(&mut buf));
        assert_yields_at_once("read_exact of nothing", stream.read_exact(&mut []));
        assert_yields_at_once("read_to_end", stream.read_to_end(&mut sink));
        assert_yields_at_once("write", stream.write(b"x"));
        assert_yields_at_once("write_all", stream.write_all(b"x"));
        assert_yields_at_once("write_all of nothing", stream.write_all(b""));
        assert_yields_at_once("flush", stream.flush());
        assert_yields_at_once("shutdown", stream.shutdown());
        assert_yields_at_once("copy", copy(&mut stream, &mut sink));
        assert_eq!(
            stream.log,
            [],
            "a helper called the stream with a spent budget"
        );
        assert!(sink.is_empty());
    }

    #[test]
    fn a_stream_that_spends_for_itself_is_not_charged_twice() {
        // A socket spends in its own poll_read and poll_write: the echo path (read, then
        // write_all) must cost two units, as it did before the helpers spent.
        let mut stream = SpendingStream::default();
        let mut buf = [0; 16];
        let mut echo = pin!(async {
            let n = stream.read(&mut buf).await.unwrap();
            stream.write_all(&buf[..n]).await.unwrap();
            coop::left()
        });
        let (poll, _, _) = poll_with_budget(10, echo.as_mut());
        assert_eq!(poll, Poll::Ready(Some(8)));

        // One byte per read: a budget of 10 lets read_exact make exactly 10 reads.
        let mut stream = SpendingStream::default();
        let mut buf = [0; 100];
        let (poll, left, woke) = poll_with_budget(10, pin!(stream.read_exact(&mut buf)));
        assert!(poll.is_pending() && woke);
        assert_eq!(left, Some(0));
        assert_eq!(stream.calls, 10);
    }

    #[test]
    fn an_in_memory_echo_costs_one_unit_per_call() {
        let mut input: &[u8] = b"ping";
        let mut output = Vec::new();
        let mut buf = [0; 16];
        let mut echo = pin!(async {
            let n = input.read(&mut buf).await.unwrap();
            output.write_all(&buf[..n]).await.unwrap();
            output.flush().await.unwrap();
            coop::left()
        });
        let (poll, _, _) = poll_with_budget(10, echo.as_mut());
        assert_eq!(poll, Poll::Ready(Some(7)));
    }

    #[test]
    fn a_helper_spends_nothing_while_the_stream_is_pending() {
        let mut stream = Mock::new(b"abcd").pending_every_other();
        let mut buf = [0; 4];
        let (poll, left, _) = poll_with_budget(5, pin!(stream.read_exact(&mut buf)));
        assert!(poll.is_pending());
        assert_eq!(left, Some(5));
    }

    #[test]
    fn read_exact_from_a_reader_that_is_always_interrupted_yields() {
        let mut reader = AlwaysInterrupted {
            calls: 0,
            limit: 10_000,
        };
        let mut buf = [0; 4];
        let (poll, left, woke) = poll_with_budget(5, pin!(reader.read_exact(&mut buf)));
        assert!(
            poll.is_pending(),
            "read_exact retried Interrupted {} times in one poll",
            reader.calls
        );
        assert!(woke);
        assert_eq!(left, Some(0));
        assert_eq!(reader.calls, 5, "one unit per retried read");
    }
}

// ---- properties ----

/// The default config, which honours `PROPTEST_CASES`, adjusted for Miri: fewer cases unless
/// `PROPTEST_CASES` says otherwise, since every case is interpreted there, thousands of times
/// slower; and no regression file, since Miri's isolation forbids the file system.
fn proptest_config() -> ProptestConfig {
    let config = ProptestConfig::default();
    if !cfg!(miri) {
        return config;
    }
    let cases = match std::env::var_os("PROPTEST_CASES") {
        Some(_) => config.cases,
        None => 4,
    };
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..config
    }
}

proptest! {
    #![proptest_config(proptest_config())]

    /// The oracle is the input itself: whatever the chunking and faults, the writer ends up
    /// with exactly the reader's bytes.
    #[test]
    fn copy_moves_every_byte_in_order_for_any_chunking(
        data in vec(any::<u8>(), 0..3000),
        read_chunk in 1..700usize,
        write_chunk in 1..700usize,
        reader_pends in any::<bool>(),
        writer_pends in any::<bool>(),
    ) {
        let mut reader = Mock::new(&data).read_chunk(read_chunk).interrupt_once(Op::Read);
        let mut writer = Mock::new(b"").write_chunk(write_chunk).interrupt_once(Op::Write);
        if reader_pends {
            reader = reader.pending_every_other();
        }
        if writer_pends {
            writer = writer.pending_every_other();
        }

        let (copied, _) = drive(copy(&mut reader, &mut writer));

        prop_assert_eq!(copied.unwrap(), data.len() as u64);
        prop_assert_eq!(&writer.sink, &data);
        prop_assert_eq!(writer.log.last(), Some(&(Op::Flush, Done(0))));
    }

    /// `read_exact` then `read_to_end` split the stream at `split`, or `read_exact` fails with
    /// `UnexpectedEof` when the stream is shorter than `split`.
    #[test]
    fn read_exact_then_read_to_end_split_the_stream(
        data in vec(any::<u8>(), 0..3000),
        split in 0..3000usize,
        chunk in 1..700usize,
        pends in any::<bool>(),
    ) {
        let mut reader = Mock::new(&data).read_chunk(chunk).interrupt_once(Op::Read);
        if pends {
            reader = reader.pending_every_other();
        }
        let mut head = vec![0; split];
        let (read, _) = drive(reader.read_exact(&mut head));
        if split > data.len() {
            prop_assert_eq!(kind(read), ErrorKind::UnexpectedEof);
            prop_assert_eq!(&head[..data.len()], &data[..]);
            return Ok(());
        }
        prop_assert_eq!(read.unwrap(), split);
        let mut tail = Vec::new();
        let (read, _) = drive(reader.read_to_end(&mut tail));

        prop_assert_eq!(read.unwrap(), data.len() - split);
        prop_assert_eq!(&head[..], &data[..split]);
        prop_assert_eq!(&tail[..], &data[split..]);
    }
}
