//! The progress bar: records done out of an estimated total (the statement/query lines of every
//! file times the servers), failures and timeouts so far, records per second and files done.
//!
//! On a terminal it redraws one line on stderr twice a second; otherwise (CI logs) it prints a
//! line every 15 seconds. Counters are atomics bumped by the record loops of all files.

use crate::slt::RecordResult;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Shared counters of a run.
#[derive(Debug)]
pub struct Progress {
    total: AtomicUsize,
    done: AtomicUsize,
    failed: AtomicUsize,
    timeouts: AtomicUsize,
    files_total: usize,
    files_done: AtomicUsize,
    started: Instant,
    finished: AtomicBool,
}

impl Progress {
    /// Counters for `files_total` files and an estimated `total` records.
    pub fn new(files_total: usize, total: usize) -> Arc<Progress> {
        Arc::new(Progress {
            total: AtomicUsize::new(total),
            done: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            timeouts: AtomicUsize::new(0),
            files_total,
            files_done: AtomicUsize::new(0),
            started: Instant::now(),
            finished: AtomicBool::new(false),
        })
    }

    /// Counts one record's outcome.
    pub fn record(&self, r: &RecordResult) {
        self.done.fetch_add(1, Ordering::Relaxed);
        match r {
            RecordResult::Fail(_) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
            }
            RecordResult::Timeout(_) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                self.timeouts.fetch_add(1, Ordering::Relaxed);
            }
            RecordResult::Pass | RecordResult::Skip => {}
        }
    }

    /// Counts a finished file; `estimated` records were expected and `ran` ran (a `halt` or a
    /// record limit ends a file early): the total is corrected by the difference.
    pub fn file_done(&self, estimated: usize, ran: usize) {
        self.files_done.fetch_add(1, Ordering::Relaxed);
        if estimated > ran {
            self.total.fetch_sub(estimated - ran, Ordering::Relaxed);
        } else {
            self.total.fetch_add(ran - estimated, Ordering::Relaxed);
        }
    }

    /// Records per second so far.
    pub fn rate(&self) -> f64 {
        self.done.load(Ordering::Relaxed) as f64 / self.started.elapsed().as_secs_f64().max(1e-9)
    }

    fn line(&self) -> String {
        let done = self.done.load(Ordering::Relaxed);
        let total = self.total.load(Ordering::Relaxed).max(done).max(1);
        const WIDTH: usize = 30;
        let filled = done * WIDTH / total;
        let bar: String = (0..WIDTH).map(|i| if i < filled { '#' } else { '-' }).collect();
        let rate = self.rate();
        let eta = if rate > 0.0 { (total - done) as f64 / rate } else { 0.0 };
        format!(
            "[{bar}] {done}/{total} records ({:.0}%)  {} failed ({} timed out)  {rate:.0} rec/s  files {}/{}  {}s elapsed, ~{}s left",
            done as f64 * 100.0 / total as f64,
            self.failed.load(Ordering::Relaxed),
            self.timeouts.load(Ordering::Relaxed),
            self.files_done.load(Ordering::Relaxed),
            self.files_total,
            self.started.elapsed().as_secs(),
            eta as u64,
        )
    }

    /// Draws until [`Progress::finish`]; run it as a background task.
    pub async fn draw(self: Arc<Self>) {
        let tty = std::io::stderr().is_terminal();
        let every = if tty { Duration::from_millis(500) } else { Duration::from_secs(15) };
        let mut next = Instant::now() + every;
        while !self.finished.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if Instant::now() < next || self.finished.load(Ordering::Relaxed) {
                continue;
            }
            next = Instant::now() + every;
            let mut err = std::io::stderr().lock();
            if tty {
                let _ = write!(err, "\r\x1b[2K{}", self.line());
            } else {
                let _ = writeln!(err, "{}", self.line());
            }
            let _ = err.flush();
        }
    }

    /// Prints a message above the bar (a finished file).
    pub fn println(&self, msg: &str) {
        let mut err = std::io::stderr().lock();
        if err.is_terminal() {
            let _ = writeln!(err, "\r\x1b[2K{msg}");
        } else {
            let _ = writeln!(err, "{msg}");
        }
    }

    /// Stops drawing and prints the final state once.
    pub fn finish(&self) {
        self.finished.store(true, Ordering::Relaxed);
        let mut err = std::io::stderr().lock();
        let clear = if err.is_terminal() { "\r\x1b[2K" } else { "" };
        let _ = writeln!(err, "{clear}{}", self.line());
    }
}
