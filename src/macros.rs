//! The `join!`, `try_join!` and `select!` macros: wait for all, or for the first, of a fixed
//! list of futures, inside the calling task.
//!
//! All three are plain `macro_rules!` and expand to safe code built from `std` alone
//! (`pin!`, `poll_fn`, `Pin::set`): each future is pinned on the stack in an `Option`, and
//! dropped in place by setting that `Option` to `None`.
//!
//! # How the macros name their futures
//!
//! A list of futures needs one local variable per future, and `macro_rules!` cannot build
//! identifiers. The macros first walk the list recursively, one future per step, writing the
//! same names (`future`, `output`, `enabled`) at each step. Macro hygiene makes the names
//! written by different expansions different variables, so the last step receives one
//! distinct set of names per future. The recursion costs one level of the compiler's macro
//! recursion limit per future (and, for `select!`, per token of each pattern).
//!
//! # Which future is polled first
//!
//! Each poll visits the futures in a circle that starts at a position `first`: the futures
//! from `first` to the end, then those before it (two rounds over the list, so every future's
//! code appears once in the expansion). `join!` and `try_join!` move `first` one step further
//! at every poll of the same call; `select!` draws it from a per-thread pseudo-random sequence
//! at every poll (see `future::fair_start`). With `biased;` it stays 0: the order written.
//!
//! # Invariants
//!
//! 1. A future is polled only while it has not completed; when it completes it is dropped at
//!    once, in place.
//! 2. `select!` evaluates every `if` precondition, then every future expression, before the
//!    first poll. Its futures live in a block that ends (dropping every future left, and the
//!    temporaries of the future expressions) before any handler runs, so a handler may use
//!    what another branch's future borrowed.
//! 3. Neither macro holds a borrow across the user's handler or spawns anything: the handler
//!    runs in the caller's own body, so `return`, `?`, `break` and `.await` in it behave as
//!    they would outside the macro.

/// Waits for all of the given futures, polled concurrently in the current task, and
/// evaluates to the tuple of their outputs.
///
/// Takes any number of expressions whose types implement [`IntoFuture`](std::future::IntoFuture);
/// must be used inside an `async` block or function (the macro includes the `.await`). Every
/// unfinished future is polled each time the task is woken; a future is dropped as soon as it
/// completes. `join!()` evaluates to `()`.
///
/// Each poll starts one future further along the list than the previous poll did (the first
/// poll starts with the first future), so a future that keeps the task busy, say one that
/// spends the [cooperative budget](crate::coop), cannot starve the futures written after it.
/// Write `biased;` before the futures to poll them in the order written every time.
///
/// Use [`join_all`](crate::future::join_all) for a number of futures known only at run time,
/// or for many futures: it polls only the futures that were woken.
///
/// ```
/// use std::time::Duration;
/// use evloop::time::sleep;
///
/// async fn double(x: u32, ms: u64) -> u32 {
///     sleep(Duration::from_millis(ms)).await;
///     x * 2
/// }
///
/// let rt = evloop::Runtime::new()?;
/// let outputs = rt.block_on(async {
///     // About 30 ms in all, not 60: the three sleeps overlap.
///     let all = evloop::join!(double(1, 30), double(2, 10), double(3, 20));
///     // Polled in the order written at every poll.
///     let biased = evloop::join!(biased; double(4, 1), double(5, 1));
///     (all, biased)
/// });
/// assert_eq!(outputs, ((2, 4, 6), (8, 10)));
/// # Ok::<(), std::io::Error>(())
/// ```
#[macro_export]
macro_rules! join {
    (biased; $($e:expr),* $(,)?) => {
        $crate::__join!(@name [join true] [] $($e),*)
    };
    ($($e:expr),* $(,)?) => {
        $crate::__join!(@name [join false] [] $($e),*)
    };
}

/// Waits for all of the given fallible futures and evaluates to `Ok` of the tuple of their
/// values, or to the first `Err` as soon as one of them fails.
///
/// Every future must have an output of type `Result<T, E>`, with the same `E` for all. The
/// futures are polled as by [`join!`](crate::join!) (the start rotates at each poll;
/// `biased;` keeps the order written). When one completes with `Err`, `try_join!` evaluates
/// to that `Err` at once, without polling the others again, and drops every future still
/// running. `try_join!()` evaluates to `Ok(())`.
///
/// ```
/// use std::io;
/// use std::time::Duration;
/// use evloop::time::sleep;
///
/// async fn fetch(id: u32, ms: u64) -> io::Result<u32> {
///     sleep(Duration::from_millis(ms)).await;
///     if id == 0 {
///         return Err(io::Error::new(io::ErrorKind::NotFound, "no record 0"));
///     }
///     Ok(id * 10)
/// }
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let (a, b) = evloop::try_join!(fetch(1, 10), fetch(2, 5))?;
///     assert_eq!((a, b), (10, 20));
///     // The failure after 5 ms ends the wait; the hour-long fetch is dropped.
///     let failed = evloop::try_join!(fetch(3, 3_600_000), fetch(0, 5));
///     assert_eq!(failed.unwrap_err().kind(), io::ErrorKind::NotFound);
///     Ok::<(), io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[macro_export]
macro_rules! try_join {
    (biased; $($e:expr),* $(,)?) => {
        $crate::__join!(@name [try_join true] [] $($e),*)
    };
    ($($e:expr),* $(,)?) => {
        $crate::__join!(@name [try_join false] [] $($e),*)
    };
}

/// Implementation detail of [`join!`] and [`try_join!`]: names the futures, then polls them.
///
/// The mode (`join` or `try_join`) only changes what a completed future's output becomes
/// (`@output`) and what the whole evaluates to (`@finish`).
#[doc(hidden)]
#[macro_export]
macro_rules! __join {
    // No future: nothing to wait for.
    (@name [join $biased:tt] []) => {
        ()
    };
    (@name [try_join $biased:tt] []) => {
        ::core::result::Result::Ok(())
    };
    // Give the next future its names (fresh ones: see the module docs) and recurse.
    (@name $config:tt [$($named:tt)*] $e:expr $(, $($rest:expr),*)?) => {
        $crate::__join!(@name $config [$($named)* { future output ($e) }] $($($rest),*)?)
    };
    (@name [$mode:ident $biased:tt] [$($named:tt)+]) => {
        $crate::__join!(@named $mode $biased $($named)+)
    };
    // Every future has its pair of names: pin the futures and poll them until all are done.
    (@named $mode:ident $biased:tt $( { $future:ident $output:ident ($e:expr) } )+) => {{
        $(
            let mut $future = ::core::pin::pin!(::core::option::Option::Some(
                ::core::future::IntoFuture::into_future($e),
            ));
            let mut $output = ::core::option::Option::None;
        )+
        let count = <[&str]>::len(&[$(::core::stringify!($future)),+]);
        // Where the next poll starts: 0, 1, ..., count - 1, 0, ... (always 0 when biased).
        let mut next_first: usize = 0;
        ::core::future::poll_fn(|cx| {
            let first = next_first;
            if !$biased {
                next_first = if first + 1 == count { 0 } else { first + 1 };
            }
            let mut all_done = true;
            // First round: the futures from `first` on; second round: those before it.
            for from_first in [true, false] {
                let mut position: usize = 0;
                $(
                    position += 1;
                    if (position > first) == from_first {
                        if let ::core::option::Option::Some(future) = $future.as_mut().as_pin_mut() {
                            match ::core::future::Future::poll(future, cx) {
                                ::core::task::Poll::Ready(value) => {
                                    $future.set(::core::option::Option::None);
                                    $output = ::core::option::Option::Some(
                                        $crate::__join!(@output $mode value),
                                    );
                                }
                                ::core::task::Poll::Pending => all_done = false,
                            }
                        }
                    }
                )+
            }
            if !all_done {
                return ::core::task::Poll::Pending;
            }
            ::core::task::Poll::Ready($crate::__join!(@finish $mode ($(
                $output.take().expect("join!: every future has completed"),
            )+)))
        })
        .await
    }};
    (@output join $value:ident) => {
        $value
    };
    // The first error ends the wait: returned from the poll closure, with the futures still
    // running dropped when the macro's block ends.
    (@output try_join $value:ident) => {
        match $value {
            ::core::result::Result::Ok(value) => value,
            ::core::result::Result::Err(error) => {
                return ::core::task::Poll::Ready(::core::result::Result::Err(error));
            }
        }
    };
    (@finish join $outputs:expr) => {
        $outputs
    };
    (@finish try_join $outputs:expr) => {
        ::core::result::Result::Ok($outputs)
    };
}

/// Waits for the first of several futures to complete, drops all the others, then runs the
/// handler of the branch that completed.
///
/// ```text
/// select! {
///     biased;                                            // optional
///     <pattern> = <future> => <handler>,
///     <pattern> = <future>, if <precondition> => <handler>,
///     ...
///     else => <handler>,                                 // optional, last
/// }
/// ```
///
/// 1. Every `<precondition>` is evaluated, in order; a branch whose precondition is `false`
///    is *disabled*. Then every `<future>` expression is evaluated (once, in order, also for
///    disabled branches; a disabled branch's future is dropped unpolled). Each may be anything
///    that implements [`IntoFuture`](std::future::IntoFuture). Since the preconditions come
///    first, a precondition may read what a future expression then borrows mutably
///    (`_ = &mut sleep, if !sleep.is_elapsed()`).
/// 2. The enabled futures are polled, every time the task is woken, until one completes. Each
///    poll starts at a branch chosen at random (a cheap per-thread generator), so a branch
///    that is always ready cannot starve the others. With `biased;` the branches are polled
///    in the order written: if several are ready at the same poll, the first written wins.
/// 3. When a future completes, its output is matched against its `<pattern>`. If it does not
///    match, the branch is disabled (its output dropped) and the others go on.
/// 4. When it matches, every other future is dropped, and only then does the `<handler>` run
///    with the pattern's bindings. So a handler may use a variable that another branch's
///    future borrowed, even mutably. The value of `select!` is the value of that handler; all
///    handlers must have the same type.
/// 5. If every branch is disabled (by its precondition, or by an output that did not match),
///    the `else` handler runs; without an `else` branch, `select!` panics.
///
/// Must be used inside an `async` block or function (the macro includes the `.await`). A
/// handler is either a block (the comma after it is optional) or an expression followed by a
/// comma (optional after the last branch). It runs in the caller's body, outside any closure
/// or loop of the macro, so `return`, `?`, `break`, `continue` and `.await` work in it.
///
/// ```
/// use std::time::Duration;
/// use evloop::time::sleep;
///
/// let rt = evloop::Runtime::new()?;
/// let message = rt.block_on(async {
///     let no_result = async {
///         sleep(Duration::from_millis(5)).await;
///         None::<u32>
///     };
///     evloop::select! {
///         // Completes first, but `None` does not match: this branch is disabled.
///         Some(n) = no_result => format!("got {n}"),
///         () = sleep(Duration::from_millis(20)) => "timed out".to_string(),
///     }
/// });
/// assert_eq!(message, "timed out");
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// A loop that waits for two things, each at most once, with `else` for when both are done:
///
/// ```
/// use std::time::Duration;
/// use evloop::time::sleep;
///
/// let rt = evloop::Runtime::new()?;
/// let (mut a, mut b) = (None, None);
/// rt.block_on(async {
///     let mut slow = std::pin::pin!(sleep(Duration::from_millis(10)));
///     loop {
///         evloop::select! {
///             () = &mut slow, if a.is_none() => a = Some("slow"),
///             n = async { 7 }, if b.is_none() => b = Some(n),
///             else => break,
///         }
///     }
/// });
/// assert_eq!((a, b), (Some("slow"), Some(7)));
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// To know whether a branch matched, `select!` first matches the pattern against a reference
/// to the output, with binding modifiers (`mut`, `ref`) and `&` removed from the pattern, and
/// only in the handler by value, with the pattern as written.
///
/// # Panics
///
/// Panics if every branch is disabled and there is no `else` branch, and whenever a future
/// panics when polled.
#[macro_export]
macro_rules! select {
    // Every branch is parsed and named: evaluate the preconditions, then the futures; poll
    // until a branch matches; drop the futures; run the handler.
    (@named $biased:tt [$($otherwise:tt)*] $( {
        $future:ident $output:ident $enabled:ident
        [$($pat:tt)*] ($e:expr) ($precondition:expr) [$($handler:tt)*]
    } )*) => {{
        $( let $enabled: bool = $precondition; )*
        $( let mut $output = ::core::option::Option::None; )*
        // Invariant 2: the futures, and the temporaries of their expressions (extended to
        // this block by the tuple), are dropped when this block ends, before any handler.
        {
            let ($($future,)*) = ($($e,)*);
            $(
                let mut $future = ::core::pin::pin!(::core::option::Option::Some(
                    ::core::future::IntoFuture::into_future($future),
                ));
                if !$enabled {
                    $future.set(::core::option::Option::None);
                }
            )*
            let count = <[&str]>::len(&[$(::core::stringify!($future)),*]);
            // Branches still polled, counted apart from the futures: reading a pinned
            // `Option` (`is_none`) would take a shared reference to a suspended future that
            // may hold a `&mut` into itself, which Miri rejects.
            let mut live: usize = 0 $( + usize::from($enabled) )*;
            ::core::future::poll_fn(|cx| {
                let first = if $biased { 0 } else { $crate::future::__select_start(count) };
                // First round: the branches from `first` on; second round: those before it.
                for from_first in [true, false] {
                    let mut position: usize = 0;
                    $(
                        position += 1;
                        if (position > first) == from_first {
                            if let ::core::option::Option::Some(future) =
                                $future.as_mut().as_pin_mut()
                            {
                                if let ::core::task::Poll::Ready(value) =
                                    ::core::future::Future::poll(future, cx)
                                {
                                    $future.set(::core::option::Option::None);
                                    live -= 1;
                                    #[allow(unused_variables, unreachable_patterns)]
                                    let matched = match &value {
                                        $crate::__select_clean_pattern!($($pat)*) => true,
                                        _ => false,
                                    };
                                    if matched {
                                        $output = ::core::option::Option::Some(value);
                                        return ::core::task::Poll::Ready(());
                                    }
                                    // The branch is disabled: its output is dropped here.
                                }
                            }
                        }
                    )*
                }
                if live == 0 {
                    // Every branch is disabled: the `else` handler (or the panic) below.
                    ::core::task::Poll::Ready(())
                } else {
                    ::core::task::Poll::Pending
                }
            })
            .await;
        }
        $(
            if let ::core::option::Option::Some($($pat)*) = $output {
                $($handler)*
            } else
        )*
        {
            $crate::select!(@otherwise $($otherwise)*)
        }
    }};
    (@otherwise) => {
        ::core::panic!("evloop::select!: every branch is disabled and there is no `else` branch")
    };
    (@otherwise $otherwise:tt) => {
        $otherwise
    };

    // Parsing, one branch after the other. With nothing collected yet, `@parse` first looks
    // for the end of the input or the `else` branch. Otherwise it collects pattern tokens
    // until the one followed by a lone `=` (a pattern contains no lone `=`), takes that last
    // token with the future, the precondition and the handler, names the branch (fresh names:
    // see the module docs), and starts on the next branch. A branch costs one level of the
    // macro recursion limit per token of its pattern: tokio's 64 branches of `x = ...` fit in
    // the default limit of 128.
    (@parse $biased:tt [$($named:tt)*] []) => {
        $crate::select!(@named $biased [] $($named)*)
    };
    (@parse $biased:tt [$($named:tt)*] [] else => $otherwise:block $(,)?) => {
        $crate::select!(@named $biased [$otherwise] $($named)*)
    };
    (@parse $biased:tt [$($named:tt)*] [] else => $otherwise:expr $(,)?) => {
        $crate::select!(@named $biased [$otherwise] $($named)*)
    };
    (@parse $biased:tt [$($named:tt)*] [] else $($rest:tt)*) => {
        ::core::compile_error!("select!: `else => <handler>` must be the last branch")
    };
    (@parse $biased:tt [$($named:tt)*] [$($pat:tt)*]
        $last:tt = $e:expr, if $precondition:expr => $handler:block $(, $($rest:tt)*)?) => {
        $crate::select!(@parse $biased
            [$($named)* { future output enabled [$($pat)* $last] ($e) ($precondition) [$handler] }]
            [] $($($rest)*)?)
    };
    (@parse $biased:tt [$($named:tt)*] [$($pat:tt)*]
        $last:tt = $e:expr, if $precondition:expr => $handler:block $($rest:tt)+) => {
        $crate::select!(@parse $biased
            [$($named)* { future output enabled [$($pat)* $last] ($e) ($precondition) [$handler] }]
            [] $($rest)+)
    };
    (@parse $biased:tt [$($named:tt)*] [$($pat:tt)*]
        $last:tt = $e:expr, if $precondition:expr => $handler:expr $(, $($rest:tt)*)?) => {
        $crate::select!(@parse $biased
            [$($named)* { future output enabled [$($pat)* $last] ($e) ($precondition) [$handler] }]
            [] $($($rest)*)?)
    };
    (@parse $biased:tt [$($named:tt)*] [$($pat:tt)*]
        $last:tt = $e:expr => $handler:block $(, $($rest:tt)*)?) => {
        $crate::select!(@parse $biased
            [$($named)* { future output enabled [$($pat)* $last] ($e) (true) [$handler] }]
            [] $($($rest)*)?)
    };
    (@parse $biased:tt [$($named:tt)*] [$($pat:tt)*]
        $last:tt = $e:expr => $handler:block $($rest:tt)+) => {
        $crate::select!(@parse $biased
            [$($named)* { future output enabled [$($pat)* $last] ($e) (true) [$handler] }]
            [] $($rest)+)
    };
    (@parse $biased:tt [$($named:tt)*] [$($pat:tt)*]
        $last:tt = $e:expr => $handler:expr $(, $($rest:tt)*)?) => {
        $crate::select!(@parse $biased
            [$($named)* { future output enabled [$($pat)* $last] ($e) (true) [$handler] }]
            [] $($($rest)*)?)
    };
    (@parse $biased:tt [$($named:tt)*] [$($pat:tt)*] $next:tt $($rest:tt)+) => {
        $crate::select!(@parse $biased [$($named)*] [$($pat)* $next] $($rest)+)
    };
    (@parse $biased:tt [$($named:tt)*] [$($pat:tt)*] $($rest:tt)*) => {
        ::core::compile_error!(
            "select!: expected `<pattern> = <future> => <handler>` in every branch"
        )
    };

    () => {
        ::core::compile_error!("select! needs at least one branch")
    };
    (biased;) => {
        ::core::compile_error!("select! needs at least one branch")
    };
    (biased; $($branches:tt)+) => {
        $crate::select!(@parse true [] [] $($branches)+)
    };
    ($($branches:tt)+) => {
        $crate::select!(@parse false [] [] $($branches)+)
    };
}

/// Implementation detail of [`select!`]: the pattern it is given, without binding modifiers
/// (`mut`, `ref`) and reference patterns (`&`), at any depth.
///
/// `select!` matches this cleaned pattern against a *reference* to a future's output, to learn
/// whether the branch matches without consuming the output. Under match ergonomics the
/// bindings of the cleaned pattern become references (unused), and since Rust 2024 `mut`,
/// `ref` and `&` are errors in that position, hence the cleaning.
///
/// It walks the tokens keeping a stack of the groups (`()`, `[]`, `{}`) it is inside: entering
/// a group pushes what was collected so far and what follows the group; leaving it pops them
/// and wraps what was collected inside in the same delimiters.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_clean_pattern {
    // Done.
    (@walk [] [$($out:tt)*]) => { $($out)* };
    // End of a group: wrap it and resume with the tokens that followed it.
    (@walk [(paren [$($before:tt)*] [$($after:tt)*]) $($stack:tt)*] [$($out:tt)*]) => {
        $crate::__select_clean_pattern!(@walk [$($stack)*] [$($before)* ($($out)*)] $($after)*)
    };
    (@walk [(bracket [$($before:tt)*] [$($after:tt)*]) $($stack:tt)*] [$($out:tt)*]) => {
        $crate::__select_clean_pattern!(@walk [$($stack)*] [$($before)* [$($out)*]] $($after)*)
    };
    (@walk [(brace [$($before:tt)*] [$($after:tt)*]) $($stack:tt)*] [$($out:tt)*]) => {
        $crate::__select_clean_pattern!(@walk [$($stack)*] [$($before)* {$($out)*}] $($after)*)
    };
    // Tokens removed.
    (@walk [$($stack:tt)*] [$($out:tt)*] mut $($rest:tt)*) => {
        $crate::__select_clean_pattern!(@walk [$($stack)*] [$($out)*] $($rest)*)
    };
    (@walk [$($stack:tt)*] [$($out:tt)*] ref $($rest:tt)*) => {
        $crate::__select_clean_pattern!(@walk [$($stack)*] [$($out)*] $($rest)*)
    };
    (@walk [$($stack:tt)*] [$($out:tt)*] && $($rest:tt)*) => {
        $crate::__select_clean_pattern!(@walk [$($stack)*] [$($out)*] $($rest)*)
    };
    (@walk [$($stack:tt)*] [$($out:tt)*] & $($rest:tt)*) => {
        $crate::__select_clean_pattern!(@walk [$($stack)*] [$($out)*] $($rest)*)
    };
    // Start of a group: push, and walk its contents.
    (@walk [$($stack:tt)*] [$($out:tt)*] ($($inner:tt)*) $($rest:tt)*) => {
        $crate::__select_clean_pattern!(
            @walk [(paren [$($out)*] [$($rest)*]) $($stack)*] [] $($inner)*)
    };
    (@walk [$($stack:tt)*] [$($out:tt)*] [$($inner:tt)*] $($rest:tt)*) => {
        $crate::__select_clean_pattern!(
            @walk [(bracket [$($out)*] [$($rest)*]) $($stack)*] [] $($inner)*)
    };
    (@walk [$($stack:tt)*] [$($out:tt)*] {$($inner:tt)*} $($rest:tt)*) => {
        $crate::__select_clean_pattern!(
            @walk [(brace [$($out)*] [$($rest)*]) $($stack)*] [] $($inner)*)
    };
    // Any other token is kept.
    (@walk [$($stack:tt)*] [$($out:tt)*] $next:tt $($rest:tt)*) => {
        $crate::__select_clean_pattern!(@walk [$($stack)*] [$($out)* $next] $($rest)*)
    };
    ($($pattern:tt)*) => {
        $crate::__select_clean_pattern!(@walk [] [] $($pattern)*)
    };
}
