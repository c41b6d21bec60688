//! `task::Builder`: spawn a task with a name.

use std::future::Future;
use std::panic::Location;

use crate::executor::{JoinHandle, TaskMeta};

/// Spawns a task with a name, which slow-poll reports show next to the spawn site.
///
/// ```
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let handle = evloop::task::Builder::new().name("answer").spawn(async { 42 });
///     assert_eq!(handle.await.unwrap(), 42);
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Default, Clone)]
pub struct Builder {
    name: Option<Box<str>>,
}

impl Builder {
    /// A builder for an unnamed task.
    pub fn new() -> Self {
        Builder::default()
    }

    /// Names the task.
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Spawns the task on the current runtime; see [`spawn`](crate::spawn).
    ///
    /// # Panics
    ///
    /// Panics if called outside of an evloop runtime.
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
    {
        let meta = self.meta(Location::caller());
        crate::context::with_runtime("evloop::spawn", |handle| {
            handle.executor.spawn(future, meta)
        })
    }

    pub(crate) fn meta(self, location: &'static Location<'static>) -> TaskMeta {
        TaskMeta {
            location,
            name: self.name,
        }
    }
}
