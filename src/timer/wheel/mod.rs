//! A hierarchical timing wheel: the pure data structure behind `sleep` and `timeout`.
//!
//! The wheel never reads a clock. Time is a `u64` tick count that the caller passes in
//! (the runtime uses 1 tick = 1 ms since it started), so every behaviour here can be
//! tested by choosing ticks by hand. The wheel is generic over the value it stores; the
//! runtime stores a `Waker`, the tests store numbers.
//!
//! # Layout
//!
//! There are [`LEVELS`] levels of [`SLOTS_PER_LEVEL`] slots. A slot of level `L` covers
//! `64^L` ticks, so level `L` as a whole covers `64^(L + 1)` ticks: level 0 has one slot
//! per tick, the top level has slots of `64^5` ticks (about 12.4 days at 1 ms a tick).
//! Read in base 64, a tick is a row of digits; digit `L` of `t` is `(t >> 6L) & 63`, and
//! the "level-`L` window" of `t` is every digit above digit `L`, `t >> 6(L + 1)`.
//!
//! Besides the slots there are two more lists. The *due* list holds entries whose deadline
//! had already come when they were inserted. The *overflow* list is the top level's
//! "slot 64": it holds entries whose deadline lies past the end of the current top-level
//! window (the `2^36`-tick-aligned span holding `elapsed`). That covers every deadline
//! `64^6` or more ticks ahead, and also a near deadline that happens to cross a window
//! boundary (once every 2.2 years of runtime). Overflow entries are placed again each time
//! the wheel reaches one of them or the next window, until they land in a slot or fire.
//!
//! Entries live in one [`Slab`]; each slot's list is doubly linked through slab indices, so
//! insert and remove are O(1) and use no pointers and no `unsafe`. Each level keeps a `u64`
//! bitmap of its non-empty slots, so finding the next slot with work is a
//! `trailing_zeros` per level, whatever the number of entries.
//!
//! # Invariants
//!
//! Write `e` for [`Wheel::elapsed`], and `d` for the deadline of a pending entry.
//!
//! 1. **Due list.** `d <= e`. (True on insert; `e` never decreases.)
//! 2. **Slot `s` of level `L`.** `d` is in the same level-`L` window as `e`, and its digit
//!    `L` is `s`, with `s` strictly greater than digit `L` of `e`. In words: the entry is in
//!    the part of level `L`'s current window that `e` has not reached yet. So `d > e`, and
//!    `d` is at or after the first tick of the slot, `slot_start = window start + s * 64^L`.
//! 3. **Overflow list.** `d`'s top-level window is later than `e`'s, so `d` is at or after
//!    the first tick of the next top-level window.
//! 4. **Bitmaps.** Bit `s` of level `L`'s bitmap is set exactly when slot `s` of level `L`
//!    is non-empty.
//! 5. **Fired entries** are on no list, hold no value, and keep their deadline until
//!    [`Wheel::remove`] frees them.
//!
//! Insert places an entry by the highest base-64 digit in which `d` differs from `e`: that
//! digit of `d` is greater than that digit of `e` (because `d > e`) and the digits above
//! are equal, which is rule 2. An entry is *not* moved when `e` advances; it can sit at a
//! level higher than a fresh insert would pick, and is moved down when its slot is reached
//! (a *cascade*).
//!
//! # Why `next_deadline` is never late
//!
//! By rule 2 and 3, every entry in a slot (or the overflow list) has `d >= slot_start`, so
//! the earliest slot start among non-empty slots is a lower bound on every deadline in the
//! wheel. The lowest non-empty level holds that earliest start: a level-`L` slot after
//! `e`'s starts before the end of `e`'s level-`L` window, and every level-`(L + 1)` slot
//! after `e`'s starts at or after that end. Due entries come before all of these (rule 1),
//! and for them the wheel keeps a lower bound on their deadlines. So the answer is never
//! later than the earliest pending deadline; it can be earlier, because a slot start is
//! where a cascade has work to do, not necessarily where something fires.
//!
//! # Why nothing fires early, and everything fires in order
//!
//! `advance(now)` first fires the due list, sorted by deadline: those deadlines are
//! `<= e`, so before every deadline in the slots. Then it repeatedly takes the non-empty
//! list with the earliest start, as long as that start is `<= now` (the *cascade*):
//!
//! - it moves `e` to `min(now, earliest deadline on the list)`. That is not less than the
//!   start, so `e` only grows. Nothing elsewhere is earlier: every other non-empty slot
//!   starts after this slot's last tick (by the argument above), and the overflow list is
//!   only taken when every slot is empty; nothing becomes due during `advance`.
//! - entries whose deadline equals the new `e` fire; the rest are placed again relative
//!   to the new `e`, which puts them on a lower level than before (or back on the
//!   overflow list), where rules 2 and 3 hold again.
//!
//! So an entry fires only when `d == e <= now`: never early. Each firing happens at the
//! current `e`, and `e` only grows, so entries fire in deadline order. And when the loop
//! stops, every remaining start is `> now`, so every deadline `<= now` has fired; setting
//! `e = now` keeps rules 2 and 3 (`now` is still before every remaining slot).
//!
//! # Cost
//!
//! `insert` and `remove` are O(1): a push or unlink on one doubly-linked list and one bit.
//! `next_deadline` is O([`LEVELS`]). `advance` spends O(1) per cascade step to find the
//! list, plus O(1) per entry on it. An entry is placed again at most once per level on
//! its way down; an overflow entry is also placed again at most once per overflow step in
//! which it does not fire, and each overflow step either fires an entry or ends the
//! advance (it jumps straight to the earliest overflow deadline, instead of stepping one
//! top-level window at a time).

#[cfg(test)]
mod tests;

use slab::Slab;

/// Number of levels. With [`SLOTS_PER_LEVEL`] = 64 this gives a range of `64^6 = 2^36`
/// ticks (about 2.2 years at 1 ms per tick), so the overflow list is rarely used, while
/// the fixed cost per wheel stays small (6 bitmaps and 384 list heads, about 1.6 KiB).
const LEVELS: usize = 6;

/// Slots per level. 64 so that one `u64` holds a level's occupancy bitmap and the next
/// non-empty slot is one `trailing_zeros`.
const SLOTS_PER_LEVEL: usize = 64;

/// `log2(SLOTS_PER_LEVEL)`: how many bits of a tick one level's digit takes.
const SLOT_BITS: u32 = SLOTS_PER_LEVEL.trailing_zeros();

/// Mask of one level's digit once shifted down.
const SLOT_MASK: u64 = SLOTS_PER_LEVEL as u64 - 1;

/// Bits of a tick that the levels cover; the top level's window is `tick >> WHEEL_BITS`.
const WHEEL_BITS: u32 = SLOT_BITS * LEVELS as u32;

/// Index of an entry in the slab, used for the links of a slot's list. `u32` rather than
/// `usize` to keep entries small (an idle task's timer is mostly these links).
type Link = u32;

/// The link that means "no entry": the end of a list, or an empty list's head. Slab
/// indices stay below it (checked on insert).
const NIL: Link = u32::MAX;

/// Names one timer from [`Wheel::insert`] until [`Wheel::remove`].
///
/// A key is a slab index: once removed, the same key may be handed out again by a later
/// insert, so the owner must forget it when it removes the entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimerKey(Link);

impl TimerKey {
    fn index(self) -> usize {
        self.0 as usize
    }
}

/// The list a pending entry is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bucket {
    /// Deadline `<= elapsed` on insert (invariant 1).
    Due,
    /// Slot `slot` of level `level` (invariant 2).
    Slot { level: u8, slot: u8 },
    /// Beyond the top level's current window (invariant 3).
    Overflow,
}

/// One timer.
#[derive(Debug)]
struct Entry<T> {
    /// The tick given to insert; kept after firing so the owner can still read it.
    deadline: u64,
    /// `Some` while pending, taken when the entry fires (invariant 5).
    value: Option<T>,
    /// The entry before this one on `bucket`'s list, `NIL` at the head. Meaningful only
    /// while pending.
    prev: Link,
    /// The entry after this one on `bucket`'s list, `NIL` at the tail. Meaningful only
    /// while pending.
    next: Link,
    /// Which list the entry is on. Meaningful only while pending.
    bucket: Bucket,
}

/// One level: the heads of its slot lists and which of them are non-empty.
#[derive(Debug)]
struct Level {
    /// Bit `s` is set exactly when `heads[s] != NIL` (invariant 4).
    occupied: u64,
    heads: [Link; SLOTS_PER_LEVEL],
}

/// A hierarchical timing wheel over ticks; see the module docs for its invariants.
#[derive(Debug)]
pub(crate) struct Wheel<T> {
    /// Every entry, pending or fired, until removed.
    entries: Slab<Entry<T>>,
    /// Number of pending entries.
    pending: usize,
    /// The tick the wheel has advanced to; never decreases.
    elapsed: u64,
    /// Level 0 first; invariants 2 and 4.
    levels: [Level; LEVELS],
    /// Head of the overflow list (invariant 3).
    overflow: Link,
    /// Head of the due list (invariant 1).
    due: Link,
    /// While the due list is non-empty: at most every deadline on it. It may be stale
    /// (too low) after a due entry is removed, which only makes `next_deadline` early.
    due_floor: u64,
    /// Scratch space for sorting the due list when it fires; kept so that firing
    /// already-due timers does not allocate on every advance.
    firing: Vec<Link>,
}

impl<T> Wheel<T> {
    /// An empty wheel at tick 0.
    pub(crate) fn new() -> Self {
        Wheel {
            entries: Slab::new(),
            pending: 0,
            elapsed: 0,
            levels: std::array::from_fn(|_| Level {
                occupied: 0,
                heads: [NIL; SLOTS_PER_LEVEL],
            }),
            overflow: NIL,
            due: NIL,
            due_floor: 0,
            firing: Vec::new(),
        }
    }

    /// The tick the wheel has advanced to: the largest `now` passed to [`Wheel::advance`],
    /// or 0.
    pub(crate) fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// Number of pending entries: inserted, neither fired nor removed.
    pub(crate) fn len(&self) -> usize {
        self.pending
    }

    /// True when no entry is pending (fired entries not yet removed don't count).
    pub(crate) fn is_empty(&self) -> bool {
        self.pending == 0
    }

    /// Adds a timer that fires once time reaches `deadline`. O(1).
    ///
    /// A deadline `<= elapsed()` is accepted: the entry fires on the next
    /// [`Wheel::advance`] with any `now >= deadline`.
    ///
    /// # Panics
    ///
    /// If `u32::MAX` entries are already allocated.
    pub(crate) fn insert(&mut self, deadline: u64, value: T) -> TimerKey {
        let index = self.entries.insert(Entry {
            deadline,
            value: Some(value),
            prev: NIL,
            next: NIL,
            bucket: Bucket::Due,
        });
        let link = Link::try_from(index)
            .ok()
            .filter(|&link| link != NIL)
            .expect("timer wheel: too many timers for a u32 index");
        self.pending += 1;
        self.place(link);
        TimerKey(link)
    }

    /// Frees the entry, pending or fired, and returns its value if it was still pending.
    /// O(1). The key is dead afterwards, and a later insert may reuse it.
    ///
    /// # Panics
    ///
    /// If `key` is not live (already removed, or never handed out by this wheel).
    pub(crate) fn remove(&mut self, key: TimerKey) -> Option<T> {
        if self.entry(key).value.is_some() {
            self.unlink(key.0);
            self.pending -= 1;
        }
        self.entries.remove(key.index()).value
    }

    #[cfg(test)] // the runtime does not need it; the tests do
    /// True while the entry is pending: inserted and not yet fired.
    ///
    /// # Panics
    ///
    /// If `key` is not live.
    pub(crate) fn is_pending(&self, key: TimerKey) -> bool {
        self.entry(key).value.is_some()
    }

    /// The pending value, to update it in place; `None` once the entry has fired.
    ///
    /// # Panics
    ///
    /// If `key` is not live.
    pub(crate) fn get_mut(&mut self, key: TimerKey) -> Option<&mut T> {
        self.entries
            .get_mut(key.index())
            .expect("timer wheel: key is not live")
            .value
            .as_mut()
    }

    #[cfg(test)] // the runtime does not need it; the tests do
    /// The deadline the entry was inserted with, pending or fired.
    ///
    /// # Panics
    ///
    /// If `key` is not live.
    pub(crate) fn deadline(&self, key: TimerKey) -> u64 {
        self.entry(key).deadline
    }

    /// A tick at which [`Wheel::advance`] has work to do, or `None` when nothing is pending.
    ///
    /// Guaranteed: never later than the earliest pending deadline. It may be earlier: the
    /// start of a slot whose entries only move down a level, or (for entries inserted
    /// already due) a tick before `elapsed()`, so a caller computing a poll timeout from it
    /// should saturate at zero. Cost: one bitmap test per level.
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        if self.due != NIL {
            return Some(self.due_floor);
        }
        self.next_bucket().map(|(start, _)| start)
    }

    /// Moves time to `now` and calls `fire(key, value)` for every pending entry whose
    /// deadline is `<= now`, in deadline order (ties in any order).
    ///
    /// Time never goes back: if `now < elapsed()`, `elapsed()` stays, and only entries that
    /// were inserted already due with a deadline `<= now` fire. A fired entry keeps its key
    /// (`is_pending` is false, `deadline` still answers) until the owner calls
    /// [`Wheel::remove`].
    pub(crate) fn advance(&mut self, now: u64, mut fire: impl FnMut(TimerKey, T)) {
        self.fire_due(now, &mut fire);

        while let Some((start, bucket)) = self.next_bucket()
            && start <= now
        {
            self.cascade(bucket, now, &mut fire);
        }
        self.elapsed = self.elapsed.max(now);
    }

    fn entry(&self, key: TimerKey) -> &Entry<T> {
        self.entries
            .get(key.index())
            .expect("timer wheel: key is not live")
    }

    /// The list a pending entry with `deadline` belongs on, relative to `elapsed`.
    fn bucket_for(&self, deadline: u64) -> Bucket {
        if deadline <= self.elapsed {
            return Bucket::Due;
        }
        // The highest bit where the two differ is set in `deadline` (it is the larger), so
        // the digit holding that bit is greater in `deadline`, and the digits above agree.
        let highest_differing_bit = 63 - (deadline ^ self.elapsed).leading_zeros();
        let level = highest_differing_bit / SLOT_BITS;
        if level as usize >= LEVELS {
            return Bucket::Overflow;
        }
        let slot = (deadline >> (level * SLOT_BITS)) & SLOT_MASK;
        Bucket::Slot {
            level: level as u8,
            slot: slot as u8,
        }
    }

    /// Puts a pending, unlinked entry on the list its deadline belongs on now.
    fn place(&mut self, link: Link) {
        let deadline = self.entries[link as usize].deadline;
        let bucket = self.bucket_for(deadline);
        if bucket == Bucket::Due {
            self.due_floor = if self.due == NIL {
                deadline
            } else {
                self.due_floor.min(deadline)
            };
        }
        self.push_front(bucket, link);
    }

    /// The head of `bucket`'s list.
    fn head_mut(&mut self, bucket: Bucket) -> &mut Link {
        match bucket {
            Bucket::Due => &mut self.due,
            Bucket::Overflow => &mut self.overflow,
            Bucket::Slot { level, slot } => &mut self.levels[level as usize].heads[slot as usize],
        }
    }

    fn push_front(&mut self, bucket: Bucket, link: Link) {
        let old_head = std::mem::replace(self.head_mut(bucket), link);
        if old_head != NIL {
            self.entries[old_head as usize].prev = link;
        }
        let entry = &mut self.entries[link as usize];
        entry.prev = NIL;
        entry.next = old_head;
        entry.bucket = bucket;
        if let Bucket::Slot { level, slot } = bucket {
            self.levels[level as usize].occupied |= 1 << slot;
        }
    }

    /// Takes a pending entry off its list, keeping the bitmap exact.
    fn unlink(&mut self, link: Link) {
        let Entry {
            prev, next, bucket, ..
        } = self.entries[link as usize];
        if next != NIL {
            self.entries[next as usize].prev = prev;
        }
        if prev != NIL {
            self.entries[prev as usize].next = next;
        } else {
            *self.head_mut(bucket) = next;
            if let (NIL, Bucket::Slot { level, slot }) = (next, bucket) {
                self.levels[level as usize].occupied &= !(1 << slot);
            }
        }
    }

    /// Empties `bucket`, returning its old head. The detached entries stay chained by
    /// `next` so the caller can walk them.
    fn detach(&mut self, bucket: Bucket) -> Link {
        if let Bucket::Slot { level, slot } = bucket {
            self.levels[level as usize].occupied &= !(1 << slot);
        }
        std::mem::replace(self.head_mut(bucket), NIL)
    }

    /// Marks a pending, unlinked entry fired and hands its value to `fire`.
    fn fire_one(&mut self, link: Link, fire: &mut impl FnMut(TimerKey, T)) {
        let value = self.entries[link as usize]
            .value
            .take()
            .expect("timer wheel: firing an entry that is not pending");
        self.pending -= 1;
        fire(TimerKey(link), value);
    }

    /// Fires the due entries whose deadline is `<= now`, earliest first.
    fn fire_due(&mut self, now: u64, fire: &mut impl FnMut(TimerKey, T)) {
        if self.due == NIL {
            return;
        }
        let mut firing = std::mem::take(&mut self.firing);
        let mut link = self.detach(Bucket::Due);
        while link != NIL {
            let next = self.entries[link as usize].next;
            if self.entries[link as usize].deadline <= now {
                firing.push(link);
            } else {
                // Only when `now < elapsed`: it stays due; `place` also rebuilds the floor.
                self.place(link);
            }
            link = next;
        }
        firing.sort_unstable_by_key(|&link| self.entries[link as usize].deadline);
        for link in firing.drain(..) {
            self.fire_one(link, fire);
        }
        self.firing = firing;
    }

    /// The non-empty list in the wheel (not the due list) that starts earliest, and that
    /// start. See "Why `next_deadline` is never late" for why the lowest non-empty level
    /// wins and the overflow list comes last.
    fn next_bucket(&self) -> Option<(u64, Bucket)> {
        for (level, slots) in self.levels.iter().enumerate() {
            if slots.occupied == 0 {
                continue;
            }
            let slot = slots.occupied.trailing_zeros();
            let slot_bits = level as u32 * SLOT_BITS;
            // `elapsed` with its digits at and below `level` cleared; SLOT_BITS more bits
            // up is at most 36, so the shift can't overflow.
            let window_start = self.elapsed >> (slot_bits + SLOT_BITS) << (slot_bits + SLOT_BITS);
            let start = window_start + (u64::from(slot) << slot_bits);
            let bucket = Bucket::Slot {
                level: level as u8,
                slot: slot as u8,
            };
            return Some((start, bucket));
        }
        if self.overflow != NIL {
            // An overflow entry's top-level window is later than elapsed's, so elapsed is
            // not in the last window and the next one's start fits in a u64.
            let next_window = (self.elapsed >> WHEEL_BITS) + 1;
            return Some((next_window << WHEEL_BITS, Bucket::Overflow));
        }
        None
    }

    /// Empties the earliest-starting list (whose start is `<= now`): moves `elapsed` to the
    /// earliest of `now` and that list's earliest deadline, fires the entries due at that
    /// tick, and places the rest again relative to it.
    fn cascade(&mut self, bucket: Bucket, now: u64, fire: &mut impl FnMut(TimerKey, T)) {
        let head = self.detach(bucket);

        let mut earliest = u64::MAX;
        let mut link = head;
        while link != NIL {
            let entry = &self.entries[link as usize];
            earliest = earliest.min(entry.deadline);
            link = entry.next;
        }
        // Safe to jump here: every other list starts after this one's slot ends, so holds
        // nothing earlier. For a level slot this lands inside the slot; for the overflow
        // list it skips whole top-level windows at once instead of one per 2^36 ticks.
        self.elapsed = now.min(earliest);

        let mut link = head;
        while link != NIL {
            let next = self.entries[link as usize].next;
            if self.entries[link as usize].deadline <= self.elapsed {
                self.fire_one(link, fire);
            } else {
                self.place(link);
            }
            link = next;
        }
    }
}
