//! Property test of the run queue: random spawns, wakes (same thread and other threads) and
//! completions, checked against a model that knows exactly how many polls each task is owed.
//!
//! The rule under test: a task is polled once per batch of wakes that precedes the poll (at
//! least once, never twice for one batch), and a finished task is never polled again.

#[path = "support/counters.rs"]
mod counters;

use counters::ProbeState;
use evloop::task::yield_now;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Spawn,
    /// Wake task `n % live` this many times from this thread.
    WakeLocal(usize, u8),
    /// Wake it from another thread.
    WakeRemote(usize),
    /// Let its next poll return `Ready`, and wake it.
    Complete(usize),
    /// Wake it, and have it wake itself again during the poll that follows.
    WakeDuringPoll(usize),
    /// Let the loop run until every owed poll happened.
    Settle,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => Just(Op::Spawn),
        4 => (any::<usize>(), 1u8..4).prop_map(|(n, k)| Op::WakeLocal(n, k)),
        1 => any::<usize>().prop_map(Op::WakeRemote),
        1 => any::<usize>().prop_map(Op::Complete),
        2 => any::<usize>().prop_map(Op::WakeDuringPoll),
        3 => Just(Op::Settle),
    ]
}

#[derive(Default)]
struct ModelTask {
    owed: bool,
    expected_polls: usize,
    finishing: bool,
    /// It will wake itself during its next poll: one more poll is owed after that one.
    wakes_itself: bool,
    done: bool,
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let rt = evloop::Runtime::new().unwrap();
    let mut probes: Vec<ProbeState> = Vec::new();
    let mut model: Vec<ModelTask> = Vec::new();
    rt.block_on(async {
        for op in ops.into_iter().chain([Op::Settle]) {
            match op {
                Op::Spawn => {
                    let probe = ProbeState::new();
                    drop(evloop::spawn(probe.future()));
                    probes.push(probe);
                    model.push(ModelTask {
                        owed: true,
                        ..ModelTask::default()
                    });
                }
                Op::WakeLocal(n, times) if !probes.is_empty() => {
                    let i = n % probes.len();
                    if probes[i].polls() > 0 {
                        for _ in 0..times {
                            probes[i].waker().wake_by_ref();
                        }
                        model[i].owed |= !model[i].done;
                    }
                }
                Op::WakeRemote(n) if !probes.is_empty() => {
                    let i = n % probes.len();
                    if probes[i].polls() > 0 {
                        let waker = probes[i].waker();
                        std::thread::spawn(move || waker.wake()).join().unwrap();
                        model[i].owed |= !model[i].done;
                    }
                }
                Op::Complete(n) if !probes.is_empty() => {
                    let i = n % probes.len();
                    if probes[i].polls() > 0 && !model[i].done {
                        probes[i].finish_on_next_poll();
                        probes[i].waker().wake();
                        model[i].owed = true;
                        model[i].finishing = true;
                    }
                }
                Op::WakeDuringPoll(n) if !probes.is_empty() => {
                    let i = n % probes.len();
                    if probes[i].polls() > 0 && !model[i].done {
                        probes[i].wake_self_on_next_poll();
                        probes[i].waker().wake();
                        model[i].owed = true;
                        model[i].wakes_itself = true;
                    }
                }
                Op::Settle => {
                    for task in model.iter_mut().filter(|task| task.owed) {
                        task.owed = false;
                        task.expected_polls += 1;
                        // A wake during a poll earns exactly one more poll, unless that poll
                        // finished the task.
                        if std::mem::take(&mut task.wakes_itself) && !task.finishing {
                            task.expected_polls += 1;
                        }
                        task.done |= task.finishing;
                    }
                    // Yield until every owed poll happened (a remote wake needs a loop turn),
                    // then a few more times to catch a poll that should not happen.
                    for _ in 0..10_000 {
                        if probes
                            .iter()
                            .zip(&model)
                            .all(|(p, m)| p.polls() >= m.expected_polls)
                        {
                            break;
                        }
                        yield_now().await;
                    }
                    for _ in 0..3 {
                        yield_now().await;
                    }
                    for (i, (probe, task)) in probes.iter().zip(&model).enumerate() {
                        prop_assert_eq!(
                            probe.polls(),
                            task.expected_polls,
                            "task {} polled a wrong number of times",
                            i
                        );
                    }
                }
                _ => {}
            }
        }
        Ok(())
    })?;
    let live = model.iter().filter(|task| !task.done).count();
    prop_assert_eq!(rt.metrics().live_tasks, live);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if cfg!(miri) { 4 } else { 64 },
        // Miri runs isolated from the file system.
        failure_persistence: if cfg!(miri) { None } else { ProptestConfig::default().failure_persistence },
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_woken_live_task_is_polled_once_per_wake_and_no_dead_task_is_polled(
        ops in proptest::collection::vec(op(), 1..if cfg!(miri) { 20 } else { 80 })
    ) {
        run(ops)?;
    }
}
