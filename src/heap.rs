//! How the C allocator keeps memory. glibc raises its "large block" threshold each
//! time a large block is freed, so after the first argon2 login (a 19 MiB block,
//! given back at once) the next one is carved out of a thread's heap instead, and
//! that heap keeps the pages when the block is freed: each request thread that ever
//! checked a password would hold 19 MiB for the life of the process. kith fixes the
//! threshold at start, so blocks of 1 MiB and more (password hashing, decoded
//! pictures, large bodies) are always mapped on their own and returned when freed.
//! It also keeps two malloc arenas, so hundreds of connection threads share them
//! instead of each busy one growing its own (one alone made the inbox workers and
//! request threads wait on its lock: 15% more CPU per inbound activity). And the server runs without glibc's
//! per-thread caches of freed blocks: each thread keeps up to seven freed blocks of
//! every small size for itself, so 200 connection threads serving at once held about
//! 4 MB that no other thread could use. That setting is only read when a process
//! starts, so `kith serve` restarts itself once with it (`restart`). Last, an idle
//! worker gives the free pages inside the heap back from time to time (`give_back`):
//! glibc returns only free space at the top of the heap by itself, so what a burst of
//! requests freed further down stayed resident. Only glibc has these; elsewhere this
//! does nothing.

/// Blocks of this many bytes or more get their own mapping.
const LARGE_BLOCK: i32 = 1 << 20;
/// The most malloc arenas (glibc's default is eight per core).
const ARENAS: i32 = 2;
/// Free bytes at the top of a heap past which they are returned.
const TRIM_ABOVE: i32 = 128 * 1024;

/// Makes large blocks go back to the operating system when freed; call once at start.
pub fn return_large_blocks() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes the allocator's tuning parameters; it takes no
    // pointers and is safe to call at any time.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, LARGE_BLOCK);
        // Fixing one threshold fixes the other too: free space at the top of a heap
        // past this is given back (glibc's own starting value).
        libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_ABOVE);
        // Two arenas, not eight per core: with a thread per connection, each arena
        // keeps what its threads freed (a viral boost's load); one alone is a lock
        // the inbox workers and request threads queue on.
        libc::mallopt(libc::M_ARENA_MAX, ARENAS);
    }
}

/// glibc reads its tunables from this variable once, when a process starts.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TUNABLES: &str = "GLIBC_TUNABLES";
/// The tunable of the per-thread cache's size (seven blocks of each size by default).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const THREAD_CACHE: &str = "glibc.malloc.tcache_count";

/// Whether this process started without glibc's per-thread caches (or has none to turn
/// off). When not, puts the setting into the environment, so that a process started
/// afresh with [`crate::restart::exec_self`] has it, and returns false. A setting of
/// the cache already in the environment is left as it is.
pub fn thread_caches_off() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let current = std::env::var(TUNABLES).unwrap_or_default();
        if current.contains(THREAD_CACHE) {
            return true;
        }
        let setting = format!("{THREAD_CACHE}=0");
        let value = if current.is_empty() {
            setting
        } else {
            format!("{current}:{setting}")
        };
        // SAFETY: called at the start of `kith serve`, before it starts any thread, so
        // nothing reads the environment meanwhile.
        unsafe { std::env::set_var(TUNABLES, value) };
        false
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    true
}

/// When [`give_back`] last ran (ms since the Unix epoch).
static LAST_GIVEN_BACK: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
/// The shortest time between two [`give_back`]s.
const GIVE_BACK_EVERY_MS: i64 = 2000;

/// Gives the free pages inside the heap back to the operating system (glibc's
/// `malloc_trim`), at most every two seconds; for a worker with nothing to do. It
/// takes the allocator's lock for as long as it walks the free blocks: well under a
/// millisecond for kith's heap.
pub fn give_back() {
    use std::sync::atomic::Ordering;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    if now - LAST_GIVEN_BACK.load(Ordering::Relaxed) < GIVE_BACK_EVERY_MS {
        return;
    }
    LAST_GIVEN_BACK.store(now, Ordering::Relaxed);
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists, under its locks.
    unsafe {
        libc::malloc_trim(0);
    }
}
