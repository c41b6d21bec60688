//! Buffers whose allocation may be refused: the refusal is an error that names the size, not
//! an abort.
//!
//! `vec![0; len]` aborts the whole process when the allocator returns nothing (under a memory
//! limit such as `ulimit -v`, or in a container), with a message that names no flag. The
//! examples size their buffers from the command line, so they ask with
//! `Vec::try_reserve_exact` instead and report what they asked for.

use std::io;

/// A buffer of `len` zero bytes, or an `OutOfMemory` error that says `what` it was for and how
/// many bytes were asked for (`cannot allocate 67108864 bytes for a message: ...`).
pub fn zeroed(len: usize, what: &str) -> io::Result<Box<[u8]>> {
    let mut buf = Vec::new();
    if let Err(e) = buf.try_reserve_exact(len) {
        return Err(io::Error::new(
            io::ErrorKind::OutOfMemory,
            format!("cannot allocate {len} bytes for {what}: {e}"),
        ));
    }
    // Within the capacity just reserved: no reallocation, so no abort.
    buf.resize(len, 0);
    Ok(buf.into_boxed_slice())
}
