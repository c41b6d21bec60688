//! The slow-poll detector names the task that blocked the loop, and only that task.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use evloop::Runtime;
use evloop::runtime::{Builder, SlowPoll};

/// A runtime whose slow-poll reports are collected instead of printed.
fn recording(threshold: Duration) -> (Runtime, Rc<RefCell<Vec<SlowPoll>>>) {
    let reports = Rc::new(RefCell::new(Vec::new()));
    let sink = reports.clone();
    let rt = Builder::new()
        .slow_poll_threshold(threshold)
        .on_slow_poll(move |report| sink.borrow_mut().push(report.clone()))
        .build()
        .unwrap();
    (rt, reports)
}

#[test]
fn a_blocking_task_is_reported_with_its_name_and_spawn_site() {
    let (rt, reports) = recording(Duration::from_millis(50));
    let spawn_line = line!() + 4;
    rt.block_on(async {
        let culprit = evloop::task::Builder::new()
            .name("sync-sleep")
            .spawn(async { std::thread::sleep(Duration::from_millis(150)) });
        let polite = evloop::spawn(evloop::time::sleep(Duration::from_millis(10)));
        culprit.await.unwrap();
        polite.await.unwrap();
    });
    let reports = reports.borrow();
    assert_eq!(reports.len(), 1, "exactly the blocking task: {reports:?}");
    let report = &reports[0];
    assert_eq!(report.name(), Some("sync-sleep"));
    assert!(report.held() >= Duration::from_millis(150));
    assert!(report.location().file().ends_with("slow_poll.rs"));
    assert_eq!(report.location().line(), spawn_line);
    let text = report.to_string();
    assert!(
        text.contains("sync-sleep") && text.contains("spawn_blocking"),
        "{text}"
    );
}

#[test]
fn an_unnamed_task_is_reported_by_its_spawn_site() {
    let (rt, reports) = recording(Duration::from_millis(50));
    let spawn_line = line!() + 2;
    rt.block_on(async {
        evloop::spawn(async { std::thread::sleep(Duration::from_millis(80)) })
            .await
            .unwrap();
    });
    let reports = reports.borrow();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].name(), None);
    assert_eq!(reports[0].location().line(), spawn_line);
}

#[test]
fn well_behaved_tasks_that_wait_longer_than_the_threshold_are_not_reported() {
    let (rt, reports) = recording(Duration::from_millis(250));
    rt.block_on(async {
        let waiters: Vec<_> = (0..50)
            .map(|i| {
                evloop::spawn(async move {
                    evloop::time::sleep(Duration::from_millis(300 + i)).await;
                    evloop::task::yield_now().await;
                })
            })
            .collect();
        for waiter in waiters {
            waiter.await.unwrap();
        }
    });
    assert!(reports.borrow().is_empty(), "{:?}", reports.borrow());
}

#[test]
fn a_blocking_block_on_future_is_reported_as_block_on() {
    let (rt, reports) = recording(Duration::from_millis(50));
    let call_line = line!() + 1;
    rt.block_on(async { std::thread::sleep(Duration::from_millis(80)) });
    let reports = reports.borrow();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].name(), Some("block_on"));
    assert_eq!(reports[0].location().line(), call_line);
}

#[test]
fn a_disabled_detector_reports_nothing() {
    let reports = Rc::new(RefCell::new(0));
    let sink = reports.clone();
    let rt = Builder::new()
        .on_slow_poll(move |_| *sink.borrow_mut() += 1)
        .disable_slow_poll_detector()
        .build()
        .unwrap();
    rt.block_on(async { std::thread::sleep(Duration::from_millis(150)) });
    assert_eq!(*reports.borrow(), 0);
}

/// Regression: a panicking reporter ran before the executor recorded the poll, leaving the
/// task stuck in "running, woken" and never polled again.
#[test]
fn a_panicking_reporter_does_not_strand_the_task() {
    let rt = Builder::new()
        .slow_poll_threshold(Duration::from_millis(5))
        .on_slow_poll(|_| panic!("reporter panicked"))
        .build()
        .unwrap();
    let polls = Rc::new(std::cell::Cell::new(0));
    let counted = polls.clone();
    let handle = rt.spawn(std::future::poll_fn(move |cx| {
        counted.set(counted.get() + 1);
        if counted.get() == 1 {
            std::thread::sleep(Duration::from_millis(10));
            cx.waker().wake_by_ref();
            return std::task::Poll::Pending;
        }
        std::task::Poll::Ready(())
    }));
    let first = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(evloop::task::yield_now())
    }));
    assert!(
        first.is_err(),
        "the reporter's panic propagates out of block_on"
    );
    let joined = rt.block_on(evloop::time::timeout(Duration::from_secs(10), handle));
    assert!(
        matches!(joined, Ok(Ok(()))),
        "the task ran again and finished"
    );
    assert_eq!(polls.get(), 2);
}
