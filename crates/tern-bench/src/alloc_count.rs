//! A global allocator that counts allocations, to report allocations per decoded packet.
//!
//! Install it in a binary with
//! `#[global_allocator] static ALLOC: tern_bench::alloc_count::Counting = Counting;`
//! and read [`allocations`] around the code of interest. Without it installed the counter
//! stays at zero, which [`installed`] tells apart from "allocates nothing".

// `GlobalAlloc` is an unsafe trait: implementing it (even by forwarding every call to the
// system allocator, as here) needs `unsafe impl` and unsafe calls. The workspace denies
// unsafe code; this file is the one place in the bench crate that needs it.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// The system allocator, counting every `alloc`, `alloc_zeroed` and `realloc` call (a
/// `realloc` is a new allocation as far as cost goes).
#[derive(Debug, Clone, Copy, Default)]
pub struct Counting;

impl Counting {
    #[inline]
    fn count() {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// `GlobalAlloc` contract is `System`'s; the counters are plain atomics.
unsafe impl GlobalAlloc for Counting {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Self::count();
        INSTALLED.store(true, Ordering::Relaxed);
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Self::count();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` through this allocator with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        Self::count();
        // SAFETY: `ptr` came from `System` with `layout`; the caller upholds the contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Allocations (including reallocations) made by the whole process so far.
#[inline]
pub fn allocations() -> u64 {
    ALLOCATIONS.load(Ordering::Relaxed)
}

/// Whether [`Counting`] is the global allocator (it has seen an allocation).
pub fn installed() -> bool {
    // Make sure at least one allocation has happened through whatever allocator is installed.
    drop(std::hint::black_box(Box::new(0u8)));
    INSTALLED.load(Ordering::Relaxed)
}
