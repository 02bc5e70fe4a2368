//! How the C allocator keeps memory. glibc raises its "large block" threshold each
//! time a large block is freed, so after the first argon2 login (a 19 MiB block,
//! given back at once) the next one is carved out of a thread's heap instead, and
//! that heap keeps the pages when the block is freed: each request thread that ever
//! checked a password would hold 19 MiB for the life of the process. kith fixes the
//! threshold at start, so blocks of 1 MiB and more (password hashing, decoded
//! pictures, large bodies) are always mapped on their own and returned when freed.
//! It also caps the number of malloc arenas, so hundreds of connection threads share
//! two instead of each busy one growing its own. Only glibc has the call; elsewhere
//! this does nothing.

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
        // Two arenas in all, not eight per core: with a thread per connection, each
        // arena keeps what its threads freed (a viral boost's load), and two suffice
        // for a handful of request threads.
        libc::mallopt(libc::M_ARENA_MAX, ARENAS);
    }
}
