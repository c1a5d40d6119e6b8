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

use std::collections::HashSet;

use crate::scan::prefilter::IdHash;

/// The default window, in distinct requests: 7/8 of 2^21, the most a hash table of 2^21
/// buckets holds before it doubles.
pub const DEFAULT_WINDOW: usize = 1_835_008;

/// A window of recently seen 64-bit auditID hashes, in two generations.
#[derive(Debug)]
pub struct RecentIds {
    current: HashSet<u64, IdHash>,
    previous: HashSet<u64, IdHash>,
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
            current: HashSet::default(),
            previous: HashSet::default(),
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
        let _ = self.current.try_reserve(more.min(room));
    }

    /// Whether `h` is still remembered.
    pub fn contains(&self, h: u64) -> bool {
        self.current.contains(&h) || self.previous.contains(&h)
    }

    /// Remembers `h`; true if it was not remembered (and so is counted as new).
    pub fn insert(&mut self, h: u64) -> bool {
        if self.contains(h) {
            return false;
        }
        if self.current.len() >= self.window {
            // The older generation is forgotten; its table is reused for the next one.
            std::mem::swap(&mut self.current, &mut self.previous);
            self.current.clear();
            self.generation += 1;
        }
        self.current.insert(h);
        self.distinct += 1;
        true
    }

    /// Forgets `h` and uncounts it, if it is remembered: it was counted by mistake.
    pub fn forget(&mut self, h: u64) {
        if self.current.remove(&h) || self.previous.remove(&h) {
            self.distinct -= 1;
        }
    }

    /// Hashes counted as new so far.
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
