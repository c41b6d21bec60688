//! Command-line flags shared by the examples: `--name value`, `--name=value` and `--help`.
//!
//! Hand-written because the examples depend on nothing but std, evloop and libc. A usage
//! mistake is the user's, not an I/O failure, so it never reaches `main`'s `io::Result`: the
//! parser prints the problem and the usage to stderr and exits with status 2, the status shells
//! and `getopt`-style tools use for usage errors.

use std::fmt::Display;
use std::net::{SocketAddr, ToSocketAddrs};
use std::process;
use std::str::FromStr;

/// The flags given on the command line, already checked against the ones an example knows.
#[derive(Debug)]
pub struct Flags {
    /// Printed by `--help`, and after every usage error.
    usage: String,
    /// `(name, value)` pairs in command-line order; when a flag is repeated, the last one wins.
    given: Vec<(String, String)>,
}

impl Flags {
    /// Reads `std::env::args`, accepting only the flags named in `known` (every flag takes a
    /// value). `--help` or `-h` prints `usage` and exits with status 0.
    pub fn from_env(usage: String, known: &[&str]) -> Flags {
        let mut given = Vec::new();
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            if arg == "--help" || arg == "-h" {
                print!("{usage}");
                process::exit(0);
            }
            let (name, inline_value) = match arg.split_once('=') {
                Some((name, value)) => (name.to_string(), Some(value.to_string())),
                None => (arg, None),
            };
            if !known.contains(&name.as_str()) {
                fail(&usage, format_args!("unknown argument `{name}`"));
            }
            match inline_value.or_else(|| args.next()) {
                Some(value) => given.push((name, value)),
                None => fail(&usage, format_args!("`{name}` needs a value")),
            }
        }
        Flags { usage, given }
    }

    /// The value of flag `name` parsed as a `T`, or `default` when the flag was not given.
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

    /// A size or a count: like [`Flags::value`], but zero is refused, since no example can do
    /// anything useful with a zero-byte buffer or zero connections.
    pub fn count(&self, name: &str, default: usize) -> usize {
        let count = self.value(name, default);
        if count == 0 {
            self.fail(format_args!("`{name}` must be at least 1"));
        }
        count
    }

    /// A socket address (`127.0.0.1:7000`, `[::1]:0`, `localhost:7000`), resolved here, before
    /// any runtime starts: a host name then never costs a blocking DNS lookup on the event loop.
    /// The first address the resolver returns is used.
    pub fn addr(&self, name: &str, default: &str) -> SocketAddr {
        let text: String = self.value(name, default.to_string());
        match text.to_socket_addrs() {
            Ok(mut addrs) => addrs.next().unwrap_or_else(|| {
                self.fail(format_args!(
                    "`{text}` (for `{name}`) resolves to no address"
                ))
            }),
            Err(e) => self.fail(format_args!("cannot resolve `{text}` (for `{name}`): {e}")),
        }
    }

    /// Reports a usage error found after parsing (a value out of range) and exits with status 2.
    pub fn fail(&self, problem: impl Display) -> ! {
        fail(&self.usage, problem)
    }
}

/// Prints `problem` and the usage to stderr, then exits with status 2.
fn fail(usage: &str, problem: impl Display) -> ! {
    eprint!("error: {problem}\n\n{usage}");
    process::exit(2)
}
