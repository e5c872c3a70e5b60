//! The bytes waiting to be written to the peer.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, Bytes, BytesMut};

/// Encoded frames waiting to go out, in order.
///
/// Small frames are appended to one contiguous buffer so that many leave in one write. A large
/// unmasked payload is kept as its own [`Bytes`] chunk instead of being copied, and goes out in
/// the same vectored write as its header. It implements [`Buf`]: hand
/// [`Buf::chunks_vectored`] to a vectored write, then [`Buf::advance`] by what was written.
#[derive(Debug, Default)]
pub struct Transmit {
    /// Finished chunks, oldest first; `tail` comes after all of them.
    chunks: VecDeque<Bytes>,
    /// Where small frames are encoded.
    tail: BytesMut,
    /// Bytes in `chunks`, kept so `remaining` is O(1).
    chunks_len: usize,
}

impl Transmit {
    /// The buffer small frames are encoded into.
    pub(crate) fn tail(&mut self) -> &mut BytesMut {
        &mut self.tail
    }

    /// Queues `payload` after everything encoded so far, without copying it.
    pub(crate) fn push_chunk(&mut self, payload: Bytes) {
        if !self.tail.is_empty() {
            let head = self.tail.split().freeze();
            self.chunks_len += head.len();
            self.chunks.push_back(head);
        }
        self.chunks_len += payload.len();
        self.chunks.push_back(payload);
    }

    /// Whether it holds a buffer to encode small frames into. Without one, the next frame
    /// allocates it.
    #[inline]
    pub fn has_buffer(&self) -> bool {
        self.tail.capacity() > 0
    }

    /// The capacity of the buffer small frames are encoded into (0 without one): for a
    /// caller deciding whether an idle connection keeps it.
    #[inline]
    pub fn buffer_capacity(&self) -> usize {
        self.tail.capacity()
    }

    /// Takes the buffer small frames are encoded into, as [`Transmit::take_buffer`] does,
    /// but only if its allocation is larger than `keep` bytes: for a connection going idle
    /// that keeps a small buffer rather than give it back and take it again at every wait.
    /// The allocation is what counts, not the capacity: after a partial write, or a shared
    /// payload split off behind its frames, a small view can hold a large allocation.
    pub fn take_buffer_over(&mut self, keep: usize) -> Option<BytesMut> {
        // Reclaiming the space before the view tells whether the allocation holds more.
        if self.is_empty() && self.has_buffer() && self.tail.try_reclaim(keep.saturating_add(1)) {
            Some(std::mem::take(&mut self.tail))
        } else {
            None
        }
    }

    /// Installs `buf`, cleared, as the buffer small frames are encoded into, if there is none
    /// yet: for a caller that pools write buffers between connections. Otherwise `buf` is
    /// dropped.
    pub fn set_buffer(&mut self, mut buf: BytesMut) {
        if !self.has_buffer() {
            buf.clear();
            self.tail = buf;
        }
    }

    /// Takes the buffer small frames are encoded into, if nothing waits in it, leaving none:
    /// for a connection going idle to return it to a pool. `None` if frames wait or there is
    /// no buffer.
    pub fn take_buffer(&mut self) -> Option<BytesMut> {
        if self.is_empty() && self.has_buffer() {
            Some(std::mem::take(&mut self.tail))
        } else {
            None
        }
    }

    /// Whether nothing is waiting.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// Releases the memory of an empty buffer. Called when a connection goes idle so that it
    /// holds no buffer it does not need.
    pub fn shrink(&mut self) {
        self.shrink_to(0);
    }

    /// Releases the memory of an empty buffer if it holds more than `keep` bytes of capacity:
    /// an idle connection keeps a small buffer it would otherwise allocate again for its next
    /// reply, but not one that grew for a burst.
    pub fn shrink_to(&mut self, keep: usize) {
        if self.is_empty() && self.tail.capacity() > keep {
            self.tail = BytesMut::new();
        }
        if self.is_empty() && self.chunks.capacity() * size_of::<Bytes>() > keep {
            self.chunks = VecDeque::new();
        }
    }
}

impl Buf for Transmit {
    #[inline]
    fn remaining(&self) -> usize {
        self.chunks_len + self.tail.len()
    }

    #[inline]
    fn chunk(&self) -> &[u8] {
        match self.chunks.front() {
            Some(chunk) => chunk,
            None => &self.tail,
        }
    }

    fn chunks_vectored<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let mut n = 0;
        let all = self
            .chunks
            .iter()
            .map(|c| &c[..])
            .chain(std::iter::once(&self.tail[..]));
        for (slot, chunk) in dst.iter_mut().zip(all.filter(|c| !c.is_empty())) {
            *slot = IoSlice::new(chunk);
            n += 1;
        }
        n
    }

    fn advance(&mut self, mut cnt: usize) {
        assert!(
            cnt <= self.remaining(),
            "advance past the end of the transmit buffer"
        );
        while cnt > 0 {
            let Some(front) = self.chunks.front_mut() else {
                if cnt == self.tail.len() {
                    // All written: the next frames go to the start of the same space, where
                    // advancing would leave it behind for a later `reserve` to reclaim.
                    self.tail.clear();
                } else {
                    self.tail.advance(cnt);
                }
                return;
            };
            if cnt < front.len() {
                front.advance(cnt);
                self.chunks_len -= cnt;
                return;
            }
            cnt -= front.len();
            self.chunks_len -= front.len();
            self.chunks.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_keep_their_order_and_advance_across_them() {
        let mut t = Transmit::default();
        t.tail().extend_from_slice(b"ab");
        t.push_chunk(Bytes::from_static(b"cdef"));
        t.tail().extend_from_slice(b"gh");
        t.push_chunk(Bytes::from_static(b"ij"));
        assert_eq!(t.remaining(), 10);
        let mut slices = [IoSlice::new(&[]); 8];
        let n = t.chunks_vectored(&mut slices);
        let joined: Vec<u8> = slices[..n].iter().flat_map(|s| s.to_vec()).collect();
        assert_eq!(joined, b"abcdefghij");
        t.advance(3);
        assert_eq!(t.chunk(), b"def");
        t.advance(5);
        assert_eq!(t.chunk(), b"ij");
        t.advance(2);
        assert!(t.is_empty());
        t.shrink();
        assert_eq!(t.tail.capacity(), 0);
    }

    #[test]
    fn a_buffer_is_lent_only_while_nothing_waits_in_it() {
        let mut t = Transmit::default();
        assert!(!t.has_buffer());
        assert!(t.take_buffer().is_none());
        let mut lent = BytesMut::with_capacity(64);
        lent.extend_from_slice(b"stale");
        let ptr = lent.as_ptr();
        t.set_buffer(lent);
        assert!(t.is_empty(), "a lent buffer comes cleared");
        t.tail().extend_from_slice(b"frame");
        assert_eq!(t.tail.as_ptr(), ptr);
        t.set_buffer(BytesMut::with_capacity(64));
        assert_eq!(t.tail.as_ptr(), ptr, "a buffer in use is not replaced");
        assert!(t.take_buffer().is_none(), "frames wait in it");
        t.advance(5);
        let back = t.take_buffer().expect("empty now");
        assert_eq!(back.as_ptr(), ptr);
        assert!(!t.has_buffer());
    }

    #[test]
    fn a_wholly_written_tail_is_reused_from_its_start() {
        let mut t = Transmit::default();
        t.set_buffer(BytesMut::with_capacity(64));
        t.tail().extend_from_slice(b"0123456789");
        let start = t.tail.as_ptr();
        t.advance(4);
        assert_eq!(t.chunk(), b"456789");
        assert_eq!(
            t.tail.as_ptr(),
            start.wrapping_add(4),
            "a partial write advances"
        );
        t.advance(6);
        assert!(t.is_empty());
        t.tail().extend_from_slice(b"next");
        assert_eq!(t.chunk(), b"next");
        assert_eq!(
            t.tail.as_ptr(),
            start.wrapping_add(4),
            "written space is not reclaimed"
        );
        t.advance(4);
        t.tail().extend_from_slice(b"again");
        assert_eq!(
            t.tail.as_ptr(),
            start.wrapping_add(4),
            "a whole write keeps the place"
        );
        assert!(t.tail.capacity() >= 60);
    }
}
