//! `RwLock`: many readers or one writer, served first come, first served.
//!
//! Like tokio's, an `RwLock<T>` is a [`Semaphore`] of `max_readers` permits and an
//! `UnsafeCell<T>`: a read takes one permit, a write takes all of them. Because the semaphore
//! serves its queue in order and lets the head collect permits as they come back, a waiting
//! writer is not starved: readers that arrive after it queue behind it, and it gets the lock as
//! soon as the readers before it are done.
//!
//! # Invariants
//!
//! 1. **Readers or one writer.** The semaphore starts with `max_readers` permits, is never
//!    closed, and permits come back only from the guards that took them. A read guard holds
//!    one permit, a write guard holds all `max_readers`, so while a write guard exists no other
//!    guard does, and read guards only ever share. This is what makes the `unsafe`
//!    dereferences sound.
//! 2. **FIFO, writers not starved.** Waiters are served in the order they first polled
//!    (semaphore invariant 2); `try_read` / `try_write` fail while anyone waits. A waiter
//!    dropped after being served passes its permits on (semaphore invariant 3).
//! 3. **Budget.** `read()` and `write()` spend one unit when they complete (the semaphore's
//!    acquire does).
//! 4. Guards end their borrow of the value before they return their permits.

use std::cell::UnsafeCell;
use std::fmt;
use std::ops::{Deref, DerefMut};

use super::{Semaphore, TryLockError};

/// The most readers an `RwLock` admits at once, and the default of [`RwLock::new`]: tokio's
/// limit (`u32::MAX >> 3`), so a port behaves the same. A write takes this many permits.
const MAX_READS: u32 = u32::MAX >> 3;

/// An async reader-writer lock for tasks on one runtime: any number of
/// [`read`](RwLock::read) guards at once, or a single [`write`](RwLock::write) guard.
///
/// The same API and fairness as `tokio::sync::RwLock`, made local (`!Sync`: share it through
/// an `Rc`). Requests are served in arrival order, so a writer waiting behind readers is not
/// starved by readers that come later.
///
/// ```
/// use std::rc::Rc;
/// use evloop::sync::RwLock;
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let config = Rc::new(RwLock::new(String::from("v1")));
///     let first = config.read().await;
///     let second = config.read().await; // readers share
///     assert_eq!((first.as_str(), second.as_str()), ("v1", "v1"));
///
///     let writer = evloop::spawn({
///         let config = config.clone();
///         async move { config.write().await.push_str("+patch") }
///     });
///     evloop::task::yield_now().await; // the writer now waits for the readers
///     assert!(config.try_read().is_err(), "a new reader queues behind the writer");
///     drop((first, second));
///     writer.await.unwrap();
///     assert_eq!(*config.read().await, "v1+patch");
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct RwLock<T: ?Sized> {
    /// Permits a write takes; a read takes one.
    max_readers: u32,
    semaphore: Semaphore,
    value: UnsafeCell<T>,
}

impl<T> RwLock<T> {
    /// A new, unlocked lock holding `value`, admitting up to `u32::MAX >> 3` readers at once.
    pub fn new(value: T) -> RwLock<T> {
        RwLock::with_max_readers(value, MAX_READS)
    }

    /// A new lock that admits at most `max_reads` readers at once; more wait their turn.
    ///
    /// # Panics
    ///
    /// Panics if `max_reads` is more than `u32::MAX >> 3` (tokio's limit), or zero (no read
    /// could ever be granted).
    ///
    /// ```
    /// use evloop::sync::RwLock;
    ///
    /// let lock = RwLock::with_max_readers(0, 2);
    /// let (_a, _b) = (lock.try_read().unwrap(), lock.try_read().unwrap());
    /// assert!(lock.try_read().is_err(), "a third reader must wait");
    /// ```
    pub fn with_max_readers(value: T, max_reads: u32) -> RwLock<T> {
        assert!(
            max_reads <= MAX_READS,
            "a RwLock may not be created with more than {MAX_READS} readers"
        );
        assert!(max_reads > 0, "a RwLock must admit at least one reader");
        RwLock {
            max_readers: max_reads,
            semaphore: Semaphore::new(max_reads as usize),
            value: UnsafeCell::new(value),
        }
    }

    /// Consumes the lock and returns the value (no guard can exist: they borrow the lock).
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Waits for shared access: until no writer holds the lock and every request that arrived
    /// earlier was served.
    ///
    /// Cancel safety: dropping the future loses only its place in the queue; permits already
    /// handed to it go to the next waiter.
    pub async fn read(&self) -> RwLockReadGuard<'_, T> {
        self.acquire(1).await;
        self.read_guard()
    }

    /// Shared access now, or [`TryLockError`] if a writer holds the lock or anyone waits.
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, TryLockError> {
        self.try_take(1)?;
        Ok(self.read_guard())
    }

    /// Waits for exclusive access: until every earlier request was served and every guard is
    /// gone. Readers that arrive while it waits queue behind it.
    ///
    /// Cancel safety: as for [`read`](RwLock::read); a writer dropped while it was collecting
    /// permits gives them back, so readers queued behind it proceed.
    pub async fn write(&self) -> RwLockWriteGuard<'_, T> {
        self.acquire(self.max_readers).await;
        self.write_guard()
    }

    /// Exclusive access now, or [`TryLockError`] if any guard exists or anyone waits.
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, TryLockError> {
        self.try_take(self.max_readers)?;
        Ok(self.write_guard())
    }

    /// The value, through a unique borrow of the lock: no guard can exist meanwhile.
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    async fn acquire(&self, permits: u32) {
        self.semaphore
            .acquire_many(permits)
            .await
            .expect("an RwLock's semaphore is never closed")
            .forget();
    }

    fn try_take(&self, permits: u32) -> Result<(), TryLockError> {
        let permit = self
            .semaphore
            .try_acquire_many(permits)
            .map_err(|_| TryLockError(()))?;
        permit.forget();
        Ok(())
    }

    fn read_guard(&self) -> RwLockReadGuard<'_, T> {
        // SAFETY: the caller just took one permit; by invariant 1 no write guard (and no
        // `&mut` from one) can exist while it is held, and other read guards only hold shared
        // borrows. The borrow lives as long as the guard, which returns the permit on drop.
        let value = unsafe { &*self.value.get() };
        RwLockReadGuard {
            value,
            release: Release {
                semaphore: &self.semaphore,
                permits: 1,
            },
        }
    }

    fn write_guard(&self) -> RwLockWriteGuard<'_, T> {
        // SAFETY: the caller just took all `max_readers` permits, so no other guard exists or
        // can be made until they come back (invariant 1): this is the only reference to the
        // value for the guard's lifetime.
        let value = unsafe { &mut *self.value.get() };
        RwLockWriteGuard {
            value,
            release: Release {
                semaphore: &self.semaphore,
                permits: self.max_readers,
            },
        }
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> Self {
        RwLock::new(T::default())
    }
}

impl<T> From<T> for RwLock<T> {
    fn from(value: T) -> Self {
        RwLock::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("RwLock");
        match self.try_read() {
            Ok(guard) => debug.field("data", &&*guard),
            Err(_) => debug.field("data", &format_args!("<locked>")),
        };
        debug.field("max_readers", &self.max_readers).finish()
    }
}

/// Gives a guard's permits back when dropped.
struct Release<'a> {
    semaphore: &'a Semaphore,
    permits: u32,
}

impl Drop for Release<'_> {
    fn drop(&mut self) {
        self.semaphore.add_permits(self.permits as usize);
    }
}

/// Shared access to an [`RwLock`]'s value; released when dropped.
///
/// ```
/// use evloop::sync::RwLock;
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let config = RwLock::new(String::from("v1"));
///     let a = config.read().await;
///     let b = config.read().await; // any number of readers at once
///     assert_eq!((a.as_str(), b.as_str()), ("v1", "v1"));
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    // Field order: the borrow ends before the permit goes back (invariant 4).
    value: &'a T,
    release: Release<'a>,
}

impl<'a, T: ?Sized> RwLockReadGuard<'a, T> {
    /// Narrows the guard to a part of the value; the read lock stays held until it drops.
    ///
    /// ```
    /// use evloop::sync::{RwLock, RwLockReadGuard};
    ///
    /// let lock = RwLock::new((1, "name"));
    /// let name = RwLockReadGuard::map(lock.try_read().unwrap(), |pair| &pair.1);
    /// assert_eq!(*name, "name");
    /// assert!(lock.try_write().is_err());
    /// ```
    pub fn map<U: ?Sized, F>(this: Self, f: F) -> RwLockReadGuard<'a, U>
    where
        F: FnOnce(&T) -> &U,
    {
        let RwLockReadGuard { value, release } = this;
        RwLockReadGuard {
            value: f(value),
            release,
        }
    }
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.value
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.value, f)
    }
}

/// Exclusive access to an [`RwLock`]'s value; released when dropped.
///
/// ```
/// use evloop::sync::RwLock;
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let config = RwLock::new(String::from("v1"));
///     *config.write().await = String::from("v2");
///     assert_eq!(*config.read().await, "v2");
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    value: &'a mut T,
    release: Release<'a>,
}

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    /// Turns the write lock into a read lock without letting a writer in between: the other
    /// permits go back (to queued readers, or to a queued writer that then waits for this
    /// read guard).
    ///
    /// ```
    /// use evloop::sync::RwLock;
    ///
    /// let lock = RwLock::new(1);
    /// let mut write = lock.try_write().unwrap();
    /// *write = 2;
    /// let read = write.downgrade();
    /// assert_eq!((*read, *lock.try_read().unwrap()), (2, 2));
    /// assert!(lock.try_write().is_err());
    /// ```
    pub fn downgrade(self) -> RwLockReadGuard<'a, T> {
        let RwLockWriteGuard { value, mut release } = self;
        // Keep one permit for the read guard; the rest are free again.
        let freed = release.permits - 1;
        release.permits = 1;
        let semaphore = release.semaphore;
        let read = RwLockReadGuard { value, release };
        semaphore.add_permits(freed as usize);
        read
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.value
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.value
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.value, f)
    }
}
