//! Read buffers shared by the connections of one thread.
//!
//! A connection needs a read buffer only while bytes are arriving. When a read finds nothing
//! and its buffer is empty, the connection is idle: it gives the buffer back here, and takes
//! one again when the peer next sends. So 10,000 idle connections hold no read buffer between
//! them, and a busy connection still does not allocate per message: the buffer it gives back
//! is the one it takes next.

use std::cell::RefCell;

use bytes::BytesMut;

/// Buffers kept per thread; more are freed.
const POOL_LEN: usize = 32;
/// Buffers that grew past this for a large message are freed rather than kept.
const KEEP_CAPACITY: usize = 64 * 1024;

thread_local! {
    static POOL: RefCell<Vec<BytesMut>> = const { RefCell::new(Vec::new()) };
}

/// A buffer with room for at least `capacity` bytes.
pub(crate) fn take(capacity: usize) -> BytesMut {
    let pooled = POOL.with(|pool| pool.borrow_mut().pop());
    match pooled {
        Some(mut buf) => {
            buf.reserve(capacity);
            buf
        }
        None => BytesMut::with_capacity(capacity),
    }
}

/// Gives back an empty buffer.
pub(crate) fn give(buf: BytesMut) {
    debug_assert!(buf.is_empty());
    if buf.capacity() == 0 || buf.capacity() > KEEP_CAPACITY {
        return;
    }
    // During thread teardown the pool may be gone; the buffer is simply freed.
    let _ = POOL.try_with(|pool| {
        let mut pool = pool.borrow_mut();
        if pool.len() < POOL_LEN {
            pool.push(buf);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_buffer_is_taken_again_without_allocating() {
        let buf = take(8192);
        let ptr = buf.as_ptr();
        give(buf);
        let again = take(4096);
        assert_eq!(again.as_ptr(), ptr);
        assert!(again.capacity() >= 8192);
    }

    #[test]
    fn oversized_and_full_pools_free_instead() {
        give(BytesMut::with_capacity(KEEP_CAPACITY + 1));
        assert!(take(1).capacity() <= KEEP_CAPACITY.max(1));
        for _ in 0..POOL_LEN + 8 {
            give(BytesMut::with_capacity(16));
        }
        POOL.with(|pool| assert_eq!(pool.borrow().len(), POOL_LEN));
    }
}
