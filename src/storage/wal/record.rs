//! WAL record and write-batch encoding.
//!
//! Record layout (all integers big-endian):
//!
//! | offset | size | field |
//! |--------|------|-------|
//! | 0      | 4    | payload length `n` |
//! | 4      | 8    | sequence number (the batch's LSN: 1, 2, 3, ...) |
//! | 12     | 8    | position: `segment << 40 \| offset` of this record |
//! | 20     | 4    | CRC32C of bytes 0..20 and the payload |
//! | 24     | n    | payload: an encoded [`WriteBatch`] |
//!
//! A record is valid only if its CRC matches **and** its position field equals where it was read
//! from: a stale record left in a recycled segment carries its old position and is rejected, and a
//! torn record fails its CRC.
//!
//! Batch payload: `u32` count, then per write a tag (`1` put, `2` delete), `u32` key length, key,
//! and for puts `u32` value length and value.

use crate::storage::{Write, WriteBatch};

/// Bytes before the payload.
pub const RECORD_HEADER: usize = 24;
/// Largest payload accepted when reading (guards allocation on garbage lengths).
pub const MAX_PAYLOAD: usize = 1 << 36;

const TAG_PUT: u8 = 1;
const TAG_DELETE: u8 = 2;

/// A record position: segment number and byte offset within the segment.
pub fn position(segment: u64, offset: u64) -> u64 {
    (segment << 40) | offset
}

/// Encodes a batch into a record payload.
pub fn encode_batch(batch: &WriteBatch) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(batch.writes.len() as u32).to_be_bytes());
    for w in &batch.writes {
        match w {
            Write::Put(k, v) => {
                out.push(TAG_PUT);
                out.extend_from_slice(&(k.len() as u32).to_be_bytes());
                out.extend_from_slice(k);
                out.extend_from_slice(&(v.len() as u32).to_be_bytes());
                out.extend_from_slice(v);
            }
            Write::Delete(k) => {
                out.push(TAG_DELETE);
                out.extend_from_slice(&(k.len() as u32).to_be_bytes());
                out.extend_from_slice(k);
            }
        }
    }
    out
}

fn take<'a>(buf: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if buf.len() < n {
        return None;
    }
    let (head, rest) = buf.split_at(n);
    *buf = rest;
    Some(head)
}

fn take_u32(buf: &mut &[u8]) -> Option<usize> {
    take(buf, 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
}

/// Decodes a record payload; `None` if malformed.
pub fn decode_batch(mut buf: &[u8]) -> Option<WriteBatch> {
    let count = take_u32(&mut buf)?;
    let mut writes = Vec::with_capacity(count.min(1 << 16));
    for _ in 0..count {
        let tag = take(&mut buf, 1)?[0];
        let klen = take_u32(&mut buf)?;
        let key = take(&mut buf, klen)?.to_vec();
        match tag {
            TAG_PUT => {
                let vlen = take_u32(&mut buf)?;
                writes.push(Write::Put(key, take(&mut buf, vlen)?.to_vec()));
            }
            TAG_DELETE => writes.push(Write::Delete(key)),
            _ => return None,
        }
    }
    buf.is_empty().then_some(WriteBatch { writes })
}

/// Encodes a whole record.
pub fn encode_record(seq: u64, pos: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(RECORD_HEADER + payload.len());
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&pos.to_be_bytes());
    let crc = crc32c::crc32c_append(crc32c::crc32c(&out), payload);
    out.extend_from_slice(&crc.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// A record header read back: payload length, sequence number, position, CRC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Payload length.
    pub len: usize,
    /// Sequence number.
    pub seq: u64,
    /// Position field.
    pub pos: u64,
    /// Stored CRC.
    pub crc: u32,
}

/// Parses a record header.
pub fn decode_header(b: &[u8; RECORD_HEADER]) -> Header {
    let u64_at = |i: usize| {
        let mut a = [0u8; 8];
        a.copy_from_slice(&b[i..i + 8]);
        u64::from_be_bytes(a)
    };
    Header {
        len: u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize,
        seq: u64_at(4),
        pos: u64_at(12),
        crc: u32::from_be_bytes([b[20], b[21], b[22], b[23]]),
    }
}

/// Whether `payload` matches the header's CRC.
pub fn crc_ok(header_bytes: &[u8; RECORD_HEADER], payload: &[u8]) -> bool {
    let h = decode_header(header_bytes);
    crc32c::crc32c_append(crc32c::crc32c(&header_bytes[..20]), payload) == h.crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_and_record_round_trip() {
        let mut b = WriteBatch::new();
        b.put(b"k".to_vec(), vec![0; 3]);
        b.delete(b"gone".to_vec());
        let payload = encode_batch(&b);
        assert_eq!(decode_batch(&payload), Some(b));
        let rec = encode_record(7, position(3, 64), &payload);
        let mut hb = [0u8; RECORD_HEADER];
        hb.copy_from_slice(&rec[..RECORD_HEADER]);
        let h = decode_header(&hb);
        assert_eq!((h.seq, h.pos, h.len), (7, position(3, 64), payload.len()));
        assert!(crc_ok(&hb, &rec[RECORD_HEADER..]));
        let mut torn = rec.clone();
        let last = torn.len() - 1;
        torn[last] ^= 1;
        assert!(!crc_ok(&hb, &torn[RECORD_HEADER..]));
        assert!(decode_batch(&payload[..payload.len() - 1]).is_none());
    }
}
