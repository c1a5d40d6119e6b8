//! Freeing what a rayon pool's workers built, each item on the worker that built it.
//!
//! mimalloc gives every thread its own pages. A block freed by another thread than the one
//! that allocated it is pushed onto its page's shared list, which the owner takes back later,
//! and the owner's next allocations from those blocks miss the cache: the freeing core wrote
//! them last. `analyze` built each request's row (some fifteen strings and lists) on one
//! deciding worker, read it on the merging thread, and freed the whole batch on whichever
//! worker picked up the job, so about half the blocks went back across cores. In the profile
//! of the 1 GB benchmark log, mimalloc's allocation fast path was then the largest leaf of the
//! deciding phase (17% of its samples), nearly all of it on the load of a free block's link.
//! [`free_where_built`] sends each item back to its builder instead.

use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rayon::ThreadPool;

/// Drops each of `items` on the thread of `pool` that built it, as `built_on` tells (an index
/// of `pool`'s threads, as [`rayon::current_thread_index`] gave it there; any other value is
/// taken modulo the pool's size). Returns at once: the threads drop their items when they next
/// look for work, as `pool.spawn` would.
pub fn free_where_built<T: Send + 'static>(
    pool: &ThreadPool,
    items: Vec<T>,
    built_on: impl Fn(&T) -> usize,
) {
    let threads = pool.current_num_threads().max(1);
    let builders = items.iter().map(|t| built_on(t) % threads).collect();
    let items = Arc::new(Builds::new(items, builders, threads));
    pool.spawn_broadcast(move |ctx| items.drop_built_on(ctx.index()));
}

/// Items waiting to be dropped by their builders. Each thread drops only the items it built,
/// once ([`Builds::drop_built_on`]); the vector's memory is freed with the last reference.
struct Builds<T> {
    /// The items' memory, taken from their vector, whose length is that of `builders`.
    items: *mut T,
    capacity: usize,
    /// For each item, the index of the thread that built it (less than `done.len()`).
    builders: Vec<usize>,
    /// Whether each thread has dropped its items.
    done: Vec<AtomicBool>,
}

// SAFETY: the items are only ever touched by `drop_built_on`, which drops each of them on the
// one thread whose index is its builder's, at most once (`done`); `T: Send` lets an item be
// dropped on that thread. Threads share nothing else but the immutable `builders`.
unsafe impl<T: Send> Send for Builds<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Builds<T> {}

impl<T> Builds<T> {
    fn new(items: Vec<T>, builders: Vec<usize>, threads: usize) -> Self {
        debug_assert_eq!(items.len(), builders.len());
        debug_assert!(builders.iter().all(|&b| b < threads));
        let mut items = ManuallyDrop::new(items);
        Builds {
            items: items.as_mut_ptr(),
            capacity: items.capacity(),
            builders,
            done: (0..threads).map(|_| AtomicBool::new(false)).collect(),
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
        // Threads that never ran their part (the pool torn down first) leave their items to
        // this one, so that nothing leaks.
        for (thread, done) in self.done.iter().enumerate() {
            if !done.load(Ordering::Acquire) {
                self.drop_built_on(thread);
            }
        }
        // SAFETY: the pointer and capacity are the vector's own; with a length of 0, only its
        // memory is freed, its items having been dropped above or by their builders.
        drop(unsafe { Vec::from_raw_parts(self.items, 0, self.capacity) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Mutex;

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
            self.drops.fetch_add(1, Ordering::SeqCst);
            self.dropped_on
                .lock()
                .unwrap()
                .push((self.built_on, rayon::current_thread_index()));
        }
    }

    /// Returns once every thread of `pool` has run the broadcasts spawned before: a thread
    /// takes its broadcast jobs in the order they came.
    fn wait_for_broadcasts(pool: &rayon::ThreadPool) {
        pool.broadcast(|_| ());
    }

    #[test]
    fn each_item_is_dropped_once_on_the_thread_that_built_it() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let dropped_on = Arc::new(Mutex::new(Vec::new()));
        let drops = Arc::new(AtomicUsize::new(0));
        let items: Vec<Tracked> = pool.install(|| {
            use rayon::prelude::*;
            (0..1000)
                .into_par_iter()
                .map(|_| Tracked {
                    built_on: rayon::current_thread_index().unwrap(),
                    dropped_on: Arc::clone(&dropped_on),
                    drops: Arc::clone(&drops),
                })
                .collect()
        });
        free_where_built(&pool, items, |t| t.built_on);
        wait_for_broadcasts(&pool);
        let dropped_on = dropped_on.lock().unwrap();
        assert_eq!(dropped_on.len(), 1000);
        assert_eq!(drops.load(Ordering::SeqCst), 1000);
        for &(built, dropped) in dropped_on.iter() {
            assert_eq!(Some(built), dropped);
        }
    }

    #[test]
    fn builders_out_of_range_are_taken_modulo_the_pool_and_nothing_leaks() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let drops = Arc::new(AtomicUsize::new(0));
        let dropped_on = Arc::new(Mutex::new(Vec::new()));
        let items: Vec<Tracked> = (0..10)
            .map(|i| Tracked {
                built_on: i,
                dropped_on: Arc::clone(&dropped_on),
                drops: Arc::clone(&drops),
            })
            .collect();
        free_where_built(&pool, items, |t| t.built_on);
        wait_for_broadcasts(&pool);
        assert_eq!(drops.load(Ordering::SeqCst), 10);
        for &(built, dropped) in dropped_on.lock().unwrap().iter() {
            assert_eq!(Some(built % 2), dropped);
        }
    }

    #[test]
    fn an_empty_batch_frees_nothing_and_does_not_block() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        free_where_built(&pool, Vec::<String>::new(), |_| 0);
        wait_for_broadcasts(&pool);
    }

    #[test]
    fn items_left_by_threads_that_never_ran_are_dropped_with_the_last_reference() {
        let drops = Arc::new(AtomicUsize::new(0));
        let dropped_on = Arc::new(Mutex::new(Vec::new()));
        let items: Vec<Tracked> = (0..5)
            .map(|i| Tracked {
                built_on: i % 2,
                dropped_on: Arc::clone(&dropped_on),
                drops: Arc::clone(&drops),
            })
            .collect();
        let builders = items.iter().map(|t| t.built_on).collect();
        let builds = Builds::new(items, builders, 2);
        builds.drop_built_on(1);
        builds.drop_built_on(1);
        assert_eq!(drops.load(Ordering::SeqCst), 2);
        drop(builds);
        assert_eq!(drops.load(Ordering::SeqCst), 5);
    }
}
