//! What the fuzz targets share: an allocator that counts, so that a target can assert that
//! memory stays bounded by the limits it configured, and the set-up of both ends of a
//! permessage-deflate session as a handshake would negotiate it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use arbitrary::Arbitrary;
use swell_deflate::{Deflate, DeflateConfig};

/// Counts the bytes allocated now. A target installs it with
/// `#[global_allocator] static ALLOCATOR: Counting = Counting;`.
pub struct Counting;

static NOW: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed to the system allocator unchanged; only a counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        NOW.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's guarantees for `layout` are those `System.alloc` needs.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        NOW.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `System` with `layout`, as the caller guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        NOW.fetch_add(new_size, Ordering::Relaxed);
        NOW.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: as for `dealloc` and `alloc`: the caller's guarantees are passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Bytes allocated now, by the whole process.
pub fn allocated() -> usize {
    NOW.load(Ordering::Relaxed)
}

/// The permessage-deflate parameters a fuzz input picks.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub struct DeflateChoice {
    pub server_no_context_takeover: bool,
    pub client_no_context_takeover: bool,
    /// 8..=15 once clamped.
    pub server_max_window_bits: u8,
    pub client_max_window_bits: u8,
    /// A server's compressor lent by the thread's pool for each message.
    pub shared_compressor: bool,
    /// 1..=9 once clamped.
    pub mem_level: u8,
}

impl DeflateChoice {
    fn config(self) -> DeflateConfig {
        DeflateConfig::default()
            .server_no_context_takeover(self.server_no_context_takeover)
            .client_no_context_takeover(self.client_no_context_takeover)
            .server_max_window_bits(8 + self.server_max_window_bits % 8)
            .client_max_window_bits(8 + self.client_max_window_bits % 8)
            .shared_compressor(self.shared_compressor)
            .mem_level(1 + self.mem_level % 9)
            .min_size(0)
    }

    /// Both ends of the session these parameters negotiate, as `(client, server)`: the
    /// client's offer, the server's choice and the client's check of the answer.
    pub fn sessions(self) -> (Deflate, Deflate) {
        let config = self.config();
        let (response, server) = swell_deflate::accept(&[config.offer()], &config)
            .expect("a server accepts the offer its own config makes");
        let client = swell_deflate::accept_response(&[response], &[config])
            .expect("the client accepts the answer to its offer")
            .expect("deflate was agreed");
        (client, server)
    }
}
