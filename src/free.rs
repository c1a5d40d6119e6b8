//! Freeing what a rayon pool's workers built, each item on the worker that built it.
//!
//! mimalloc gives every thread its own pages. A block freed by another thread than the one
//! that allocated it is pushed onto its page's shared list, which the owner takes back later,
//! and the owner's next allocations from those blocks miss the cache: the freeing core wrote
//! them last. `analyze` built each request's row (its strings and lists) on one deciding
//! worker, read it on the merging thread, and freed the whole batch on whichever worker picked
//! up the job, so about half the blocks went back across cores. In the profile of the 1 GB
//! benchmark log, mimalloc's allocation fast path was then the largest leaf of the deciding
//! phase (17% of its samples), nearly all of it on the load of a free block's link.
//! [`free_where_built`] sends each item back to its builder instead.

use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::ThreadPool;

/// Drops each of `items` on the thread of `pool` that built it, as `built_on` tells (an index
/// of `pool`'s threads, as [`ThreadPool::current_thread_index`] gave it there; any other value
/// is taken modulo the pool's size). Returns at once: each thread drops its items the next time
/// it looks for work, before it steals any or takes jobs sent to the pool from outside.
///
/// A panic in an item's `Drop` leaves the rest of that thread's items undropped (their memory
/// is still freed), where dropping the vector would have gone on; rayon then aborts the
/// process unless the pool has a panic handler.
pub fn free_where_built<T: Send + 'static>(
    pool: &ThreadPool,
    items: Vec<T>,
    built_on: impl Fn(&T) -> usize,
) {
    let threads = pool.current_num_threads().max(1);
    let items = Builds::new(items, threads, built_on);
    // rayon shares the closure, and so `items`, between the threads, and drops it after the
    // last of them has run it.
    pool.spawn_broadcast(move |ctx| items.drop_built_on(ctx.index()));
}

/// Items waiting to be dropped by their builders. Each thread drops only the items it built,
/// once ([`Builds::drop_built_on`]); the vector's memory is freed when `Builds` is dropped.
struct Builds<T> {
    /// The items' memory, taken from their vector, whose length is that of `builders`.
    items: *mut T,
    capacity: usize,
    /// For each item, the index of the thread that built it (less than `done.len()`).
    builders: Vec<usize>,
    /// Whether each thread has dropped its items.
    done: Vec<AtomicBool>,
    /// `Builds` owns the items.
    owns: PhantomData<T>,
}

// SAFETY: the items are only ever touched by `drop_built_on`, which drops each of them on the
// one thread whose index is its builder's, at most once (`done`); `T: Send` lets an item be
// dropped on that thread. Threads share nothing else but the immutable `builders`, and no
// reference to an item is ever handed out.
unsafe impl<T: Send> Send for Builds<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Builds<T> {}

impl<T> Builds<T> {
    /// Takes `items`, each to be dropped by thread `built_on(item) % threads`.
    fn new(items: Vec<T>, threads: usize, built_on: impl Fn(&T) -> usize) -> Self {
        let threads = threads.max(1);
        // Worked out here, so that every builder is a thread's and there is one per item,
        // which `drop_built_on` relies on.
        let builders = items.iter().map(|t| built_on(t) % threads).collect();
        let mut items = ManuallyDrop::new(items);
        Builds {
            items: items.as_mut_ptr(),
            capacity: items.capacity(),
            builders,
            done: (0..threads).map(|_| AtomicBool::new(false)).collect(),
            owns: PhantomData,
        }
    }

    /// Drops the items built on thread `thread`, unless that was done already.
    fn drop_built_on(&self, thread: usize) {
        let Some(done) = self.done.get(thread) else {
            return;
        };
        if done.swap(true, Ordering::AcqRel) {
            return;
        }
        for (i, &builder) in self.builders.iter().enumerate() {
            if builder == thread {
                // SAFETY: `i` is in bounds (`builders` has the items' length), the item is
                // initialised and dropped here only: no other thread has this index, and
                // `done` stops a second call for it.
                unsafe { std::ptr::drop_in_place(self.items.add(i)) };
            }
        }
    }
}

impl<T> Drop for Builds<T> {
    fn drop(&mut self) {
        // Only a defence: rayon runs a broadcast on every thread of the pool before the
        // thread may exit, so each thread has dropped its items by now. Should a thread not
        // have, its items are dropped here rather than leaked.
        for thread in 0..self.done.len() {
            self.drop_built_on(thread);
        }
        // SAFETY: the pointer and capacity are the vector's own; with a length of 0, only its
        // memory is freed, its items having been dropped above or by their builders.
        drop(unsafe { Vec::from_raw_parts(self.items, 0, self.capacity) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::sync::atomic::AtomicUsize;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    /// Each dropped item's builder, with the pool thread it was dropped on.
    type DroppedOn = Arc<Mutex<Vec<(usize, Option<usize>)>>>;

    /// An item that records, when dropped, on which thread of the pool that happened.
    struct Tracked {
        built_on: usize,
        dropped_on: DroppedOn,
        drops: Arc<AtomicUsize>,
    }

    impl Drop for Tracked {
        fn drop(&mut self) {
            self.dropped_on
                .lock()
                .unwrap()
                .push((self.built_on, rayon::current_thread_index()));
            self.drops.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// `n` items, the `i`th marked as built on thread `builder(i)`, with where they will be
    /// dropped and how many were.
    fn tracked(
        n: usize,
        builder: impl Fn(usize) -> usize,
    ) -> (Vec<Tracked>, DroppedOn, Arc<AtomicUsize>) {
        let dropped_on: DroppedOn = Arc::default();
        let drops = Arc::new(AtomicUsize::new(0));
        let items = (0..n)
            .map(|i| Tracked {
                built_on: builder(i),
                dropped_on: Arc::clone(&dropped_on),
                drops: Arc::clone(&drops),
            })
            .collect();
        (items, dropped_on, drops)
    }

    /// Waits (at most ten seconds) until `n` items were dropped.
    fn wait_for_drops(drops: &AtomicUsize, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while drops.load(Ordering::SeqCst) < n {
            assert!(
                Instant::now() < deadline,
                "only {} of {n} items dropped",
                drops.load(Ordering::SeqCst)
            );
            std::thread::yield_now();
        }
    }

    fn pool(threads: usize) -> ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
    }

    #[test]
    fn each_item_is_dropped_once_on_the_thread_that_built_it() {
        let pool = pool(3);
        let dropped_on: DroppedOn = Arc::default();
        let drops = Arc::new(AtomicUsize::new(0));
        // Built on every thread for certain (a parallel iterator over a few cheap items may
        // run on one), then interleaved as a batch's rows are.
        let per_thread: Vec<Vec<Tracked>> = pool.broadcast(|ctx| {
            (0..100)
                .map(|_| Tracked {
                    built_on: ctx.index(),
                    dropped_on: Arc::clone(&dropped_on),
                    drops: Arc::clone(&drops),
                })
                .collect()
        });
        let mut per_thread: Vec<_> = per_thread.into_iter().map(Vec::into_iter).collect();
        let items: Vec<Tracked> = (0..100)
            .flat_map(|_| {
                per_thread
                    .iter_mut()
                    .filter_map(Iterator::next)
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(items.len(), 300);
        free_where_built(&pool, items, |t| t.built_on);
        wait_for_drops(&drops, 300);
        let dropped_on = dropped_on.lock().unwrap();
        assert_eq!(dropped_on.len(), 300);
        for &(built, dropped) in dropped_on.iter() {
            assert_eq!(Some(built), dropped);
        }
        let droppers: HashSet<_> = dropped_on.iter().map(|&(_, on)| on).collect();
        assert_eq!(droppers.len(), 3);
    }

    #[test]
    fn builders_out_of_range_are_taken_modulo_the_pool_and_nothing_leaks() {
        let pool = pool(2);
        let (items, dropped_on, drops) = tracked(10, |i| i);
        free_where_built(&pool, items, |t| t.built_on);
        wait_for_drops(&drops, 10);
        for &(built, dropped) in dropped_on.lock().unwrap().iter() {
            assert_eq!(Some(built % 2), dropped);
        }
    }

    #[test]
    fn a_pool_dropped_at_once_still_frees_each_item_on_its_builder() {
        let (items, dropped_on, drops) = tracked(100, |i| i % 2);
        free_where_built(&pool(2), items, |t| t.built_on);
        wait_for_drops(&drops, 100);
        for &(built, dropped) in dropped_on.lock().unwrap().iter() {
            assert_eq!(Some(built), dropped);
        }
    }

    #[test]
    fn empty_batches_and_zero_sized_items_are_freed() {
        static UNITS: AtomicUsize = AtomicUsize::new(0);
        struct Unit;
        impl Drop for Unit {
            fn drop(&mut self) {
                UNITS.fetch_add(1, Ordering::SeqCst);
            }
        }
        let pool = pool(2);
        free_where_built(&pool, Vec::<String>::with_capacity(100), |_| 7);
        free_where_built(&pool, Vec::<String>::new(), |_| 0);
        free_where_built(&pool, (0..1000).map(|_| Unit).collect(), |_| 1);
        wait_for_drops(&UNITS, 1000);
    }

    #[test]
    fn items_left_by_threads_that_never_ran_are_dropped_with_their_memory() {
        let (items, _, drops) = tracked(5, |i| i % 2);
        let builds = Builds::new(items, 2, |t| t.built_on);
        builds.drop_built_on(1);
        builds.drop_built_on(1);
        assert_eq!(drops.load(Ordering::SeqCst), 2);
        drop(builds);
        assert_eq!(drops.load(Ordering::SeqCst), 5);
    }
}
