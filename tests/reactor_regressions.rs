//! Regressions in the reactor's readiness handling, named after what broke.

#![cfg(not(miri))] // Miri cannot create sockets.

use std::os::fd::AsRawFd;
use std::time::Duration;

use evloop::io::{AsyncReadExt, AsyncWriteExt};
use evloop::net::{TcpListener, TcpStream};

/// Asks for software transmit timestamps: each send queues a message on the socket's error
/// queue, which epoll reports as `EPOLLERR` although the socket is healthy.
fn enable_tx_timestamps(stream: &std::net::TcpStream) {
    let flags =
        (libc::SOF_TIMESTAMPING_TX_SOFTWARE | libc::SOF_TIMESTAMPING_SOFTWARE) as libc::c_int;
    // SAFETY: `setsockopt` reads `size_of::<c_int>()` bytes from `&flags`, a live local; the
    // descriptor is borrowed from `stream`, open for the duration of the call.
    let result = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMPING,
            (&flags as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(
        result,
        0,
        "setsockopt(SO_TIMESTAMPING): {}",
        std::io::Error::last_os_error()
    );
}

/// Regression: `ERROR` stayed set after a read returned `WouldBlock`, so the read retried the
/// syscall forever inside one poll (100% CPU, and even its timeout could not fire).
#[test]
fn an_error_queue_event_does_not_make_a_read_spin() {
    let rt = evloop::Runtime::new().unwrap();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let std_client = std::net::TcpStream::connect(addr).unwrap();
        enable_tx_timestamps(&std_client);
        let (_server_side, _) = listener.accept().await.unwrap();
        let mut client = TcpStream::from_std(std_client).unwrap();
        client.write_all(b"hello").await.unwrap();
        evloop::time::sleep(Duration::from_millis(20)).await; // the EPOLLERR edge arrives
        let mut buf = [0u8; 16];
        // Nothing will be read: the peer sends nothing. The read must park, so the timeout
        // fires; with the bug, this call never returned.
        let read = evloop::time::timeout(Duration::from_millis(100), client.read(&mut buf)).await;
        assert!(read.is_err(), "expected the timeout, got {read:?}");
    });
}
