//! Damage and failure: a flipped byte on disk (XX001), a full disk (53100), a failing fsync
//! (58030), and power loss at any write of a checkpoint.

use super::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[test]
fn a_flipped_byte_is_reported_as_xx001_naming_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::with_pool(0);
    let key = |i: u32| format!("key{i:06}").into_bytes();
    let store = BTreeStore::open(dir.path(), config.clone()).unwrap();
    for chunk in 0..10u32 {
        let mut b = WriteBatch::new();
        for i in chunk * 1000..(chunk + 1) * 1000 {
            b.put(key(i), vec![b'v'; 200]);
        }
        store.write(b).unwrap();
    }
    let victim = store.descend(read::Seek::Key(&key(5000)), false).unwrap().0.id();
    store.close().unwrap();

    // Flip one byte in the middle of that leaf, on disk.
    let path = dir.path().join(DATA_FILE);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[victim as usize * DEFAULT_PAGE_SIZE + 3000] ^= 0x55;
    std::fs::write(&path, bytes).unwrap();

    let store = BTreeStore::open(dir.path(), config).unwrap();
    let e = store.get(&key(5000)).unwrap_err();
    assert_eq!(e.sqlstate(), "XX001");
    assert!(e.message.contains(&format!("page {victim} ")), "{}", e.message);
    // So does the full check, and a scan across the page: nothing is silently skipped.
    let e = store.check().unwrap_err();
    assert!(e.sqlstate() == "XX001" && e.message.contains(&format!("page {victim} ")), "{}", e.message);
    let e =
        scan(&store, Bound::Unbounded, Bound::Unbounded, Direction::Forward).find_map(|r| r.err()).unwrap();
    assert_eq!(e.sqlstate(), "XX001");
    // Other pages keep working, for reads and writes; writing into the bad page is refused.
    assert_eq!(store.get(&key(10)).unwrap(), Some(vec![b'v'; 200]));
    assert_eq!(store.get(&key(9990)).unwrap(), Some(vec![b'v'; 200]));
    let mut b = WriteBatch::new();
    b.put(key(5000), vec![]);
    assert_eq!(store.write(b).unwrap_err().sqlstate(), "XX001");
    let mut b = WriteBatch::new();
    b.put(key(20), b"new".to_vec());
    store.write(b).unwrap();
    assert_eq!(store.get(&key(20)).unwrap(), Some(b"new".to_vec()));
    assert_eq!(store.get(&key(5000)).unwrap_err().sqlstate(), "XX001");
}

/// A file that can be told to fail writes with ENOSPC and fsyncs with EIO.
#[derive(Default)]
struct FaultyFile {
    inner: MemFile,
    full: AtomicBool,
    bad_sync: AtomicBool,
}

impl DataFile for FaultyFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        self.inner.read_at(buf, offset)
    }
    fn write_at(&self, buf: &[u8], offset: u64) -> std::io::Result<()> {
        if self.full.load(Ordering::Acquire) {
            return Err(std::io::Error::from_raw_os_error(28)); // ENOSPC
        }
        self.inner.write_at(buf, offset)
    }
    fn sync(&self) -> std::io::Result<()> {
        if self.bad_sync.load(Ordering::Acquire) {
            return Err(std::io::Error::from_raw_os_error(5)); // EIO
        }
        self.inner.sync()
    }
    fn size(&self) -> std::io::Result<u64> {
        self.inner.size()
    }
}

#[test]
fn disk_full_refuses_writes_but_reads_go_on_and_failed_fsync_poisons() {
    let file = Arc::new(FaultyFile::default());
    let open = |f: &Arc<FaultyFile>| BTreeStore::open_file(f.clone(), "faulty".into(), tiny()).unwrap();
    let store = open(&file);
    let key = |i: u32| format!("key{i:05}").into_bytes();
    for i in 0..3000 {
        let mut b = WriteBatch::new();
        b.put(key(i), vec![1; 30]);
        store.write(b).unwrap();
    }
    store.checkpoint().unwrap();
    file.full.store(true, Ordering::Release);
    // Writes dirty pages until the pool must write one back: that fails with 53100.
    let e = (0..3000)
        .find_map(|i| {
            let mut b = WriteBatch::new();
            b.put(key(i), vec![2; 30]);
            store.write(b).err()
        })
        .expect("a write must hit the full disk");
    assert_eq!(e.sqlstate(), "53100", "{e:?}");
    // Reads of everything still work (clean frames are reused; dirty ones stay in memory).
    for i in (0..3000).step_by(7) {
        assert!(store.get(&key(i)).unwrap().is_some());
    }
    let e = store.checkpoint().unwrap_err();
    assert_eq!(e.sqlstate(), "53100");
    store.abandon();

    // Space again, but fsync fails: the checkpoint fails with 58030 and every later write is
    // refused until the store is reopened, which returns to the last checkpoint.
    file.full.store(false, Ordering::Release);
    let store = open(&file);
    assert_eq!(store.get(&key(5)).unwrap(), Some(vec![1; 30]));
    let mut b = WriteBatch::new();
    b.put(key(1), vec![3]);
    store.write(b).unwrap();
    file.bad_sync.store(true, Ordering::Release);
    assert_eq!(store.checkpoint().unwrap_err().sqlstate(), "58030");
    let mut b = WriteBatch::new();
    b.put(key(2), vec![3]);
    assert_eq!(store.write(b).unwrap_err().sqlstate(), "58030");
    assert_eq!(store.get(&key(1)).unwrap(), Some(vec![3]));
    drop(store);
    file.bad_sync.store(false, Ordering::Release);
    let store = open(&file);
    assert_eq!(store.get(&key(1)).unwrap(), Some(vec![1; 30]));
    store.check_invariants();
}

/// A file that models a disk cache: writes reach "stable storage" only at `sync`. `crash` builds
/// the image a power loss could leave: everything synced, plus any subset of the later writes, some
/// torn at a sector boundary. With `writes_left`, the disk dies after that many more writes/syncs.
#[derive(Default)]
struct CrashFile {
    current: MemFile,
    durable: Mutex<Vec<u8>>,
    unsynced: Mutex<Vec<(u64, Vec<u8>)>>,
    writes_left: AtomicU64,
    dead: AtomicBool,
}

impl CrashFile {
    fn from_image(image: Vec<u8>) -> CrashFile {
        let f = CrashFile { writes_left: AtomicU64::new(u64::MAX), ..CrashFile::default() };
        f.current.write_at(&image, 0).unwrap();
        *f.durable.lock() = image;
        f
    }

    fn tick(&self) -> std::io::Result<()> {
        if self.dead.load(Ordering::Acquire) || self.writes_left.fetch_sub(1, Ordering::AcqRel) <= 1 {
            self.dead.store(true, Ordering::Release);
            return Err(std::io::Error::from_raw_os_error(5));
        }
        Ok(())
    }

    fn crash(&self, rng: &mut StdRng) -> Vec<u8> {
        let mut image = self.durable.lock().clone();
        for (off, data) in self.unsynced.lock().iter() {
            let keep = match rng.gen_range(0..10) {
                0..=4 => 0,
                5..=8 => data.len(),
                _ => rng.gen_range(0..data.len() / 512 + 1) * 512, // torn at a sector boundary
            };
            let end = *off as usize + keep;
            if image.len() < end {
                image.resize(end, 0);
            }
            image[*off as usize..end].copy_from_slice(&data[..keep]);
        }
        image
    }
}

impl DataFile for CrashFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        self.current.read_at(buf, offset)
    }
    fn write_at(&self, buf: &[u8], offset: u64) -> std::io::Result<()> {
        self.tick()?;
        self.unsynced.lock().push((offset, buf.to_vec()));
        self.current.write_at(buf, offset)
    }
    fn sync(&self) -> std::io::Result<()> {
        self.tick()?;
        let mut durable = self.durable.lock();
        for (off, data) in self.unsynced.lock().drain(..) {
            let end = off as usize + data.len();
            if durable.len() < end {
                durable.resize(end, 0);
            }
            durable[off as usize..end].copy_from_slice(&data);
        }
        Ok(())
    }
    fn size(&self) -> std::io::Result<u64> {
        self.current.size()
    }
}

#[test]
fn a_crash_at_any_write_of_a_checkpoint_leaves_the_old_or_the_new_state() {
    let mut rng = StdRng::seed_from_u64(99);
    let config = Config { buffer_pool_bytes: 0, page_size: 1024 };
    let mut file = Arc::new(CrashFile::from_image(Vec::new()));
    let mut store = BTreeStore::open_file(file.clone(), "crash".into(), config.clone()).unwrap();
    let mut durable = Model::new();
    let mut model = Model::new();
    let as_vec = |m: &Model| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<Vec<_>>();
    // Checkpoints completed; died and recovered the old state; died after the meta was durable.
    let mut outcomes = [0; 3];
    for round in 0..400 {
        for _ in 0..rng.gen_range(1..300) {
            let (k, v) = (random_key(&mut rng, 3000), random_value(&mut rng));
            let mut b = WriteBatch::new();
            if rng.gen_range(0..3) == 0 {
                model.remove(&k);
                b.delete(k);
            } else {
                model.insert(k.clone(), v.clone());
                b.put(k, v);
            }
            store.write(b).unwrap();
        }
        // The disk dies somewhere inside this checkpoint (or not at all).
        file.writes_left.store(rng.gen_range(1..120), Ordering::Release);
        let done = store.checkpoint().is_ok();
        if done {
            durable = model.clone();
            outcomes[0] += 1;
        }
        store.abandon();
        let image = file.crash(&mut rng);
        file = Arc::new(CrashFile::from_image(image));
        store = BTreeStore::open_file(file.clone(), "crash".into(), config.clone()).unwrap();
        let got: Vec<_> = scan(&store, Bound::Unbounded, Bound::Unbounded, Direction::Forward)
            .map(|r| r.unwrap())
            .collect();
        // A failed checkpoint may still have become durable (its meta written before the end).
        if got != as_vec(&durable) {
            assert!(!done && got == as_vec(&model), "round {round}: recovered neither state");
            durable = model.clone();
            outcomes[2] += 1;
        } else if !done {
            outcomes[1] += 1;
        }
        model = durable.clone();
        store.check_invariants();
    }
    eprintln!("checkpoint outcomes (completed, old state, new state): {outcomes:?}");
    assert!(outcomes.iter().all(|&n| n > 0), "{outcomes:?}");
}

#[test]
fn the_check_finds_a_key_outside_its_page_range() {
    let file = Arc::new(MemFile::new());
    let store = BTreeStore::open_file(file, "mem".into(), tiny()).unwrap();
    let mut b = WriteBatch::new();
    for i in 0..500u32 {
        b.put(format!("key{i:04}").into_bytes(), vec![1; 10]);
    }
    store.write(b).unwrap();
    let report = store.check().unwrap();
    assert_eq!(report.keys, 500);
    assert!(report.height >= 2 && report.leaves > 10 && report.leaked_pages == 0, "{report:?}");
    // Plant a key that sorts before everything into a leaf in the middle: in order within its
    // page (so every page load would pass), but outside the range its parents give the page.
    let leaf = store.descend(read::Seek::Key(b"key0250"), false).unwrap().0.id();
    {
        let mut w = store.pool.fetch(leaf).unwrap().write();
        node::insert(&mut w, 0, &node::leaf_cell(b"a", node::Value::Inline(b"x")));
    }
    let e = store.check().unwrap_err();
    assert_eq!(e.sqlstate(), "XX001");
    assert!(e.message.contains(&format!("page {leaf} ")) && e.message.contains("range"), "{}", e.message);
    store.abandon();
}
