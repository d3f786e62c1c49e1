//! The write-ahead log: a logical log of write batches in preallocated, recycled segment files,
//! with group commit.
//!
//! The B+tree store's checkpoints are consistent by construction (copy-on-write, two meta slots),
//! so the log only has to carry what happened *since* the last checkpoint: every write batch, in
//! order, numbered `1, 2, 3, ...` (its LSN, which the store's checkpoint records). Recovery opens the
//! store at its checkpoint (LSN `c`) and replays the records numbered `c+1, c+2, ...` until the
//! first invalid record.
//!
//! ## Segments
//! Files `NNNNNNNNNNNNNNNN.wal` (hex segment number), each starting with a header:
//!
//! | offset | size | field |
//! |--------|------|-------|
//! | 0      | 8    | magic `SSIDBWAL` |
//! | 8      | 4    | format version (1) |
//! | 12     | 8    | segment number |
//! | 20     | 4    | CRC32C of bytes 0..20 |
//! | 24     | 8    | reserved (zero) |
//!
//! then records ([`record`]) from offset [`SEGMENT_HEADER`]. A segment is preallocated (written with
//! zeros, so later writes do not allocate) to at least the configured size; a record that does not
//! fit in what is left starts the next segment. After a checkpoint, segments whose records are all
//! covered by it are renamed to `spare-N.wal` and reused for later segments: their stale records
//! carry old positions and are rejected, and their header is rewritten before use.
//!
//! ## Group commit
//! [`Wal::append`] only copies the record into a pending buffer (under a short latch) and returns its
//! LSN. [`Wal::wait_durable`] makes one waiter the *leader*: it takes everything pending, writes it,
//! fdatasyncs each segment touched, publishes the new durable LSN and wakes everyone; waiters whose
//! records were in that buffer return without a flush of their own. No lock other transactions need
//! is held across the flush.
//!
//! ## Failures
//! Any write or fsync failure poisons the log: every later append and wait fails (58030, or 53100
//! for ENOSPC) until restart. Retrying an fsync after a failure is never safe: the kernel may have
//! dropped the dirty pages it could not write (PostgreSQL's 2018 lesson).

pub mod dir;
pub mod record;

use crate::error::{Error, ErrorKind, Result};
use crate::storage::btree::DataFile;
use crate::storage::{Lsn, WriteBatch};
use dir::WalDir;
use parking_lot::{Condvar, Mutex};
use record::{MAX_PAYLOAD, RECORD_HEADER};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Bytes of the segment header.
pub const SEGMENT_HEADER: u64 = 32;
const MAGIC: &[u8; 8] = b"SSIDBWAL";
const VERSION: u32 = 1;
/// Default segment size.
pub const DEFAULT_SEGMENT_SIZE: u64 = 16 << 20;

fn segment_name(n: u64) -> String {
    format!("{n:016x}.wal")
}

fn parse_segment_name(name: &str) -> Option<u64> {
    let hex = name.strip_suffix(".wal")?;
    if hex.len() != 16 {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

fn encode_segment_header(n: u64) -> Vec<u8> {
    let mut h = Vec::with_capacity(SEGMENT_HEADER as usize);
    h.extend_from_slice(MAGIC);
    h.extend_from_slice(&VERSION.to_be_bytes());
    h.extend_from_slice(&n.to_be_bytes());
    let crc = crc32c::crc32c(&h);
    h.extend_from_slice(&crc.to_be_bytes());
    h.resize(SEGMENT_HEADER as usize, 0);
    h
}

fn segment_header_ok(h: &[u8], n: u64) -> bool {
    h.len() >= 24
        && &h[..8] == MAGIC
        && h[8..12] == VERSION.to_be_bytes()
        && h[12..20] == n.to_be_bytes()
        && {
            let crc = u32::from_be_bytes([h[20], h[21], h[22], h[23]]);
            crc32c::crc32c(&h[..20]) == crc
        }
}

fn io_error(e: std::io::Error, what: &str) -> Error {
    let kind = if e.raw_os_error() == Some(28) || e.kind() == std::io::ErrorKind::StorageFull {
        ErrorKind::DiskFull
    } else {
        ErrorKind::Io
    };
    Error::new(kind, format!("could not {what} write-ahead log: {e}"))
}

/// Reads and validates the record at `offset` of segment `n`: CRC, position, length, and the
/// expected sequence number when one is known.
fn read_record(
    file: &dyn DataFile,
    n: u64,
    offset: u64,
    size: u64,
    expected: Option<Lsn>,
) -> Option<(record::Header, WriteBatch)> {
    let mut hb = [0u8; RECORD_HEADER];
    if offset + RECORD_HEADER as u64 > size || file.read_at(&mut hb, offset).is_err() {
        return None;
    }
    let h = record::decode_header(&hb);
    let frame_ok = h.pos == record::position(n, offset)
        && h.len <= MAX_PAYLOAD
        && offset + (RECORD_HEADER + h.len) as u64 <= size
        && expected.is_none_or(|e| h.seq == e);
    if !frame_ok {
        return None;
    }
    let mut payload = vec![0u8; h.len];
    if file.read_at(&mut payload, offset + RECORD_HEADER as u64).is_err() || !record::crc_ok(&hb, &payload) {
        return None;
    }
    record::decode_batch(&payload).map(|b| (h, b))
}

/// Log counters (a stats view shows them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WalStats {
    /// Records appended.
    pub records: u64,
    /// Flushes (fdatasync rounds).
    pub flushes: u64,
    /// Bytes appended.
    pub bytes: u64,
    /// Highest durable LSN.
    pub durable_lsn: Lsn,
}

struct Segment {
    number: u64,
    file: Arc<dyn DataFile>,
    size: u64,
}

struct Pending {
    file: Arc<dyn DataFile>,
    segment: u64,
    offset: u64,
    bytes: Vec<u8>,
}

struct AppendState {
    /// Last LSN assigned.
    lsn: Lsn,
    current: Segment,
    /// Next write offset in the current segment.
    offset: u64,
    pending: Vec<Pending>,
    /// Highest LSN in each live segment (for recycling).
    last_lsn: BTreeMap<u64, Lsn>,
    spares: Vec<String>,
    next_spare: u64,
}

struct FlushState {
    durable: Lsn,
    flushing: bool,
    failed: Option<Error>,
}

/// The write-ahead log.
pub struct Wal {
    dir: Arc<dyn WalDir>,
    segment_size: u64,
    append: Mutex<AppendState>,
    flush: Mutex<FlushState>,
    flushed: Condvar,
    records: AtomicU64,
    flushes: AtomicU64,
    bytes: AtomicU64,
}

/// What recovery found in the log.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// Records replayed (LSN above the checkpoint).
    pub replayed: u64,
    /// Payload bytes replayed.
    pub bytes: u64,
    /// Last valid LSN found (or the checkpoint's if higher).
    pub last_lsn: Lsn,
}

impl Wal {
    /// Opens the log in `dir`, replaying every valid record with an LSN above `checkpoint_lsn`
    /// through `apply` (in order), and positions appends after the last valid record.
    pub fn open(
        dir: Arc<dyn WalDir>,
        segment_size: u64,
        checkpoint_lsn: Lsn,
        apply: &mut dyn FnMut(Lsn, WriteBatch) -> Result<()>,
    ) -> Result<(Wal, Recovery)> {
        let names = dir.list().map_err(|e| io_error(e, "list"))?;
        let mut segments: Vec<u64> = names.iter().filter_map(|n| parse_segment_name(n)).collect();
        segments.sort_unstable();
        let mut spares: Vec<String> = names.iter().filter(|n| n.starts_with("spare-")).cloned().collect();
        let next_spare = spares
            .iter()
            .filter_map(|n| n.strip_prefix("spare-")?.strip_suffix(".wal")?.parse::<u64>().ok())
            .max()
            .map_or(0, |m| m + 1);
        let mut recovery = Recovery { last_lsn: checkpoint_lsn, ..Default::default() };
        let mut expected: Option<Lsn> = None;
        let mut end: Option<(u64, Arc<dyn DataFile>, u64, u64)> = None; // segment, file, offset, size
        let mut last_lsn = BTreeMap::new();
        let mut stop_after: Option<usize> = None;
        let open_segment = |n: u64| -> Result<Option<(Arc<dyn DataFile>, u64)>> {
            let file = dir.open(&segment_name(n)).map_err(|e| io_error(e, "open"))?;
            let size = file.size().map_err(|e| io_error(e, "read"))?;
            let mut header = vec![0u8; SEGMENT_HEADER as usize];
            if size < SEGMENT_HEADER
                || file.read_at(&mut header, 0).is_err()
                || !segment_header_ok(&header, n)
            {
                return Ok(None);
            }
            Ok(Some((file, size)))
        };
        let mut i = 0;
        while i < segments.len() {
            let n = segments[i];
            let Some((file, size)) = open_segment(n)? else {
                stop_after = Some(i);
                break;
            };
            let mut offset = SEGMENT_HEADER;
            while let Some((h, batch)) = read_record(file.as_ref(), n, offset, size, expected) {
                if h.seq > checkpoint_lsn {
                    if h.seq != recovery.last_lsn + 1 {
                        // A gap between the checkpoint and the log: nothing after it is usable.
                        return Err(Error::new(
                            ErrorKind::Corrupt,
                            format!(
                                "write-ahead log does not continue the checkpoint: checkpoint at LSN {}, next record {}",
                                recovery.last_lsn, h.seq
                            ),
                        ));
                    }
                    apply(h.seq, batch)?;
                    recovery.replayed += 1;
                    recovery.bytes += h.len as u64;
                }
                recovery.last_lsn = recovery.last_lsn.max(h.seq);
                last_lsn.insert(n, h.seq);
                expected = Some(h.seq + 1);
                offset += (RECORD_HEADER + h.len) as u64;
            }
            end = Some((n, file, offset, size));
            // The log continues in the next segment only if that one starts with the next record.
            let continues = match segments.get(i + 1) {
                Some(&next) => match open_segment(next)? {
                    Some((f, sz)) => read_record(f.as_ref(), next, SEGMENT_HEADER, sz, expected).is_some(),
                    None => false,
                },
                None => false,
            };
            if !continues {
                stop_after = Some(i + 1);
                break;
            }
            i += 1;
        }
        // Segments after the end of the valid log hold nothing usable; make them spares so their
        // stale records can never be mistaken for a continuation.
        let mut next_spare = next_spare;
        if let Some(cut) = stop_after {
            for &n in &segments[cut.min(segments.len())..] {
                let spare = format!("spare-{next_spare}.wal");
                next_spare += 1;
                dir.rename(&segment_name(n), &spare).map_err(|e| io_error(e, "recycle"))?;
                spares.push(spare);
                last_lsn.remove(&n);
            }
            dir.sync().map_err(|e| io_error(e, "sync"))?;
        }
        let wal_lsn = recovery.last_lsn;
        if last_lsn.values().max().is_none_or(|&m| m < checkpoint_lsn) && !last_lsn.is_empty() {
            // The checkpoint is ahead of everything in the log (it included batches whose records
            // never reached the disk): the old segments are useless, and the log restarts at a
            // fresh segment so its sequence has no gap.
            let top = segments.last().copied().unwrap_or(0);
            for &n in last_lsn.keys() {
                let spare = format!("spare-{next_spare}.wal");
                next_spare += 1;
                dir.rename(&segment_name(n), &spare).map_err(|e| io_error(e, "recycle"))?;
                spares.push(spare);
            }
            last_lsn.clear();
            end = None;
            segments = vec![top];
            segments[0] += 1;
        }
        let (current, offset) = match end {
            Some((n, file, offset, size)) => (Segment { number: n, file, size }, offset),
            None => {
                let n = segments.last().copied().unwrap_or(0).max(1);
                (Self::new_segment(dir.as_ref(), n, segment_size, &mut spares)?, SEGMENT_HEADER)
            }
        };
        let wal = Wal {
            dir,
            segment_size,
            append: Mutex::new(AppendState {
                lsn: wal_lsn,
                current,
                offset,
                pending: Vec::new(),
                last_lsn,
                spares,
                next_spare,
            }),
            flush: Mutex::new(FlushState { durable: wal_lsn, flushing: false, failed: None }),
            flushed: Condvar::new(),
            records: AtomicU64::new(0),
            flushes: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        };
        Ok((wal, recovery))
    }

    /// Creates segment `n` (reusing a spare file when there is one) with a fresh header, durably.
    fn new_segment(dir: &dyn WalDir, n: u64, size: u64, spares: &mut Vec<String>) -> Result<Segment> {
        let name = segment_name(n);
        let file = match spares.pop() {
            Some(spare) => {
                dir.rename(&spare, &name).map_err(|e| io_error(e, "reuse a segment of the"))?;
                dir.open(&name).map_err(|e| io_error(e, "open"))?
            }
            None => dir.create(&name, size).map_err(|e| io_error(e, "create a segment of the"))?,
        };
        file.write_at(&encode_segment_header(n), 0).map_err(|e| io_error(e, "write"))?;
        file.sync().map_err(|e| io_error(e, "sync"))?;
        dir.sync().map_err(|e| io_error(e, "sync"))?;
        let len = file.size().map_err(|e| io_error(e, "read"))?;
        Ok(Segment { number: n, file, size: len.max(size) })
    }

    fn check_failed(&self) -> Result<()> {
        match &self.flush.lock().failed {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// Appends `batch` as the next record and returns its LSN. Not durable until
    /// [`Wal::wait_durable`] returns for it.
    pub fn append(&self, batch: &WriteBatch) -> Result<Lsn> {
        self.check_failed()?;
        let payload = record::encode_batch(batch);
        let need = (RECORD_HEADER + payload.len()) as u64;
        let mut st = self.append.lock();
        if st.offset + need > st.current.size {
            let n = st.current.number + 1;
            let size = self.segment_size.max(SEGMENT_HEADER + need);
            let seg = {
                let spares = &mut st.spares;
                // A spare is only usable if it is large enough.
                if size > self.segment_size {
                    let mut none = Vec::new();
                    Self::new_segment(self.dir.as_ref(), n, size, &mut none)
                } else {
                    Self::new_segment(self.dir.as_ref(), n, size, spares)
                }
            };
            let seg = seg.map_err(|e| self.fail(e))?;
            st.current = seg;
            st.offset = SEGMENT_HEADER;
        }
        st.lsn += 1;
        let lsn = st.lsn;
        let (segment, offset) = (st.current.number, st.offset);
        let bytes = record::encode_record(lsn, record::position(segment, offset), &payload);
        let file = st.current.file.clone();
        st.offset += bytes.len() as u64;
        st.last_lsn.insert(segment, lsn);
        self.bytes.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        self.records.fetch_add(1, Ordering::Relaxed);
        match st.pending.last_mut() {
            Some(p) if p.segment == segment && p.offset + p.bytes.len() as u64 == offset => {
                p.bytes.extend_from_slice(&bytes)
            }
            _ => st.pending.push(Pending { file, segment, offset, bytes }),
        }
        Ok(lsn)
    }

    fn fail(&self, e: Error) -> Error {
        let mut f = self.flush.lock();
        if f.failed.is_none() {
            f.failed = Some(e.clone());
        }
        self.flushed.notify_all();
        e
    }

    /// Waits until every record up to `lsn` is on stable storage, flushing (as the group's
    /// leader) if nobody else is.
    pub fn wait_durable(&self, lsn: Lsn) -> Result<()> {
        let mut f = self.flush.lock();
        loop {
            if let Some(e) = &f.failed {
                return Err(e.clone());
            }
            if f.durable >= lsn {
                return Ok(());
            }
            if f.flushing {
                self.flushed.wait(&mut f);
                continue;
            }
            f.flushing = true;
            drop(f);
            let result = self.flush_pending();
            f = self.flush.lock();
            f.flushing = false;
            match result {
                Ok(upto) => f.durable = f.durable.max(upto),
                Err(e) => {
                    if f.failed.is_none() {
                        f.failed = Some(e);
                    }
                }
            }
            self.flushed.notify_all();
        }
    }

    /// Writes and syncs everything pending; returns the LSN now durable.
    fn flush_pending(&self) -> Result<Lsn> {
        let (pending, upto) = {
            let mut st = self.append.lock();
            (std::mem::take(&mut st.pending), st.lsn)
        };
        for p in &pending {
            p.file.write_at(&p.bytes, p.offset).map_err(|e| io_error(e, "write to"))?;
        }
        let mut synced: Vec<u64> = Vec::new();
        for p in &pending {
            if !synced.contains(&p.segment) {
                p.file.sync().map_err(|e| io_error(e, "fsync"))?;
                synced.push(p.segment);
            }
        }
        self.flushes.fetch_add(1, Ordering::Relaxed);
        Ok(upto)
    }

    /// After a checkpoint that covers every record up to `lsn`: recycles the segments holding only
    /// such records (never the current one).
    pub fn checkpointed(&self, lsn: Lsn) -> Result<()> {
        let mut st = self.append.lock();
        let current = st.current.number;
        let old: Vec<u64> =
            st.last_lsn.iter().filter(|(&n, &last)| n < current && last <= lsn).map(|(&n, _)| n).collect();
        for n in old {
            let spare = format!("spare-{}.wal", st.next_spare);
            st.next_spare += 1;
            self.dir.rename(&segment_name(n), &spare).map_err(|e| self.fail(io_error(e, "recycle")))?;
            st.last_lsn.remove(&n);
            // Oversized segments are not worth keeping.
            st.spares.push(spare);
        }
        self.dir.sync().map_err(|e| self.fail(io_error(e, "sync")))?;
        Ok(())
    }

    /// Bytes appended since open (cheap: no latch).
    pub fn bytes_appended(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Counters.
    pub fn stats(&self) -> WalStats {
        WalStats {
            records: self.records.load(Ordering::Relaxed),
            flushes: self.flushes.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            durable_lsn: self.flush.lock().durable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::dir::MemDir;
    use super::*;

    fn batch(i: u64) -> WriteBatch {
        let mut b = WriteBatch::new();
        b.put(i.to_be_bytes().to_vec(), vec![i as u8; (i % 300) as usize]);
        b
    }

    fn replay(dir: Arc<dyn WalDir>, checkpoint: Lsn) -> (Wal, Vec<Lsn>) {
        let mut seen = Vec::new();
        let (wal, _) = Wal::open(dir, 4096, checkpoint, &mut |lsn, b| {
            assert_eq!(b, batch(lsn));
            seen.push(lsn);
            Ok(())
        })
        .unwrap();
        (wal, seen)
    }

    #[test]
    fn append_flush_replay_across_segments() {
        let dir: Arc<dyn WalDir> = Arc::new(MemDir::new());
        let (wal, seen) = replay(dir.clone(), 0);
        assert!(seen.is_empty());
        for i in 1..=100 {
            assert_eq!(wal.append(&batch(i)).unwrap(), i);
        }
        wal.wait_durable(100).unwrap();
        let files = dir.list().unwrap();
        assert!(files.len() > 1, "small segments force several files: {files:?}");
        drop(wal);
        let (wal, seen) = replay(dir.clone(), 40);
        assert_eq!(seen, (41..=100).collect::<Vec<_>>());
        // Appends continue the sequence.
        assert_eq!(wal.append(&batch(101)).unwrap(), 101);
        wal.wait_durable(101).unwrap();
        wal.checkpointed(90).unwrap();
        drop(wal);
        let (_, seen) = replay(dir, 90);
        assert_eq!(seen, (91..=101).collect::<Vec<_>>());
    }

    #[test]
    fn torn_tail_ends_the_log_and_recycled_segments_stay_invisible() {
        let dir: Arc<dyn WalDir> = Arc::new(MemDir::new());
        let (wal, _) = replay(dir.clone(), 0);
        for i in 1..=60 {
            wal.append(&batch(i)).unwrap();
        }
        wal.wait_durable(60).unwrap();
        wal.checkpointed(50).unwrap();
        drop(wal);
        // Tear the last record: flip a byte near the end of the newest segment's data.
        let mut names: Vec<String> =
            dir.list().unwrap().into_iter().filter(|n| parse_segment_name(n).is_some()).collect();
        names.sort();
        let last = dir.open(names.last().unwrap()).unwrap();
        let (wal2, seen) = replay(dir.clone(), 50);
        assert_eq!(seen, (51..=60).collect::<Vec<_>>());
        drop(wal2);
        let mut buf = [0u8; RECORD_HEADER];
        // Find the last record's offset by walking the segment.
        let mut off = SEGMENT_HEADER;
        let mut last_off = off;
        loop {
            last.read_at(&mut buf, off).unwrap();
            let h = record::decode_header(&buf);
            if h.len == 0 && h.seq == 0 {
                break;
            }
            last_off = off;
            off += (RECORD_HEADER + h.len) as u64;
        }
        last.write_at(&[0xff], last_off + RECORD_HEADER as u64 - 1).unwrap();
        let (wal3, seen) = replay(dir.clone(), 50);
        assert_eq!(*seen.last().unwrap(), 59, "the torn record and nothing after it is replayed");
        // New appends reuse LSN 60 and overwrite the torn record.
        assert_eq!(wal3.append(&batch(60)).unwrap(), 60);
        wal3.wait_durable(60).unwrap();
        drop(wal3);
        let (_, seen) = replay(dir, 50);
        assert_eq!(seen, (51..=60).collect::<Vec<_>>());
    }

    #[test]
    fn concurrent_waiters_share_flushes() {
        let dir: Arc<dyn WalDir> = Arc::new(MemDir::new());
        let (wal, _) = Wal::open(dir, 1 << 20, 0, &mut |_, _| Ok(())).unwrap();
        let wal = Arc::new(wal);
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let wal = wal.clone();
                std::thread::spawn(move || {
                    for _ in 0..200 {
                        let lsn = wal.append(&batch(1)).unwrap();
                        wal.wait_durable(lsn).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let s = wal.stats();
        assert_eq!(s.records, 1600);
        assert_eq!(s.durable_lsn, 1600);
        assert!(s.flushes <= 1600);
    }
}
