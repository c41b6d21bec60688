//! Command-line flags shared by the examples (`--name value`, `--name=value`, `--help`), and
//! how an example ends: its exit status and its one `error:` line.
//!
//! Hand-written because the examples depend on nothing but std, evloop and libc.
//!
//! # Exit status
//!
//! - 0: the example did what it was asked.
//! - 1 ([`REFUSED`]): the command line was fine, but the system refused what it needs (the
//!   address is in use, the memory for a buffer) or the run failed. [`finish`] prints the
//!   error, which names the address or the size that was asked for.
//! - 2 ([`BAD_INPUT`]): the command line is wrong: an unknown flag, a flag without its value,
//!   a value that does not parse or is out of its documented range. The status shells and
//!   `getopt`-style tools use for usage errors.
//!
//! # Invariants
//!
//! Every failure prints exactly one line on stderr, `error: ...`, and nothing else: a script
//! can show it as is, and a test can match it. A bad value's line names the flag, the value as
//! given and the limit it broke (`error: --size 99999999999 is too large: at most 67108864
//! bytes`). Usage errors never reach `main`'s `io::Result`: a usage mistake is the user's, not
//! an I/O failure.

use std::fmt::Display;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::{self, ExitCode};
use std::time::Duration;

/// The exit status for a command line that is wrong (see the module docs).
pub const BAD_INPUT: u8 = 2;

/// The exit status for a resource the system refused, or a run that failed (see the module
/// docs).
pub const REFUSED: u8 = 1;

/// The flags given on the command line, already checked against the ones an example knows.
#[derive(Debug)]
pub struct Flags {
    /// `(name, value)` pairs in command-line order; when a flag is repeated, the last one wins.
    given: Vec<(String, String)>,
}

impl Flags {
    /// Reads `std::env::args`, accepting only the flags named in `known` (every flag takes a
    /// value). `--help` or `-h` prints `usage` and exits with status 0; an unknown flag or a
    /// flag without a value is a usage error.
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
                bad_input(format_args!(
                    "unknown flag {}; the flags are {} (and --help)",
                    shown(&name),
                    known.join(", ")
                ));
            }
            match inline_value.or_else(|| args.next()) {
                Some(value) => given.push((name, value)),
                None => bad_input(format_args!("{name} needs a value")),
            }
        }
        Flags { given }
    }

    /// The text given for flag `name`, if it was given.
    fn text(&self, name: &str) -> Option<&str> {
        self.given
            .iter()
            .rev()
            .find(|(given, _)| given == name)
            .map(|(_, text)| text.as_str())
    }

    /// Flag `name` as a whole number in `min..=max`, or `default` when the flag was not given.
    ///
    /// Only decimal digits are accepted (no sign, no spaces, no `_`): a value that is not
    /// exactly a number is more likely a typo than a wish. `unit` names what is counted, in
    /// the plural (`bytes`), for the error line.
    pub fn number(&self, name: &str, default: u64, min: u64, max: u64, unit: &str) -> u64 {
        let Some(text) = self.text(name) else {
            return default;
        };
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            bad_input(format_args!(
                "{name} {} is not a whole number of {unit}",
                shown(text)
            ));
        }
        // Only digits, so the parse fails only when the number does not fit in 64 bits.
        match text.parse::<u64>() {
            Ok(n) if n < min => bad_input(format_args!(
                "{name} {text} is too small: at least {}",
                quantity(min, unit)
            )),
            Ok(n) if n <= max => n,
            _ => bad_input(format_args!(
                "{name} {text} is too large: at most {}",
                quantity(max, unit)
            )),
        }
    }

    /// Like [`Flags::number`], for a size or a count held in a `usize`.
    pub fn size(&self, name: &str, default: usize, min: usize, max: usize, unit: &str) -> usize {
        let n = self.number(name, default as u64, min as u64, max as u64, unit);
        usize::try_from(n).expect("the value is at most `max`, which is a usize")
    }

    /// Flag `name` as a number of seconds (fractions and exponents allowed: `0.5`, `2e3`) in
    /// `min..=max`, or `default` when the flag was not given. `inf` and `NaN` are refused.
    // Only echo-client reads a duration in seconds; the servers compile this file too.
    #[allow(dead_code, reason = "only echo-client takes seconds")]
    pub fn seconds(&self, name: &str, default: f64, min: f64, max: f64) -> Duration {
        let secs = match self.text(name) {
            None => default,
            Some(text) => match text.parse::<f64>() {
                Ok(secs) if !secs.is_finite() => bad_input(format_args!(
                    "{name} {text} is not a finite number of seconds"
                )),
                Ok(secs) if secs < min => bad_input(format_args!(
                    "{name} {text} is too small: at least {min} seconds"
                )),
                Ok(secs) if secs > max => bad_input(format_args!(
                    "{name} {text} is too large: at most {max} seconds"
                )),
                Ok(secs) => secs,
                Err(_) => bad_input(format_args!(
                    "{name} {} is not a number of seconds",
                    shown(text)
                )),
            },
        };
        // Finite and within `min..=max`, which the callers keep positive and small.
        Duration::from_secs_f64(secs)
    }

    /// A socket address (`127.0.0.1:7000`, `[::1]:0`, `localhost:7000`), resolved here, before
    /// any runtime starts: a host name then never costs a blocking DNS lookup on the event loop.
    /// The first address the resolver returns is used. An address that does not resolve is a
    /// usage error.
    pub fn addr(&self, name: &str, default: &str) -> SocketAddr {
        let text = self.text(name).unwrap_or(default);
        match text.to_socket_addrs() {
            Ok(mut addrs) => addrs.next().unwrap_or_else(|| {
                bad_input(format_args!(
                    "{name} {} resolves to no address",
                    shown(text)
                ))
            }),
            Err(e) => bad_input(format_args!(
                "{name} {} is not an address (HOST:PORT): {e}",
                shown(text)
            )),
        }
    }
}

/// Reports a usage error (see the module docs): one `error:` line, then exit status
/// [`BAD_INPUT`].
pub fn bad_input(problem: impl Display) -> ! {
    eprintln!("error: {problem}");
    process::exit(i32::from(BAD_INPUT))
}

/// The exit status for the outcome of an example's run: 0, or the error on one `error:` line
/// and [`REFUSED`].
///
/// The examples that can be refused something end `main` with this rather than return their
/// `io::Result` from it: for an `Err`, Rust's own `main` prints `Error: ` and the error's
/// `Debug` form (`Os { code: 98, kind: AddrInUse, .. }`), which names neither what was asked
/// for nor, clearly, what went wrong.
// The benchmark peers compile this file too and keep returning their `io::Result`.
#[allow(dead_code, reason = "the benchmark peers do not use it")]
pub fn finish(outcome: io::Result<()>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(REFUSED)
        }
    }
}

/// `n` followed by `unit`, singular when `n` is 1 (`1 byte`, `64 bytes`). Every unit the
/// examples use makes its plural with an `s`.
fn quantity(n: u64, unit: &str) -> String {
    match unit.strip_suffix('s') {
        Some(singular) if n == 1 => format!("{n} {singular}"),
        _ => format!("{n} {unit}"),
    }
}

/// A value as the user typed it, with an empty one made visible.
fn shown(text: &str) -> &str {
    if text.is_empty() { "''" } else { text }
}
