//! Buffers shared by the connections of one thread.
//!
//! A connection needs a read buffer only while bytes are arriving, and a write buffer only
//! while frames wait to be written. When a read finds nothing and both are empty, the
//! connection is idle: it gives them back here, and takes them again when the peer next sends
//! or the application sends. So 10,000 idle connections hold no read buffer between them (a
//! write buffer of 256 bytes or less stays with its connection: see `websocket/drive.rs`),
//! and a busy connection still does not allocate per message: the buffer it gives back is
//! the one it takes next. Read and write buffers are pooled apart, as they differ in size.

use std::cell::RefCell;
use std::thread::LocalKey;

use bytes::BytesMut;

/// Buffers kept per thread and kind; more are freed.
const POOL_LEN: usize = 32;
/// Buffers that grew past this for a large message are freed rather than kept.
const KEEP_CAPACITY: usize = 64 * 1024;

type Pool = RefCell<Vec<BytesMut>>;

thread_local! {
    static READ: Pool = const { RefCell::new(Vec::new()) };
    static WRITE: Pool = const { RefCell::new(Vec::new()) };
}

/// A connection's hold on the read buffer it takes from the pool: the one place that takes,
/// sizes, reserves and gives back a connection's read buffer, and so the one that knows
/// where the buffer's allocation came from. The `Connection` only appends to, splits and
/// clears it.
///
/// It sizes the reads: a read that fills all the room it was given suggests the peer has
/// sent more than that, so the next read gets twice the room, up to 8 times the configured
/// chunk ([`MAX_GROWTH`] doublings); a read that fills less than half of it halves the room
/// again. So a connection whose peer streams reads many messages per system call, and one
/// whose peer sends a little at a time keeps the small room.
#[derive(Debug)]
pub(crate) struct ReadLease {
    alloc: ReadAlloc,
    /// The room for the next read is the configured chunk shifted left by this much.
    growth: u8,
}

/// How far the room for a read may grow: up to 2^3 = 8 times the configured chunk, 256 KiB
/// by default, which takes about sixteen 16 KiB messages in one read. So a peer that floods a
/// connection with small frames makes it hold at most that much room to read into, in an
/// allocation that growing may double; a large frame is read with room for its rest, as
/// [`Config::read_chunk`](crate::Config::read_chunk) says.
const MAX_GROWTH: u8 = 3;

/// The allocation behind a connection's read buffer, as far as the pool is concerned.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ReadAlloc {
    /// The one it was taken from the pool with, which was small enough to keep then.
    Pooled,
    /// Another one, or one of unknown size: it is checked before it is kept.
    Unchecked,
    /// One larger than the pool keeps, reserved for a large frame. It is never kept, even
    /// while a message still shares it and it cannot be seen to be large.
    Large,
}

impl ReadLease {
    /// A lease on a buffer that did not come from the pool (it is checked when it goes back).
    pub(crate) fn new() -> Self {
        Self {
            alloc: ReadAlloc::Unchecked,
            growth: 0,
        }
    }

    /// The room to make for the next read, for a configured chunk of `chunk` bytes.
    pub(crate) fn room(&self, chunk: usize) -> usize {
        chunk.saturating_mul(1 << self.growth)
    }

    /// Adapts the room for the next read to a read of `read` bytes into `room` bytes.
    pub(crate) fn after_read(&mut self, read: usize, room: usize) {
        if read >= room {
            self.growth = (self.growth + 1).min(MAX_GROWTH);
        } else if read < room / 2 {
            self.growth = self.growth.saturating_sub(1);
        }
    }

    /// Makes room in `buf` to read about `want` bytes into, taking a buffer from the pool if
    /// it has none.
    pub(crate) fn prepare(&mut self, buf: &mut BytesMut, want: usize) {
        if buf.capacity() == 0 {
            *buf = take_read();
            self.alloc = ReadAlloc::Pooled;
        }
        // Half the room asked for is enough to read into: a pooled buffer is usually the
        // tail of the space the last message was read into, and reclaiming that space on
        // every read would cost more than it saves.
        if buf.capacity() - buf.len() < want.div_ceil(2) {
            buf.reserve(want);
            // Right after a reservation the buffer's capacity is (nearly all of) its
            // allocation, so a large one shows; once a message is split off, it no longer does.
            self.alloc = if self.alloc == ReadAlloc::Large || too_large(buf) {
                ReadAlloc::Large
            } else {
                ReadAlloc::Unchecked
            };
        }
    }

    /// Gives `buf`, which is empty, back to the pool, leaving no buffer in its place.
    pub(crate) fn release(&mut self, buf: &mut BytesMut) {
        let buf = std::mem::take(buf);
        match self.alloc {
            ReadAlloc::Pooled => give_read(buf, false),
            ReadAlloc::Unchecked => give_read(buf, true),
            ReadAlloc::Large => drop(buf),
        }
    }
}

/// A read buffer from the pool, or an empty one (which allocates nothing) if it has none.
/// It may be the tail of an allocation whose front still backs a message; the caller
/// reserves what it needs, which reclaims or allocates only when the room left is short.
fn take_read() -> BytesMut {
    take(&READ)
}

/// Gives back an empty read buffer. `unchecked` says it may sit on an allocation other than
/// the pooled one it was taken as: it was reserved since, or it never came from the pool.
/// Such a buffer is checked as [`give_write`] checks every buffer. One that was not reserved
/// is a view of the allocation it was pooled as, which was checked then, so it goes straight
/// back: in ping-pong that is every read, and the check would cost more than the rest of
/// the pool's work.
fn give_read(buf: BytesMut, unchecked: bool) {
    if unchecked {
        give(&READ, buf);
    } else {
        put(&READ, buf);
    }
}

/// A write buffer from the pool, or an empty one (which allocates nothing) if it has none:
/// the frames encoded into it reserve what they need.
pub(crate) fn take_write() -> BytesMut {
    take(&WRITE)
}

/// Gives back an empty write buffer.
pub(crate) fn give_write(buf: BytesMut) {
    give(&WRITE, buf);
}

/// Whether the pool would free rather than keep `buf` for its capacity alone.
fn too_large(buf: &BytesMut) -> bool {
    buf.capacity() > KEEP_CAPACITY
}

fn take(pool: &'static LocalKey<Pool>) -> BytesMut {
    pool.try_with(|pool| pool.borrow_mut().pop())
        .ok()
        .flatten()
        .unwrap_or_default()
}

fn give(pool: &'static LocalKey<Pool>, mut buf: BytesMut) {
    debug_assert!(buf.is_empty());
    // After a message was split off its front, the buffer is a view into the tail of that
    // message's allocation, and its own capacity says nothing of the allocation's size.
    // Reclaiming succeeds when nothing else holds the allocation and it is larger than we
    // keep: then it is freed here rather than kept alive in the pool. While a message still
    // holds it, this cannot tell; so a connection that knows its read buffer was reserved
    // large frees it rather than giving it here.
    if buf.capacity() == 0 || too_large(&buf) || buf.try_reclaim(KEEP_CAPACITY + 1) {
        return;
    }
    put(pool, buf);
}

/// Keeps `buf`, whose allocation is known to be small enough, if the pool has room.
fn put(pool: &'static LocalKey<Pool>, buf: BytesMut) {
    debug_assert!(buf.is_empty());
    if buf.capacity() == 0 {
        return;
    }
    // During thread teardown the pool may be gone; the buffer is simply freed.
    let _ = pool.try_with(|pool| {
        let mut pool = pool.borrow_mut();
        if pool.len() < POOL_LEN {
            pool.push(buf);
        }
    });
}

/// Where the buffers in this thread's read pool start.
#[cfg(test)]
pub(crate) fn read_buffers() -> Vec<*const u8> {
    READ.with(|pool| pool.borrow().iter().map(|buf| buf.as_ptr()).collect())
}

/// Where the buffers in this thread's write pool start.
#[cfg(test)]
pub(crate) fn write_buffers() -> Vec<*const u8> {
    WRITE.with(|pool| pool.borrow().iter().map(|buf| buf.as_ptr()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_buffer_is_taken_again_without_allocating() {
        assert_eq!(take_read().capacity(), 0, "an empty pool allocates nothing");
        let buf = BytesMut::with_capacity(8192);
        let ptr = buf.as_ptr();
        give_read(buf, true);
        let mut again = take_read();
        assert_eq!(again.as_ptr(), ptr);
        assert!(again.capacity() >= 8192);
        // Taken, used without reserving, given back unchecked: the same allocation again.
        again.extend_from_slice(&[1; 100]);
        drop(again.split_to(100));
        give_read(again, false);
        assert_eq!(take_read().as_ptr(), ptr.wrapping_add(100));
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
        give_read(buf, true);
        READ.with(|pool| assert!(pool.borrow().is_empty()));
        // A small buffer whose message is gone is kept.
        let mut buf = BytesMut::with_capacity(4096);
        buf.extend_from_slice(&[1; 1000]);
        drop(buf.split_to(1000).freeze());
        give_read(buf, true);
        READ.with(|pool| assert_eq!(pool.borrow().len(), 1));
    }

    #[test]
    fn oversized_and_full_pools_free_instead() {
        give_read(BytesMut::with_capacity(KEEP_CAPACITY + 1), true);
        assert_eq!(take_read().capacity(), 0, "the oversized one was freed");
        for _ in 0..POOL_LEN + 8 {
            give_read(BytesMut::with_capacity(16), true);
        }
        READ.with(|pool| assert_eq!(pool.borrow().len(), POOL_LEN));
    }

    #[test]
    fn the_room_for_reads_doubles_while_reads_fill_it_and_halves_when_they_do_not() {
        let mut lease = ReadLease::new();
        let chunk = 32 * 1024;
        let mut rooms = Vec::new();
        for _ in 0..5 {
            let room = lease.room(chunk);
            rooms.push(room / 1024);
            lease.after_read(room, room);
        }
        assert_eq!(rooms, [32, 64, 128, 256, 256], "KiB; capped at 8 chunks");
        // Half the room or more keeps it; less halves it, down to the chunk.
        lease.after_read(128 * 1024, 256 * 1024);
        assert_eq!(lease.room(chunk), 256 * 1024);
        for expected in [128, 64, 32, 32] {
            lease.after_read(100, lease.room(chunk));
            assert_eq!(lease.room(chunk), expected * 1024);
        }
    }

    #[test]
    fn write_buffers_are_pooled_apart_from_read_buffers() {
        assert_eq!(
            take_write().capacity(),
            0,
            "an empty pool allocates nothing"
        );
        let buf = BytesMut::with_capacity(2048);
        let ptr = buf.as_ptr();
        give_write(buf);
        assert_ne!(take_read().as_ptr(), ptr, "a read takes no write buffer");
        assert_eq!(take_write().as_ptr(), ptr);
    }
}
