//! Composition: `join!`, `try_join!`, `join`, `join_all`, `select`, `select_all`, `select!` and
//! `JoinSet`, alone and under `time::timeout`, with drop- and poll-counting futures.

#[path = "support/counters.rs"]
mod counters;

use std::cell::{Cell, RefCell};
use std::future::{Future, pending, ready};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::time::Duration;

use counters::{DropCounter, DropToken, ProbeState, panic_message, settle};
use evloop::Runtime;
use evloop::future::{Either, join, join_all, select, select_all};
use evloop::task::{JoinSet, yield_now};
use evloop::time::{Instant, sleep, sleep_until, timeout};

/// Children in the tests that scale with a count (fewer under Miri, which is slow).
const MANY: usize = if cfg!(miri) { 16 } else { 1000 };

/// Long enough that it never fires while a test runs.
const HOUR: Duration = Duration::from_secs(3600);

fn runtime() -> Runtime {
    Runtime::new().expect("create runtime")
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `future`, holding `token` until it is dropped (completed or not).
async fn tracked<F: Future>(token: DropToken, future: F) -> F::Output {
    let _token = token;
    future.await
}

/// Sleeps until `n` ms after `start`, logs `n` to `log` when it wakes up, and returns `n`.
///
/// The deadline is absolute: children are first polled one after the other, under Miri
/// milliseconds apart, and their completion order must not depend on that.
async fn sleep_and_log(start: Instant, n: u64, log: Rc<RefCell<Vec<u64>>>) -> u64 {
    sleep_until(start + ms(n)).await;
    log.borrow_mut().push(n);
    n
}

/// Yields `n` times, then returns `value`: completes after `n` extra polls.
async fn after_yields<T>(n: usize, value: T) -> T {
    settle(n).await;
    value
}

// ---------------------------------------------------------------------------------------------
// join!, join, join_all

#[test]
fn join_macro_of_one_two_and_five_returns_all_outputs_and_drops_each_child_once() {
    let rt = runtime();
    rt.block_on(async {
        let drops = DropCounter::new();
        let one = evloop::join!(tracked(drops.token(), async { 1 }));
        assert_eq!(one, (1,));
        assert_eq!(drops.count(), 1);

        let drops = DropCounter::new();
        let two = evloop::join!(
            tracked(drops.token(), after_yields(3, "a")),
            tracked(drops.token(), sleep(ms(5))),
        );
        assert_eq!(two, ("a", ()));
        assert_eq!(drops.count(), 2);

        let drops = DropCounter::new();
        let five = evloop::join!(
            tracked(drops.token(), after_yields(4, 1u8)),
            tracked(drops.token(), async { "two" }),
            tracked(drops.token(), sleep(ms(10))),
            tracked(drops.token(), after_yields(1, 4.0f64)),
            tracked(drops.token(), async {
                sleep(ms(2)).await;
                vec![5]
            }),
        );
        assert_eq!(five, (1, "two", (), 4.0, vec![5]));
        assert_eq!(drops.count(), 5);
    });
}

#[test]
fn join_macro_drops_a_child_as_soon_as_it_completes() {
    let rt = runtime();
    rt.block_on(async {
        let drops = DropCounter::new();
        let seen = drops.clone();
        let ((), seen_by_slow) = evloop::join!(tracked(drops.token(), async {}), async {
            settle(2).await;
            // The fast child completed at the first poll and is gone already.
            seen.count()
        });
        assert_eq!(seen_by_slow, 1);
    });
}

#[test]
fn join_macro_without_futures_is_unit_and_accepts_a_trailing_comma() {
    let rt = runtime();
    rt.block_on(async {
        let () = evloop::join!();
        let (a, b) = evloop::join!(async { 1 }, async { 2 },);
        assert_eq!((a, b), (1, 2));
        // Anything that implements IntoFuture: a JoinHandle.
        let (handle_output,) = evloop::join!(evloop::spawn(async { 3 }));
        assert_eq!(handle_output.unwrap(), 3);
    });
}

#[test]
fn join_macro_polls_its_futures_concurrently_not_one_after_the_other() {
    let rt = runtime();
    let log = Rc::new(RefCell::new(Vec::new()));
    let logged = |yields: usize| {
        let log = log.clone();
        async move {
            settle(yields).await;
            log.borrow_mut().push(yields);
            yields
        }
    };
    // Every poll of the task polls each unfinished future once, so the one that needs the
    // fewest polls finishes first, whatever its place in the list.
    let outputs = rt.block_on(async { evloop::join!(logged(3), logged(1), logged(2)) });
    assert_eq!(outputs, (3, 1, 2));
    assert_eq!(*log.borrow(), [1, 2, 3]);
}

#[test]
fn join_function_returns_both_outputs_and_drops_both() {
    let rt = runtime();
    rt.block_on(async {
        let drops = DropCounter::new();
        let (a, b) = join(
            tracked(drops.token(), after_yields(3, 'a')),
            tracked(drops.token(), async { 'b' }),
        )
        .await;
        assert_eq!((a, b), ('a', 'b'));
        assert_eq!(drops.count(), 2);
    });
}

#[test]
fn join_all_preserves_input_order_while_completion_order_differs() {
    let rt = runtime();
    let log = Rc::new(RefCell::new(Vec::new()));
    let start = Instant::now();
    let outputs = rt.block_on(join_all(
        [30, 10, 20].map(|n| sleep_and_log(start, n, log.clone())),
    ));
    assert_eq!(outputs, [30, 10, 20]);
    assert_eq!(*log.borrow(), [10, 20, 30]);
}

#[test]
fn join_all_with_wakes_controlled_by_the_test_returns_outputs_in_input_order() {
    let rt = runtime();
    rt.block_on(async {
        let probes: Vec<ProbeState> = (0..MANY).map(|_| ProbeState::new()).collect();
        let finished = Rc::new(RefCell::new(Vec::new()));
        let children = probes.iter().enumerate().map(|(i, probe)| {
            let probe = probe.future();
            let finished = finished.clone();
            async move {
                probe.await;
                finished.borrow_mut().push(i);
                i
            }
        });
        let joined = evloop::spawn(join_all(children));
        settle(2).await;
        // Finish them back to front, one at a time.
        for probe in probes.iter().rev() {
            probe.finish_on_next_poll();
            probe.waker().wake();
            settle(1).await;
        }
        let outputs = joined.await.unwrap();
        assert_eq!(outputs, (0..MANY).collect::<Vec<_>>());
        assert_eq!(*finished.borrow(), (0..MANY).rev().collect::<Vec<_>>());
    });
}

#[test]
fn join_all_polls_only_the_children_that_were_woken() {
    let rt = runtime();
    rt.block_on(async {
        let probes: Vec<ProbeState> = (0..MANY).map(|_| ProbeState::new()).collect();
        let joined = evloop::spawn(join_all(probes.iter().map(ProbeState::future)));
        settle(2).await;
        assert!(probes.iter().all(|probe| probe.polls() == 1));

        // One wake: one poll, of that child only.
        let woken = MANY / 2;
        probes[woken].waker().wake();
        settle(2).await;
        for (i, probe) in probes.iter().enumerate() {
            assert_eq!(probe.polls(), if i == woken { 2 } else { 1 }, "child {i}");
        }

        // Many wakes of one child before the task runs: still one poll.
        for _ in 0..5 {
            probes[0].waker().wake_by_ref();
        }
        settle(2).await;
        assert_eq!(probes[0].polls(), 2);

        // Finish all; a finished child is never polled again, even if woken.
        for probe in &probes {
            probe.finish_on_next_poll();
            probe.waker().wake();
        }
        assert_eq!(joined.await.unwrap().len(), MANY);
        let polls: Vec<usize> = probes.iter().map(ProbeState::polls).collect();
        probes[1].waker().wake();
        settle(2).await;
        assert_eq!(
            probes.iter().map(ProbeState::polls).collect::<Vec<_>>(),
            polls
        );
    });
}

#[test]
fn join_all_child_wakers_work_from_another_thread() {
    let rt = runtime();
    rt.block_on(async {
        let probes: Vec<ProbeState> = (0..4).map(|_| ProbeState::new()).collect();
        let joined = evloop::spawn(join_all(probes.iter().map(ProbeState::future)));
        settle(2).await;
        for probe in &probes {
            probe.finish_on_next_poll();
        }
        let wakers: Vec<_> = probes.iter().map(ProbeState::waker).collect();
        std::thread::spawn(move || wakers.into_iter().for_each(|waker| waker.wake()))
            .join()
            .unwrap();
        let outputs = timeout(Duration::from_secs(10), joined).await;
        assert_eq!(outputs.expect("the remote wakes arrived").unwrap().len(), 4);
    });
}

#[test]
fn join_all_of_nothing_is_an_empty_vec() {
    let rt = runtime();
    let outputs = rt.block_on(join_all(Vec::<std::future::Ready<u8>>::new()));
    assert!(outputs.is_empty());
}

#[test]
fn join_all_drops_each_child_once_when_it_completes() {
    let rt = runtime();
    rt.block_on(async {
        let drops = DropCounter::new();
        let seen = drops.clone();
        let children: Vec<std::pin::Pin<Box<dyn Future<Output = usize>>>> = vec![
            Box::pin(tracked(drops.token(), async { 0 })),
            Box::pin(tracked(drops.token(), async { 0 })),
            Box::pin(tracked(drops.token(), async move {
                settle(2).await;
                seen.count() // the two fast children are gone by now
            })),
        ];
        assert_eq!(join_all(children).await, [0, 0, 2]);
        assert_eq!(drops.count(), 3);
    });
}

// ---------------------------------------------------------------------------------------------
// select, select_all

#[test]
fn select_returns_the_first_to_finish_and_drops_the_loser_before_the_caller_resumes() {
    let rt = runtime();
    rt.block_on(async {
        let drops = DropCounter::new();
        let winner = select(
            tracked(drops.token(), sleep(HOUR)),
            tracked(drops.token(), after_yields(2, "b")),
        )
        .await;
        // The "handler": the loser's destructor has already run.
        assert_eq!(drops.count(), 2);
        assert_eq!(winner, Either::Right("b"));

        let winner = select(after_yields(1, 1), pending::<()>()).await;
        assert_eq!(winner, Either::Left(1));
    });
}

#[test]
fn select_is_biased_towards_its_first_future() {
    let rt = runtime();
    let winner = rt.block_on(select(ready('a'), ready('b')));
    assert_eq!(winner, Either::Left('a'));
}

#[test]
fn select_all_gives_the_index_of_the_winner_and_drops_the_rest() {
    let rt = runtime();
    rt.block_on(async {
        let drops = DropCounter::new();
        let start = Instant::now();
        let futures = [40, 30, 50, 10, 20].map(|n| {
            tracked(drops.token(), async move {
                sleep_until(start + ms(n)).await;
                n
            })
        });
        let (output, index) = select_all(futures).await;
        assert_eq!((output, index), (10, 3));
        assert_eq!(drops.count(), 5);
    });
    assert_eq!(
        rt.metrics().pending_timers,
        0,
        "the losers' timers are gone"
    );
}

#[test]
fn select_all_polls_only_the_children_that_were_woken() {
    let rt = runtime();
    rt.block_on(async {
        let probes: Vec<ProbeState> = (0..MANY).map(|_| ProbeState::new()).collect();
        let selected = evloop::spawn(select_all(probes.iter().map(ProbeState::future)));
        settle(2).await;
        assert!(probes.iter().all(|probe| probe.polls() == 1));
        let winner = MANY - 1;
        probes[winner].finish_on_next_poll();
        probes[winner].waker().wake();
        let ((), index) = selected.await.unwrap();
        assert_eq!(index, winner);
        for (i, probe) in probes.iter().enumerate() {
            assert_eq!(probe.polls(), if i == winner { 2 } else { 1 }, "child {i}");
        }
    });
}

#[test]
fn select_all_of_nothing_panics_with_a_message_that_says_so() {
    let result = catch_unwind(|| select_all(Vec::<std::future::Ready<()>>::new()));
    let message = panic_message(result.unwrap_err().as_ref());
    assert!(
        message.contains("at least one future"),
        "message: {message}"
    );
}

// ---------------------------------------------------------------------------------------------
// select!

#[test]
fn select_macro_drops_every_other_future_before_the_handler_runs() {
    let rt = runtime();
    rt.block_on(async {
        let drops = DropCounter::new();
        let result = evloop::select! {
            () = tracked(drops.token(), sleep(HOUR)) => unreachable!(),
            n = tracked(drops.token(), after_yields(2, 7)) => {
                // The winner completed (and was dropped), the two losers were dropped.
                assert_eq!(drops.count(), 3);
                n * 2
            }
            () = tracked(drops.token(), pending::<()>()) => unreachable!(),
        };
        assert_eq!(result, 14);
    });
    assert_eq!(rt.metrics().pending_timers, 0);
}

#[test]
fn select_macro_with_biased_prefers_the_first_branch_written() {
    let rt = runtime();
    let branch = rt.block_on(async {
        evloop::select! {
            biased;
            () = ready(()) => 1,
            () = ready(()) => 2,
        }
    });
    assert_eq!(branch, 1);
}

#[test]
fn select_macro_pattern_that_does_not_match_disables_its_branch() {
    let rt = runtime();
    rt.block_on(async {
        let drops = DropCounter::new();
        let polls = Rc::new(Cell::new(0));
        let counted = polls.clone();
        let output = evloop::select! {
            // Ready first, with a value the pattern refuses.
            Some(n) = tracked(drops.token(), async { None::<u32> }) => n,
            n = async {
                for _ in 0..3 {
                    counted.set(counted.get() + 1);
                    yield_now().await;
                }
                100
            } => {
                assert_eq!(drops.count(), 1, "the disabled branch's future is gone");
                n
            },
        };
        assert_eq!(output, 100);
        assert_eq!(polls.get(), 3);
    });
}

#[test]
fn select_macro_with_every_branch_disabled_panics_with_a_message_that_says_so() {
    let rt = runtime();
    let result = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(async {
            evloop::select! {
                Ok(n) = async { Err::<u32, &str>("no") } => n,
                Some(n) = async { None::<u32> } => n,
            }
        })
    }));
    let message = panic_message(result.unwrap_err().as_ref());
    assert!(
        message.contains("every branch is disabled"),
        "message: {message}"
    );
}

#[test]
fn select_macro_accepts_binding_modifiers_reference_patterns_and_alternatives() {
    let rt = runtime();
    rt.block_on(async {
        let total = evloop::select! {
            (Some(mut a), ref b) = async { (Some(String::from("x")), vec![1, 2]) } => {
                a.push('y');
                format!("{a}{}", b.len())
            }
        };
        assert_eq!(total, "xy2");

        static FIVE: u32 = 5;
        let n = evloop::select! {
            &n = async { &FIVE } => n,
        };
        assert_eq!(n, 5);

        let kind = evloop::select! {
            1 | 2 = after_yields(1, 2u8) => "small",
            big @ 3.. = async { 9u8 } => if big > 5 { "big" } else { "medium" },
        };
        // The second future is ready first, and its pattern matches.
        assert_eq!(kind, "big");

        struct Point {
            x: i32,
            y: Vec<i32>,
        }
        let moved = evloop::select! {
            Point { x: 1, mut y } = async { Point { x: 1, y: vec![2] } } => {
                y.push(3);
                y
            }
        };
        assert_eq!(moved, [2, 3]);

        let [first, .., last] = evloop::select! {
            [a, _, b] = async { [1, 2, 3] } => [a, 0, b],
        };
        assert_eq!((first, last), (1, 3));
    });
}

#[test]
fn select_macro_handlers_may_return_break_and_use_the_question_mark() {
    async fn parse(input: &'static str) -> Result<u32, std::num::ParseIntError> {
        let doubled = evloop::select! {
            text = async { input } => text.parse::<u32>()? * 2,
        };
        Ok(doubled)
    }

    async fn early_return() -> &'static str {
        let n = evloop::select! {
            () = ready(()) => return "returned",
            n = pending::<u32>() => n,
        };
        if n > 0 { "fell through" } else { "zero" }
    }

    let rt = runtime();
    rt.block_on(async {
        assert_eq!(parse("21").await, Ok(42));
        assert!(parse("x").await.is_err());
        assert_eq!(early_return().await, "returned");

        let mut turns = 0;
        loop {
            turns += 1;
            evloop::select! {
                n = after_yields(1, turns) => {
                    if n == 3 {
                        break;
                    }
                    continue;
                }
            }
        }
        assert_eq!(turns, 3);

        // A handler that awaits.
        let n = evloop::select! {
            n = async { 1 } => n + after_yields(2, 1).await,
        };
        assert_eq!(n, 2);
    });
}

#[test]
fn select_macro_borrows_from_the_caller_and_evaluates_each_future_once() {
    let rt = runtime();
    rt.block_on(async {
        let evaluated = Cell::new(0);
        let make = |value: u32| {
            evaluated.set(evaluated.get() + 1);
            after_yields(value as usize, value)
        };
        let text = String::from("borrowed");
        let got = evloop::select! {
            n = make(3) => n,
            n = make(1) => n + text.len() as u32,
        };
        assert_eq!(got, 1 + 8);
        assert_eq!(evaluated.get(), 2);
    });
}

// ---------------------------------------------------------------------------------------------
// select!: preconditions, `else`, borrows and fairness (tokio's `select!` cases among them)

async fn require_mutable(value: &mut i32) {
    *value += 1;
}

#[test]
fn select_macro_handler_may_use_a_variable_that_another_branchs_future_borrowed_mutably() {
    let rt = runtime();
    rt.block_on(async {
        let mut value = 234;
        evloop::select! {
            biased;
            () = pending::<()>() => {}
            () = require_mutable(&mut value) => {}
            () = async {} => {
                value += 5;
            }
        }
        // The second branch won (biased), and its future ran to completion.
        assert_eq!(value, 235);

        let mut value = 234;
        evloop::select! {
            biased;
            () = pending::<()>() => {}
            () = async {} => {
                value += 5;
            }
            () = require_mutable(&mut value) => {}
            else => {
                value += 27;
            }
        }
        // The future that borrowed `value` was never polled, and is gone before the handler.
        assert_eq!(value, 239);
    });
}

#[test]
fn select_macro_accepts_ref_and_ref_mut_patterns() {
    let rt = runtime();
    rt.block_on(async {
        let got = evloop::select! {
            Some(mut text) = async { Some(String::from("1")) } => {
                assert_eq!(text, "1");
                text = String::from("2");
                text
            }
        };
        assert_eq!(got, "2");

        let got = evloop::select! {
            Some(ref text) = async { Some(String::from("1")) } => text.clone(),
        };
        assert_eq!(got, "1");

        let got = evloop::select! {
            Some(ref mut text) = async { Some(String::from("1")) } => {
                assert_eq!(*text, "1");
                text.push('2');
                text.clone()
            }
        };
        assert_eq!(got, "12");
    });
}

#[test]
fn select_macro_accepts_a_mutable_borrow_of_a_temporary_future() {
    let rt = runtime();
    rt.block_on(async {
        let n = evloop::select! {
            () = &mut std::future::ready(()) => 1,
        };
        assert_eq!(n, 1);
        let n = evloop::select! {
            () = &mut std::future::pending::<()>() => 0,
            n = &mut std::future::ready(2) => n,
        };
        assert_eq!(n, 2);
    });
}

#[test]
fn select_macro_temporaries_of_future_expressions_are_dropped_before_the_handler() {
    let rt = runtime();
    rt.block_on(async {
        let drops = DropCounter::new();
        let seen = evloop::select! {
            () = &mut Box::pin(tracked(drops.token(), ready(()))) => drops.count(),
        };
        assert_eq!(seen, 1);
    });
}

#[test]
fn select_macro_branch_whose_precondition_is_false_is_never_polled() {
    let rt = runtime();
    rt.block_on(async {
        let polled = std::future::poll_fn(|_| -> std::task::Poll<()> {
            panic!("a disabled branch was polled")
        });
        let n = evloop::select! {
            () = polled, if false => 0,
            n = after_yields(2, 7) => n,
        };
        assert_eq!(n, 7);

        // Also with `biased;`, and when the disabled future would be ready at once.
        let n = evloop::select! {
            biased;
            n = async { 1 }, if 1 > 2 => n,
            n = async { 2 }, if true => n,
        };
        assert_eq!(n, 2);
    });
}

#[test]
fn select_macro_evaluates_every_precondition_before_any_future_expression() {
    let rt = runtime();
    rt.block_on(async {
        let order = RefCell::new(Vec::new());
        let log = |what: &'static str| order.borrow_mut().push(what);
        let n = evloop::select! {
            n = { log("future 1"); async { 1 } }, if { log("precondition 1"); true } => n,
            n = { log("future 2"); async { 2 } }, if { log("precondition 2"); false } => n,
            n = { log("future 3"); async { 3 } } => n,
        };
        assert!(n == 1 || n == 3);
        assert_eq!(
            *order.borrow(),
            [
                "precondition 1",
                "precondition 2",
                "future 1",
                "future 2",
                "future 3"
            ]
        );

        // What that order allows: the precondition reads what the future borrows mutably.
        let mut slow = std::pin::pin!(sleep(ms(5)));
        let mut turns = 0;
        loop {
            turns += 1;
            evloop::select! {
                () = &mut slow, if !slow.is_elapsed() => {}
                else => break,
            }
        }
        assert_eq!(turns, 2);
    });
}

#[test]
fn select_macro_else_runs_when_every_branch_is_disabled() {
    let rt = runtime();
    rt.block_on(async {
        // By their preconditions: no future is polled.
        let n = evloop::select! {
            n = async { 1 }, if false => n,
            n = async { 2 }, if false => n,
            else => 0,
        };
        assert_eq!(n, 0);

        // By outputs that do not match, one after the other.
        let n = evloop::select! {
            Some(n) = after_yields(1, None::<u32>) => n,
            Ok(n) = async { Err::<u32, ()>(()) } => n,
            else => { 100 }
        };
        assert_eq!(n, 100);

        // `else` alone, with and without `biased;`.
        assert_eq!(evloop::select! { else => 5 }, 5);
        assert_eq!(evloop::select! { biased; else => 6, }, 6);

        // Not when a branch matches.
        let n = evloop::select! {
            Some(n) = async { None::<u32> } => n,
            n = after_yields(2, 9) => n,
            else => 0,
        };
        assert_eq!(n, 9);
    });
}

#[test]
fn select_macro_every_branch_disabled_by_preconditions_and_no_else_panics() {
    let rt = runtime();
    let result = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(async {
            evloop::select! {
                n = async { 1 }, if false => n,
            }
        })
    }));
    let message = panic_message(result.unwrap_err().as_ref());
    assert!(
        message.contains("every branch is disabled and there is no `else` branch"),
        "message: {message}"
    );
}

#[test]
fn select_macro_loop_with_preconditions_joins_two_channels() {
    let rt = runtime();
    rt.block_on(async {
        let (tx1, mut rx1) = evloop::sync::oneshot::channel();
        let (tx2, mut rx2) = evloop::sync::oneshot::channel();
        let sender = evloop::spawn(async move {
            yield_now().await;
            tx1.send(123).unwrap();
            yield_now().await;
            tx2.send(456).unwrap();
        });
        let (mut a, mut b) = (None, None);
        let mut turns = 0;
        while a.is_none() || b.is_none() {
            turns += 1;
            evloop::select! {
                v = &mut rx1, if a.is_none() => a = Some(v.unwrap()),
                v = &mut rx2, if b.is_none() => b = Some(v.unwrap()),
            }
        }
        assert_eq!((a, b, turns), (Some(123), Some(456), 2));
        sender.await.unwrap();
    });
}

#[test]
fn select_macro_loop_with_else_drains_two_streams() {
    let rt = runtime();
    rt.block_on(async {
        let (tx1, mut rx1) = evloop::sync::mpsc::unbounded_channel();
        let (tx2, mut rx2) = evloop::sync::mpsc::unbounded_channel();
        evloop::spawn(async move {
            tx2.send(1).unwrap();
            yield_now().await;
            tx1.send(2).unwrap();
            yield_now().await;
            tx2.send(3).unwrap();
        });
        let mut messages = Vec::new();
        loop {
            evloop::select! {
                Some(x) = rx1.recv() => messages.push(x),
                Some(y) = rx2.recv() => messages.push(y),
                else => break,
            }
        }
        messages.sort_unstable();
        assert_eq!(messages, [1, 2, 3]);
    });
}

#[test]
fn select_macro_biased_polls_in_order_until_each_branch_is_ready() {
    let rt = runtime();
    rt.block_on(async {
        let mut one = std::pin::pin!(async {});
        let mut two = std::pin::pin!(yield_now());
        let mut three = std::pin::pin!(yield_now());
        let mut count = 0;
        loop {
            evloop::select! {
                biased;
                () = &mut two, if count < 2 => {
                    count += 1;
                    assert_eq!(count, 2);
                }
                () = &mut three, if count < 3 => {
                    count += 1;
                    assert_eq!(count, 3);
                }
                () = &mut one, if count < 1 => {
                    count += 1;
                    assert_eq!(count, 1);
                }
                else => break,
            }
        }
        assert_eq!(count, 3);
    });
}

#[test]
fn select_macro_does_not_poll_a_future_again_after_its_output_did_not_match() {
    let rt = runtime();
    rt.block_on(async {
        let polls = Cell::new(0);
        let once = std::future::poll_fn(|_| {
            polls.set(polls.get() + 1);
            std::task::Poll::Ready(None::<()>)
        });
        let n = evloop::select! {
            Some(()) = once => 0,
            n = after_yields(3, 4) => n,
        };
        assert_eq!((n, polls.get()), (4, 1));
    });
}

#[test]
fn select_macro_may_move_a_future_the_other_branch_borrowed() {
    let rt = runtime();
    rt.block_on(async {
        let (tx1, mut rx1) = evloop::sync::oneshot::channel::<i32>();
        let (tx2, mut rx2) = evloop::sync::oneshot::channel::<i32>();
        tx1.send(1).unwrap();
        tx2.send(2).unwrap();
        let sum = evloop::select! {
            v = &mut rx1 => v.unwrap() + rx2.await.unwrap(),
            v = &mut rx2 => v.unwrap() + rx1.await.unwrap(),
        };
        assert_eq!(sum, 3);
    });
}

#[test]
fn select_macro_nests_and_binds_mut_on_the_left() {
    let rt = runtime();
    rt.block_on(async {
        let n = evloop::select! {
            x = async { 1 } => evloop::select! {
                y = async { x + 1 } => x + y,
            },
        };
        assert_eq!(n, 3);

        let mut ok = std::pin::pin!(async { 1 });
        let n = evloop::select! {
            mut a = &mut ok => {
                a += 1;
                a
            }
        };
        assert_eq!(n, 2);
    });
}

#[test]
fn select_macro_with_64_branches_fits_the_default_recursion_limit() {
    // tokio's test of as many branches: one level of the macro recursion limit per branch.
    let rt = runtime();
    let n = rt.block_on(async {
        evloop::select! {
            x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x,
            x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x,
            x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x,
            x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x,
            x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x,
            x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x,
            x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x,
            x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x,
            x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x,
            x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x,
            x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x,
            x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x,
            x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x,
            x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x,
            x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x,
            x = async { 1 } => x, x = async { 1 } => x, x = async { 1 } => x, x = async { 2 } => x,
        }
    });
    assert!(n == 1 || n == 2);
}

/// Counts, over `turns` calls of a two-branch `select!` whose branches are both ready at once,
/// how often each branch won; a second such `select!` runs between calls when `interleave`.
async fn two_ready_branches(turns: usize, interleave: bool) -> [usize; 2] {
    let mut wins = [0; 2];
    for _ in 0..turns {
        evloop::select! {
            () = ready(()) => wins[0] += 1,
            () = ready(()) => wins[1] += 1,
        }
        if interleave {
            evloop::select! {
                () = ready(()) => {}
                () = ready(()) => {}
            }
        }
    }
    wins
}

#[test]
fn select_macro_without_biased_lets_every_ready_branch_win() {
    let rt = runtime();
    let turns = if cfg!(miri) { 100 } else { 1000 };
    let wins = rt.block_on(two_ready_branches(turns, false));
    assert!(wins.iter().all(|&n| n >= turns / 5), "wins: {wins:?}");
    // Regression: a per-thread counter as the start would make a `select!` that alternates with
    // another two-branch `select!` start at the same branch every time.
    let wins = rt.block_on(two_ready_branches(turns, true));
    assert!(wins.iter().all(|&n| n >= turns / 5), "wins: {wins:?}");
}

#[test]
fn select_macro_with_biased_always_picks_the_first_ready_branch() {
    let rt = runtime();
    rt.block_on(async {
        for _ in 0..100 {
            let n = evloop::select! {
                biased;
                n = pending::<u32>() => n,
                n = async { 1 } => n,
                n = async { 2 } => n,
            };
            assert_eq!(n, 1);
        }
    });
}

// ---------------------------------------------------------------------------------------------
// join! and try_join!: which future is polled first

/// A future that logs `index` at each poll and wakes itself, completing at its `polls`th poll.
fn logging(index: usize, polls: usize, log: &RefCell<Vec<usize>>) -> impl Future<Output = usize> {
    let mut left = polls;
    std::future::poll_fn(move |cx| {
        log.borrow_mut().push(index);
        left -= 1;
        if left == 0 {
            return std::task::Poll::Ready(index);
        }
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    })
}

#[test]
fn join_macro_rotates_which_future_it_polls_first() {
    let rt = runtime();
    let log = RefCell::new(Vec::new());
    let outputs = rt.block_on(async {
        evloop::join!(
            logging(0, 4, &log),
            logging(1, 4, &log),
            logging(2, 4, &log)
        )
    });
    assert_eq!(outputs, (0, 1, 2));
    assert_eq!(*log.borrow(), [0, 1, 2, 1, 2, 0, 2, 0, 1, 0, 1, 2]);

    // A finished future keeps its place in the circle.
    log.borrow_mut().clear();
    rt.block_on(async { evloop::join!(logging(0, 1, &log), logging(1, 3, &log)) });
    assert_eq!(*log.borrow(), [0, 1, 1, 1]);
}

#[test]
fn join_macro_with_biased_polls_in_the_order_written() {
    let rt = runtime();
    let log = RefCell::new(Vec::new());
    let outputs = rt.block_on(async {
        evloop::join!(biased; logging(0, 3, &log), logging(1, 3, &log), logging(2, 3, &log),)
    });
    assert_eq!(outputs, (0, 1, 2));
    assert_eq!(*log.borrow(), [0, 1, 2, 0, 1, 2, 0, 1, 2]);
    assert_eq!(rt.block_on(async { evloop::join!(biased;) }), ());
}

/// Receives everything from `busy` (each receive spends a unit of the task's budget) alongside
/// one receive from `one`, and returns how many of `busy`'s messages had been received when
/// `one`'s arrived.
async fn busy_and_one(biased: bool, messages: usize) -> usize {
    let (busy_tx, mut busy) = evloop::sync::mpsc::unbounded_channel();
    for n in 0..messages {
        busy_tx.send(n).unwrap();
    }
    drop(busy_tx);
    let (one_tx, mut one) = evloop::sync::mpsc::unbounded_channel();
    one_tx.send(()).unwrap();
    let received = Cell::new(0);
    let drain = async {
        while busy.recv().await.is_some() {
            received.set(received.get() + 1);
        }
    };
    let single = async {
        one.recv().await.unwrap();
        received.get()
    };
    let ((), seen) = if biased {
        evloop::join!(biased; drain, single)
    } else {
        evloop::join!(drain, single)
    };
    seen
}

#[test]
fn join_macro_future_that_spends_the_budget_does_not_starve_the_next_one() {
    let budget = evloop::coop::TASK_BUDGET as usize;
    let messages = 4 * budget;
    let rt = runtime();
    rt.block_on(async {
        // Spawned: the budget applies to task polls.
        let seen = evloop::spawn(busy_and_one(false, messages)).await.unwrap();
        assert!(seen <= 2 * budget, "received {seen} of {messages} first");
        // With `biased;` the second future waits until the first is done.
        let seen = evloop::spawn(busy_and_one(true, messages)).await.unwrap();
        assert_eq!(seen, messages);
    });
}

#[test]
fn try_join_macro_returns_every_value_when_all_succeed() {
    let rt = runtime();
    rt.block_on(async {
        let drops = DropCounter::new();
        let all = evloop::try_join!(
            tracked(drops.token(), after_yields(2, Ok::<_, &str>(1))),
            tracked(drops.token(), async { Ok("two") }),
            tracked(drops.token(), async {
                sleep(ms(2)).await;
                Ok(vec![3])
            }),
        );
        assert_eq!(all, Ok((1, "two", vec![3])));
        assert_eq!(drops.count(), 3);

        let one: Result<(u8,), ()> = evloop::try_join!(async { Ok(7) });
        assert_eq!(one, Ok((7,)));
        let none: Result<(), ()> = evloop::try_join!();
        assert_eq!(none, Ok(()));
        let handle =
            evloop::try_join!(biased; evloop::spawn(async { 1 }), evloop::spawn(async { 2 }));
        assert_eq!(handle.unwrap(), (1, 2));
    });
}

#[test]
fn try_join_macro_returns_the_first_error_at_once_and_drops_the_rest() {
    let rt = runtime();
    rt.block_on(async {
        let drops = DropCounter::new();
        let seen = drops.clone();
        let polls = Cell::new(0);
        let result: Result<((), (), ()), String> = evloop::try_join!(
            tracked(drops.token(), async {
                sleep(HOUR).await;
                Ok(())
            }),
            tracked(drops.token(), async {
                settle(2).await;
                Err(format!("failed with {} dropped", seen.count()))
            }),
            tracked(
                drops.token(),
                std::future::poll_fn(|_| {
                    polls.set(polls.get() + 1);
                    std::task::Poll::Pending
                })
            ),
        );
        assert_eq!(result.unwrap_err(), "failed with 0 dropped");
        // The other two were dropped when the macro returned; the pending one was polled once
        // per poll of the macro (the error came at the third), never after the error.
        assert_eq!(drops.count(), 3);
        assert_eq!(polls.get(), 3);
    });
    assert_eq!(rt.metrics().pending_timers, 0);
}

#[test]
fn try_join_macro_rotates_which_future_it_polls_first_and_biased_keeps_the_order() {
    let rt = runtime();
    let log = RefCell::new(Vec::new());
    let ok = |index, polls| {
        let future = logging(index, polls, &log);
        async { Ok::<usize, ()>(future.await) }
    };
    let outputs = rt.block_on(async { evloop::try_join!(ok(0, 3), ok(1, 3)) });
    assert_eq!(outputs, Ok((0, 1)));
    assert_eq!(*log.borrow(), [0, 1, 1, 0, 0, 1]);

    log.borrow_mut().clear();
    let outputs = rt.block_on(async { evloop::try_join!(biased; ok(0, 3), ok(1, 3)) });
    assert_eq!(outputs, Ok((0, 1)));
    assert_eq!(*log.borrow(), [0, 1, 0, 1, 0, 1]);
}

// ---------------------------------------------------------------------------------------------
// JoinSet

#[test]
fn join_set_yields_results_in_completion_order() {
    let rt = runtime();
    let order = rt.block_on(async {
        let mut set = JoinSet::new();
        // Absolute deadlines: the tasks' first polls may be milliseconds apart under Miri.
        let start = Instant::now();
        for n in [30, 10, 20] {
            set.spawn(async move {
                sleep_until(start + ms(n)).await;
                n
            });
        }
        let mut order = Vec::new();
        while let Some(result) = set.join_next().await {
            order.push(result.unwrap());
        }
        order
    });
    assert_eq!(order, [10, 20, 30]);
}

#[test]
fn join_set_yields_results_in_the_order_the_test_finishes_the_tasks() {
    let rt = runtime();
    rt.block_on(async {
        let probes: Vec<ProbeState> = (0..MANY).map(|_| ProbeState::new()).collect();
        let mut set = JoinSet::new();
        for (i, probe) in probes.iter().enumerate() {
            let probe = probe.future();
            set.spawn(async move {
                probe.await;
                i
            });
        }
        settle(2).await;
        // A permutation of 0..MANY (7 is coprime with MANY).
        let order: Vec<usize> = (0..MANY).map(|i| (i * 7 + 3) % MANY).collect();
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert!(sorted.iter().copied().eq(0..MANY), "not a permutation");
        for &i in &order {
            probes[i].finish_on_next_poll();
            probes[i].waker().wake();
            settle(1).await;
        }
        assert_eq!(set.len(), MANY);
        let mut joined = Vec::new();
        while let Some(result) = set.join_next().await {
            joined.push(result.unwrap());
        }
        assert_eq!(joined, order);
    });
}

#[test]
fn join_set_reports_panics_and_cancellations_as_join_errors() {
    let rt = runtime();
    rt.block_on(async {
        let mut set = JoinSet::new();
        set.spawn(async { panic!("task failed on purpose") });
        let error = set.join_next().await.unwrap().unwrap_err();
        assert!(error.is_panic());
        assert_eq!(
            panic_message(error.into_panic().as_ref()),
            "task failed on purpose"
        );

        set.spawn(async {
            sleep(HOUR).await;
            1
        });
        set.spawn(async { 2 });
        settle(2).await; // the second task finishes before the abort
        set.abort_all();
        let first = set.join_next().await.unwrap();
        assert_eq!(first.unwrap(), 2);
        let second = set.join_next().await.unwrap();
        assert!(second.unwrap_err().is_cancelled());
        assert!(set.join_next().await.is_none());
    });
}

#[test]
fn join_set_abort_all_cancels_every_task() {
    let rt = runtime();
    rt.block_on(async {
        let drops = DropCounter::new();
        let mut set = JoinSet::new();
        for _ in 0..MANY {
            set.spawn(tracked(drops.token(), sleep(HOUR)));
        }
        settle(2).await;
        assert_eq!(drops.count(), 0);
        set.abort_all();
        assert_eq!(set.len(), MANY, "aborted tasks stay until joined");
        let mut cancelled = 0;
        while let Some(result) = set.join_next().await {
            assert!(result.unwrap_err().is_cancelled());
            cancelled += 1;
        }
        assert_eq!(cancelled, MANY);
        assert_eq!(drops.count(), MANY);
    });
    assert_eq!(rt.metrics().live_tasks, 0);
    assert_eq!(rt.metrics().pending_timers, 0);
}

#[test]
fn dropping_a_join_set_aborts_its_tasks() {
    let rt = runtime();
    rt.block_on(async {
        let drops = DropCounter::new();
        let mut set = JoinSet::new();
        for _ in 0..MANY {
            set.spawn(tracked(drops.token(), sleep(HOUR)));
        }
        // Also before any of them ran.
        let mut unstarted = JoinSet::new();
        unstarted.spawn(tracked(drops.token(), sleep(HOUR)));
        drop(unstarted);
        settle(2).await;
        assert_eq!(drops.count(), 1);
        drop(set);
        settle(2).await;
        assert_eq!(drops.count(), MANY + 1);
    });
    assert_eq!(rt.metrics().live_tasks, 0);
}

#[test]
fn join_set_len_and_is_empty_track_its_tasks() {
    let rt = runtime();
    rt.block_on(async {
        let mut set = JoinSet::default();
        assert!(set.is_empty());
        assert_eq!(set.len(), 0);
        assert!(set.join_next().await.is_none());
        for n in 0..3 {
            set.spawn(after_yields(n, n));
        }
        assert_eq!((set.len(), set.is_empty()), (3, false));
        settle(5).await; // all finished, none joined: still counted
        assert_eq!(set.len(), 3);
        for left in (0..3).rev() {
            set.join_next().await.unwrap().unwrap();
            assert_eq!(set.len(), left);
        }
        assert!(set.is_empty());
        assert!(set.join_next().await.is_none());
    });
}

#[test]
fn join_set_shutdown_aborts_and_waits_for_every_task() {
    let rt = runtime();
    rt.block_on(async {
        let drops = DropCounter::new();
        let mut set = JoinSet::new();
        for _ in 0..3 {
            set.spawn(tracked(drops.token(), sleep(HOUR)));
        }
        set.spawn(tracked(drops.token(), async {}));
        set.shutdown().await;
        assert!(set.is_empty());
        assert_eq!(drops.count(), 4);
    });
    assert_eq!(rt.metrics().live_tasks, 0);
}

#[test]
fn join_set_spawn_outside_a_runtime_panics_and_leaves_the_set_usable() {
    // Regression guard for the ready queue: the unspawned task's guard reports a key that
    // names no task; the slot is then reused by a real task, and the stale key is skipped.
    let mut set = JoinSet::new();
    let result = catch_unwind(AssertUnwindSafe(|| set.spawn(async { 0 })));
    assert!(result.is_err());
    assert!(set.is_empty());
    let rt = runtime();
    rt.block_on(async {
        set.spawn(after_yields(3, 1));
        set.spawn(async { 2 });
        let first = set.join_next().await.unwrap().unwrap();
        let second = set.join_next().await.unwrap().unwrap();
        assert_eq!((first, second), (2, 1));
        assert!(set.join_next().await.is_none());
    });
}

#[test]
fn join_set_tasks_need_not_be_send() {
    let rt = runtime();
    rt.block_on(async {
        let shared = Rc::new(Cell::new(0));
        let mut set = JoinSet::new();
        for _ in 0..3 {
            let shared = shared.clone();
            set.spawn(async move {
                shared.set(shared.get() + 1);
                shared
            });
        }
        while let Some(result) = set.join_next().await {
            drop(result.unwrap());
        }
        assert_eq!(shared.get(), 3);
    });
}

#[test]
fn join_set_try_join_next_takes_only_finished_results_in_completion_order() {
    let rt = runtime();
    rt.block_on(async {
        let mut set = JoinSet::new();
        assert!(set.try_join_next().is_none(), "empty set");
        let slow = ProbeState::new();
        let slow_future = slow.future();
        set.spawn(async move {
            slow_future.await;
            1
        });
        set.spawn(after_yields(1, 2));
        assert!(set.try_join_next().is_none(), "nothing has run yet");
        settle(4).await;
        assert_eq!(set.try_join_next().unwrap().unwrap(), 2);
        assert!(
            set.try_join_next().is_none(),
            "the other task is still waiting"
        );
        assert_eq!(set.len(), 1);
        slow.finish_on_next_poll();
        slow.waker().wake();
        settle(2).await;
        assert_eq!(set.try_join_next().unwrap().unwrap(), 1);
        assert!(set.is_empty());
        assert!(set.try_join_next().is_none());
    });
}

#[test]
fn join_set_spawn_returns_an_abort_handle_for_that_task_only() {
    let rt = runtime();
    rt.block_on(async {
        let drops = DropCounter::new();
        let mut set = JoinSet::new();
        let aborted = set.spawn(tracked(drops.token(), pending::<u32>()));
        set.spawn_local(after_yields(2, 7));
        assert!(!aborted.is_finished());
        aborted.clone().abort();
        let first = set.join_next().await.unwrap();
        assert!(first.unwrap_err().is_cancelled());
        assert!(aborted.is_finished());
        assert_eq!(drops.count(), 1);
        assert_eq!(set.join_next().await.unwrap().unwrap(), 7);
    });
}

#[test]
fn join_set_join_all_returns_every_output_and_collect_spawns_each_future() {
    let rt = runtime();
    let mut outputs = rt.block_on(async {
        let set: JoinSet<usize> = (0..MANY).map(|i| after_yields(i % 3, i)).collect();
        assert_eq!(set.len(), MANY);
        set.join_all().await
    });
    outputs.sort();
    assert_eq!(outputs, (0..MANY).collect::<Vec<_>>());
}

#[test]
fn join_set_join_all_resumes_a_tasks_panic_and_aborts_the_rest() {
    let rt = runtime();
    let drops = DropCounter::new();
    let result = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(async {
            let mut set = JoinSet::new();
            set.extend([
                Box::pin(tracked(drops.token(), pending::<()>()))
                    as std::pin::Pin<Box<dyn Future<Output = ()>>>,
                Box::pin(async { panic!("task boom") }),
            ]);
            set.join_all().await
        })
    }));
    assert_eq!(panic_message(&*result.unwrap_err()), "task boom");
    // The pending task was aborted when the set was dropped; the runtime drops it on its
    // next turn.
    rt.block_on(settle(2));
    assert_eq!(drops.count(), 1);
}

#[test]
fn join_set_detach_all_lets_the_tasks_run_on_after_the_set_is_dropped() {
    let rt = runtime();
    rt.block_on(async {
        let finished = Rc::new(Cell::new(0));
        let mut set = JoinSet::new();
        for _ in 0..3 {
            let finished = finished.clone();
            set.spawn(async move {
                settle(2).await;
                finished.set(finished.get() + 1);
            });
        }
        set.spawn(async {}); // finishes before the detach: its report is dropped with it
        settle(1).await;
        set.detach_all();
        assert!(set.is_empty());
        assert!(set.try_join_next().is_none());
        // The set is reused: the detached tasks' late reports are not taken for its own.
        set.spawn(after_yields(4, ()));
        assert!(set.join_next().await.unwrap().is_ok());
        assert!(set.join_next().await.is_none());
        drop(set);
        settle(4).await;
        assert_eq!(finished.get(), 3, "no detached task was aborted");
    });
}

// ---------------------------------------------------------------------------------------------
// time::timeout around each

#[test]
fn timeout_around_join_macro_drops_every_child_when_it_fires() {
    let rt = runtime();
    rt.block_on(async {
        let drops = DropCounter::new();
        let result = timeout(ms(10), async {
            evloop::join!(
                tracked(drops.token(), sleep(HOUR)),
                tracked(drops.token(), pending::<()>()),
                tracked(drops.token(), async { 3 }),
            )
        })
        .await;
        assert!(result.is_err());
        assert_eq!(drops.count(), 3);

        let in_time = timeout(HOUR, async {
            evloop::join!(async { 1 }, after_yields(2, 2))
        })
        .await;
        assert_eq!(in_time, Ok((1, 2)));
    });
    assert_eq!(rt.metrics().pending_timers, 0);
}

#[test]
fn timeout_around_join_all_and_select_all_drops_every_child_when_it_fires() {
    let rt = runtime();
    rt.block_on(async {
        let drops = DropCounter::new();
        let futures = (0..5).map(|_| tracked(drops.token(), sleep(HOUR)));
        assert!(timeout(ms(5), join_all(futures)).await.is_err());
        assert_eq!(drops.count(), 5);

        let futures = (0..5).map(|_| tracked(drops.token(), sleep(HOUR)));
        assert!(timeout(ms(5), select_all(futures)).await.is_err());
        assert_eq!(drops.count(), 10);

        let in_time = timeout(HOUR, join_all([1, 2].map(|n| after_yields(n, n)))).await;
        assert_eq!(in_time, Ok(vec![1, 2]));
    });
    assert_eq!(rt.metrics().pending_timers, 0);
}

#[test]
fn timeout_around_select_drops_both_branches_when_it_fires() {
    let rt = runtime();
    rt.block_on(async {
        let drops = DropCounter::new();
        let result = timeout(ms(10), async {
            evloop::select! {
                () = tracked(drops.token(), sleep(HOUR)) => "sleep",
                () = tracked(drops.token(), pending::<()>()) => "pending",
            }
        })
        .await;
        assert!(result.is_err());
        assert_eq!(drops.count(), 2);

        let result = timeout(
            ms(10),
            select(
                tracked(drops.token(), sleep(HOUR)),
                tracked(drops.token(), pending::<()>()),
            ),
        )
        .await;
        assert!(result.is_err());
        assert_eq!(drops.count(), 4);

        let in_time = timeout(HOUR, async {
            evloop::select! {
                () = sleep(HOUR) => 0,
                n = after_yields(2, 5) => n,
            }
        })
        .await;
        assert_eq!(in_time, Ok(5));
    });
    assert_eq!(rt.metrics().pending_timers, 0);
}

#[test]
fn timeout_around_join_next_loses_no_result() {
    let rt = runtime();
    rt.block_on(async {
        let gate = ProbeState::new();
        let mut set = JoinSet::new();
        let gated = gate.future();
        set.spawn(async move {
            gated.await;
            "gated"
        });
        set.spawn(async {
            sleep(HOUR).await;
            "never"
        });
        // Nothing finishes within 5 ms: join_next is dropped, the tasks go on.
        assert!(timeout(ms(5), set.join_next()).await.is_err());
        assert_eq!(set.len(), 2);
        gate.finish_on_next_poll();
        gate.waker().wake();
        let next = timeout(Duration::from_secs(10), set.join_next()).await;
        assert_eq!(next.unwrap().unwrap().unwrap(), "gated");
        assert!(timeout(ms(5), set.join_next()).await.is_err());
        assert_eq!(set.len(), 1);
        set.shutdown().await;
    });
    assert_eq!(rt.metrics().live_tasks, 0);
}

/// Regression: `select!` decided whether every branch was done by reading its pinned futures
/// (`Option::is_none`), a shared borrow of a suspended future that holds a `&mut` into its own
/// state: undefined behaviour under Miri's borrow models (found by `tests/coop.rs` under Miri).
#[test]
fn select_macro_never_borrows_a_suspended_branch_future() {
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        let holds_a_borrow = async {
            let mut x = 0u8;
            let r = &mut x;
            yield_now().await;
            *r += 1;
            x
        };
        let got = evloop::select! {
            v = holds_a_borrow => v,
            () = pending::<()>() => 0,
        };
        assert_eq!(got, 1);
    });
}
