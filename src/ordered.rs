//! Batches read one after another, worked on a rayon pool as soon as each is read, and merged
//! in the order they were read.
//!
//! `analyze` reads the spill file back in batches, decides each batch's requests on the pool,
//! and merges the rows into summaries that must see them in the log's order. When one thread
//! read a batch, had the pool decide it, and only then read the next, the workers waited for
//! every read and for the last request of every batch. Here a reading thread hands each batch
//! to the pool as soon as it is full, so that the workers start on it while the one before is
//! still being finished, and the merging thread puts the results back in order.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::mpsc::channel;

use rayon::ThreadPool;

/// Reads batches with `refill` on a thread of its own until it returns `Ok(false)`, runs
/// `work` on each on `pool`, and calls `merge` on this thread with the results in the order
/// the batches were read.
///
/// `batches` are all the batches there are: each is refilled, waits, is worked on, waits to be
/// merged, and is refilled again once its result is merged. So memory stays that of these
/// batches and of their results, and as many batches may be in flight at once. With none,
/// nothing is read.
///
/// The first error, of a refill or of a work, in the order of the batches, is returned after
/// the results of the batches before it are merged; nothing after it is merged, and reading
/// stops once the batches that were waiting to be refilled are used up (their results are
/// dropped). A panic in `work` is raised again on this thread at that batch's turn, once the
/// batches handed to the pool are done.
pub fn work_in_order<B, R, E>(
    pool: &ThreadPool,
    batches: impl IntoIterator<Item = B>,
    mut refill: impl FnMut(&mut B) -> Result<bool, E> + Send,
    work: impl Fn(&B) -> Result<R, E> + Sync,
    mut merge: impl FnMut(R),
) -> Result<(), E>
where
    B: Send,
    R: Send,
    E: Send,
{
    // A batch's number, the batch (none when its refill failed), and its result, or the
    // panic of its work: a job that unwound without a word would leave the merge waiting for
    // its batch forever.
    type Outcome<R, E> = std::thread::Result<Result<R, E>>;
    type Done<B, R, E> = (u64, Option<B>, Outcome<R, E>);
    let (done_tx, done_rx) = channel::<Done<B, R, E>>();
    let (free_tx, free_rx) = channel::<B>();
    let mut given = 0;
    for batch in batches {
        // Cannot fail: the receiver is alive.
        let _ = free_tx.send(batch);
        given += 1;
    }
    if given == 0 {
        return Ok(());
    }
    let work = &work;
    std::thread::scope(|scope| {
        scope.spawn(move || {
            pool.in_place_scope(|jobs| {
                // Ends when the merging thread has stopped (it holds the batches' way back).
                for (seq, mut batch) in (0u64..).zip(free_rx.iter()) {
                    match refill(&mut batch) {
                        Ok(true) => {
                            let done_tx = done_tx.clone();
                            jobs.spawn(move |_| {
                                let result = catch_unwind(AssertUnwindSafe(|| work(&batch)));
                                // The merging thread may have stopped at an error before.
                                let _ = done_tx.send((seq, Some(batch), result));
                            });
                        }
                        Ok(false) => break,
                        Err(e) => {
                            let _ = done_tx.send((seq, None, Ok(Err(e))));
                            break;
                        }
                    }
                }
            });
        });
        // Dropped when this thread stops, at an error or a panic too: the reader, waiting for a
        // batch to come back, then stops.
        let free_tx = free_tx;
        // Results that came before those of the batches read before them.
        let mut early: BTreeMap<u64, (Option<B>, Outcome<R, E>)> = BTreeMap::new();
        let mut next = 0;
        for (seq, batch, result) in done_rx {
            early.insert(seq, (batch, result));
            while let Some((batch, result)) = early.remove(&next) {
                next += 1;
                match result {
                    Ok(Ok(result)) => merge(result),
                    Ok(Err(e)) => return Err(e),
                    Err(panic) => resume_unwind(panic),
                }
                if let Some(batch) = batch {
                    // The reader may have read the last batch already.
                    let _ = free_tx.send(batch);
                }
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn pool(threads: usize) -> ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
    }

    /// `f`'s value, run on a thread of its own; the test fails, rather than hangs, when `f`
    /// takes more than a minute (`what` it would then be hung on).
    fn within_a_minute<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(f());
        });
        rx.recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("work_in_order hung {what}"))
    }

    /// A reader of `total` numbered batches that fails at batch `fail_at`, if given.
    fn numbers(total: u32, fail_at: Option<u32>) -> impl FnMut(&mut u32) -> Result<bool, String> {
        let mut read = 0;
        move |batch| {
            if Some(read) == fail_at {
                return Err(format!("read {read}"));
            }
            *batch = read;
            read += 1;
            Ok(read <= total)
        }
    }

    #[test]
    fn results_are_merged_in_the_order_read_whatever_order_they_are_done_in() {
        let mut merged = Vec::new();
        // Earlier batches take longer, so that later ones are done first.
        let work = |b: &u32| -> Result<u32, String> {
            std::thread::sleep(Duration::from_micros(u64::from(8 - b % 8) * 300));
            Ok(b * 10)
        };
        work_in_order(&pool(3), [0; 4], numbers(40, None), work, |r| {
            merged.push(r)
        })
        .unwrap();
        assert_eq!(merged, (0..40).map(|b| b * 10).collect::<Vec<_>>());
    }

    #[test]
    fn every_batch_is_read_and_merged_with_one_batch_or_many_in_flight() {
        for in_flight in [1, 2, 5] {
            let mut merged = Vec::new();
            work_in_order(
                &pool(2),
                vec![0; in_flight],
                numbers(30, None),
                |b| Ok::<_, String>(*b),
                |r| merged.push(r),
            )
            .unwrap();
            assert_eq!(merged, (0..30).collect::<Vec<_>>());
        }
    }

    #[test]
    fn no_batch_reads_nothing() {
        let mut reads = 0;
        let mut read = numbers(30, None);
        let refill = |b: &mut u32| {
            reads += 1;
            read(b)
        };
        work_in_order(&pool(2), [], refill, |b| Ok::<_, String>(*b), |_| {}).unwrap();
        assert_eq!(reads, 0);
    }

    #[test]
    fn a_failed_read_comes_after_the_results_of_the_batches_before_it() {
        let mut merged = Vec::new();
        let e = work_in_order(
            &pool(2),
            [0; 4],
            numbers(40, Some(17)),
            |b| Ok::<_, String>(*b),
            |r| merged.push(r),
        )
        .unwrap_err();
        assert_eq!(e, "read 17");
        assert_eq!(merged, (0..17).collect::<Vec<_>>());
    }

    #[test]
    fn a_failed_work_is_returned_after_the_results_before_it_and_nothing_hangs() {
        let (e, merged) = within_a_minute("after a failed work", || {
            let mut merged = Vec::new();
            let work = |b: &u32| match *b {
                // A later batch fails too, and is done first: the earlier failure is returned.
                9 => {
                    std::thread::sleep(Duration::from_millis(5));
                    Err(format!("work {b}"))
                }
                10 => Err(format!("work {b}")),
                b => Ok(b),
            };
            let e = work_in_order(&pool(2), [0; 3], numbers(1000, None), work, |r| {
                merged.push(r)
            })
            .unwrap_err();
            (e, merged)
        });
        assert_eq!(e, "work 9");
        assert_eq!(merged, (0..9).collect::<Vec<_>>());
    }

    #[test]
    fn a_panic_in_the_work_is_raised_again_and_nothing_hangs() {
        let (message, merged) = within_a_minute("after a panic", || {
            let mut merged = Vec::new();
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                work_in_order(
                    &pool(2),
                    [0; 4],
                    numbers(100, None),
                    |b| match *b {
                        5 => panic!("batch 5"),
                        b => Ok::<_, String>(b),
                    },
                    |r| merged.push(r),
                )
            }));
            let message = outcome
                .err()
                .and_then(|p| p.downcast_ref::<&str>().map(|m| m.to_string()));
            (message, merged)
        });
        assert_eq!(message.as_deref(), Some("batch 5"));
        assert_eq!(merged, (0..5).collect::<Vec<_>>());
    }

    #[test]
    fn nothing_read_merges_nothing() {
        let mut merged = 0;
        work_in_order(
            &pool(1),
            [0; 2],
            numbers(0, None),
            |b| Ok::<_, String>(*b),
            |_| merged += 1,
        )
        .unwrap();
        assert_eq!(merged, 0);
    }
}
