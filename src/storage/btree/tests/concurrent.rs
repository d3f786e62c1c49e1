//! Readers, writers and a checkpointer running at once, checked against per-writer models.

use super::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// A churn value: the key, a version, and filler that repeats the version's low byte.
fn churn_value(key: &[u8], version: u64, len: usize) -> Vec<u8> {
    let mut v = key.to_vec();
    v.extend_from_slice(&version.to_le_bytes());
    v.resize(v.len() + len, version as u8);
    v
}

fn churn_value_ok(key: &[u8], v: &[u8]) -> bool {
    if v.len() < key.len() + 8 || &v[..key.len()] != key {
        return false;
    }
    let version = u64::from_le_bytes(v[key.len()..key.len() + 8].try_into().unwrap());
    v[key.len() + 8..].iter().all(|&b| b == version as u8)
}

fn stable_key(i: u32) -> Vec<u8> {
    format!("k{i:05}s").into_bytes()
}

fn stable_value(i: u32) -> Vec<u8> {
    vec![(i % 251) as u8; (i % 97) as usize]
}

#[test]
fn concurrent_readers_and_writers_match_the_model() {
    const STABLE: u32 = 600;
    const READERS: usize = 3;
    let ops: u64 = env_u64("SSIDB_CONCURRENT_OPS", 60_000);
    let file = Arc::new(MemFile::new());
    let store = Arc::new(mem_store(&file, Config { buffer_pool_bytes: 256 * 512, page_size: 512 }));
    let mut b = WriteBatch::new();
    for i in 0..STABLE {
        b.put(stable_key(i), stable_value(i));
    }
    store.write(b).unwrap();
    let stop = Arc::new(AtomicBool::new(false));

    // Writers churn keys interleaved with the stable ones (same prefixes), so splits and merges
    // happen right next to them; values span inline to multi-page overflow runs. Each writer owns
    // the keys with its own suffix and keeps their model. A third thread checkpoints meanwhile.
    let writers: Vec<_> = (0..2u64)
        .map(|wid| {
            let store = store.clone();
            std::thread::spawn(move || {
                let mut rng = StdRng::seed_from_u64(7 + wid);
                let mut model = Model::new();
                for version in 0..ops / 2 {
                    let mut batch = WriteBatch::new();
                    for _ in 0..rng.gen_range(1..5) {
                        let k = format!("k{:05}w{wid}", rng.gen_range(0..STABLE)).into_bytes();
                        if rng.gen_range(0..100) < 45 {
                            model.remove(&k);
                            batch.delete(k);
                        } else {
                            let len = if rng.gen_range(0..50) == 0 {
                                rng.gen_range(200..3000)
                            } else {
                                rng.gen_range(0..60)
                            };
                            let v = churn_value(&k, version, len);
                            model.insert(k.clone(), v.clone());
                            batch.put(k, v);
                        }
                    }
                    store.write(batch).unwrap();
                }
                model
            })
        })
        .collect();
    let checkpointer = {
        let (store, stop) = (store.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Acquire) {
                store.checkpoint().unwrap();
                n += 1;
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            n
        })
    };

    let readers: Vec<_> = (0..READERS)
        .map(|r| {
            let (store, stop) = (store.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut rng = StdRng::seed_from_u64(100 + r as u64);
                let mut checks = 0u64;
                while !stop.load(Ordering::Acquire) {
                    let i = rng.gen_range(0..STABLE);
                    assert_eq!(store.get(&stable_key(i)).unwrap(), Some(stable_value(i)));
                    let ck = format!("k{i:05}w{}", rng.gen_range(0..2)).into_bytes();
                    if let Some(v) = store.get(&ck).unwrap() {
                        assert!(churn_value_ok(&ck, &v), "bad value for {ck:?}");
                    }
                    // A chunk: ordered, in range, values well formed, and no stable key missing
                    // between its first and last key.
                    let (a, z) = (rng.gen_range(0..STABLE), rng.gen_range(0..STABLE));
                    let (lo, hi) =
                        (format!("k{:05}", a.min(z)).into_bytes(), format!("k{:05}~", a.max(z)).into_bytes());
                    let dir = if rng.gen() { Direction::Forward } else { Direction::Backward };
                    let got = store.scan_chunk(Bound::Included(&lo), Bound::Excluded(&hi), dir, 50).unwrap();
                    for w in got.windows(2) {
                        assert!(if dir == Direction::Forward { w[0].0 < w[1].0 } else { w[0].0 > w[1].0 });
                    }
                    for (k, v) in &got {
                        assert!(k >= &lo && k < &hi);
                        if k.ends_with(b"s") {
                            let i: u32 = std::str::from_utf8(&k[1..6]).unwrap().parse().unwrap();
                            assert_eq!(v, &stable_value(i));
                        } else {
                            assert!(churn_value_ok(k, v), "bad value for {k:?}");
                        }
                    }
                    if let (Some(f), Some(l)) = (got.first(), got.last()) {
                        let (f, l) = if f.0 <= l.0 { (&f.0, &l.0) } else { (&l.0, &f.0) };
                        let stable_in = (0..STABLE).map(stable_key).filter(|k| k >= f && k <= l).count();
                        let stable_got = got.iter().filter(|(k, _)| k.ends_with(b"s")).count();
                        assert_eq!(stable_in, stable_got, "a stable key went missing from a chunk");
                    }
                    checks += 1;
                }
                checks
            })
        })
        .collect();

    let mut want = Model::new();
    for w in writers {
        want.extend(w.join().unwrap());
    }
    stop.store(true, Ordering::Release);
    let checks: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
    assert!(checks > 100, "readers barely ran: {checks}");
    assert!(checkpointer.join().unwrap() > 2);
    for i in 0..STABLE {
        want.insert(stable_key(i), stable_value(i));
    }
    let all: Vec<_> = scan(store.as_ref(), Bound::Unbounded, Bound::Unbounded, Direction::Forward)
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(all, want.into_iter().collect::<Vec<_>>());
    store.check_invariants();
    let st = store.stats();
    assert!(st.reads > 100 && st.splits > 100 && st.merges > 10, "{st:?}");
}
