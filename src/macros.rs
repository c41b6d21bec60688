//! The `join!` and `select!` macros: wait for all, or for the first, of a fixed list of
//! futures, inside the calling task.
//!
//! Both are plain `macro_rules!` and expand to safe code built from `std` alone
//! (`pin!`, `poll_fn`, `Pin::set`): each future is pinned on the stack in an `Option`, and
//! dropped in place by setting that `Option` to `None`.
//!
//! # How the macros name their futures
//!
//! A list of futures needs one local variable per future, and `macro_rules!` cannot build
//! identifiers. Both macros first walk the list recursively, one future per step, writing the
//! same names (`future`, `output`) at each step. Macro hygiene makes the names written by
//! different expansions different variables, so the last step receives one distinct pair per
//! future. The recursion costs one level of the compiler's macro recursion limit per future
//! (and, for `select!`, per token of each pattern).
//!
//! # Invariants
//!
//! 1. A future is polled only while it has not completed; when it completes it is dropped at
//!    once, in place.
//! 2. `select!` drops every other future before it runs the handler of the branch that won.
//! 3. Neither macro holds a borrow across the user's handler or spawns anything: the handler
//!    runs in the caller's own body, so `return`, `?`, `break` and `.await` in it behave as
//!    they would outside the macro.

/// Waits for all of the given futures, polled concurrently in the current task, and
/// evaluates to the tuple of their outputs.
///
/// Takes any number of expressions whose types implement [`IntoFuture`](std::future::IntoFuture);
/// must be used inside an `async` block or function (the macro includes the `.await`). Every
/// unfinished future is polled, in the order given, each time the task is woken; a future is
/// dropped as soon as it completes. `join!()` evaluates to `()`.
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
///     evloop::join!(double(1, 30), double(2, 10), double(3, 20))
/// });
/// assert_eq!(outputs, (2, 4, 6));
/// # Ok::<(), std::io::Error>(())
/// ```
#[macro_export]
macro_rules! join {
    // Every future has its pair of names: pin the futures and poll them until all are done.
    (@named $( { $future:ident $output:ident ($e:expr) } )*) => {{
        $(
            let mut $future = ::core::pin::pin!(::core::option::Option::Some(
                ::core::future::IntoFuture::into_future($e),
            ));
            let mut $output = ::core::option::Option::None;
        )*
        ::core::future::poll_fn(|cx| {
            let mut all_done = true;
            $(
                if let ::core::option::Option::Some(future) = $future.as_mut().as_pin_mut() {
                    match ::core::future::Future::poll(future, cx) {
                        ::core::task::Poll::Ready(value) => {
                            $future.set(::core::option::Option::None);
                            $output = ::core::option::Option::Some(value);
                        }
                        ::core::task::Poll::Pending => all_done = false,
                    }
                }
            )*
            if !all_done {
                return ::core::task::Poll::Pending;
            }
            ::core::task::Poll::Ready(($(
                $output.take().expect("join!: every future has completed"),
            )*))
        })
        .await
    }};
    // Give the next future its names (fresh ones: see the module docs) and recurse.
    (@name [$($named:tt)*] $e:expr $(, $($rest:expr),*)?) => {
        $crate::join!(@name [$($named)* { future output ($e) }] $($($rest),*)?)
    };
    (@name [$($named:tt)*]) => {
        $crate::join!(@named $($named)*)
    };
    ($($e:expr),* $(,)?) => {
        $crate::join!(@name [] $($e),*)
    };
}

/// Waits for the first of several futures to complete, drops all the others, then runs the
/// handler of the branch that completed.
///
/// ```text
/// select! {
///     <pattern> = <future> => <handler>,
///     ...
/// }
/// ```
///
/// 1. Every `<future>` expression is evaluated (once, in order) and pinned in the current
///    task. Each may be anything that implements [`IntoFuture`](std::future::IntoFuture).
/// 2. The futures are polled in the order written, every time the task is woken, until one
///    completes. The selection is therefore **biased**: if several are ready at the same
///    poll, the first branch written wins.
/// 3. When a future completes, its output is matched against its `<pattern>`. If it does not
///    match, the branch is *disabled* (its output dropped) and the others go on. If every
///    branch ends up disabled, `select!` panics.
/// 4. When it matches, every other future is dropped, and only then does the `<handler>` run
///    with the pattern's bindings. The value of `select!` is the value of that handler; all
///    handlers must have the same type.
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
/// To know whether a branch matched, `select!` first matches the pattern against a reference
/// to the output, with binding modifiers (`mut`, `ref`) and `&` removed from the pattern, and
/// only in the handler by value, with the pattern as written.
///
/// # Panics
///
/// Panics if every branch is disabled (every future completed with an output that did not
/// match its pattern), and whenever a future panics when polled.
#[macro_export]
macro_rules! select {
    // Every branch is parsed and named: poll until a branch matches, drop the others, run it.
    (@named $( { $future:ident $output:ident [$($pat:tt)*] ($e:expr) [$($handler:tt)*] } )*) => {{
        $(
            let mut $future = ::core::pin::pin!(::core::option::Option::Some(
                ::core::future::IntoFuture::into_future($e),
            ));
            let mut $output = ::core::option::Option::None;
        )*
        ::core::future::poll_fn(|cx| {
            let mut any_enabled = false;
            $(
                if let ::core::option::Option::Some(future) = $future.as_mut().as_pin_mut() {
                    match ::core::future::Future::poll(future, cx) {
                        ::core::task::Poll::Ready(value) => {
                            $future.set(::core::option::Option::None);
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
                        ::core::task::Poll::Pending => any_enabled = true,
                    }
                }
            )*
            if !any_enabled {
                ::core::panic!(
                    "evloop::select!: every branch is disabled (each future completed with an \
                     output that did not match its pattern)"
                );
            }
            ::core::task::Poll::Pending
        })
        .await;
        // Invariant 2: drop every other future before any handler runs.
        $( $future.set(::core::option::Option::None); )*
        $(
            if let ::core::option::Option::Some(value) = $output.take() {
                #[allow(unreachable_patterns)]
                match value {
                    $($pat)* => { $($handler)* }
                    _ => ::core::unreachable!("select!: the pattern matched a moment ago"),
                }
            } else
        )*
        {
            ::core::unreachable!("select!: a branch completed")
        }
    }};

    // Parsing, one token at a time. `@branch` starts a branch; `@pattern` collects pattern
    // tokens until the `=` that ends the pattern (a pattern contains no lone `=`), then takes
    // the future and the handler, names the branch (fresh names: see the module docs), and
    // goes back to `@branch`.
    (@branch [$($named:tt)*]) => {
        $crate::select!(@named $($named)*)
    };
    (@branch [$($named:tt)*] $($rest:tt)+) => {
        $crate::select!(@pattern [$($named)*] [] $($rest)+)
    };
    (@pattern [$($named:tt)*] [$($pat:tt)+] = $e:expr => $handler:block $(, $($rest:tt)*)?) => {
        $crate::select!(@branch
            [$($named)* { future output [$($pat)+] ($e) [$handler] }]
            $($($rest)*)?)
    };
    (@pattern [$($named:tt)*] [$($pat:tt)+] = $e:expr => $handler:block $($rest:tt)+) => {
        $crate::select!(@branch
            [$($named)* { future output [$($pat)+] ($e) [$handler] }]
            $($rest)+)
    };
    (@pattern [$($named:tt)*] [$($pat:tt)+] = $e:expr => $handler:expr $(, $($rest:tt)*)?) => {
        $crate::select!(@branch
            [$($named)* { future output [$($pat)+] ($e) [$handler] }]
            $($($rest)*)?)
    };
    (@pattern [$($named:tt)*] [$($pat:tt)*] $next:tt $($rest:tt)*) => {
        $crate::select!(@pattern [$($named)*] [$($pat)* $next] $($rest)*)
    };
    (@pattern [$($named:tt)*] [$($pat:tt)*]) => {
        ::core::compile_error!(
            "select!: expected `<pattern> = <future> => <handler>` in every branch"
        )
    };

    () => {
        ::core::compile_error!("select! needs at least one branch")
    };
    ($($branches:tt)+) => {
        $crate::select!(@branch [] $($branches)+)
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
