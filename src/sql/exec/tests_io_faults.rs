//! I/O faults seen from SQL: the engine runs on in-memory files behind the fault-injecting layer
//! ([`crate::storage::testfs::faults`]) and a session checks the SQLSTATE each fault produces and
//! that reads go on.

use super::tests::TestSession;
use crate::sql::cluster::Cluster;
use crate::storage::btree::{BTreeStore, Config as StoreConfig, MemFile};
use crate::storage::logged::Logged;
use crate::storage::testfs::faults::{Faults, EIO, ENOSPC};
use crate::storage::wal::dir::{MemDir, WalDir};
use std::sync::Arc;

/// The files of one server, kept across "restarts".
struct Disk {
    data: Arc<MemFile>,
    wal: Arc<MemDir>,
}

impl Disk {
    fn new() -> Disk {
        Disk { data: Arc::new(MemFile::new()), wal: Arc::new(MemDir::new()) }
    }

    /// Starts a server on the disk with the given switchboards on the data file and the log.
    fn start(&self, data: &Arc<Faults>, wal: &Arc<Faults>) -> TestSession {
        let store = BTreeStore::open_file(
            data.file(self.data.clone()),
            "data".into(),
            StoreConfig::with_pool(4 << 20),
        )
        .expect("store opens");
        let dir: Arc<dyn WalDir> = self.wal.clone();
        let (logged, _) = Logged::open(Arc::new(store), wal.dir(dir), 1 << 20).expect("log opens");
        TestSession::on(Cluster::open_engine(Arc::new(logged)).expect("cluster opens"))
    }
}

fn setup() -> (Disk, Arc<Faults>, Arc<Faults>, TestSession) {
    let disk = Disk::new();
    let (data, wal) = (Faults::new(), Faults::new());
    let mut s = disk.start(&data, &wal);
    assert_eq!(s.rows("CREATE TABLE t (id int PRIMARY KEY, v text)"), "");
    assert_eq!(s.rows("INSERT INTO t VALUES (1, 'a'), (2, 'b')"), "");
    (disk, data, wal, s)
}

#[test]
fn enospc_on_the_log_fails_the_commit_with_53100_and_reads_go_on() {
    let (_disk, _data, wal, mut s) = setup();
    wal.fail_writes(ENOSPC);
    let r = s.rows("INSERT INTO t VALUES (3, 'c')");
    assert!(r.starts_with("ERROR 53100"), "{r}");
    assert_eq!(s.rows("SELECT v FROM t WHERE id = 1"), "a");
    assert_eq!(s.rows("SELECT count(*) FROM t WHERE id <= 2"), "2");
}

#[test]
fn eio_on_the_log_fails_the_commit_with_58030_and_reads_go_on() {
    let (_disk, _data, wal, mut s) = setup();
    wal.fail_writes(EIO);
    let r = s.rows("INSERT INTO t VALUES (3, 'c')");
    assert!(r.starts_with("ERROR 58030"), "{r}");
    assert_eq!(s.rows("SELECT v FROM t WHERE id = 2"), "b");
}

#[test]
fn eio_on_the_data_file_fails_the_checkpoint_with_58030_and_reads_go_on() {
    let (_disk, data, _wal, mut s) = setup();
    data.fail_writes(EIO);
    let cluster = s.cluster();
    let e = cluster.checkpoint().expect_err("checkpoint on a failing disk");
    assert_eq!(e.sqlstate(), "58030");
    let r = s.rows("INSERT INTO t VALUES (3, 'c')");
    assert!(r.starts_with("ERROR 58030"), "writes are refused after a failed checkpoint: {r}");
    assert_eq!(s.rows("SELECT v FROM t WHERE id = 1"), "a");
}

#[test]
fn after_an_fsync_failure_every_write_is_refused_until_restart() {
    let (disk, data, wal, mut s) = setup();
    wal.fail_syncs(true);
    let r = s.rows("INSERT INTO t VALUES (3, 'c')");
    assert!(r.starts_with("ERROR 58030"), "{r}");
    // The disk "recovers", but a retried fsync proves nothing: refuse until restart.
    wal.fail_syncs(false);
    for sql in
        ["INSERT INTO t VALUES (4, 'd')", "UPDATE t SET v = 'z' WHERE id = 1", "CREATE TABLE u (x int)"]
    {
        let r = s.rows(sql);
        assert!(r.starts_with("ERROR 58030"), "{sql}: {r}");
    }
    assert_eq!(s.rows("SELECT v FROM t WHERE id = 1"), "a", "reads go on");
    drop(s);
    // Restart: recovery from the files; writes work again and nothing acknowledged is lost.
    let mut s = disk.start(&data, &wal);
    assert_eq!(s.rows("SELECT v FROM t WHERE id <= 2 ORDER BY id"), "a\nb");
    assert_eq!(s.rows("INSERT INTO t VALUES (5, 'e')"), "");
    assert_eq!(s.rows("SELECT v FROM t WHERE id = 5"), "e");
}
