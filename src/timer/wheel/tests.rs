//! Unit tests for the timing wheel, and a property test against a sorted-list oracle.

use super::*;

use proptest::prelude::*;

/// Walks every list and checks the module's invariants 1 to 5 and the links, so a broken
/// rule shows up at the operation that broke it rather than at a later wrong firing.
fn assert_invariants<T>(wheel: &Wheel<T>) {
    let elapsed = wheel.elapsed;
    let mut on_lists = 0;
    let mut walk = |head: Link, bucket: Bucket, check: &dyn Fn(u64) -> bool| {
        let mut prev = NIL;
        let mut link = head;
        while link != NIL {
            let entry = &wheel.entries[link as usize];
            assert!(entry.value.is_some(), "fired entry {link} on {bucket:?}");
            assert_eq!(entry.bucket, bucket, "entry {link} has the wrong bucket");
            assert_eq!(entry.prev, prev, "entry {link} has a broken prev link");
            assert!(
                check(entry.deadline),
                "deadline {} misplaced on {bucket:?} at elapsed {elapsed}",
                entry.deadline
            );
            on_lists += 1;
            prev = link;
            link = entry.next;
        }
    };
    // Invariant 1.
    walk(wheel.due, Bucket::Due, &|deadline| {
        deadline <= elapsed && deadline >= wheel.due_floor
    });
    // Invariant 2 and 4.
    for (level, slots) in wheel.levels.iter().enumerate() {
        let shift = level as u32 * SLOT_BITS;
        let window = |tick: u64| tick >> (shift + SLOT_BITS);
        let digit = |tick: u64| (tick >> shift) & SLOT_MASK;
        for (slot, &head) in slots.heads.iter().enumerate() {
            assert_eq!(
                slots.occupied & (1 << slot) != 0,
                head != NIL,
                "bitmap of level {level} slot {slot}"
            );
            let bucket = Bucket::Slot {
                level: level as u8,
                slot: slot as u8,
            };
            walk(head, bucket, &|deadline| {
                window(deadline) == window(elapsed)
                    && digit(deadline) == slot as u64
                    && digit(deadline) > digit(elapsed)
            });
        }
    }
    // Invariant 3.
    walk(wheel.overflow, Bucket::Overflow, &|deadline| {
        deadline >> WHEEL_BITS > elapsed >> WHEEL_BITS
    });
    assert_eq!(
        on_lists, wheel.pending,
        "pending count differs from the entries on lists"
    );
    // Invariant 5: everything else is fired.
    let fired = wheel
        .entries
        .iter()
        .filter(|(_, entry)| entry.value.is_none())
        .count();
    assert_eq!(on_lists + fired, wheel.entries.len());
}

/// Advances to `now` and returns what fired, as `(deadline, value)` in firing order.
fn advance_collect(wheel: &mut Wheel<u32>, now: u64) -> Vec<(u64, u32)> {
    let mut fired = Vec::new();
    let mut deadlines = Vec::new();
    wheel.advance(now, |key, value| {
        deadlines.push(key);
        fired.push(value);
    });
    deadlines
        .into_iter()
        .map(|key| wheel.deadline(key))
        .zip(fired)
        .collect()
}

/// Checks that `next_deadline` is a lower bound on the given pending deadlines, and is
/// `None` exactly when there are none.
fn assert_next_deadline_not_late(wheel: &Wheel<u32>, pending: impl IntoIterator<Item = u64>) {
    let earliest = pending.into_iter().min();
    match (wheel.next_deadline(), earliest) {
        (None, None) => {}
        (Some(next), Some(earliest)) => assert!(
            next <= earliest,
            "next_deadline {next} is later than the earliest pending deadline {earliest}"
        ),
        (next, earliest) => panic!("next_deadline {next:?} but earliest pending {earliest:?}"),
    }
}

#[test]
fn new_wheel_is_empty_at_tick_zero() {
    let wheel = Wheel::<u32>::new();
    assert_eq!(wheel.elapsed(), 0);
    assert_eq!(wheel.len(), 0);
    assert!(wheel.is_empty());
    assert_eq!(wheel.next_deadline(), None);
}

#[test]
fn fires_in_deadline_order_across_levels() {
    let mut wheel = Wheel::new();
    // One deadline per level, plus ties and neighbours, inserted out of order.
    let deadlines = [5000, 3, 64, 1, 70, 64, 262_144, 63, 3, 1 << 30];
    for (value, &deadline) in deadlines.iter().enumerate() {
        wheel.insert(deadline, value as u32);
    }
    assert_eq!(wheel.len(), deadlines.len());

    let fired = advance_collect(&mut wheel, 1 << 31);
    let fired_deadlines: Vec<u64> = fired.iter().map(|&(deadline, _)| deadline).collect();
    let mut sorted = deadlines.to_vec();
    sorted.sort_unstable();
    assert_eq!(fired_deadlines, sorted);
    for (deadline, value) in fired {
        assert_eq!(deadlines[value as usize], deadline);
    }
    assert!(wheel.is_empty());
    assert_eq!(wheel.elapsed(), 1 << 31);
}

#[test]
fn fires_exactly_at_deadline_not_before() {
    let mut wheel = Wheel::new();
    wheel.insert(100, 7);
    assert!(advance_collect(&mut wheel, 99).is_empty());
    assert_eq!(wheel.elapsed(), 99);
    assert_eq!(advance_collect(&mut wheel, 100), vec![(100, 7)]);
}

#[test]
fn every_tick_one_by_one() {
    let mut wheel = Wheel::new();
    for deadline in 1..=300 {
        wheel.insert(deadline, deadline as u32);
    }
    for now in 1..=300 {
        assert_eq!(advance_collect(&mut wheel, now), vec![(now, now as u32)]);
    }
    assert!(wheel.is_empty());
}

#[test]
fn fired_entry_stays_allocated_until_removed() {
    let mut wheel = Wheel::new();
    let key = wheel.insert(10, 1);
    assert!(wheel.is_pending(key));
    advance_collect(&mut wheel, 10);
    assert!(!wheel.is_pending(key));
    assert_eq!(wheel.get_mut(key), None);
    assert_eq!(wheel.deadline(key), 10);
    assert_eq!(wheel.len(), 0);
    // Remove after fire: frees the entry, nothing left to return.
    assert_eq!(wheel.remove(key), None);
}

#[test]
fn remove_before_fire_returns_value_and_it_never_fires() {
    let mut wheel = Wheel::new();
    let a = wheel.insert(10, 1);
    let b = wheel.insert(10, 2);
    let c = wheel.insert(5000, 3);
    assert_eq!(wheel.remove(a), Some(1));
    assert_eq!(wheel.remove(c), Some(3));
    assert_eq!(wheel.len(), 1);
    assert_eq!(advance_collect(&mut wheel, 10_000), vec![(10, 2)]);
    assert!(!wheel.is_pending(b));
    assert_eq!(wheel.next_deadline(), None);
}

#[test]
fn removing_the_last_entry_of_a_slot_clears_its_bit() {
    let mut wheel = Wheel::new();
    let key = wheel.insert(5000, 1);
    assert!(wheel.next_deadline().is_some());
    wheel.remove(key);
    assert_eq!(wheel.next_deadline(), None);
    assert!(wheel.levels.iter().all(|level| level.occupied == 0));
}

#[test]
fn get_mut_updates_the_value_that_fires() {
    let mut wheel = Wheel::new();
    let key = wheel.insert(3, 1);
    *wheel.get_mut(key).unwrap() = 42;
    assert_eq!(advance_collect(&mut wheel, 3), vec![(3, 42)]);
}

#[test]
fn due_on_insert_fires_on_next_advance_in_deadline_order() {
    let mut wheel = Wheel::new();
    advance_collect(&mut wheel, 1000);
    wheel.insert(1000, 1);
    wheel.insert(10, 2);
    wheel.insert(500, 3);
    assert_eq!(wheel.len(), 3);
    assert_next_deadline_not_late(&wheel, [1000, 10, 500]);
    // Advancing to the same tick is enough.
    assert_eq!(
        advance_collect(&mut wheel, 1000),
        vec![(10, 2), (500, 3), (1000, 1)]
    );
    assert!(wheel.is_empty());
}

#[test]
fn due_on_insert_at_tick_zero() {
    let mut wheel = Wheel::new();
    wheel.insert(0, 9);
    assert_eq!(wheel.next_deadline(), Some(0));
    assert_eq!(advance_collect(&mut wheel, 0), vec![(0, 9)]);
}

#[test]
fn advance_backwards_is_a_no_op() {
    let mut wheel = Wheel::new();
    wheel.insert(600, 1);
    advance_collect(&mut wheel, 500);
    let next = wheel.next_deadline();
    assert!(advance_collect(&mut wheel, 100).is_empty());
    assert_eq!(wheel.elapsed(), 500);
    assert_eq!(wheel.next_deadline(), next);
    assert_eq!(advance_collect(&mut wheel, 600), vec![(600, 1)]);
}

#[test]
fn advance_backwards_fires_only_already_due_entries_up_to_now() {
    let mut wheel = Wheel::new();
    advance_collect(&mut wheel, 500);
    wheel.insert(100, 1);
    wheel.insert(300, 2);
    wheel.insert(501, 3);
    // Time stays at 500, but the entry due at 100 is due "by" 200.
    assert_eq!(advance_collect(&mut wheel, 200), vec![(100, 1)]);
    assert_eq!(wheel.elapsed(), 500);
    assert_eq!(wheel.next_deadline(), Some(300));
    assert_eq!(advance_collect(&mut wheel, 501), vec![(300, 2), (501, 3)]);
}

#[test]
fn far_future_beyond_range_fires_on_time() {
    let range = 1u64 << WHEEL_BITS;
    let mut wheel = Wheel::new();
    let deadlines = [range - 1, range, range + 1, 3 * range + 12_345, u64::MAX];
    for (value, &deadline) in deadlines.iter().enumerate() {
        wheel.insert(deadline, value as u32);
    }
    // Step through, never past a deadline, checking nothing fires early.
    for &deadline in &deadlines {
        assert_next_deadline_not_late(&wheel, deadlines.iter().copied().filter(|&d| d >= deadline));
        assert!(advance_collect(&mut wheel, deadline - 1).is_empty());
        let fired = advance_collect(&mut wheel, deadline);
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].0, deadline);
    }
    assert!(wheel.is_empty());
    assert_eq!(wheel.elapsed(), u64::MAX);
}

#[test]
fn deadline_one_tick_past_a_top_level_window_boundary() {
    // Crosses every digit at once: the wheel must not confuse the next window's slot 0
    // with one already passed.
    let boundary = 1u64 << WHEEL_BITS;
    let mut wheel = Wheel::new();
    advance_collect(&mut wheel, boundary - 1);
    wheel.insert(boundary, 1);
    wheel.insert(boundary + 64, 2);
    assert_next_deadline_not_late(&wheel, [boundary, boundary + 64]);
    assert_eq!(advance_collect(&mut wheel, boundary), vec![(boundary, 1)]);
    assert_eq!(
        advance_collect(&mut wheel, boundary + 64),
        vec![(boundary + 64, 2)]
    );
}

#[test]
fn far_future_jump_skips_windows_in_one_step() {
    // A single overflow entry and a huge advance: must finish promptly (not one cascade
    // per top-level window, which here would be 2^27 iterations).
    let mut wheel = Wheel::new();
    wheel.insert(u64::MAX - 1, 1);
    assert!(advance_collect(&mut wheel, u64::MAX - 2).is_empty());
    assert_eq!(
        advance_collect(&mut wheel, u64::MAX),
        vec![(u64::MAX - 1, 1)]
    );
}

#[test]
fn next_deadline_never_later_than_earliest_pending() {
    let mut wheel = Wheel::new();
    let mut pending = Vec::new();
    for &deadline in &[70, 4095, 4096, 4097, 1 << 20, 5, 64, 63] {
        wheel.insert(deadline, 0);
        pending.push(deadline);
        assert_next_deadline_not_late(&wheel, pending.iter().copied());
    }
    for now in [1, 5, 6, 60, 63, 64, 65, 100, 4096, 5000, 1 << 20] {
        advance_collect(&mut wheel, now);
        pending.retain(|&deadline| deadline > now);
        assert_next_deadline_not_late(&wheel, pending.iter().copied());
    }
    assert_eq!(wheel.next_deadline(), None);
}

#[test]
fn slot_reuse_after_remove() {
    let mut wheel = Wheel::new();
    let first = wheel.insert(100, 1);
    assert_eq!(wheel.remove(first), Some(1));
    let second = wheel.insert(50, 2);
    // The slab hands the freed index out again: the old key now names the new entry.
    assert_eq!(first, second);
    assert!(wheel.is_pending(second));
    assert_eq!(wheel.deadline(second), 50);
    assert_eq!(advance_collect(&mut wheel, 100), vec![(50, 2)]);
    // Fired but not removed: its index is not reused.
    let third = wheel.insert(200, 3);
    assert_ne!(third, second);
}

#[test]
#[should_panic(expected = "not live")]
fn remove_twice_panics() {
    let mut wheel = Wheel::new();
    let key = wheel.insert(1, 1);
    wheel.remove(key);
    wheel.remove(key);
}

#[test]
fn entry_stays_small() {
    // An idle task's timer is one of these; the brief's budget is 48 bytes plus the value.
    let size = std::mem::size_of::<Entry<std::task::Waker>>();
    assert!(size <= 48, "Entry<Waker> is {size} bytes");
    assert!(std::mem::size_of::<Entry<()>>() <= 24);
}

/// Count for the bulk test: large enough to exercise every level, small enough for Miri.
const BULK_TIMERS: u32 = if cfg!(miri) { 2_000 } else { 100_000 };

#[test]
fn many_timers_with_random_deadlines_fire_in_order_or_cancel() {
    // A small xorshift generator: deterministic, and no dependency for one test.
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut random = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut wheel = Wheel::new();
    let mut keys = Vec::new();
    for value in 0..BULK_TIMERS {
        let deadline = random() % (1 << 24);
        keys.push(wheel.insert(deadline, value));
    }
    assert_eq!(wheel.len(), BULK_TIMERS as usize);
    // Cancel every third one before it fires: O(1) each, wherever it sits.
    let mut cancelled = 0;
    for (value, &key) in keys.iter().enumerate().step_by(3) {
        assert_eq!(wheel.remove(key), Some(value as u32));
        cancelled += 1;
    }
    assert_eq!(wheel.len(), (BULK_TIMERS - cancelled) as usize);

    let mut last = 0;
    let mut count = 0;
    let mut now = 0;
    while let Some(next) = wheel.next_deadline() {
        now = now.max(next) + random() % 50_000;
        let mut fired = Vec::new();
        wheel.advance(now, |key, _| fired.push(key));
        for key in fired {
            let deadline = wheel.deadline(key);
            assert!(deadline <= now, "fired {deadline} early at {now}");
            assert!(deadline >= last, "fired {deadline} after {last}");
            last = deadline;
            count += 1;
            assert_eq!(wheel.remove(key), None);
        }
    }
    assert_eq!(count, BULK_TIMERS - cancelled);
    assert!(wheel.is_empty());
    assert_eq!(wheel.entries.len(), 0);
}

/// One step of a property test run.
#[derive(Clone, Debug)]
enum Op {
    /// Insert at `elapsed + delta`, or (if `past`) at `elapsed - delta`, saturating.
    Insert { delta: u64, past: bool },
    /// Remove the live key (pending or fired) at this position, modulo their number.
    Remove(usize),
    /// Advance to `elapsed + delta`.
    Advance(u64),
    /// Advance to `elapsed - delta` (time must not go back).
    AdvanceBack(u64),
}

fn delta() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => 0..70u64,
        3 => 0..=5000u64,
        1 => 0..=(1u64 << 40),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (delta(), prop::bool::weighted(0.1)).prop_map(|(delta, past)| Op::Insert { delta, past }),
        2 => any::<usize>().prop_map(Op::Remove),
        3 => delta().prop_map(Op::Advance),
        1 => (0..100u64).prop_map(Op::AdvanceBack),
    ]
}

/// Operations per case: short under Miri, which is slow.
const MAX_OPS: usize = if cfg!(miri) { 40 } else { 400 };

/// The oracle: pending `(deadline, key, value)` sorted by deadline, and the keys that
/// have fired but are not removed yet.
#[derive(Default)]
struct Model {
    pending: Vec<(u64, TimerKey, u32)>,
    fired: Vec<TimerKey>,
}

/// Advances the wheel to `now` and checks what fired against the model: exactly the
/// model's entries with deadline `<= now`, in deadline order, none early.
fn check_advance(wheel: &mut Wheel<u32>, model: &mut Model, now: u64) -> Result<(), TestCaseError> {
    let elapsed = wheel.elapsed();
    let mut fired = Vec::new();
    wheel.advance(now, |key, value| fired.push((key, value)));
    prop_assert_eq!(wheel.elapsed(), elapsed.max(now));

    for &(key, _) in &fired {
        let deadline = wheel.deadline(key);
        prop_assert!(deadline <= now, "fired {} early at {}", deadline, now);
        prop_assert!(!wheel.is_pending(key));
        prop_assert_eq!(wheel.get_mut(key), None);
        model.fired.push(key);
    }

    let due = model
        .pending
        .partition_point(|&(deadline, _, _)| deadline <= now);
    let expected: Vec<(u64, TimerKey, u32)> = model.pending.drain(..due).collect();
    // Same deadlines in the same order; ties may fire in any order, so compare the
    // entries as sets (values are unique).
    let fired_deadlines: Vec<u64> = fired.iter().map(|&(key, _)| wheel.deadline(key)).collect();
    let expected_deadlines: Vec<u64> = expected.iter().map(|&(deadline, _, _)| deadline).collect();
    prop_assert_eq!(fired_deadlines, expected_deadlines);
    let mut expected: Vec<(TimerKey, u32)> = expected
        .into_iter()
        .map(|(_, key, value)| (key, value))
        .collect();
    expected.sort_unstable_by_key(|&(_, value)| value);
    fired.sort_unstable_by_key(|&(_, value)| value);
    prop_assert_eq!(fired, expected);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if cfg!(miri) { 4 } else { 256 },
        failure_persistence: if cfg!(miri) {
            None
        } else {
            ProptestConfig::default().failure_persistence
        },
        ..ProptestConfig::default()
    })]

    /// The wheel against an obviously-correct oracle: a list of pending entries that
    /// fires by filtering on the deadline.
    #[test]
    fn matches_sorted_list_model(ops in prop::collection::vec(op(), 1..MAX_OPS)) {
        let mut wheel = Wheel::new();
        let mut model = Model::default();
        let mut next_value = 0u32;

        for op in ops {
            match op {
                Op::Insert { delta, past } => {
                    let deadline = if past {
                        wheel.elapsed().saturating_sub(delta)
                    } else {
                        wheel.elapsed() + delta
                    };
                    let key = wheel.insert(deadline, next_value);
                    prop_assert!(wheel.is_pending(key));
                    prop_assert_eq!(wheel.deadline(key), deadline);
                    let at = model.pending.partition_point(|&(d, _, _)| d <= deadline);
                    model.pending.insert(at, (deadline, key, next_value));
                    next_value += 1;
                }
                Op::Remove(index) => {
                    let live = model.pending.len() + model.fired.len();
                    if live == 0 {
                        continue;
                    }
                    let index = index % live;
                    if index < model.pending.len() {
                        let (_, key, value) = model.pending.remove(index);
                        prop_assert_eq!(wheel.remove(key), Some(value));
                    } else {
                        let key = model.fired.swap_remove(index - model.pending.len());
                        prop_assert_eq!(wheel.remove(key), None);
                    }
                }
                Op::Advance(delta) => {
                    let now = wheel.elapsed() + delta;
                    check_advance(&mut wheel, &mut model, now)?;
                    // No spin: right after advancing to `now`, nothing left is due by `now`, so
                    // the runtime's next wait must not be a zero timeout.
                    if let Some(next) = wheel.next_deadline() {
                        prop_assert!(next > now, "next_deadline {} not after now {}", next, now);
                    }
                }
                Op::AdvanceBack(delta) => {
                    let now = wheel.elapsed().saturating_sub(delta);
                    check_advance(&mut wheel, &mut model, now)?;
                }
            }

            assert_invariants(&wheel);
            prop_assert_eq!(wheel.len(), model.pending.len());
            prop_assert_eq!(wheel.is_empty(), model.pending.is_empty());
            let earliest = model.pending.iter().map(|&(deadline, _, _)| deadline).min();
            match (wheel.next_deadline(), earliest) {
                (None, None) => {}
                (Some(next), Some(earliest)) => prop_assert!(
                    next <= earliest,
                    "next_deadline {} later than earliest pending {}", next, earliest
                ),
                (next, earliest) => prop_assert!(
                    false, "next_deadline {:?} but earliest pending {:?}", next, earliest
                ),
            }
        }
    }
}
