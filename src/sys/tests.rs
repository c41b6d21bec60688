//! The socket-address conversion, byte by byte and against the kernel, and the socket-option
//! helpers against the kernel.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::time::Duration;

use super::*;

#[test]
fn an_ipv4_address_is_laid_out_in_network_order() {
    let addr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), 8080));
    let RawSocketAddr::V4(sin) = RawSocketAddr::from(addr) else {
        panic!("an IPv4 address became an IPv6 one");
    };
    assert_eq!(libc::c_int::from(sin.sin_family), libc::AF_INET);
    // 8080 is 0x1F90: the high byte comes first in memory.
    assert_eq!(sin.sin_port.to_ne_bytes(), [0x1F, 0x90]);
    assert_eq!(sin.sin_addr.s_addr.to_ne_bytes(), [192, 0, 2, 1]);
    assert_eq!(sin.sin_zero, [0; 8]);
    assert_eq!(SocketAddr::from(RawSocketAddr::V4(sin)), addr);
}

#[test]
fn an_ipv6_address_is_laid_out_in_network_order_with_its_scope() {
    let ip = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0x1234, 0x5678);
    let addr = SocketAddr::V6(SocketAddrV6::new(ip, 443, 0x000a_bcde, 7));
    let RawSocketAddr::V6(sin6) = RawSocketAddr::from(addr) else {
        panic!("an IPv6 address became an IPv4 one");
    };
    assert_eq!(libc::c_int::from(sin6.sin6_family), libc::AF_INET6);
    assert_eq!(sin6.sin6_port.to_ne_bytes(), [0x01, 0xBB]);
    assert_eq!(sin6.sin6_addr.s6_addr, ip.octets());
    assert_eq!(sin6.sin6_addr.s6_addr[..2], [0x20, 0x01]);
    assert_eq!(sin6.sin6_scope_id, 7);
    assert_eq!(sin6.sin6_flowinfo, 0x000a_bcde);
    assert_eq!(SocketAddr::from(RawSocketAddr::V6(sin6)), addr);
}

/// Binds a fresh socket of `domain` to `addr` with our helpers and compares the address the
/// kernel reports, read by our `getsockname` and by std's, which shares no code with ours.
fn bound_address_agrees_with_std(domain: libc::c_int, addr: SocketAddr) {
    let socket = tcp_socket(domain).expect("socket");
    bind(&socket, addr).expect("bind");
    let ours = local_addr(&socket).expect("getsockname");
    let std_view = std::net::TcpListener::from(socket)
        .local_addr()
        .expect("std's local_addr");
    assert_eq!(ours, std_view);
    assert_eq!(ours.ip(), addr.ip());
    assert_ne!(ours.port(), 0, "the kernel picked no port");
}

#[test]
#[cfg_attr(miri, ignore = "system calls")]
fn the_kernel_binds_the_ipv4_address_we_lay_out() {
    bound_address_agrees_with_std(libc::AF_INET, (Ipv4Addr::LOCALHOST, 0).into());
}

#[test]
#[cfg_attr(miri, ignore = "system calls")]
fn the_kernel_binds_the_ipv6_address_we_lay_out() {
    bound_address_agrees_with_std(libc::AF_INET6, (Ipv6Addr::LOCALHOST, 0).into());
}

#[test]
fn a_short_or_foreign_address_is_refused() {
    // SAFETY: `sockaddr_storage` is plain integers; all-zero is a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { mem::zeroed() };
    storage.ss_family = libc::AF_INET as libc::sa_family_t;
    let short = mem::size_of::<libc::sockaddr_in>() as libc::socklen_t - 1;
    let error = socket_addr_from_storage(&storage, short).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    storage.ss_family = libc::AF_UNIX as libc::sa_family_t;
    let full = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    let error = socket_addr_from_storage(&storage, full).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
}

#[test]
#[cfg_attr(miri, ignore = "system calls")]
fn linger_round_trips_in_whole_seconds() {
    let socket = tcp_socket(libc::AF_INET).expect("socket");
    assert_eq!(linger(&socket).unwrap(), None);
    set_linger(&socket, Some(Duration::from_millis(2_900))).unwrap();
    assert_eq!(linger(&socket).unwrap(), Some(Duration::from_secs(2)));
    set_linger(&socket, Some(Duration::ZERO)).unwrap();
    assert_eq!(linger(&socket).unwrap(), Some(Duration::ZERO));
    set_linger(&socket, None).unwrap();
    assert_eq!(linger(&socket).unwrap(), None);
}

#[test]
#[cfg_attr(miri, ignore = "system calls")]
fn an_option_of_the_wrong_size_is_invalid_data() {
    let socket = tcp_socket(libc::AF_INET).expect("socket");
    // SO_REUSEADDR is an `int` (4 bytes): read as a `struct linger` (8 bytes), half of the
    // value would be our zeroes, not the kernel's.
    let error =
        socket_option::<libc::linger>(&socket, libc::SOL_SOCKET, libc::SO_REUSEADDR).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::InvalidData);
}
