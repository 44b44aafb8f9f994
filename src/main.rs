//! The `leither` binary: glue only. Everything lives in the library (`leither::cli`).

/// Freed large blocks are kept for the next request of their size (`leither::alloc`): musl's
/// allocator would map and unmap each one.
#[global_allocator]
static ALLOC: leither::alloc::LargeCache<std::alloc::System> =
    leither::alloc::LargeCache::new(std::alloc::System);

fn main() {
    std::process::exit(leither::cli::main());
}
