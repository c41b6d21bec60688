//! The tokio-shaped I/O helpers: `AsyncBufRead` and its futures, `BufReader`, `BufWriter`,
//! `duplex`, `split`, `copy_bidirectional`, `copy_buf`, `empty`, `repeat` and `sink`, and the
//! cooperative budget they spend.
//!
//! No sockets: every stream is in memory (a `duplex` pair, a slice, or a scripted stream
//! below), so the whole file runs under Miri too (see `.ci/run`). Hand-polled tests use a
//! no-op waker; the ones that need a runtime use `support::rt` under a `with_deadline` guard,
//! and the starvation tests, where a failure is a runtime that never returns, run under the
//! `watchdog`.

mod support;
#[path = "support/watchdog.rs"]
mod watchdog;

use std::collections::VecDeque;
use std::future::Future;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use evloop::io::{
    self, AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt,
    BufReader, BufWriter, ErrorKind,
};
use evloop::task::yield_now;

use support::{join, pattern, rt, with_deadline};
use watchdog::on_own_thread;

/// Hang guard for the runtime tests: they take milliseconds (seconds under Miri or valgrind).
const LIMIT: Duration = if cfg!(miri) {
    Duration::from_secs(300)
} else {
    Duration::from_secs(60)
};

/// Polls `future` once with a no-op waker.
fn poll_once<F: Future>(future: Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

/// Polls `future` with a no-op waker until it resolves; for streams that wake themselves
/// before each `Pending`. Panics after 10 000 polls rather than spin.
fn drive<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    for _ in 0..10_000 {
        if let Poll::Ready(output) = poll_once(future.as_mut()) {
            return output;
        }
    }
    panic!("the future did not resolve in 10 000 polls");
}

/// Reads `reader` to end of stream in reads of at most 64 bytes.
///
/// For streams that hand out a few bytes per read: `read_to_end` zero-fills an 8 KiB window
/// before each read, which makes thousands of tiny reads slow in a debug build and under Miri.
async fn read_in_small_reads<R: AsyncRead + Unpin>(reader: &mut R) -> io::Result<Vec<u8>> {
    let mut all = Vec::new();
    let mut buf = [0; 64];
    loop {
        match reader.read(&mut buf).await? {
            0 => return Ok(all),
            n => all.extend_from_slice(&buf[..n]),
        }
    }
}

/// A buffered reader that hands out scripted chunks, with a `Pending` (after waking the task)
/// before each chunk, so each chunk is a separate arrival, as from a socket.
///
/// Its buffer is the current chunk: a chunk boundary is exactly where a line or a UTF-8
/// character gets cut.
#[derive(Debug)]
struct Chunks {
    chunks: VecDeque<Vec<u8>>,
    /// The next `poll_fill_buf` or `poll_read` on a fresh chunk returns `Pending` first.
    pending_next: bool,
    /// After the last chunk: `Some(kind)` fails every call with that kind, `None` is end of
    /// stream.
    then_fail: Option<ErrorKind>,
}

impl Chunks {
    fn new<const N: usize>(chunks: [&[u8]; N]) -> Chunks {
        Chunks {
            chunks: chunks.iter().map(|chunk| chunk.to_vec()).collect(),
            pending_next: true,
            then_fail: None,
        }
    }

    fn then_fail(mut self, kind: ErrorKind) -> Chunks {
        self.then_fail = Some(kind);
        self
    }
}

impl AsyncBufRead for Chunks {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        while this.chunks.front().is_some_and(|chunk| chunk.is_empty()) {
            this.chunks.pop_front();
            this.pending_next = true;
        }
        if this.pending_next {
            this.pending_next = false;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        match (this.chunks.front(), this.then_fail) {
            (Some(chunk), _) => Poll::Ready(Ok(chunk)),
            (None, Some(kind)) => Poll::Ready(Err(io::Error::from(kind))),
            (None, None) => Poll::Ready(Ok(&[])),
        }
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        match self.get_mut().chunks.front_mut() {
            Some(chunk) => drop(chunk.drain(..amt)),
            None => assert_eq!(amt, 0, "consume past end of stream"),
        }
    }
}

impl AsyncRead for Chunks {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let available = std::task::ready!(self.as_mut().poll_fill_buf(cx))?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Poll::Ready(Ok(n))
    }
}

/// What a [`Recorder`] saw, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    Write(Vec<u8>),
    Flush,
    Shutdown,
}

/// A writer that records every call and accepts at most `max_write` bytes per write.
#[derive(Debug)]
struct Recorder {
    events: Vec<Event>,
    max_write: usize,
    /// Reads hand out nothing (end of stream): the recorder is also a reader, for the
    /// passthrough tests.
    reads: usize,
}

impl Recorder {
    fn new(max_write: usize) -> Recorder {
        Recorder {
            events: Vec::new(),
            max_write,
            reads: 0,
        }
    }

    /// Every byte written, joined.
    fn written(&self) -> Vec<u8> {
        self.events
            .iter()
            .filter_map(|event| match event {
                Event::Write(bytes) => Some(&bytes[..]),
                _ => None,
            })
            .collect::<Vec<_>>()
            .concat()
    }
}

impl AsyncWrite for Recorder {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let n = buf.len().min(self.max_write);
        self.get_mut().events.push(Event::Write(buf[..n].to_vec()));
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().events.push(Event::Flush);
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().events.push(Event::Shutdown);
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for Recorder {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        _buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().reads += 1;
        Poll::Ready(Ok(0))
    }
}

/// Reads from a pattern, counting the calls and the size of each buffer it was offered.
/// Spends no cooperative budget, like a reader written outside evloop.
#[derive(Debug)]
struct Counted {
    source: Vec<u8>,
    pos: usize,
    offered: Vec<usize>,
}

impl Counted {
    fn new(source: Vec<u8>) -> Counted {
        Counted {
            source,
            pos: 0,
            offered: Vec::new(),
        }
    }
}

impl AsyncRead for Counted {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.offered.push(buf.len());
        let n = buf.len().min(this.source.len() - this.pos);
        buf[..n].copy_from_slice(&this.source[this.pos..this.pos + n]);
        this.pos += n;
        Poll::Ready(Ok(n))
    }
}

/// An endless reader of zeroes that spends no cooperative budget (a reader from outside
/// evloop): only a wrapper's own budget can make a loop over it yield.
#[derive(Debug)]
struct Zeroes;

impl AsyncRead for Zeroes {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        buf.fill(0);
        Poll::Ready(Ok(buf.len()))
    }
}

// ---- read_line, read_until, lines, split, fill_buf ----

#[test]
fn read_line_keeps_crlf_and_lf_and_returns_a_last_line_without_newline() {
    let mut reader: &[u8] = b"one\r\ntwo\n\nthree";
    let mut line = String::new();
    let mut lines = Vec::new();
    loop {
        line.clear();
        match drive(reader.read_line(&mut line)).unwrap() {
            0 => break,
            n => {
                assert_eq!(n, line.len());
                lines.push(line.clone());
            }
        }
    }
    assert_eq!(lines, ["one\r\n", "two\n", "\n", "three"]);
}

#[test]
fn read_line_appends_after_the_old_contents() {
    let mut reader: &[u8] = b"b\nc\n";
    let mut line = String::from("a");
    assert_eq!(drive(reader.read_line(&mut line)).unwrap(), 2);
    assert_eq!(drive(reader.read_line(&mut line)).unwrap(), 2);
    assert_eq!(line, "ab\nc\n");
}

#[test]
fn read_line_rejects_invalid_utf8_appends_nothing_and_moves_past_the_line() {
    let mut reader: &[u8] = b"ok \xff\xfe\nnext\n";
    let mut line = String::from("kept");
    let error = drive(reader.read_line(&mut line)).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidData);
    assert_eq!(line, "kept", "nothing of the invalid line is appended");
    line.clear();
    drive(reader.read_line(&mut line)).unwrap();
    assert_eq!(line, "next\n", "the invalid line was consumed, as std does");
}

#[test]
fn read_line_joins_a_line_and_a_character_cut_across_reads() {
    // "é" is 0xC3 0xA9: the chunk boundary cuts it in two.
    let mut reader = Chunks::new([b"caf\xc3", b"\xa9 au ", b"lait\nnext"]);
    let mut line = String::new();
    assert_eq!(drive(reader.read_line(&mut line)).unwrap(), 14);
    assert_eq!(line, "café au lait\n");
    line.clear();
    assert_eq!(drive(reader.read_line(&mut line)).unwrap(), 4);
    assert_eq!(line, "next");
}

#[test]
fn read_line_through_a_small_buf_reader_reads_long_lines_whole() {
    let text = "a line longer than the four-byte buffer\r\nand another\n";
    let mut reader = BufReader::with_capacity(4, text.as_bytes());
    let mut first = String::new();
    drive(reader.read_line(&mut first)).unwrap();
    let mut second = String::new();
    drive(reader.read_line(&mut second)).unwrap();
    assert_eq!(first + &second, text);
}

#[test]
fn read_line_dropped_halfway_appends_the_valid_bytes_it_took() {
    let mut reader = Chunks::new([b"par", b"tial\n"]);
    let mut line = String::from(">");
    {
        let mut read = pin!(reader.read_line(&mut line));
        assert!(poll_once(read.as_mut()).is_pending()); // the scripted Pending
        assert!(poll_once(read.as_mut()).is_pending()); // took "par", waits for more
    }
    assert_eq!(line, ">par", "the bytes taken are not lost");
    drive(reader.read_line(&mut line)).unwrap();
    assert_eq!(line, ">partial\n");
}

#[test]
fn read_line_dropped_inside_a_character_appends_nothing() {
    // Documented: bytes that are not (yet) UTF-8 are dropped with the future.
    let mut reader = Chunks::new([b"ab\xc3", b"\xa9\n"]);
    let mut line = String::new();
    {
        let mut read = pin!(reader.read_line(&mut line));
        assert!(poll_once(read.as_mut()).is_pending());
        assert!(poll_once(read.as_mut()).is_pending());
    }
    assert_eq!(line, "");
}

#[test]
fn read_line_keeps_valid_bytes_read_before_an_error() {
    let mut reader = Chunks::new([b"half a li"]).then_fail(ErrorKind::ConnectionReset);
    let mut line = String::new();
    let error = drive(reader.read_line(&mut line)).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ConnectionReset);
    assert_eq!(line, "half a li", "as std's read_line does");
}

#[test]
fn read_until_includes_the_delimiter_and_resumes_after_a_drop() {
    let mut reader = Chunks::new([b"key", b"=value;", b"rest"]);
    let mut field = Vec::new();
    {
        let mut read = pin!(reader.read_until(b';', &mut field));
        assert!(poll_once(read.as_mut()).is_pending());
        assert!(poll_once(read.as_mut()).is_pending());
    }
    assert_eq!(
        field, b"key",
        "cancel safe: the bytes taken are in the buffer"
    );
    assert_eq!(drive(reader.read_until(b';', &mut field)).unwrap(), 7);
    assert_eq!(field, b"key=value;");
    field.clear();
    assert_eq!(drive(reader.read_until(b';', &mut field)).unwrap(), 4);
    assert_eq!(drive(reader.read_until(b';', &mut field)).unwrap(), 0);
    assert_eq!(field, b"rest");
}

#[test]
fn read_until_retries_interrupted() {
    let mut interrupted_once = InterruptOnce {
        inner: Chunks::new([b"a", b"b;"]),
        interrupted: false,
    };
    let mut field = Vec::new();
    drive(interrupted_once.read_until(b';', &mut field)).unwrap();
    assert_eq!(field, b"ab;");
    assert!(interrupted_once.interrupted);
}

/// Fails the first `poll_fill_buf` after the first chunk was used up with `Interrupted`.
#[derive(Debug)]
struct InterruptOnce {
    inner: Chunks,
    interrupted: bool,
}

impl AsyncRead for InterruptOnce {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncBufRead for InterruptOnce {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        if !this.interrupted && this.inner.chunks.front().is_some_and(|c| c.is_empty()) {
            this.interrupted = true;
            return Poll::Ready(Err(ErrorKind::Interrupted.into()));
        }
        Pin::new(&mut this.inner).poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        Pin::new(&mut self.get_mut().inner).consume(amt)
    }
}

#[test]
fn lines_strip_lf_and_crlf_and_return_the_last_line_at_eof() {
    let mut lines = (&b"a\r\nb\n\n\r\nc\rd\r"[..]).lines();
    let mut seen = Vec::new();
    while let Some(line) = drive(lines.next_line()).unwrap() {
        seen.push(line);
    }
    // A `\r` is stripped only before `\n`, as tokio and std do.
    assert_eq!(seen, ["a", "b", "", "", "c\rd\r"]);
    assert_eq!(drive(lines.next_line()).unwrap(), None, "stays at end");
}

#[test]
fn lines_of_a_stream_ending_in_newline_have_no_empty_last_line() {
    let mut lines = (&b"only\n"[..]).lines();
    assert_eq!(drive(lines.next_line()).unwrap().as_deref(), Some("only"));
    assert_eq!(drive(lines.next_line()).unwrap(), None);
}

#[test]
fn next_line_is_cancel_safe() {
    let mut lines = Chunks::new([b"first ha", b"lf, sec", b"ond half\r", b"\nnext\n"]).lines();
    // 4 polls take the first three chunks (each arrives after a `Pending`); the fifth
    // would complete the line. Drop the future after 1, 1 and 2 of them.
    for polls in [1, 1, 2] {
        let mut next = pin!(lines.next_line());
        for _ in 0..polls {
            assert!(poll_once(next.as_mut()).is_pending());
        }
        // Dropped here, partway through the line.
    }
    assert_eq!(
        drive(lines.next_line()).unwrap().as_deref(),
        Some("first half, second half")
    );
    assert_eq!(drive(lines.next_line()).unwrap().as_deref(), Some("next"));
}

#[test]
fn next_line_reports_invalid_utf8_and_carries_on_with_the_next_line() {
    let mut lines = (&b"\xc3\x28\nfine\n"[..]).lines();
    let error = drive(lines.next_line()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidData);
    assert_eq!(drive(lines.next_line()).unwrap().as_deref(), Some("fine"));
}

#[test]
fn split_returns_segments_without_the_delimiter() {
    let mut segments = Chunks::new([b"a,b", b"c,,", b"d,"]).split(b',');
    let mut seen = Vec::new();
    while let Some(segment) = drive(segments.next_segment()).unwrap() {
        seen.push(String::from_utf8(segment).unwrap());
    }
    assert_eq!(seen, ["a", "bc", "", "d"]);
}

#[test]
fn fill_buf_shows_bytes_until_they_are_consumed() {
    let mut reader = BufReader::with_capacity(4, &b"abcdef"[..]);
    assert_eq!(drive(reader.fill_buf()).unwrap(), b"abcd");
    assert_eq!(
        drive(reader.fill_buf()).unwrap(),
        b"abcd",
        "nothing consumed yet"
    );
    reader.consume(3);
    assert_eq!(drive(reader.fill_buf()).unwrap(), b"d");
    reader.consume(1);
    assert_eq!(drive(reader.fill_buf()).unwrap(), b"ef");
    reader.consume(2);
    assert_eq!(drive(reader.fill_buf()).unwrap(), b"", "end of stream");
}

#[test]
fn fill_buf_waits_then_resolves() {
    let mut reader = Chunks::new([b"late"]);
    let mut fill = pin!(reader.fill_buf());
    assert!(poll_once(fill.as_mut()).is_pending());
    let Poll::Ready(bytes) = poll_once(fill.as_mut()) else {
        panic!("the chunk arrived");
    };
    assert_eq!(bytes.unwrap(), b"late");
}

// ---- BufReader ----

#[test]
fn buf_reader_serves_small_reads_from_one_read_of_the_source() {
    let source = pattern(1, 100);
    let mut reader = BufReader::with_capacity(64, Counted::new(source.clone()));
    let mut got = Vec::new();
    let mut byte = [0; 1];
    for _ in 0..64 {
        assert_eq!(drive(reader.read(&mut byte)).unwrap(), 1);
        got.push(byte[0]);
    }
    assert_eq!(reader.get_ref().offered, [64], "one read filled the buffer");
    assert!(reader.buffer().is_empty());
    drive(reader.read_to_end(&mut got)).unwrap();
    assert_eq!(got, source);
}

#[test]
fn buf_reader_passes_large_reads_straight_through_when_empty() {
    let source = pattern(2, 300);
    let mut reader = BufReader::with_capacity(16, Counted::new(source.clone()));
    let mut first = [0; 4];
    drive(reader.read(&mut first)).unwrap();
    let mut big = [0; 100];
    // 12 bytes are still buffered: they come first, and the source is not read.
    assert_eq!(drive(reader.read(&mut big)).unwrap(), 12);
    assert_eq!(reader.get_ref().offered, [16]);
    // Now the buffer is empty: the 100-byte buffer goes straight to the source.
    assert_eq!(drive(reader.read(&mut big)).unwrap(), 100);
    assert_eq!(reader.get_ref().offered, [16, 100]);
    assert_eq!(&big[..], &source[16..116]);
}

#[test]
fn buf_reader_into_inner_loses_only_what_buffer_showed() {
    let mut reader = BufReader::with_capacity(8, &b"0123456789"[..]);
    let mut two = [0; 2];
    drive(reader.read_exact(&mut two)).unwrap();
    assert_eq!(reader.buffer(), b"234567");
    assert_eq!(reader.into_inner(), b"89");
}

#[test]
#[should_panic(expected = "the capacity must be at least 1")]
fn buf_reader_of_capacity_zero_panics_instead_of_reporting_end_of_stream() {
    let _ = BufReader::with_capacity(0, &b"data"[..]);
}

#[test]
fn buf_reader_passes_writes_through() {
    let mut stream = BufReader::new(Recorder::new(usize::MAX));
    drive(stream.write_all(b"direct")).unwrap();
    drive(stream.flush()).unwrap();
    assert_eq!(
        stream.get_ref().events,
        [Event::Write(b"direct".to_vec()), Event::Flush]
    );
}

// ---- BufWriter ----

#[test]
fn buf_writer_holds_small_writes_until_flush() {
    let mut writer = BufWriter::with_capacity(16, Recorder::new(usize::MAX));
    drive(writer.write_all(b"ab")).unwrap();
    drive(writer.write_all(b"cd")).unwrap();
    assert!(writer.get_ref().events.is_empty(), "nothing written yet");
    assert_eq!(writer.buffer(), b"abcd");
    drive(writer.flush()).unwrap();
    assert_eq!(
        writer.get_ref().events,
        [Event::Write(b"abcd".to_vec()), Event::Flush],
        "one write of the buffer, then the writer's flush"
    );
}

#[test]
fn buf_writer_writes_the_buffer_before_a_write_that_bypasses_it() {
    let mut writer = BufWriter::with_capacity(8, Recorder::new(usize::MAX));
    drive(writer.write_all(b"head")).unwrap();
    drive(writer.write_all(b"a body of more than eight bytes")).unwrap();
    drive(writer.write_all(b"tail")).unwrap();
    assert_eq!(
        writer.get_ref().events,
        [
            Event::Write(b"head".to_vec()),
            Event::Write(b"a body of more than eight bytes".to_vec()),
        ],
        "the buffer first, then the large write straight through; `tail` waits"
    );
    drive(writer.shutdown()).unwrap();
    assert_eq!(
        writer.get_ref().events[2..],
        [
            Event::Write(b"tail".to_vec()),
            Event::Flush,
            Event::Shutdown
        ],
        "shutdown writes out the buffer, then flushes and shuts down"
    );
}

#[test]
fn buf_writer_empties_the_buffer_before_it_overflows() {
    let mut writer = BufWriter::with_capacity(8, Recorder::new(3));
    drive(writer.write_all(b"12345")).unwrap();
    drive(writer.write_all(b"6789")).unwrap(); // 9 > 8: "12345" goes out first
    assert_eq!(writer.get_ref().written(), b"12345", "in short writes of 3");
    assert_eq!(writer.buffer(), b"6789");
    drive(writer.flush()).unwrap();
    assert_eq!(writer.get_ref().written(), b"123456789");
}

#[test]
fn buf_writer_reports_write_zero_and_keeps_the_bytes() {
    let mut writer = BufWriter::with_capacity(8, Recorder::new(0));
    drive(writer.write_all(b"stuck")).unwrap();
    let error = drive(writer.flush()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::WriteZero);
    assert_eq!(writer.buffer(), b"stuck");
}

#[test]
fn buf_writer_passes_reads_through() {
    let mut stream = BufWriter::new(Recorder::new(usize::MAX));
    let mut buf = [0; 4];
    assert_eq!(drive(stream.read(&mut buf)).unwrap(), 0);
    assert_eq!(stream.get_ref().reads, 1);
}

#[test]
fn buf_stream_buffers_both_ways() {
    let (near, mut far) = io::duplex(16);
    let mut stream = io::BufStream::with_capacity(4, 4, near);
    drive(far.write_all(b"in\nput")).unwrap();
    drive(far.shutdown()).unwrap();
    let mut line = String::new();
    drive(stream.read_line(&mut line)).unwrap();
    assert_eq!(line, "in\n");
    let mut rest = Vec::new();
    drive(stream.read_to_end(&mut rest)).unwrap();
    assert_eq!(rest, b"put");

    drive(stream.write_all(b"out")).unwrap();
    let mut got = [0; 3];
    assert!(
        poll_once(pin!(far.read(&mut got))).is_pending(),
        "still buffered"
    );
    drive(stream.flush()).unwrap();
    drive(far.read_exact(&mut got)).unwrap();
    assert_eq!(&got, b"out");
}

// ---- copy_buf ----

#[test]
fn copy_buf_copies_everything_and_consumes_only_what_was_written() {
    let source = pattern(3, 1000);
    let mut reader = BufReader::with_capacity(64, &source[..]);
    let mut writer = Recorder::new(10);
    assert_eq!(drive(io::copy_buf(&mut reader, &mut writer)).unwrap(), 1000);
    assert_eq!(writer.written(), source);
    assert_eq!(writer.events.last(), Some(&Event::Flush));

    // A writer that takes nothing: the bytes stay in the reader.
    let mut reader = &b"kept"[..];
    let error = drive(io::copy_buf(&mut reader, &mut Recorder::new(0))).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::WriteZero);
    assert_eq!(reader, b"kept");
}

// ---- empty, repeat, sink ----

#[test]
fn empty_repeat_and_sink_do_what_std_does() {
    let mut buf = [1; 4];
    assert_eq!(drive(io::empty().read(&mut buf)).unwrap(), 0);
    assert_eq!(drive(io::empty().fill_buf()).unwrap(), b"");
    assert_eq!(drive(io::empty().write(b"gone")).unwrap(), 4);
    assert_eq!(drive(io::repeat(9).read(&mut buf)).unwrap(), 4);
    assert_eq!(buf, [9; 4]);
    let mut sink = io::sink();
    assert_eq!(drive(sink.write(b"gone")).unwrap(), 4);
    drive(sink.shutdown()).unwrap();
}

// ---- duplex ----

#[test]
fn duplex_write_waits_while_full_and_resumes_after_a_read() {
    let (mut a, mut b) = io::duplex(4);
    assert_eq!(drive(a.write(b"abcdef")).unwrap(), 4, "only what fits");
    {
        let mut blocked = pin!(a.write(b"ef"));
        assert!(poll_once(blocked.as_mut()).is_pending(), "full");
    }
    let mut buf = [0; 3];
    assert_eq!(drive(b.read(&mut buf)).unwrap(), 3);
    assert_eq!(&buf, b"abc");
    assert_eq!(drive(a.write(b"ef")).unwrap(), 2, "room again");
    let mut rest = [0; 3];
    drive(b.read_exact(&mut rest)).unwrap();
    assert_eq!(&rest, b"def");
}

#[test]
fn duplex_read_waits_while_empty() {
    let (mut a, mut b) = io::duplex(4);
    let mut buf = [0; 4];
    assert!(poll_once(pin!(b.read(&mut buf))).is_pending());
    drive(a.write_all(b"x")).unwrap();
    assert_eq!(drive(b.read(&mut buf)).unwrap(), 1);
}

#[test]
fn duplex_reads_what_is_left_then_eof_after_the_peer_is_dropped() {
    let (mut a, mut b) = io::duplex(16);
    drive(a.write_all(b"last words")).unwrap();
    drop(a);
    let mut got = Vec::new();
    drive(b.read_to_end(&mut got)).unwrap();
    assert_eq!(got, b"last words");
    let error = drive(b.write(b"anyone?")).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::BrokenPipe);
}

#[test]
fn duplex_shutdown_is_a_half_close() {
    let (mut a, mut b) = io::duplex(16);
    drive(a.write_all(b"request")).unwrap();
    drive(a.shutdown()).unwrap();
    let mut request = Vec::new();
    drive(b.read_to_end(&mut request)).unwrap();
    assert_eq!(request, b"request");
    // The other direction is still open.
    drive(b.write_all(b"response")).unwrap();
    let mut response = [0; 8];
    drive(a.read_exact(&mut response)).unwrap();
    assert_eq!(&response, b"response");
    let error = drive(a.write(b"more")).unwrap_err();
    assert_eq!(
        error.kind(),
        ErrorKind::BrokenPipe,
        "written after shutdown"
    );
}

#[test]
fn duplex_wakes_a_blocked_writer_when_the_peer_is_dropped() {
    rt().block_on(with_deadline(LIMIT, "blocked writer", async {
        let (mut a, b) = io::duplex(2);
        let writer = evloop::spawn(async move { a.write_all(b"more than two").await });
        yield_now().await; // let the writer fill the pipe and wait
        drop(b);
        let error = writer.await.unwrap().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::BrokenPipe);
    }));
}

#[test]
fn duplex_wakes_a_blocked_reader_on_shutdown() {
    rt().block_on(with_deadline(LIMIT, "blocked reader", async {
        let (mut a, mut b) = io::duplex(2);
        let reader = evloop::spawn(async move {
            let mut buf = [0; 8];
            b.read(&mut buf).await
        });
        yield_now().await; // let the reader wait on the empty pipe
        a.shutdown().await.unwrap();
        assert_eq!(reader.await.unwrap().unwrap(), 0);
    }));
}

#[test]
fn duplex_carries_a_large_stream_through_a_small_buffer_in_order() {
    let data = pattern(4, if cfg!(miri) { 3_000 } else { 200_000 });
    let sent = data.clone();
    let received = rt().block_on(with_deadline(LIMIT, "duplex stream", async move {
        let (mut a, mut b) = io::duplex(7);
        let writer = evloop::spawn(async move {
            a.write_all(&sent).await?;
            a.shutdown().await
        });
        let received = read_in_small_reads(&mut b).await.unwrap();
        writer.await.unwrap().unwrap();
        received
    }));
    assert!(received == data, "bytes lost, duplicated or reordered");
}

#[test]
#[should_panic(expected = "max_buf_size must be at least 1")]
fn duplex_of_size_zero_panics_instead_of_blocking_every_write() {
    let _ = io::duplex(0);
}

// ---- split ----

#[test]
fn split_halves_work_from_two_tasks() {
    let data = pattern(5, if cfg!(miri) { 2_000 } else { 100_000 });
    let expected = data.clone();
    rt().block_on(with_deadline(LIMIT, "split halves", async move {
        let (stream, peer) = io::duplex(64);
        let (mut reader, mut writer) = io::split(stream);
        let (mut peer_reader, mut peer_writer) = io::split(peer);
        // Each half in its own task, both directions at once: neither blocks the other.
        let upload = evloop::spawn(async move {
            writer.write_all(&data).await?;
            writer.shutdown().await?;
            Ok::<_, io::Error>(writer)
        });
        let download = evloop::spawn(async move {
            let got = read_in_small_reads(&mut reader).await?;
            Ok::<_, io::Error>((reader, got))
        });
        let echo = evloop::spawn(async move {
            io::copy(&mut peer_reader, &mut peer_writer).await?;
            peer_writer.shutdown().await
        });
        let writer = upload.await.unwrap().unwrap();
        let (reader, got) = download.await.unwrap().unwrap();
        echo.await.unwrap().unwrap();
        assert!(got == expected, "the echo differs from what was sent");
        assert!(reader.is_pair_of(&writer) && writer.is_pair_of(&reader));
        let _stream: io::DuplexStream = reader.unsplit(writer);
    }));
}

#[test]
#[should_panic(expected = "the WriteHalf belongs to another stream")]
fn unsplit_with_the_half_of_another_stream_panics() {
    let (one, two) = io::duplex(4);
    let (reader, _writer) = io::split(one);
    let (_other_reader, other_writer) = io::split(two);
    assert!(!reader.is_pair_of(&other_writer));
    let _ = reader.unsplit(other_writer);
}

// ---- copy_bidirectional ----

#[test]
fn copy_bidirectional_passes_a_half_close_through_and_keeps_the_other_way_open() {
    let (request_len, response_len) = if cfg!(miri) {
        (2_000, 3_000)
    } else {
        (20_000, 30_000)
    };
    let request = pattern(6, request_len);
    let response = pattern(7, response_len);
    let (expected_request, expected_response) = (request.clone(), response.clone());
    rt().block_on(with_deadline(LIMIT, "proxy", async move {
        let (mut client, mut a) = io::duplex(1024);
        let (mut b, mut server) = io::duplex(1024);
        let proxy = evloop::spawn(async move { io::copy_bidirectional(&mut a, &mut b).await });
        let server = evloop::spawn(async move {
            // Reads to end of stream: the proxy must pass the client's shutdown on.
            let mut got = Vec::new();
            server.read_to_end(&mut got).await?;
            server.write_all(&response).await?;
            server.shutdown().await?;
            Ok::<_, io::Error>(got)
        });
        client.write_all(&request).await.unwrap();
        client.shutdown().await.unwrap();
        let mut got = Vec::new();
        client.read_to_end(&mut got).await.unwrap();
        assert!(got == expected_response, "the response differs");
        assert!(
            server.await.unwrap().unwrap() == expected_request,
            "the request differs"
        );
        assert_eq!(
            proxy.await.unwrap().unwrap(),
            (request_len as u64, response_len as u64)
        );
    }));
}

#[test]
fn copy_bidirectional_fails_when_a_peer_goes_away() {
    rt().block_on(with_deadline(LIMIT, "proxy to a dropped server", async {
        let (mut client, mut a) = io::duplex(16);
        let (mut b, server) = io::duplex(16);
        drop(server);
        client.write_all(b"hello?").await.unwrap();
        let error = io::copy_bidirectional(&mut a, &mut b).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::BrokenPipe);
    }));
}

#[test]
fn copy_bidirectional_flushes_before_it_waits() {
    // A BufWriter on one side holds bytes until flushed: the proxy must flush it when its
    // reader has nothing more for now, or the bytes would sit there while it waits.
    rt().block_on(with_deadline(LIMIT, "flush before waiting", async {
        let (mut client, a) = io::duplex(64);
        let (b, mut server) = io::duplex(64);
        let proxy = evloop::spawn(async move {
            let mut a = a;
            let mut b = BufWriter::new(b);
            io::copy_bidirectional(&mut a, &mut b).await
        });
        client.write_all(b"ping").await.unwrap();
        let mut got = [0; 4];
        server.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"ping");
        drop((client, server));
        assert_eq!(proxy.await.unwrap().unwrap(), (4, 0));
    }));
}

// ---- the cooperative budget ----

/// Runs `busy` against `yield_now()` in one `select!`, inside a runtime on its own thread.
///
/// `busy` never finishes; `yield_now` is ready on its second poll. If `busy` never returns
/// `Pending`, its first poll never ends and the watchdog fails the test; if it spends its
/// budget, it yields, the task is polled again, and `yield_now` wins.
fn busy_loop_yields(what: &'static str, busy: impl AsyncFnOnce() + Send + 'static) {
    on_own_thread(what, move || {
        rt().block_on(async move {
            evloop::select! {
                _ = busy() => panic!("{what}: the busy loop cannot end"),
                _ = yield_now() => {}
            }
        })
    });
}

#[test]
fn copy_from_repeat_to_sink_yields_to_a_select_branch() {
    busy_loop_yields("copy(repeat, sink)", async || {
        let _ = io::copy(&mut io::repeat(0), &mut io::sink()).await;
    });
}

#[test]
fn reading_empty_forever_yields() {
    busy_loop_yields("read(empty) loop", async || {
        let mut empty = io::empty();
        let mut buf = [0; 1];
        loop {
            let _ = empty.read(&mut buf).await;
        }
    });
}

#[test]
fn writing_to_sink_forever_yields() {
    busy_loop_yields("write(sink) loop", async || {
        let mut sink = io::sink();
        loop {
            let _ = sink.write(b"x").await;
        }
    });
}

#[test]
fn a_duplex_ping_pong_in_one_task_yields() {
    busy_loop_yields("duplex ping-pong", async || {
        let (mut a, mut b) = io::duplex(16);
        let mut buf = [0; 1];
        loop {
            let _ = a.write(b"x").await;
            let _ = b.read(&mut buf).await;
        }
    });
}

#[test]
fn reading_a_buf_reader_with_buffered_bytes_yields() {
    // `Zeroes` spends no budget, so only the BufReader's own spending can stop the loop.
    busy_loop_yields("BufReader read loop", async || {
        let mut reader = BufReader::new(Zeroes);
        let mut byte = [0; 1];
        loop {
            let _ = reader.read(&mut byte).await;
        }
    });
}

#[test]
fn copy_from_repeat_to_sink_lets_other_tasks_run() {
    on_own_thread("spawned copy(repeat, sink)", || {
        rt().block_on(async {
            let copy = evloop::spawn(async {
                let _ = io::copy(&mut io::repeat(1), &mut io::sink()).await;
            });
            // Both tasks only need the loop to come back to them.
            let (_, ()) = join(yield_now(), yield_now()).await;
            copy.abort();
        })
    });
}
