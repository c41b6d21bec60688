//! `WaitList`: FIFO order, O(1) removal from anywhere, keys that stay valid after unlinking.

use std::collections::VecDeque;

use proptest::prelude::*;

use crate::sync::wait_list::{WaitKey, WaitList};

#[test]
fn pops_in_push_order() {
    let mut list = WaitList::new();
    let keys: Vec<WaitKey> = (0..5).map(|i| list.push_back(i)).collect();
    assert_eq!(list.len(), 5);
    for (i, key) in keys.iter().enumerate() {
        assert_eq!(list.pop_front(), Some(*key));
        assert_eq!(*list.get(*key), i);
    }
    assert_eq!(list.pop_front(), None);
    assert!(list.is_empty());
    // Popped nodes are still stored until their owners remove them.
    assert_eq!(list.stored(), 5);
    for key in keys {
        list.remove(key);
    }
    assert_eq!(list.stored(), 0);
}

#[test]
fn removing_from_the_middle_keeps_the_rest_in_order() {
    let mut list = WaitList::new();
    let keys: Vec<WaitKey> = (0..5).map(|i| list.push_back(i)).collect();
    assert_eq!(list.remove(keys[2]), 2);
    assert_eq!(list.remove(keys[0]), 0);
    assert_eq!(list.remove(keys[4]), 4);
    let order: Vec<usize> = std::iter::from_fn(|| list.pop_front().map(|k| *list.get(k))).collect();
    assert_eq!(order, [1, 3]);
}

#[test]
fn an_unlinked_key_still_names_its_node_after_others_come_and_go() {
    let mut list = WaitList::new();
    let first = list.push_back("first");
    assert_eq!(list.pop_front(), Some(first));
    assert!(!list.is_linked(first));
    // Other waiters come and go; none takes the served node's slot.
    for _ in 0..3 {
        let other = list.push_back("other");
        assert_ne!(other, first);
        list.remove(other);
    }
    assert_eq!(*list.get(first), "first");
    assert!(!list.unlink(first), "unlinking twice is a no-op");
    assert_eq!(list.remove(first), "first");
}

#[test]
fn pushing_after_emptying_relinks_head_and_tail() {
    let mut list = WaitList::new();
    let a = list.push_back('a');
    list.remove(a);
    let b = list.push_back('b');
    let c = list.push_back('c');
    assert_eq!(list.front(), Some(b));
    list.remove(c);
    let d = list.push_back('d');
    assert_eq!(list.pop_front(), Some(b));
    assert_eq!(list.pop_front(), Some(d));
    assert_eq!(list.pop_front(), None);
}

#[derive(Debug, Clone)]
enum Op {
    Push,
    Pop,
    /// Remove the `n % stored`-th stored node (linked or not).
    Remove(usize),
    /// Unlink the `n % stored`-th stored node.
    Unlink(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::Push),
        2 => Just(Op::Pop),
        2 => any::<usize>().prop_map(Op::Remove),
        1 => any::<usize>().prop_map(Op::Unlink),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if cfg!(miri) { 4 } else { 256 },
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// The list against a `VecDeque` of linked ids plus a list of stored ids.
    #[test]
    fn matches_a_vecdeque_model(ops in proptest::collection::vec(op(), 1..if cfg!(miri) { 30 } else { 200 })) {
        let mut list = WaitList::new();
        let mut queue: VecDeque<u32> = VecDeque::new();
        let mut stored: Vec<(u32, WaitKey)> = Vec::new();
        let mut next_id = 0u32;
        for op in ops {
            match op {
                Op::Push => {
                    let key = list.push_back(next_id);
                    queue.push_back(next_id);
                    stored.push((next_id, key));
                    next_id += 1;
                }
                Op::Pop => {
                    let popped = list.pop_front().map(|key| *list.get(key));
                    prop_assert_eq!(popped, queue.pop_front());
                }
                Op::Remove(n) if !stored.is_empty() => {
                    let (id, key) = stored.remove(n % stored.len());
                    prop_assert_eq!(list.remove(key), id);
                    queue.retain(|&q| q != id);
                }
                Op::Unlink(n) if !stored.is_empty() => {
                    let (id, key) = stored[n % stored.len()];
                    let was_linked = queue.contains(&id);
                    prop_assert_eq!(list.unlink(key), was_linked);
                    queue.retain(|&q| q != id);
                }
                Op::Remove(_) | Op::Unlink(_) => {}
            }
            prop_assert_eq!(list.len(), queue.len());
            prop_assert_eq!(list.stored(), stored.len());
            prop_assert_eq!(list.front().map(|key| *list.get(key)), queue.front().copied());
            for &(id, key) in &stored {
                prop_assert_eq!(*list.get(key), id);
                prop_assert_eq!(list.is_linked(key), queue.contains(&id));
            }
        }
    }
}
