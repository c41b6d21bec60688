//! `#[evloop::main]` and `#[evloop::test]` (feature `macros`): the body runs on a runtime, the
//! declared return type is kept, and the arguments tokio accepts where they mean what evloop
//! does are accepted. The arguments that are refused are `compile_fail` doc tests on
//! `evloop::main` and `evloop::test`.

#![cfg(feature = "macros")]

use std::cell::Cell;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use evloop::time::sleep;

#[evloop::test]
async fn test_attribute_runs_the_body_on_a_runtime() {
    // `spawn` and timers need the current runtime: they panic outside one.
    let shared = Rc::new(Cell::new(0));
    let task = evloop::spawn({
        let shared = shared.clone();
        async move {
            sleep(Duration::from_millis(1)).await;
            shared.set(1);
        }
    });
    task.await.unwrap();
    assert_eq!(shared.get(), 1);
}

#[evloop::test]
async fn test_attribute_keeps_a_result_return_type() -> io::Result<()> {
    let listener = evloop::net::TcpListener::bind("127.0.0.1:0").await?;
    listener.local_addr()?;
    Ok(())
}

#[evloop::test]
#[should_panic(expected = "the body panicked")]
async fn test_attribute_keeps_other_attributes() {
    sleep(Duration::from_millis(1)).await;
    panic!("the body panicked");
}

#[evloop::test(flavor = "current_thread", crate = "evloop")]
async fn test_attribute_accepts_the_current_thread_flavor_and_a_crate_path() {
    evloop::task::yield_now().await;
}

mod renamed {
    // evloop under another path, named with `crate = "..."`.
    pub use evloop as runtime_crate;
}

#[evloop::test(crate = "crate::renamed::runtime_crate")]
async fn test_attribute_uses_the_crate_path_it_is_given() {
    evloop::task::yield_now().await;
}

/// `#[evloop::main]` on a function that is not `main`: the rewrite does not depend on the name.
#[evloop::main]
async fn answer() -> u32 {
    let (a, b) = evloop::join!(async { 40 }, async {
        sleep(Duration::from_millis(1)).await;
        2
    });
    a + b
}

#[evloop::main]
async fn question_mark() -> Result<u32, String> {
    let parsed: u32 = "x".parse().map_err(|_| "not a number".to_string())?;
    Ok(parsed)
}

#[test]
fn main_attribute_runs_the_body_and_returns_its_value() {
    assert_eq!(answer(), 42);
    // Each call builds its own runtime: a second call works as well.
    assert_eq!(answer(), 42);
    // `?` in the body converts into the declared return type.
    assert_eq!(question_mark(), Err("not a number".to_string()));
}
