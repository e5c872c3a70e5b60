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
pub(crate) fn give(mut buf: BytesMut) {
    debug_assert!(buf.is_empty());
    // After a message was split off its front, the buffer is a view into the tail of that
    // message's allocation, and its own capacity says nothing of the allocation's size.
    // Reclaiming succeeds when nothing else holds the allocation and it is larger than we
    // keep: then it is freed here rather than kept alive in the pool.
    if buf.capacity() == 0 || buf.capacity() > KEEP_CAPACITY || buf.try_reclaim(KEEP_CAPACITY + 1) {
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
    fn the_tail_of_a_large_message_does_not_keep_it_alive_in_the_pool() {
        let mut buf = BytesMut::with_capacity(1 << 20);
        buf.extend_from_slice(&vec![7; (1 << 20) - 100]);
        let message = buf.split_to(buf.len()).freeze();
        assert!(
            buf.capacity() <= KEEP_CAPACITY,
            "a small view of a large allocation"
        );
        drop(message);
        give(buf);
        POOL.with(|pool| assert!(pool.borrow().is_empty()));
        // A small buffer whose message is gone is kept.
        let mut buf = BytesMut::with_capacity(4096);
        buf.extend_from_slice(&[1; 1000]);
        drop(buf.split_to(1000).freeze());
        give(buf);
        POOL.with(|pool| assert_eq!(pool.borrow().len(), 1));
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
