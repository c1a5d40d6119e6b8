//! The allocator of the `nodeauthz` binary: mimalloc, asked the way the standard library asks
//! the C library's `malloc`.
//!
//! The `mimalloc` crate's allocator passes every request to `mi_malloc_aligned`. That checks
//! the alignment, takes a small block only if the free one it finds happens to be aligned,
//! and otherwise goes a longer way (for a size that is no power of two, over-allocating by the
//! alignment). Nearly every allocation here (strings, vectors of them, boxed records) asks
//! for no more alignment than every `mi_malloc` block has, and the aligned path took about
//! three times the instructions: a run on the 100 MB benchmark log made 992 thousand
//! allocations, and asking `mi_malloc` for those cut its instructions by 2.1%.
//!
//! `mi_malloc` is asked only when C's `malloc` contract already gives the alignment, which
//! mimalloc, a `malloc` replacement, keeps: at most 16, and at most the size (the rule the
//! standard library's `System` allocator uses on Unix). The `mimalloc` crate once had a
//! second rule, an alignment equal to the size up to a page, and dropped its shortcut when
//! that rule turned out to give under-aligned blocks once mimalloc pads them
//! (RUSTSEC-2022-0094): that rule is deliberately not here.

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys::{
    mi_free, mi_malloc, mi_malloc_aligned, mi_realloc, mi_realloc_aligned, mi_zalloc,
    mi_zalloc_aligned,
};

/// The largest alignment every `mi_malloc` block of at least that size has: mimalloc's
/// `MI_MAX_ALIGN_SIZE`, C's `alignof(max_align_t)` on 64-bit targets. Above 8 bytes its size
/// classes are multiples of 16 bytes (it defines `MI_ALIGN2W` there), a page's first block
/// starts 16-aligned, and so does a huge block; a block of at most 8 bytes is 8-aligned.
/// Built without libmimalloc-sys's `debug` features: their guarded blocks, when sampling is
/// turned on, sit right before a guard page and are aligned only to 8.
const MALLOC_ALIGN: usize = 16;

/// Whether `mi_malloc(size)` (or `mi_realloc(_, size)`) already gives `align`: as C's `malloc`,
/// a block is aligned for any object that fits in it, up to [`MALLOC_ALIGN`].
fn malloc_suffices(size: usize, align: usize) -> bool {
    align <= MALLOC_ALIGN && align <= size
}

/// mimalloc as the global allocator (see the module documentation).
pub struct MiMalloc;

// SAFETY: every block comes from mimalloc, which is thread-safe, and satisfies its layout:
// through `mi_malloc`, `mi_zalloc` and `mi_realloc` only when those align it as asked
// (`malloc_suffices`), else through their `_aligned` forms, which take the alignment.
// `mi_free` and `mi_realloc*` take any block of mimalloc's, however it was allocated. A null
// return (out of memory) is passed on, as `GlobalAlloc` requires.
unsafe impl GlobalAlloc for MiMalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: see the impl.
        unsafe {
            if malloc_suffices(layout.size(), layout.align()) {
                mi_malloc(layout.size()).cast()
            } else {
                mi_malloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: see the impl.
        unsafe {
            if malloc_suffices(layout.size(), layout.align()) {
                mi_zalloc(layout.size()).cast()
            } else {
                mi_zalloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` is a block this allocator returned (the caller's contract).
        unsafe { mi_free(ptr.cast::<c_void>()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` is a block this allocator returned (the caller's contract); the new
        // block is aligned as the layout asks (see the impl).
        unsafe {
            if malloc_suffices(new_size, layout.align()) {
                mi_realloc(ptr.cast::<c_void>(), new_size).cast()
            } else {
                mi_realloc_aligned(ptr.cast::<c_void>(), new_size, layout.align()).cast()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Blocks of every size up to a few kilobytes, for every alignment up to a page, come back
    /// aligned as asked, and keep their bytes when grown or shrunk.
    #[test]
    fn blocks_are_aligned_as_asked_and_keep_their_bytes() {
        let a = MiMalloc;
        for align in [1, 2, 4, 8, 16, 32, 64, 4096] {
            for size in (1..=300).chain([511, 512, 1000, 1024, 4096, 70_000]) {
                let layout = Layout::from_size_align(size, align).expect("a layout");
                // SAFETY: a non-zero size; every block is freed with its layout.
                unsafe {
                    let p = a.alloc(layout);
                    assert!(!p.is_null());
                    assert_eq!(p as usize % align, 0, "size {size} align {align}");
                    for i in 0..size {
                        *p.add(i) = i as u8;
                    }
                    let z = a.alloc_zeroed(layout);
                    assert_eq!(z as usize % align, 0, "zeroed size {size} align {align}");
                    assert!((0..size).all(|i| *z.add(i) == 0));
                    a.dealloc(z, layout);
                    for new_size in [size / 2 + 1, size * 3] {
                        let q = a.alloc(layout);
                        std::ptr::copy_nonoverlapping(p, q, size);
                        let r = a.realloc(q, layout, new_size);
                        assert_eq!(
                            r as usize % align,
                            0,
                            "realloc {size}->{new_size} align {align}"
                        );
                        let kept = size.min(new_size);
                        assert!((0..kept).all(|i| *r.add(i) == i as u8));
                        a.dealloc(
                            r,
                            Layout::from_size_align(new_size, align).expect("a layout"),
                        );
                    }
                    a.dealloc(p, layout);
                }
            }
        }
    }
}
