//! `Mutex`: an async lock around a value, handed to waiters first come, first served.
//!
//! A `Mutex<T>` is a [`Semaphore`] with one permit and an `UnsafeCell<T>`. Locking acquires
//! the permit (so waiting, FIFO order, cancellation and the cooperative budget are the
//! semaphore's); the guard holds the permit and a `&mut T`, and gives the permit back when it
//! drops.
//!
//! # Invariants
//!
//! 1. **One permit, one guard.** The semaphore is created with one permit, never closed, and
//!    permits are added back only by a guard's drop (the one it took). So at most one guard
//!    ([`MutexGuard`], [`MappedMutexGuard`] or [`OwnedMutexGuard`]) exists at a time, and only
//!    a guard reaches the value: this is what makes the `unsafe` dereferences sound.
//! 2. **FIFO, nothing lost.** The semaphore serves waiting `lock()` calls in the order they
//!    first polled; `try_lock` fails while anyone waits. A waiter that was handed the permit
//!    and is dropped before it runs gives the permit to the next waiter (semaphore
//!    invariant 3).
//! 3. **Budget.** A `lock()` spends one unit when it completes (the semaphore's acquire does),
//!    so a loop over an always-free mutex still yields.
//! 4. The value is never touched under a `RefCell` borrow of the semaphore: the guard releases
//!    the permit after its own `&mut T` is gone, and the semaphore wakes the next waiter after
//!    its own borrow ends.

use std::cell::UnsafeCell;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::rc::Rc;

use super::Semaphore;

/// An async mutual-exclusion lock for tasks on one runtime: `lock().await` waits, without
/// blocking the thread, until no other task holds the value.
///
/// The same API as `tokio::sync::Mutex`, made local: `Mutex<T>` is `!Sync`, so tasks share it
/// through an `Rc` (not an `Arc`), and [`lock_owned`](Mutex::lock_owned) takes an
/// `Rc<Mutex<T>>`. Waiting tasks get the lock in the order they asked for it.
///
/// Across an `.await` that must keep the value locked this is the right tool; for a value that
/// is only touched between awaits, a `RefCell` is cheaper (on one thread nothing else can run
/// in between).
///
/// ```
/// use std::rc::Rc;
/// use evloop::sync::Mutex;
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let log = Rc::new(Mutex::new(Vec::new()));
///     let tasks: Vec<_> = (0..3)
///         .map(|i| {
///             let log = log.clone();
///             evloop::spawn(async move {
///                 let mut log = log.lock().await;
///                 log.push(i);
///                 evloop::task::yield_now().await; // still held across the await
///                 log.push(i);
///             })
///         })
///         .collect();
///     for task in tasks {
///         task.await.unwrap();
///     }
///     // Each task's two entries are adjacent: nobody got in while it held the lock.
///     assert_eq!(*log.lock().await, [0, 0, 1, 1, 2, 2]);
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Mutex<T: ?Sized> {
    semaphore: Semaphore,
    value: UnsafeCell<T>,
}

/// The error of [`Mutex::try_lock`] (and of `RwLock`'s `try_read` / `try_write`): the lock is
/// held, or others are already waiting for it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TryLockError(pub(super) ());

impl fmt::Display for TryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("operation would block")
    }
}

impl std::error::Error for TryLockError {}

impl<T> Mutex<T> {
    /// A new, unlocked mutex holding `value`.
    pub fn new(value: T) -> Mutex<T> {
        Mutex {
            semaphore: Semaphore::new(1),
            value: UnsafeCell::new(value),
        }
    }

    /// Consumes the mutex and returns the value (no guard can exist: they borrow the mutex).
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Waits until the lock is free and it is this call's turn, then returns a guard that
    /// derefs to the value and unlocks when dropped.
    ///
    /// Waiters are served in the order they first polled. Cancel safety: dropping the future
    /// loses only its place in the queue; if the lock had already been handed to it, the lock
    /// goes on to the next waiter.
    pub async fn lock(&self) -> MutexGuard<'_, T> {
        self.acquire().await;
        self.guard()
    }

    /// Locks without waiting, or fails with [`TryLockError`] if the lock is held or others
    /// wait for it (they come first).
    ///
    /// ```
    /// use evloop::sync::Mutex;
    ///
    /// let mutex = Mutex::new(1);
    /// let guard = mutex.try_lock().unwrap();
    /// assert!(mutex.try_lock().is_err());
    /// drop(guard);
    /// assert_eq!(*mutex.try_lock().unwrap(), 1);
    /// ```
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        self.try_take()?;
        Ok(self.guard())
    }

    /// Like [`lock`](Mutex::lock), but the guard holds an `Rc` of the mutex instead of a
    /// borrow, so it can be moved into a spawned task. (tokio's takes an `Arc`: evloop's
    /// local types are shared with `Rc`.)
    ///
    /// ```
    /// use std::rc::Rc;
    /// use evloop::sync::Mutex;
    ///
    /// let rt = evloop::Runtime::new()?;
    /// rt.block_on(async {
    ///     let mutex = Rc::new(Mutex::new(0));
    ///     let mut guard = mutex.clone().lock_owned().await;
    ///     let task = evloop::spawn(async move {
    ///         *guard += 1; // unlocked when the task drops the guard
    ///     });
    ///     task.await.unwrap();
    ///     assert_eq!(*mutex.lock().await, 1);
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn lock_owned(self: Rc<Self>) -> OwnedMutexGuard<T> {
        self.acquire().await;
        OwnedMutexGuard { mutex: self }
    }

    /// Like [`try_lock`](Mutex::try_lock), with an owned guard.
    pub fn try_lock_owned(self: Rc<Self>) -> Result<OwnedMutexGuard<T>, TryLockError> {
        self.try_take()?;
        Ok(OwnedMutexGuard { mutex: self })
    }

    /// The value, through a unique borrow of the mutex: no lock needed, since no guard can
    /// exist while the mutex is mutably borrowed.
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    /// Takes the permit (invariant 1), waiting in line for it.
    async fn acquire(&self) {
        self.semaphore
            .acquire()
            .await
            .expect("a mutex's semaphore is never closed")
            .forget();
    }

    /// Takes the permit if it is free and nobody waits.
    fn try_take(&self) -> Result<(), TryLockError> {
        let permit = self.semaphore.try_acquire().map_err(|_| TryLockError(()))?;
        permit.forget();
        Ok(())
    }

    /// Wraps the permit just taken in a guard.
    fn guard(&self) -> MutexGuard<'_, T> {
        // SAFETY: the caller just took the mutex's only permit, so no other guard exists and
        // none can be made until this guard gives the permit back (invariant 1); `&mut self` is
        // not live either, since `self` is borrowed. So this is the only reference to the value
        // for 'a, the guard's lifetime.
        let value = unsafe { &mut *self.value.get() };
        MutexGuard {
            value,
            unlock: Unlock(&self.semaphore),
        }
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Self {
        Mutex::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("Mutex");
        match self.try_lock() {
            Ok(guard) => debug.field("data", &&*guard),
            Err(_) => debug.field("data", &format_args!("<locked>")),
        };
        debug.finish()
    }
}

/// Gives the mutex's permit back when dropped: the part of a guard that unlocks.
struct Unlock<'a>(&'a Semaphore);

impl Drop for Unlock<'_> {
    fn drop(&mut self) {
        self.0.add_permits(1);
    }
}

/// The lock on a [`Mutex`]'s value; unlocks when dropped.
///
/// ```
/// use evloop::sync::Mutex;
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let counter = Mutex::new(0);
///     {
///         let mut guard = counter.lock().await;
///         *guard += 1;
///         assert!(counter.try_lock().is_err()); // held until `guard` drops
///     }
///     assert_eq!(*counter.lock().await, 1);
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use = "the mutex unlocks as soon as the guard is dropped"]
pub struct MutexGuard<'a, T: ?Sized> {
    // Field order: the borrow of the value ends before the permit goes back (invariant 4).
    value: &'a mut T,
    unlock: Unlock<'a>,
}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// Narrows the guard to a part of the value (a field, an element); the lock stays held
    /// until the mapped guard drops.
    ///
    /// ```
    /// use evloop::sync::{MutexGuard, Mutex};
    ///
    /// let mutex = Mutex::new((1, String::from("a")));
    /// let mut name = MutexGuard::map(mutex.try_lock().unwrap(), |pair| &mut pair.1);
    /// name.push('b');
    /// assert!(mutex.try_lock().is_err());
    /// drop(name);
    /// assert_eq!(mutex.try_lock().unwrap().1, "ab");
    /// ```
    pub fn map<U: ?Sized, F>(this: Self, f: F) -> MappedMutexGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let MutexGuard { value, unlock } = this;
        MappedMutexGuard {
            value: f(value),
            unlock,
        }
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.value
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.value
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

/// A [`MutexGuard`] narrowed by [`MutexGuard::map`] to a part of the value.
#[must_use = "the mutex unlocks as soon as the guard is dropped"]
pub struct MappedMutexGuard<'a, T: ?Sized> {
    value: &'a mut T,
    unlock: Unlock<'a>,
}

impl<'a, T: ?Sized> MappedMutexGuard<'a, T> {
    /// Narrows the guard further.
    pub fn map<U: ?Sized, F>(this: Self, f: F) -> MappedMutexGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let MappedMutexGuard { value, unlock } = this;
        MappedMutexGuard {
            value: f(value),
            unlock,
        }
    }
}

impl<T: ?Sized> Deref for MappedMutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.value
    }
}

impl<T: ?Sized> DerefMut for MappedMutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.value
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MappedMutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// The lock on an `Rc<Mutex<T>>`, from [`Mutex::lock_owned`]; `'static`, so it can move into a
/// spawned task. Unlocks when dropped.
///
/// ```
/// use std::rc::Rc;
/// use evloop::sync::Mutex;
///
/// let rt = evloop::Runtime::new()?;
/// rt.block_on(async {
///     let log = Rc::new(Mutex::new(Vec::new()));
///     let guard = log.clone().lock_owned().await;
///     let writer = evloop::spawn(async move {
///         let mut guard = guard; // the lock moved into the task
///         guard.push("first");
///     });
///     log.lock().await.push("second"); // waits for the task's guard to drop
///     writer.await.unwrap();
///     assert_eq!(*log.lock().await, ["first", "second"]);
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use = "the mutex unlocks as soon as the guard is dropped"]
pub struct OwnedMutexGuard<T: ?Sized> {
    mutex: Rc<Mutex<T>>,
}

impl<T: ?Sized> OwnedMutexGuard<T> {
    /// The mutex this guard locks.
    pub fn mutex(this: &Self) -> &Rc<Mutex<T>> {
        &this.mutex
    }
}

impl<T: ?Sized> Deref for OwnedMutexGuard<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: this guard holds the mutex's only permit (invariant 1), so no other guard
        // exists; the returned borrow is tied to `&self`, so it cannot outlive the guard or
        // overlap a `deref_mut` of it.
        unsafe { &*self.mutex.value.get() }
    }
}

impl<T: ?Sized> DerefMut for OwnedMutexGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`: this guard is the only one (invariant 1), and the borrow is
        // tied to `&mut self`, so no other reference to the value is live while it is.
        unsafe { &mut *self.mutex.value.get() }
    }
}

impl<T: ?Sized> Drop for OwnedMutexGuard<T> {
    fn drop(&mut self) {
        self.mutex.semaphore.add_permits(1);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
