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
//! line. Memory is bounded by the window: two tables of a third more slots (8 bytes each) than
//! the window, 37 MiB at the default; a scan holds two such sets (all requests, and emitted
//! kubelet requests), 75 MiB.
//!
//! The tables are this module's own rather than a general-purpose map: a scan looks up every
//! line's auditID, and at the default window a table is far larger than the caches, so each
//! lookup waited for memory (an eleventh of the CPU time on a log of mostly non-kubelet
//! lines). Here an ID's slots are one cache line, which [`RecentIds::insert_all`] asks the
//! processor to fetch a few IDs ahead, so that those waits overlap.
//!
//! Each remembered ID also counts the events that carried it, so that a line counted as an
//! event and found bad later ([`RecentIds::forget`]) uncounts its request only when no other
//! event counted it: whether another did cannot be told from the order lines are read in (the
//! other may be merged in the same step, before the bad line is found). The count takes the
//! high [`COUNT_BITS`] bits of the stored hash, so IDs are told apart by the other 60.

use std::alloc::Layout;
use std::collections::TryReserveError;

#[cfg(doc)]
use crate::scan::prefilter::audit_id_hash;

/// The default window, in distinct requests (7/8 of 2^21, the most the hash table this set
/// was first built on held in 2^21 slots).
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
/// A slot whose ID was forgotten: it ends no search (IDs stored past it stay found), and is
/// never an ID's, whose count is at least one.
const TOMBSTONE: u64 = 1;
/// An empty slot: it ends a search.
const EMPTY: u64 = 0;

/// Slots per bucket: one 64-byte cache line.
const SLOTS: usize = 8;
/// The share of a table's slots that may be taken (IDs and tombstones) before it grows, and
/// the most the window's IDs take of a table at its largest size: 3/4. A search for an ID
/// that is not there (every new ID is looked for in both generations) reads its home bucket
/// and the ones after it up to an empty slot: at 3/4 about 1.7 buckets on average, at 7/8
/// about 5 (a simulation of random fills), where the older generation of a full window sat
/// when tables were powers of two.
const MAX_LOAD: (usize, usize) = (3, 4);
/// The share of its slots a table at its largest size may have taken, IDs and tombstones:
/// there it cannot grow, and only dropping its tombstones makes room. As the window's IDs take
/// 3/4 at most, three sixteenths of the slots at least are tombstones when it is rebuilt, so
/// each rebuild is paid for by that many forgotten IDs (with no more room than the IDs', a
/// table whose IDs nearly filled it was rebuilt, all of it, every few forgotten IDs).
const MAX_LOAD_AT_LARGEST: (usize, usize) = (15, 16);
/// The fewest buckets a table that holds anything has.
const MIN_BUCKETS: usize = 4;
/// How many IDs ahead [`RecentIds::insert_all`] (and the deduplication) fetches the buckets
/// of: enough for memory to answer in time, few enough that the lines fetched are still cached
/// when they are read.
pub(crate) const PREFETCH_AHEAD: usize = 12;

/// How many events a stored entry counts.
fn count(entry: u64) -> u64 {
    entry >> (64 - COUNT_BITS)
}

/// The table's hash of an entry or an [`audit_id_hash`]: of the bits that tell IDs apart,
/// mixed again so that a table's position (the product's high bits) sees all of them.
fn slot_hash(entry: u64) -> u64 {
    (entry & ID).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// Whether a stored entry is that of the ID hash `h` (an empty slot or a tombstone is none's).
fn same_id(entry: u64, h: u64) -> bool {
    entry >= ONE && (entry ^ h) & ID == 0
}

/// The slots of one cache line.
#[derive(Debug, Clone, Copy, Default)]
#[repr(C, align(64))]
struct Bucket([u64; SLOTS]);

/// Where a search for an ID ended, as a slot number (bucket × [`SLOTS`] + slot).
enum Probe {
    /// The ID's slot.
    Found(usize),
    /// The ID is not stored; this is where it would go (the first tombstone or empty slot
    /// of its search).
    Vacant(usize),
}

/// One generation: an open-addressing set of entries (an ID's bits and its count), searched
/// from the ID's bucket onwards, bucket after bucket, to the first empty slot.
#[derive(Debug, Default)]
struct Table {
    /// None before the first insert.
    buckets: Vec<Bucket>,
    /// Slots holding an ID.
    live: usize,
    /// Slots holding a [`TOMBSTONE`].
    tombstones: usize,
    /// How many times the table was rebuilt.
    #[cfg(test)]
    rebuilds: usize,
}

impl Table {
    /// The bucket a search for `h` starts at: the high bits of the product of its hash and the
    /// number of buckets, which need not be a power of two (the table at its largest size is
    /// as large as the window needs, no larger).
    fn home(&self, h: u64) -> usize {
        ((u128::from(slot_hash(h)) * self.buckets.len() as u128) >> 64) as usize
    }

    /// Searches for `h`, in a table that has buckets.
    fn find(&self, h: u64) -> Probe {
        let mut b = self.home(h);
        let mut vacant = None;
        // The table is never full (MAX_LOAD_AT_LARGEST at most), so an empty slot ends every
        // search.
        loop {
            for (i, &e) in self.buckets[b].0.iter().enumerate() {
                let at = b * SLOTS + i;
                if e == EMPTY {
                    return Probe::Vacant(vacant.unwrap_or(at));
                }
                if e == TOMBSTONE {
                    vacant.get_or_insert(at);
                } else if same_id(e, h) {
                    return Probe::Found(at);
                }
            }
            b += 1;
            if b == self.buckets.len() {
                b = 0;
            }
        }
    }

    /// Where a search for `h` ends, in a table that has buckets.
    fn search(&self, h: u64) -> Option<Probe> {
        (!self.buckets.is_empty()).then(|| self.find(h))
    }

    /// The slot of `h`, if it is stored.
    fn get(&self, h: u64) -> Option<usize> {
        if self.live == 0 {
            return None;
        }
        match self.find(h) {
            Probe::Found(at) => Some(at),
            Probe::Vacant(_) => None,
        }
    }

    fn slot(&mut self, at: usize) -> &mut u64 {
        &mut self.buckets[at / SLOTS].0[at % SLOTS]
    }

    /// Asks the processor to fetch the bucket a search for `h` starts at, without waiting.
    fn prefetch(&self, h: u64) {
        if self.live == 0 {
            return;
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = h;
        #[cfg(target_arch = "x86_64")]
        if let Some(bucket) = self.buckets.get(self.home(h)) {
            let bucket: *const Bucket = bucket;
            // SAFETY: `_mm_prefetch` needs only SSE, which every x86-64 processor has. A
            // prefetch loads nothing into the program and cannot fault; the address is that
            // of a bucket of this table besides.
            unsafe {
                use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
                _mm_prefetch::<_MM_HINT_T0>(bucket.cast());
            }
        }
    }

    /// Whether `taken` slots and one more are at most the share `load` of `buckets` buckets'
    /// slots.
    fn fits(taken: usize, buckets: usize, load: (usize, usize)) -> bool {
        taken.saturating_add(1).saturating_mul(load.1)
            <= buckets.saturating_mul(SLOTS).saturating_mul(load.0)
    }

    /// Stores a new entry for `h` (not stored), at `vacant` (where its search ended,
    /// [`Probe::Vacant`]) if the table has room for one more: [`MAX_LOAD`], or
    /// [`MAX_LOAD_AT_LARGEST`] at `max_buckets`. Otherwise the table is rebuilt first: doubled
    /// (up to `max_buckets`) below `max_buckets`, unless its IDs take half that room at most
    /// (then, as at `max_buckets`, dropping its tombstones makes the room).
    fn add(&mut self, h: u64, vacant: Option<usize>, max_buckets: usize) {
        let size = self.buckets.len();
        let load = if size >= max_buckets {
            MAX_LOAD_AT_LARGEST
        } else {
            MAX_LOAD
        };
        let at = match vacant {
            Some(at) if Self::fits(self.live + self.tombstones, size, load) => at,
            _ => {
                let buckets = if size == 0 {
                    MIN_BUCKETS
                } else if size < max_buckets && !Self::fits(2 * self.live, size, MAX_LOAD) {
                    size.saturating_mul(2).min(max_buckets)
                } else {
                    size
                };
                if self.rebuild(buckets).is_err() {
                    // What a collection that cannot grow does.
                    std::alloc::handle_alloc_error(
                        Layout::array::<Bucket>(buckets).unwrap_or(Layout::new::<Bucket>()),
                    );
                }
                match self.find(h) {
                    Probe::Vacant(at) => at,
                    Probe::Found(_) => unreachable!("a new ID is not stored"),
                }
            }
        };
        let slot = self.slot(at);
        let reused = *slot == TOMBSTONE;
        *slot = (h & ID) + ONE;
        self.tombstones -= usize::from(reused);
        self.live += 1;
        // What keeps an empty slot at the end of every search.
        debug_assert!(
            Self::fits(
                self.live + self.tombstones - 1,
                self.buckets.len(),
                MAX_LOAD_AT_LARGEST
            ),
            "{} IDs and {} tombstones in {} buckets",
            self.live,
            self.tombstones,
            self.buckets.len()
        );
    }

    /// Moves the entries into a table of `buckets` buckets (at least [`MIN_BUCKETS`]), without
    /// the tombstones; nothing changes if the memory cannot be had.
    fn rebuild(&mut self, buckets: usize) -> Result<(), TryReserveError> {
        let mut fresh = Vec::new();
        fresh.try_reserve_exact(buckets)?;
        fresh.resize(buckets, Bucket::default());
        let old = std::mem::replace(&mut self.buckets, fresh);
        self.tombstones = 0;
        #[cfg(test)]
        {
            self.rebuilds += 1;
        }
        for e in old.iter().flat_map(|b| b.0) {
            if e >= ONE {
                match self.find(e) {
                    Probe::Vacant(at) => *self.slot(at) = e,
                    Probe::Found(_) => unreachable!("stored entries are distinct"),
                }
            }
        }
        Ok(())
    }

    /// How many entries the table holds before it grows.
    #[cfg(test)]
    fn capacity(&self) -> usize {
        self.buckets.len() * SLOTS * MAX_LOAD.0 / MAX_LOAD.1
    }

    /// Forgets every entry, keeping the memory.
    fn clear(&mut self) {
        self.buckets.fill(Bucket::default());
        self.live = 0;
        self.tombstones = 0;
    }
}

/// A window of recently seen 64-bit auditID hashes ([`audit_id_hash`]), in two generations,
/// each with the number of events that carried it.
#[derive(Debug)]
pub struct RecentIds {
    current: Table,
    previous: Table,
    window: usize,
    /// The most buckets a generation needs: the window takes [`MAX_LOAD`] of them at most.
    max_buckets: usize,
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
        let window = window.max(1);
        // A window no table can hold (the command line takes any number) grows its tables
        // until memory runs out, as one that big would.
        let max_buckets = window
            .div_ceil(SLOTS * MAX_LOAD.0 / MAX_LOAD.1)
            .max(MIN_BUCKETS);
        RecentIds {
            current: Table::default(),
            previous: Table::default(),
            window,
            max_buckets,
            distinct: 0,
            generation: 0,
        }
    }

    /// How many distinct hashes are remembered at least.
    pub fn window(&self) -> usize {
        self.window
    }

    /// Makes room for about `more` new hashes at once, no more than the window holds: a table
    /// grown by doubling from empty moves every ID into new memory, which the kernel clears
    /// first, at each step. Only a hint: nothing is reserved if the memory cannot be had.
    pub fn reserve(&mut self, more: usize) {
        let room = self.window.saturating_sub(self.current.live);
        let wanted = self.current.live.saturating_add(more.min(room));
        let mut buckets = self.current.buckets.len().max(MIN_BUCKETS);
        while buckets < self.max_buckets && !Table::fits(wanted, buckets, MAX_LOAD) {
            buckets = buckets.saturating_mul(2).min(self.max_buckets);
        }
        if buckets > self.current.buckets.len() {
            let _ = self.current.rebuild(buckets);
        }
    }

    /// Whether `h` is still remembered.
    pub fn contains(&self, h: u64) -> bool {
        self.current.get(h).is_some() || self.previous.get(h).is_some()
    }

    /// Counts an event of `h`; true if `h` was not remembered (and so is counted as a new
    /// request).
    pub fn insert(&mut self, h: u64) -> bool {
        let vacant = match self.current.search(h) {
            Some(Probe::Found(at)) => {
                count_one_more(self.current.slot(at));
                return false;
            }
            Some(Probe::Vacant(at)) => Some(at),
            None => None,
        };
        if let Some(at) = self.previous.get(h) {
            count_one_more(self.previous.slot(at));
            return false;
        }
        let vacant = if self.current.live >= self.window {
            // The older generation is forgotten; its table is reused for the next one.
            std::mem::swap(&mut self.current, &mut self.previous);
            self.current.clear();
            self.generation += 1;
            match self.current.search(h) {
                Some(Probe::Vacant(at)) => Some(at),
                _ => None,
            }
        } else {
            vacant
        };
        self.current.add(h, vacant, self.max_buckets);
        self.distinct += 1;
        true
    }

    /// Starts loading the buckets where `h` would be, ahead of a search for it: the tables
    /// are larger than the caches, and a search otherwise waits for memory at every step.
    pub fn prefetch(&self, h: u64) {
        self.current.prefetch(h);
        self.previous.prefetch(h);
    }

    /// [`RecentIds::insert`] of each hash in turn, with the buckets of those a few places on
    /// fetched ahead: the same counts, with the memory waits of one ID overlapping the next
    /// ones' searches.
    pub fn insert_all(&mut self, hashes: &[u64]) {
        for (i, &h) in hashes.iter().enumerate() {
            if let Some(&ahead) = hashes.get(i + PREFETCH_AHEAD) {
                self.prefetch(ahead);
            }
            self.insert(h);
        }
    }

    /// Uncounts one event of `h`, counted by mistake (a line found bad after it was counted):
    /// the request too, if no other event counted it. Nothing, if `h` is no longer remembered:
    /// an event counted before its ID left the window stays counted (and one of an ID counted
    /// anew since then is taken from the new count).
    pub fn forget(&mut self, h: u64) {
        for table in [&mut self.current, &mut self.previous] {
            if let Some(at) = table.get(h) {
                let entry = table.slot(at);
                match count(*entry) {
                    1 => {
                        *entry = TOMBSTONE;
                        table.live -= 1;
                        table.tombstones += 1;
                        self.distinct -= 1;
                    }
                    SATURATED => {}
                    _ => *entry -= ONE,
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

/// Counts one more event in a stored entry, up to [`SATURATED`].
fn count_one_more(entry: &mut u64) {
    if count(*entry) != SATURATED {
        *entry += ONE;
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

    /// What [`RecentIds`] must answer, written the obvious way: two generations of maps from
    /// an ID's bits to its count.
    #[derive(Default)]
    struct Model {
        current: std::collections::HashMap<u64, u64>,
        previous: std::collections::HashMap<u64, u64>,
        window: usize,
        distinct: u64,
        generation: u64,
    }

    impl Model {
        fn insert(&mut self, h: u64) -> bool {
            for table in [&mut self.current, &mut self.previous] {
                if let Some(n) = table.get_mut(&(h & ID)) {
                    *n = (*n + 1).min(SATURATED);
                    return false;
                }
            }
            if self.current.len() >= self.window {
                self.previous = std::mem::take(&mut self.current);
                self.generation += 1;
            }
            self.current.insert(h & ID, 1);
            self.distinct += 1;
            true
        }

        fn forget(&mut self, h: u64) {
            for table in [&mut self.current, &mut self.previous] {
                if let Some(n) = table.get_mut(&(h & ID)) {
                    match *n {
                        1 => {
                            table.remove(&(h & ID));
                            self.distinct -= 1;
                        }
                        SATURATED => {}
                        _ => *n -= 1,
                    }
                    return;
                }
            }
        }

        fn contains(&self, h: u64) -> bool {
            self.current.contains_key(&(h & ID)) || self.previous.contains_key(&(h & ID))
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u64),
        InsertAll(Vec<u64>),
        Forget(u64),
        Contains(u64),
        Reserve(usize),
    }

    /// IDs from a small set, so that they meet again (and, in tables of a few buckets, share
    /// buckets and run on into the next), with the count's bits set at random: they must not
    /// tell IDs apart.
    fn id() -> impl proptest::strategy::Strategy<Value = u64> {
        use proptest::prelude::*;
        (0u64..48, 0u64..16, prop::bool::ANY).prop_map(|(i, count_bits, far)| {
            let id = if far { i << 40 } else { i };
            id | count_bits << (64 - COUNT_BITS)
        })
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            4 => id().prop_map(Op::Insert),
            1 => prop::collection::vec(id(), 0..40).prop_map(Op::InsertAll),
            2 => id().prop_map(Op::Forget),
            2 => id().prop_map(Op::Contains),
            1 => (0usize..100).prop_map(Op::Reserve),
        ]
    }

    proptest::proptest! {
        #[test]
        fn answers_as_two_generations_of_maps(
            window in 1usize..60,
            ops in proptest::collection::vec(op(), 0..400),
        ) {
            let mut ids = RecentIds::new(window);
            let mut model = Model { window, ..Model::default() };
            for op in ops {
                match op {
                    Op::Insert(h) => proptest::prop_assert_eq!(ids.insert(h), model.insert(h), "insert {:#x}", h),
                    Op::InsertAll(hs) => {
                        ids.insert_all(&hs);
                        for h in hs {
                            model.insert(h);
                        }
                    }
                    Op::Forget(h) => {
                        ids.forget(h);
                        model.forget(h);
                    }
                    Op::Contains(h) => proptest::prop_assert_eq!(ids.contains(h), model.contains(h), "contains {:#x}", h),
                    Op::Reserve(n) => ids.reserve(n),
                }
                proptest::prop_assert_eq!(ids.distinct(), model.distinct);
                proptest::prop_assert_eq!(ids.generation(), model.generation);
                for (table, expected) in [(&ids.current, &model.current), (&ids.previous, &model.previous)] {
                    // The counts are the slots', counted here rather than trusted.
                    let slots = || table.buckets.iter().flat_map(|b| b.0);
                    let live = slots().filter(|&e| e >= ONE).count();
                    let tombstones = slots().filter(|&e| e == TOMBSTONE).count();
                    proptest::prop_assert_eq!((table.live, table.tombstones), (live, tombstones));
                    proptest::prop_assert_eq!(live, expected.len());
                    // Never full: an empty slot ends every search.
                    proptest::prop_assert!(table.buckets.is_empty() || slots().any(|e| e == EMPTY));
                    proptest::prop_assert!(table.buckets.len() <= ids.max_buckets);
                }
            }
        }
    }

    #[test]
    fn a_forgotten_ids_slot_is_taken_again() {
        let mut ids = RecentIds::new(100);
        for h in 0..20 {
            ids.insert(h);
        }
        let slot = ids.current.get(7);
        let rebuilds = ids.current.rebuilds;
        ids.forget(7);
        assert_eq!((ids.current.live, ids.current.tombstones), (19, 1));
        // Its search passes its own tombstone first, and takes it, without a rebuild.
        assert!(ids.insert(7));
        assert_eq!((ids.current.live, ids.current.tombstones), (20, 0));
        assert_eq!(ids.current.get(7), slot);
        assert_eq!(ids.current.rebuilds, rebuilds);
    }

    #[test]
    fn tombstones_count_against_the_room_for_one_more_id() {
        // A largest table (4 buckets) with 30 of its 32 slots tombstones: its search for a
        // new ID ends at an empty slot, which taking would leave one empty slot in all.
        let mut table = Table::default();
        assert!(table.rebuild(4).is_ok());
        for at in (0..32).filter(|&at| at != 0 && at != 16) {
            *table.slot(at) = TOMBSTONE;
        }
        table.tombstones = 30;
        let h = (0u64..).find(|&h| table.home(h) == 0).unwrap_or_default();
        let vacant = match table.find(h) {
            Probe::Vacant(at) => at,
            Probe::Found(_) => panic!("nothing is stored"),
        };
        assert_eq!(vacant, 0);
        table.add(h, Some(vacant), 4);
        // 31 of 32 taken is past 15/16: the tombstones went first.
        assert_eq!((table.live, table.tombstones), (1, 0));
    }

    #[test]
    fn rotating_reuses_the_older_table_without_rebuilding_it() {
        let mut ids = RecentIds::new(1000);
        for h in 0..2000 {
            ids.insert(h);
        }
        // The first rotation found no older table; the second takes the first's.
        assert_eq!(ids.generation(), 1);
        let older = ids.previous.rebuilds;
        let size = ids.previous.buckets.len();
        assert!(ids.insert(2000));
        assert_eq!(ids.generation(), 2);
        assert_eq!(
            (ids.current.rebuilds, ids.current.buckets.len()),
            (older, size)
        );
        assert_eq!(ids.current.live, 1);
    }

    #[test]
    fn tables_double_as_they_fill_up_to_what_the_window_needs() {
        let mut ids = RecentIds::new(1000);
        // The window takes 3/4 of the largest table's slots at most: 1000 / 6 buckets.
        assert_eq!(ids.max_buckets, 167);
        let mut sizes = vec![];
        for h in 0..1000 {
            ids.insert(h);
            if sizes.last() != Some(&ids.current.buckets.len()) {
                sizes.push(ids.current.buckets.len());
            }
        }
        assert_eq!(sizes, [4, 8, 16, 32, 64, 128, 167]);
        // The default window takes a table of 305,835 buckets (18.7 MiB), not more.
        assert_eq!(RecentIds::default().max_buckets, 305_835);
    }

    #[test]
    fn forgetting_at_the_largest_size_rebuilds_once_per_three_sixteenths_of_the_slots() {
        // A window that fills 3/4 of its largest table but for one ID: its IDs leave it little
        // room, which tombstones must not eat into one rebuild at a time.
        let window = 6 * 64 - 1;
        let mut ids = RecentIds::new(window);
        assert_eq!(ids.max_buckets, 64);
        for h in 0..window as u64 - 1 {
            ids.insert(h);
        }
        let before = ids.current.rebuilds;
        let churn = 10_000u64;
        for h in 0..churn {
            assert!(ids.insert(1 << 40 | h));
            ids.forget(1 << 40 | h);
        }
        assert_eq!(ids.current.buckets.len(), 64);
        assert_eq!(ids.distinct(), window as u64 - 1);
        let rebuilds = ids.current.rebuilds - before;
        // Each rebuild drops at least 512 * 3/16 = 96 tombstones.
        assert!(rebuilds <= churn as usize / 96, "{rebuilds} rebuilds");
    }

    #[test]
    fn tombstones_are_reused_and_dropped_without_growing_past_the_window() {
        let window = 100;
        let mut ids = RecentIds::new(window);
        // Fill and forget, over and over, in one generation: tombstones pile up, and the table
        // must make room by reusing or dropping them.
        for round in 0..50u64 {
            for h in 0..60 {
                assert!(ids.insert(round << 32 | h));
            }
            for h in 0..60 {
                ids.forget(round << 32 | h);
            }
            assert_eq!(ids.distinct(), 0);
        }
        assert_eq!(ids.generation(), 0, "forgotten IDs do not fill the window");
        // 3000 IDs forgotten. 60 IDs fit in 16 buckets (3/4 of 128 slots: 96), grown to in
        // three rebuilds; past that, a rebuild drops a table's tombstones only when its IDs
        // take half its room at most, so at least 48 of them.
        assert_eq!(ids.current.buckets.len(), 16);
        let rebuilds = ids.current.rebuilds;
        assert!(rebuilds <= 3 + 3000 / 48, "{rebuilds}");
    }
}
