//! A set of auditID hashes whose memory does not grow with the log.
//!
//! Counting a request once means remembering which auditIDs were already seen. Remembering
//! all of them costs about 16 bytes per request, so a log ten times larger needs ten times the
//! memory. But the events of one request are written close together: RequestReceived and
//! ResponseComplete of an ordinary request are neighbours, and even a watch (the longest-lived
//! request, at most about an hour with the apiserver's default `--min-request-timeout`) spans
//! only the requests made during its lifetime. [`RecentIds`] therefore remembers a *window* of
//! the most recent distinct IDs: at least [`RecentIds::window`] and at most twice as many, in
//! two generations that are rotated when the newer one is full.
//!
//! The price: two events of one request more than a window of distinct requests apart may be
//! counted as two requests (and a kubelet request get two rows). With the default window of
//! [`DEFAULT_WINDOW`] requests that means a request that lived through 1.8 million others
//! (half an hour of a cluster serving a thousand requests per second), or a whole copy of a
//! log given next to the original and more than a window long. `--dedup-window` moves the
//! line. Memory is bounded by the window: two hash tables of 2^21 buckets (9 bytes each) at
//! the default, 36 MiB; a scan holds two such sets (all requests, and emitted kubelet
//! requests), 72 MiB.
//!
//! Each remembered ID also counts the events that carried it, so that a line counted as an
//! event and found bad later ([`RecentIds::forget`]) uncounts its request only when no other
//! event counted it: whether another did cannot be told from the order lines are read in (the
//! other may be merged in the same step, before the bad line is found). The count takes the
//! high [`COUNT_BITS`] bits of the stored hash, so IDs are told apart by the other 60.

use hashbrown::HashTable;

#[cfg(doc)]
use crate::scan::prefilter::audit_id_hash;

/// The default window, in distinct requests: 7/8 of 2^21, the most a hash table of 2^21
/// buckets holds before it doubles.
pub const DEFAULT_WINDOW: usize = 1_835_008;

/// The high bits of a stored entry that count the events of its ID. The count saturates: an ID
/// counted that many times stays counted, which is exact as long as fewer events of one
/// request may still turn out bad at once (a scan holds at most a few: a line taken unparsed,
/// the event it replaced, and those of a chunk being merged).
pub const COUNT_BITS: u32 = 4;
/// The bits of a stored entry that tell IDs apart.
const ID: u64 = u64::MAX >> COUNT_BITS;
/// One event, in the count's bits.
const ONE: u64 = ID + 1;
/// The count that stays (see [`COUNT_BITS`]).
const SATURATED: u64 = (1 << COUNT_BITS) - 1;

/// How many events a stored entry counts.
fn count(entry: u64) -> u64 {
    entry >> (64 - COUNT_BITS)
}

/// The table's hash of an entry or an [`audit_id_hash`]: of the bits that tell IDs apart,
/// mixed again so that the table's tags (its hashes' high bits) see all of them.
fn slot_hash(entry: u64) -> u64 {
    (entry & ID).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// Whether a stored entry is that of the ID hash `h`.
fn same_id(h: u64) -> impl Fn(&u64) -> bool {
    move |entry| (entry ^ h) & ID == 0
}

/// A window of recently seen 64-bit auditID hashes ([`audit_id_hash`]), in two generations,
/// each with the number of events that carried it.
#[derive(Debug)]
pub struct RecentIds {
    current: HashTable<u64>,
    previous: HashTable<u64>,
    window: usize,
    distinct: u64,
    generation: u64,
}

impl Default for RecentIds {
    fn default() -> Self {
        RecentIds::new(DEFAULT_WINDOW)
    }
}

impl RecentIds {
    /// A set remembering at least the last `window` distinct hashes (at least one).
    pub fn new(window: usize) -> Self {
        RecentIds {
            current: HashTable::new(),
            previous: HashTable::new(),
            window: window.max(1),
            distinct: 0,
            generation: 0,
        }
    }

    /// How many distinct hashes are remembered at least.
    pub fn window(&self) -> usize {
        self.window
    }

    /// Makes room for about `more` new hashes at once, no more than the window holds: a table
    /// grown by doubling from empty rehashes every ID into new memory, which the kernel clears
    /// first, at each step. Only a hint: nothing is reserved if the memory cannot be had.
    pub fn reserve(&mut self, more: usize) {
        let room = self.window.saturating_sub(self.current.len());
        let _ = self.current.try_reserve(more.min(room), |&e| slot_hash(e));
    }

    /// Whether `h` is still remembered.
    pub fn contains(&self, h: u64) -> bool {
        let slot = slot_hash(h);
        self.current.find(slot, same_id(h)).is_some()
            || self.previous.find(slot, same_id(h)).is_some()
    }

    /// Counts an event of `h`; true if `h` was not remembered (and so is counted as a new
    /// request).
    pub fn insert(&mut self, h: u64) -> bool {
        let slot = slot_hash(h);
        for table in [&mut self.current, &mut self.previous] {
            if let Some(entry) = table.find_mut(slot, same_id(h)) {
                if count(*entry) != SATURATED {
                    *entry += ONE;
                }
                return false;
            }
        }
        if self.current.len() >= self.window {
            // The older generation is forgotten; its table is reused for the next one.
            std::mem::swap(&mut self.current, &mut self.previous);
            self.current.clear();
            self.generation += 1;
        }
        self.current
            .insert_unique(slot, (h & ID) + ONE, |&e| slot_hash(e));
        self.distinct += 1;
        true
    }

    /// Uncounts one event of `h`, counted by mistake (a line found bad after it was counted):
    /// the request too, if no other event counted it. Nothing, if `h` is no longer remembered:
    /// an event counted before its ID left the window stays counted (and one of an ID counted
    /// anew since then is taken from the new count).
    pub fn forget(&mut self, h: u64) {
        let slot = slot_hash(h);
        for table in [&mut self.current, &mut self.previous] {
            if let Ok(entry) = table.find_entry(slot, same_id(h)) {
                match count(*entry.get()) {
                    1 => {
                        entry.remove();
                        self.distinct -= 1;
                    }
                    SATURATED => {}
                    _ => *entry.into_mut() -= ONE,
                }
                return;
            }
        }
    }

    /// Hashes counted as new so far, less those whose every event was uncounted.
    pub fn distinct(&self) -> u64 {
        self.distinct
    }

    /// How many times the generations were rotated: a hash inserted in generation `g` is
    /// remembered at least until generation `g + 1` ends.
    pub fn generation(&self) -> u64 {
        self.generation
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_at_least_the_window_and_forgets_older_ids() {
        let mut ids = RecentIds::new(3);
        for h in 1..=3 {
            assert!(ids.insert(h));
        }
        assert!(!ids.insert(1));
        // The fourth rotates: 1..=3 are the previous generation, still remembered.
        assert!(ids.insert(4));
        assert_eq!(ids.generation(), 1);
        assert!(!ids.insert(2));
        assert!(ids.insert(5));
        assert!(ids.insert(6));
        // Rotates again: 1..=3 are forgotten, 4..=6 remembered.
        assert!(ids.insert(7));
        assert_eq!(ids.generation(), 2);
        assert!(!ids.contains(1));
        assert!(ids.contains(4) && ids.contains(7));
        assert!(ids.insert(1), "an id older than the window counts again");
        assert_eq!(ids.distinct(), 8);
    }

    #[test]
    fn an_id_is_uncounted_when_every_event_of_it_is() {
        let mut ids = RecentIds::new(4);
        assert!(ids.insert(7));
        assert!(!ids.insert(7));
        assert!(ids.insert(8));
        ids.forget(7);
        assert_eq!(ids.distinct(), 2, "one event of 7 is still counted");
        assert!(ids.contains(7));
        ids.forget(7);
        assert_eq!(ids.distinct(), 1);
        assert!(!ids.contains(7));
        // Forgetting what is not remembered changes nothing.
        ids.forget(7);
        ids.forget(9);
        assert_eq!(ids.distinct(), 1);
        // Counted again when an event of it comes again.
        assert!(ids.insert(7));
        assert_eq!(ids.distinct(), 2);
        // IDs differ by the bits below the count: one whose bits differ only there is the same.
        assert!(!ids.insert(7 | 1 << 63));
        // An ID in the older generation counts its events there.
        for h in 10..13 {
            assert!(ids.insert(h));
        }
        assert_eq!(ids.generation(), 1);
        ids.forget(8);
        assert_eq!(ids.distinct(), 4, "8 was in the older generation");
        assert!(!ids.contains(8));
    }

    #[test]
    fn a_count_that_reached_its_limit_stays_counted() {
        // Not a state a scan reaches (it never holds that many events of one request that may
        // still turn out bad), but the count must not wrap.
        let mut ids = RecentIds::new(4);
        let limit = (1u64 << COUNT_BITS) - 1;
        for _ in 0..limit + 3 {
            ids.insert(5);
        }
        for _ in 0..limit + 3 {
            ids.forget(5);
        }
        assert_eq!(ids.distinct(), 1);
        assert!(ids.contains(5));
        // One short of the limit, every event is uncounted.
        ids.insert(6);
        for _ in 1..limit - 1 {
            ids.insert(6);
        }
        for _ in 0..limit - 1 {
            ids.forget(6);
        }
        assert_eq!(ids.distinct(), 1);
        assert!(!ids.contains(6));
    }

    #[test]
    fn reserving_takes_no_more_than_the_window() {
        let mut ids = RecentIds::new(1000);
        ids.reserve(usize::MAX);
        let reserved = ids.current.capacity();
        assert!((1000..2000).contains(&reserved), "{reserved}");
        for h in 0..1000 {
            assert!(ids.insert(h));
        }
        assert_eq!(
            ids.current.capacity(),
            reserved,
            "no growth within the window"
        );
        // Reserving changes nothing of the answers: the window still rotates by count.
        assert!(ids.insert(1000));
        assert_eq!((ids.generation(), ids.distinct()), (1, 1001));
        assert!(ids.contains(0) && ids.contains(1000));
    }
}
