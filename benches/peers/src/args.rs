//! Command-line flags for the peer servers: `--name value`, `--name=value` and `--help`, the
//! syntax of the root crate's examples.
//!
//! A usage mistake is the user's, not an I/O failure: the parser prints the problem and the
//! usage to stderr and exits with status 2 (the status shells use for usage errors), so it
//! never reaches `main`'s `io::Result`.

use std::fmt::Display;
use std::net::{SocketAddr, ToSocketAddrs};
use std::process;
use std::str::FromStr;

/// The flags given on the command line, each already checked to be one the program knows.
#[derive(Debug)]
pub struct Flags {
    /// Printed by `--help`, and after every usage error.
    usage: String,
    /// `(name, value)` in command-line order; a repeated flag's last value wins.
    given: Vec<(String, String)>,
}

impl Flags {
    /// Reads `std::env::args`, accepting only the flags in `known` (each takes a value).
    /// `--help` or `-h` prints `usage` and exits with status 0.
    pub fn from_env(usage: String, known: &[&str]) -> Flags {
        let mut given = Vec::new();
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            if arg == "--help" || arg == "-h" {
                print!("{usage}");
                process::exit(0);
            }
            let (name, inline) = match arg.split_once('=') {
                Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
                None => (arg, None),
            };
            if !known.contains(&name.as_str()) {
                fail(&usage, format_args!("unknown argument `{name}`"));
            }
            match inline.or_else(|| args.next()) {
                Some(value) => given.push((name, value)),
                None => fail(&usage, format_args!("`{name}` needs a value")),
            }
        }
        Flags { usage, given }
    }

    /// The value of flag `name` parsed as a `T`, or `default` if the flag is absent.
    pub fn value<T>(&self, name: &str, default: T) -> T
    where
        T: FromStr,
        T::Err: Display,
    {
        let Some((_, text)) = self.given.iter().rev().find(|(given, _)| given == name) else {
            return default;
        };
        text.parse()
            .unwrap_or_else(|e| self.fail(format_args!("bad value `{text}` for `{name}`: {e}")))
    }

    /// A size or a count: like [`Flags::value`], but zero is refused (a zero-byte buffer
    /// cannot echo anything).
    pub fn count(&self, name: &str, default: usize) -> usize {
        let count = self.value(name, default);
        if count == 0 {
            self.fail(format_args!("`{name}` must be at least 1"));
        }
        count
    }

    /// A socket address (`127.0.0.1:7000`, `[::1]:0`, `localhost:7000`), resolved now, before
    /// any event loop runs, so a host name never costs a blocking lookup while serving. The
    /// resolver's first address is used.
    pub fn addr(&self, name: &str, default: &str) -> SocketAddr {
        let text: String = self.value(name, default.to_owned());
        match text.to_socket_addrs() {
            Ok(mut addrs) => addrs.next().unwrap_or_else(|| {
                self.fail(format_args!(
                    "`{text}` (for `{name}`) resolves to no address"
                ))
            }),
            Err(e) => self.fail(format_args!("cannot resolve `{text}` (for `{name}`): {e}")),
        }
    }

    /// Reports a usage error found after parsing and exits with status 2.
    pub fn fail(&self, problem: impl Display) -> ! {
        fail(&self.usage, problem)
    }
}

/// Prints `problem` and the usage to stderr, then exits with status 2.
fn fail(usage: &str, problem: impl Display) -> ! {
    eprint!("error: {problem}\n\n{usage}");
    process::exit(2)
}
