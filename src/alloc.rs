//! A small cache of freed large heap blocks in front of the system allocator (the binary's
//! global allocator, `src/main.rs`).
//!
//! The routers' builds are static musl binaries linked by zig, and the C library zig links
//! (0.17) takes `malloc` from Zig's own allocator, which serves every request above 64 KiB
//! with a mapping of its own (`mmap`) and unmaps it on free; musl's own allocator (mallocng)
//! does the same above about 128 KiB. The node's hot paths allocate exactly such blocks over
//! and over: a leaf of an add (256 KiB and its framing), a block read back for a GET or a
//! sync, redb's buffers for a piece. Each was a fresh `mmap`, a page fault per 4 KiB that
//! zeroes the page again, and a `munmap` with its TLB flush (docs/performance.md, "The
//! allocator"). glibc raises its own mapping threshold after the first such free and reuses
//! the memory, which is why the profiling builds (glibc) hid it.
//!
//! [`LargeCache`] keeps up to [`SLOTS`] freed blocks of at least [`MIN_BLOCK`] bytes, at most
//! [`MAX_CACHED`] bytes in all, and hands one back for the next request of the same rounded
//! size; anything else goes to the allocator below unchanged. The bound is what the cache can
//! add to the node's resident memory. Any thread may allocate (libp2p's timer thread does); the
//! cache is behind a lock that is only ever tried, never waited for: a thread that finds it
//! taken goes to the allocator below, so there is no spinning and no way to deadlock.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, Ordering};

/// Blocks smaller than this bypass the cache (the C library serves them from its size classes).
pub const MIN_BLOCK: usize = 64 * 1024;
/// At most this many bytes of freed blocks are kept.
pub const MAX_CACHED: usize = 1024 * 1024;
/// At most this many freed blocks are kept.
pub const SLOTS: usize = 8;
/// Cached blocks are kept and matched by their size rounded up to this many bytes.
const ROUND: usize = 4096;
/// The largest alignment a cached block is known to have (every allocator we sit on gives
/// at least this to a block of [`MIN_BLOCK`] bytes or more: musl's and glibc's `malloc` 16).
const MAX_ALIGN: usize = 16;

#[derive(Clone, Copy)]
struct Slot {
    ptr: *mut u8,
    /// The rounded size the block was allocated with; 0 for an empty slot.
    size: usize,
    /// When it was put, for evicting the oldest first.
    stamp: u64,
}

const EMPTY: Slot = Slot {
    ptr: std::ptr::null_mut(),
    size: 0,
    stamp: 0,
};

struct Slots {
    slots: [Slot; SLOTS],
    clock: u64,
    hits: u64,
    misses: u64,
}

impl Slots {
    /// Bytes held (empty slots count 0).
    fn bytes(&self) -> usize {
        self.slots.iter().map(|slot| slot.size).sum()
    }
}

/// The cache, generic over the allocator below it (`std::alloc::System` in the binary, a
/// counting one in the tests).
pub struct LargeCache<A> {
    inner: A,
    busy: AtomicBool,
    state: UnsafeCell<Slots>,
}

// SAFETY: `state` is only touched by the thread holding `busy` (see `locked`), and the cached
// blocks are plain memory owned by the cache until handed out.
unsafe impl<A: Sync> Sync for LargeCache<A> {}
// SAFETY: the same: the blocks and slots move with the cache.
unsafe impl<A: Send> Send for LargeCache<A> {}

/// The cache's counters: blocks handed back from the cache, large requests it could not serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Large requests served from the cache.
    pub hits: u64,
    /// Large requests passed to the allocator below.
    pub misses: u64,
    /// Bytes held in the cache now.
    pub cached_bytes: usize,
}

impl<A> LargeCache<A> {
    /// An empty cache over `inner`.
    pub const fn new(inner: A) -> Self {
        LargeCache {
            inner,
            busy: AtomicBool::new(false),
            state: UnsafeCell::new(Slots {
                slots: [EMPTY; SLOTS],
                clock: 0,
                hits: 0,
                misses: 0,
            }),
        }
    }

    /// Runs `f` on the slots if the lock is free; `None` if another thread holds it.
    fn locked<R>(&self, f: impl FnOnce(&mut Slots) -> R) -> Option<R> {
        if self
            .busy
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return None;
        }
        // SAFETY: `busy` was false and is now ours: no other reference to the slots exists.
        let r = f(unsafe { &mut *self.state.get() });
        self.busy.store(false, Ordering::Release);
        Some(r)
    }

    /// The counters (a snapshot; zeros while another thread holds the lock).
    pub fn stats(&self) -> Stats {
        self.locked(|s| Stats {
            hits: s.hits,
            misses: s.misses,
            cached_bytes: s.bytes(),
        })
        .unwrap_or(Stats {
            hits: 0,
            misses: 0,
            cached_bytes: 0,
        })
    }

    /// A cached block of exactly `size` rounded bytes, if there is one. Out of line (as is
    /// `put`): every allocation of the program reaches `alloc`, and only large ones get here.
    #[inline(never)]
    fn take(&self, size: usize) -> Option<*mut u8> {
        self.locked(|s| {
            let found = s.slots.iter_mut().find(|slot| slot.size == size);
            match found {
                Some(slot) => {
                    let ptr = slot.ptr;
                    *slot = EMPTY;
                    s.hits += 1;
                    Some(ptr)
                }
                None => {
                    s.misses += 1;
                    None
                }
            }
        })
        .flatten()
    }

    /// Keeps the block; returns the blocks the caller must free below: `block` itself when it
    /// does not fit or the lock is taken, else the oldest blocks evicted to make room.
    #[inline(never)]
    fn put(&self, block: Slot) -> [Slot; SLOTS + 1] {
        let mut out = [EMPTY; SLOTS + 1];
        if block.size > MAX_CACHED {
            out[0] = block;
            return out;
        }
        let kept = self.locked(|s| {
            let mut n = 0;
            loop {
                let full = s.slots.iter().all(|slot| slot.size != 0);
                if !full && s.bytes() + block.size <= MAX_CACHED {
                    break;
                }
                // Evict the oldest: the sizes in use change with the work (an add, then GETs).
                let Some(old) = s
                    .slots
                    .iter_mut()
                    .filter(|slot| slot.size != 0)
                    .min_by_key(|slot| slot.stamp)
                else {
                    break;
                };
                out[n] = *old;
                n += 1;
                *old = EMPTY;
            }
            s.clock += 1;
            let stamp = s.clock;
            if let Some(slot) = s.slots.iter_mut().find(|slot| slot.size == 0) {
                *slot = Slot { stamp, ..block };
            }
        });
        if kept.is_none() {
            out[0] = block;
        }
        out
    }
}

/// The size a request of `layout` is allocated with below, and whether it goes through the
/// cache. Every live block was allocated below with this size, so a block's size can be
/// computed again from the layout it is freed or grown with.
fn cached_size(size: usize, align: usize) -> Option<usize> {
    if size >= MIN_BLOCK && align <= MAX_ALIGN {
        size.checked_add(ROUND - 1).map(|s| s & !(ROUND - 1))
    } else {
        None
    }
}

fn below(size: usize, align: usize) -> usize {
    cached_size(size, align).unwrap_or(size)
}

impl<A: GlobalAlloc> LargeCache<A> {
    /// A block of `size` (rounded) bytes: from the cache, else from below.
    ///
    /// # Safety
    /// `size` is non-zero and `align` a valid alignment.
    #[inline(never)]
    unsafe fn alloc_large(&self, size: usize, align: usize, zeroed: usize) -> *mut u8 {
        if let Some(ptr) = self.take(size) {
            // SAFETY: the block holds `size` >= `zeroed` bytes.
            unsafe { ptr.write_bytes(0, zeroed) };
            return ptr;
        }
        // SAFETY: the caller's guarantees.
        unsafe {
            let layout = Layout::from_size_align_unchecked(size, align);
            if zeroed > 0 {
                self.inner.alloc_zeroed(layout)
            } else {
                self.inner.alloc(layout)
            }
        }
    }

    /// Keeps a freed block of `size` (rounded) bytes, or frees it (or older ones) below.
    ///
    /// # Safety
    /// `ptr` was allocated below with `size` bytes and `align`.
    #[inline(never)]
    unsafe fn dealloc_large(&self, ptr: *mut u8, size: usize, align: usize) {
        for slot in self.put(Slot {
            ptr,
            size,
            stamp: 0,
        }) {
            if slot.size != 0 {
                // SAFETY: each block was allocated below with this size (see `cached_size`).
                unsafe {
                    self.inner.dealloc(
                        slot.ptr,
                        Layout::from_size_align_unchecked(slot.size, align),
                    )
                }
            }
        }
    }
}

// SAFETY: every block handed out was allocated by `inner` with `below(size, align)` bytes and
// at least the requested alignment (a cached block of that rounded size was too, and nobody
// else holds it), and is returned to `inner` with that same layout.
//
// The four methods stay out of line: inlined into every allocation site of the program, their
// check cost 28 KiB of x86_64 code; out of line, one call each.
unsafe impl<A: GlobalAlloc> GlobalAlloc for LargeCache<A> {
    #[inline(never)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match cached_size(layout.size(), layout.align()) {
            // SAFETY: forwarded as it came.
            None => unsafe { self.inner.alloc(layout) },
            // SAFETY: a non-zero size (at least MIN_BLOCK) and a valid alignment.
            Some(size) => unsafe { self.alloc_large(size, layout.align(), 0) },
        }
    }

    #[inline(never)]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        match cached_size(layout.size(), layout.align()) {
            // SAFETY: forwarded as it came.
            None => unsafe { self.inner.alloc_zeroed(layout) },
            // SAFETY: as in `alloc`; a block from the cache is zeroed over the layout's size.
            Some(size) => unsafe { self.alloc_large(size, layout.align(), layout.size()) },
        }
    }

    #[inline(never)]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match cached_size(layout.size(), layout.align()) {
            // SAFETY: forwarded as it came.
            None => unsafe { self.inner.dealloc(ptr, layout) },
            // SAFETY: a block of this layout was allocated below with `size` bytes.
            Some(size) => unsafe { self.dealloc_large(ptr, size, layout.align()) },
        }
    }

    #[inline(never)]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let align = layout.align();
        let (old, new) = (below(layout.size(), align), below(new_size, align));
        if cached_size(layout.size(), align).is_some() && old == new {
            // The block already has the room (both sizes round to the same).
            return ptr;
        }
        // SAFETY: `ptr` was allocated below with `old` bytes (see `cached_size`), and `new` is
        // non-zero (>= new_size, which the caller guarantees is non-zero).
        unsafe {
            self.inner
                .realloc(ptr, Layout::from_size_align_unchecked(old, align), new)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::alloc::System;
    use std::sync::atomic::AtomicUsize;

    /// System, counting the calls that reach it.
    struct Counting {
        allocs: AtomicUsize,
        frees: AtomicUsize,
    }

    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, l: Layout) -> *mut u8 {
            self.allocs.fetch_add(1, Ordering::Relaxed);
            unsafe { System.alloc(l) }
        }
        unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
            self.frees.fetch_add(1, Ordering::Relaxed);
            unsafe { System.dealloc(p, l) }
        }
    }

    fn cache() -> LargeCache<Counting> {
        LargeCache::new(Counting {
            allocs: AtomicUsize::new(0),
            frees: AtomicUsize::new(0),
        })
    }

    fn counts(c: &LargeCache<Counting>) -> (usize, usize) {
        (
            c.inner.allocs.load(Ordering::Relaxed),
            c.inner.frees.load(Ordering::Relaxed),
        )
    }

    #[test]
    fn a_freed_large_block_serves_the_next_request_of_its_size() {
        let c = cache();
        let l = Layout::from_size_align(262_158, 8).unwrap();
        unsafe {
            let a = c.alloc(l);
            a.write_bytes(7, l.size());
            c.dealloc(a, l);
            let b = c.alloc(l);
            assert_eq!(a, b, "the same block comes back");
            assert_eq!(
                counts(&c),
                (1, 0),
                "one allocation below, nothing freed below"
            );
            // A zeroed request of the same size gets a zeroed block from the cache.
            c.dealloc(b, l);
            let z = c.alloc_zeroed(l);
            assert!(
                std::slice::from_raw_parts(z, l.size())
                    .iter()
                    .all(|&x| x == 0)
            );
            c.dealloc(z, l);
        }
        assert_eq!(c.stats().hits, 2);
        assert_eq!(c.stats().cached_bytes, 266_240);
    }

    #[test]
    fn small_or_overaligned_requests_never_touch_the_cache() {
        let c = cache();
        unsafe {
            for l in [
                Layout::from_size_align(100, 8).unwrap(),
                Layout::from_size_align(MIN_BLOCK - 1, 8).unwrap(),
                Layout::from_size_align(MIN_BLOCK, 4096).unwrap(),
            ] {
                let p = c.alloc(l);
                c.dealloc(p, l);
            }
        }
        assert_eq!(counts(&c), (3, 3));
        assert_eq!(c.stats().cached_bytes, 0);
    }

    #[test]
    fn the_cache_never_holds_more_than_its_bound_and_evicts_the_oldest() {
        let c = cache();
        let big = Layout::from_size_align(300 * 1024, 8).unwrap();
        unsafe {
            // Ten blocks freed at once: at most MAX_CACHED bytes stay, the rest go below.
            let blocks: Vec<_> = (0..10).map(|_| c.alloc(big)).collect();
            for &b in &blocks {
                c.dealloc(b, big);
            }
            let s = c.stats();
            assert!(s.cached_bytes <= MAX_CACHED, "{s:?}");
            assert_eq!(s.cached_bytes, 3 * 300 * 1024);
            assert_eq!(counts(&c), (10, 7));
            // A block larger than the whole cache is never kept.
            let huge = Layout::from_size_align(MAX_CACHED + 1, 8).unwrap();
            let h = c.alloc(huge);
            c.dealloc(h, huge);
            assert_eq!(counts(&c), (11, 8));
            // Another size evicts the oldest blocks until it fits.
            let other = Layout::from_size_align(700 * 1024, 8).unwrap();
            let o = c.alloc(other);
            c.dealloc(o, other);
            assert_eq!(c.stats().cached_bytes, 300 * 1024 + 700 * 1024);
            assert_eq!(counts(&c), (12, 10));
            // The newest of the first size is still there.
            let again = c.alloc(big);
            assert_eq!(again, blocks[9]);
            c.dealloc(again, big);
        }
        // Small blocks: at most SLOTS are kept.
        let c = cache();
        let l = Layout::from_size_align(MIN_BLOCK, 8).unwrap();
        unsafe {
            let blocks: Vec<_> = (0..SLOTS + 3).map(|_| c.alloc(l)).collect();
            for &b in &blocks {
                c.dealloc(b, l);
            }
        }
        assert_eq!(c.stats().cached_bytes, SLOTS * MIN_BLOCK);
        assert_eq!(counts(&c), (SLOTS + 3, 3));
    }

    #[test]
    fn realloc_keeps_the_bytes_and_the_block_sizes_consistent() {
        let c = cache();
        unsafe {
            let small = Layout::from_size_align(1000, 8).unwrap();
            let p = c.alloc(small);
            p.write_bytes(9, 1000);
            // Small -> large -> a size that rounds the same (no move) -> small again.
            let p = c.realloc(p, small, 200_000);
            let mid = Layout::from_size_align(200_000, 8).unwrap();
            let q = c.realloc(p, mid, 200_100);
            assert_eq!(p, q, "200,000 and 200,100 round to the same block");
            let big = Layout::from_size_align(200_100, 8).unwrap();
            let r = c.realloc(q, big, 500);
            assert!(std::slice::from_raw_parts(r, 500).iter().all(|&x| x == 9));
            c.dealloc(r, Layout::from_size_align(500, 8).unwrap());
        }
    }

    #[test]
    fn a_thread_that_finds_the_cache_taken_goes_below_and_loses_nothing() {
        let c = cache();
        let l = Layout::from_size_align(MIN_BLOCK * 2, 8).unwrap();
        c.busy.store(true, Ordering::Relaxed);
        unsafe {
            let p = c.alloc(l);
            c.dealloc(p, l);
        }
        assert_eq!(
            counts(&c),
            (1, 1),
            "both went below while the lock was held"
        );
        c.busy.store(false, Ordering::Relaxed);
        // Many threads at once: every block is either cached or freed below, never both.
        let c = std::sync::Arc::new(cache());
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let c = c.clone();
                std::thread::spawn(move || unsafe {
                    for _ in 0..2000 {
                        let p = c.alloc(l);
                        p.write_bytes(1, 64);
                        c.dealloc(p, l);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let (allocs, frees) = counts(&c);
        let cached = c.stats().cached_bytes / l.size();
        assert_eq!(allocs, frees + cached, "{allocs} {frees} {cached}");
    }
}
