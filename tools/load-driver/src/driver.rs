//! Running the load: set-up, the clients, scheduling, retries, progress, Ctrl-C, and the report.
//!
//! A run goes through these steps, all on one tokio runtime:
//!
//! 1. An *admin* connection runs `--init` (if asked), discovers the table sizes, reads the
//!    server counters and the checks' baseline.
//! 2. All clients connect and prepare their statements concurrently; only then does the clock
//!    start, so connection set-up is not measured.
//! 3. Each client loops: take a *ticket*, plan a transaction from its own random stream, run it
//!    (`BEGIN ISOLATION LEVEL ...`, the workload's statements, `COMMIT`), and on 40001/40P01
//!    roll back and run the *same* transaction again while `--retries` allows.
//! 4. Once a second the progress task merges every client's counts and prints a line on stderr.
//! 5. At the end (deadline, ticket budget, or Ctrl-C) the stop signal is raised; clients finish
//!    the attempt in flight (a retry loop is abandoned), with [`STOP_GRACE`] before they are cut
//!    off. Then counters and checks are read again and the report is built.
//!
//! Tickets make both modes one loop. In closed loop a ticket is granted at once (only the
//! `--transactions` budget limits it). In fixed-rate mode ticket `k` carries the intended start
//! `t0 + k / rate`; the client that takes it sleeps until then if early, and latency is measured
//! from that intended start however late the client is — so a server stall shows up as the
//! queueing delay real users would see (no coordinated omission). (A client that was early and
//! slept measures from its wake-up instead: tokio's timer wakes up to a millisecond late, and
//! that slack is the driver's, not the server's.) Tickets are taken in order by
//! whichever client is free, so N clients act as N servers of one arrival stream.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::sleep_until;
use tokio_postgres::Client;

use crate::cli::{Config, StopRule};
use crate::db::{self, TxnError};
use crate::report::{CounterResult, ProgressSample, Report};
use crate::rng::Rng;
use crate::stats::{tps, ClientStats, LatencySummary};
use crate::workload::{self, checks, Outcome, Prepared, Shape, Txn};

/// How long clients may take to finish their transaction after the stop signal.
pub const STOP_GRACE: Duration = Duration::from_secs(10);

/// State shared by the clients and the progress task.
struct Shared {
    config: Arc<Config>,
    shape: Shape,
    /// When the first transaction may start.
    start: Instant,
    /// Next ticket number.
    tickets: AtomicU64,
    /// Transactions actually started.
    started: AtomicU64,
    /// One stats block per client.
    stats: Vec<Mutex<ClientStats>>,
    /// SQLSTATEs of non-retryable errors already printed (print each once).
    reported: Mutex<HashSet<String>>,
}

/// A granted ticket: `Some(intended start)` in fixed-rate mode.
type Ticket = Option<Instant>;

impl Shared {
    fn stats(&self, client: usize) -> std::sync::MutexGuard<'_, ClientStats> {
        // A panicking client cannot leave counts half-written in a way that matters more than
        // losing the report, so a poisoned lock is still read.
        self.stats[client].lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next ticket, or `None` when the run has handed out all it will.
    fn next_ticket(&self) -> Option<Ticket> {
        let cfg = &self.config;
        let deadline = match cfg.stop {
            StopRule::Duration(d) => Some(self.start + d),
            StopRule::Transactions(_) => None,
        };
        match cfg.rate {
            None => {
                if let StopRule::Transactions(n) = cfg.stop {
                    if self.tickets.fetch_add(1, Ordering::Relaxed) >= n {
                        return None;
                    }
                }
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return None;
                }
                Some(None)
            }
            Some(rate) => {
                let k = self.tickets.fetch_add(1, Ordering::Relaxed);
                if let StopRule::Transactions(n) = cfg.stop {
                    if k >= n {
                        return None;
                    }
                }
                let at = self.start + Duration::from_secs_f64(k as f64 / rate);
                if deadline.is_some_and(|d| at >= d) {
                    return None;
                }
                Some(Some(at))
            }
        }
    }

    /// Every client's counts merged.
    fn totals(&self) -> ClientStats {
        let mut t = ClientStats::default();
        for i in 0..self.stats.len() {
            t.merge(&self.stats(i));
        }
        t
    }
}

/// Runs one attempt of `txn`: BEGIN, the body, COMMIT (or ROLLBACK).
async fn attempt(c: &Client, p: &Prepared, begin: &str, txn: &Txn) -> Result<Outcome, TxnError> {
    c.batch_execute(begin).await?;
    match p.run(c, txn).await {
        Ok(Outcome::Commit { tally }) => {
            c.batch_execute("COMMIT").await?;
            Ok(Outcome::Commit { tally })
        }
        Ok(Outcome::Rollback) => {
            c.batch_execute("ROLLBACK").await?;
            Ok(Outcome::Rollback)
        }
        Err(e) => {
            if !matches!(e, TxnError::Fatal(_)) {
                // Ends the failed transaction; if this fails too, the next BEGIN will say why.
                let _ = c.batch_execute("ROLLBACK").await;
            }
            Err(e)
        }
    }
}

/// One client's loop, until tickets run out or the stop signal.
async fn client_loop(
    id: usize,
    conn: Client,
    prepared: Prepared,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
) {
    let cfg = &shared.config;
    let begin = cfg.isolation.begin_sql();
    let mut rng = Rng::for_client(cfg.seed, id);
    let stopped = || *stop.borrow();
    let mut seq = 0u64;
    while !stopped() {
        let Some(ticket) = shared.next_ticket() else { break };
        let mut was_early = false;
        if let Some(at) = ticket {
            was_early = Instant::now() < at;
            let mut stop = stop.clone();
            tokio::select! {
                _ = sleep_until(at.into()) => {}
                _ = stop.wait_for(|s| *s) => break,
            }
        }
        shared.started.fetch_add(1, Ordering::Relaxed);
        let first = Instant::now();
        // Latency runs from the due time when the client was late for it (queueing the user
        // would see); when it was early and slept, from when it woke, so the timer's
        // millisecond granularity is not charged to the server.
        let intended = match ticket {
            Some(at) if !was_early => at,
            _ => first,
        };
        let txn = workload::plan(&shared.shape, id, seq, &mut rng);
        seq += 1;
        let mut retries = 0u32;
        loop {
            let result = attempt(&conn, &prepared, begin, &txn).await;
            let now = Instant::now();
            let mut st = shared.stats(id);
            match result {
                Ok(Outcome::Commit { tally }) => st.record_commit(now - intended, now - first, tally),
                Ok(Outcome::Rollback) => st.rolled_back += 1,
                Err(TxnError::Fatal(m)) => {
                    let msg = format!("client {id}: {m}");
                    eprintln!("{msg} (this client stops; the others go on)");
                    st.fatal = Some(msg);
                    return;
                }
                Err(e) => {
                    *st.aborts.entry(e.code().to_string()).or_default() += 1;
                    if e.is_retryable() && cfg.retries.allows(retries) {
                        if stopped() {
                            st.abandoned += 1;
                            break;
                        }
                        retries += 1;
                        st.retries += 1;
                        continue;
                    }
                    *st.failed.entry(e.code().to_string()).or_default() += 1;
                    drop(st);
                    let first_of_kind = shared
                        .reported
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(e.code().to_string());
                    if first_of_kind && !e.is_retryable() {
                        eprintln!(
                            "client {id}: transaction failed: {e} (further {} failures counted silently)",
                            e.code()
                        );
                    }
                }
            }
            break;
        }
    }
}

/// Connects client `id` and prepares its statements.
async fn connect_client(id: usize, conn: String, shape: Shape) -> Result<(Client, Prepared), String> {
    let c = db::connect(&conn).await.map_err(|m| format!("client {id}: {m}"))?;
    let p = Prepared::new(&c, &shape).await.map_err(|e| format!("client {id}: preparing statements: {e}"))?;
    Ok((c, p))
}

/// Reads every server counter.
async fn read_counters(admin: &Client, cfg: &Config) -> Result<Vec<f64>, String> {
    let mut out = Vec::new();
    for k in &cfg.server_counters {
        out.push(
            db::query_number(admin, &k.sql).await.map_err(|e| format!("server counter {}: {e}", k.name))?,
        );
    }
    Ok(out)
}

/// Creates and loads the workload's tables.
async fn init(admin: &Client, cfg: &Config) -> Result<(), String> {
    let rows = cfg.rows.unwrap_or_else(|| cfg.workload.default_rows()) as i64;
    let t0 = Instant::now();
    for sql in workload::init_sql(cfg.workload, rows, i64::from(cfg.scale), i64::from(cfg.doctors)) {
        admin.batch_execute(&sql).await.map_err(|e| format!("--init: {sql}: {}", db::describe(&e)))?;
    }
    eprintln!("init: {} tables loaded in {:.1} s", cfg.workload.name(), t0.elapsed().as_secs_f64());
    Ok(())
}

/// What [`run`] returns: the report (absent for `--init-only`).
pub type RunResult = Result<Option<Report>, String>;

/// Runs the whole thing.
pub async fn run(config: Config) -> RunResult {
    let cfg = Arc::new(config);
    let admin = db::connect(&cfg.conn).await?;
    if cfg.init {
        init(&admin, &cfg).await?;
        if cfg.init_only {
            return Ok(None);
        }
    }
    let mut shape = Shape {
        kind: cfg.workload,
        rows: 0,
        scale: 0,
        doctors: 0,
        insert_base: 0,
        clients: cfg.clients,
        hotspot: cfg.hotspot as i64,
        send_payment: cfg.send_payment,
        bank_style: cfg.effective_bank_style(),
    };
    workload::discover(&admin, &mut shape).await.map_err(|e| format!("{e} (did you run --init?)"))?;
    shape.validate()?;
    let counters_before = read_counters(&admin, &cfg).await?;
    let baseline = checks::baseline(&admin, cfg.workload).await?;
    eprintln!(
        "load-driver: {} at {}, {} clients, {}, seed {}, retries {}, {} rows{}",
        cfg.workload.name(),
        cfg.isolation.name(),
        cfg.clients,
        match cfg.rate {
            Some(r) => format!("fixed rate {r} tps"),
            None => "closed loop".into(),
        },
        cfg.seed,
        cfg.retries.describe(),
        shape.rows,
        if cfg.workload == workload::Kind::Bank {
            format!(", bank style {}", shape.bank_style.name())
        } else {
            String::new()
        }
    );

    // Connect every client before the clock starts.
    let connecting: Vec<JoinHandle<_>> = (0..cfg.clients)
        .map(|id| tokio::spawn(connect_client(id, cfg.conn.clone(), shape.clone())))
        .collect();
    let mut clients = Vec::new();
    for h in connecting {
        clients.push(h.await.map_err(|e| format!("client set-up task failed: {e}"))??);
    }

    let shared = Arc::new(Shared {
        config: cfg.clone(),
        shape: shape.clone(),
        start: Instant::now(),
        tickets: AtomicU64::new(0),
        started: AtomicU64::new(0),
        stats: (0..cfg.clients).map(|_| Mutex::new(ClientStats::default())).collect(),
        reported: Mutex::new(HashSet::new()),
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut handles: Vec<JoinHandle<()>> = clients
        .into_iter()
        .enumerate()
        .map(|(id, (c, p))| tokio::spawn(client_loop(id, c, p, shared.clone(), stop_rx.clone())))
        .collect();

    let deadline = match cfg.stop {
        StopRule::Duration(d) => Some(shared.start + d),
        StopRule::Transactions(_) => None,
    };
    let mut progress = Vec::new();
    let mut interrupted = false;
    let mut last = (shared.start, 0u64);
    let mut tick =
        tokio::time::interval_at((shared.start + Duration::from_secs(1)).into(), Duration::from_secs(1));
    let mut all_done = Box::pin(async {
        for h in handles.iter_mut() {
            let _ = h.await;
        }
    });
    let mut grace_end: Option<Instant> = None;
    loop {
        let stop_at = grace_end.or(deadline);
        tokio::select! {
            _ = &mut all_done => break,
            _ = tick.tick() => {
                let t = shared.totals();
                let now = Instant::now();
                let sample = ProgressSample {
                    t_s: (now - shared.start).as_secs_f64(),
                    tps: tps(t.committed - last.1, now - last.0),
                    p99_us: LatencySummary::of(&t.latency).p99,
                    aborts: t.total_aborts(),
                };
                last = (now, t.committed);
                if cfg.progress {
                    eprintln!("{}", sample.line());
                }
                progress.push(sample);
            }
            _ = sleep_until(stop_at.unwrap_or(shared.start).into()), if stop_at.is_some() => {
                if grace_end.is_some() {
                    eprintln!("load-driver: clients still busy {} s after the stop; cutting them off", STOP_GRACE.as_secs());
                    break;
                }
                let _ = stop_tx.send(true);
                grace_end = Some(Instant::now() + STOP_GRACE);
            }
            _ = tokio::signal::ctrl_c() => {
                if interrupted {
                    eprintln!("load-driver: second Ctrl-C; cutting clients off");
                    break;
                }
                eprintln!("load-driver: Ctrl-C; finishing transactions in flight (Ctrl-C again to cut off)");
                interrupted = true;
                let _ = stop_tx.send(true);
                grace_end = Some(Instant::now() + STOP_GRACE);
            }
        }
    }
    drop(all_done);
    let mut cut_off = 0;
    for h in &handles {
        if !h.is_finished() {
            h.abort();
            cut_off += 1;
        }
    }
    let elapsed = shared.start.elapsed();
    let totals = shared.totals();
    let mut client_errors: Vec<String> =
        (0..cfg.clients).filter_map(|i| shared.stats(i).fatal.clone()).collect();
    if cut_off > 0 {
        client_errors.push(format!("{cut_off} clients cut off mid-transaction at the end of the run"));
    }

    let facts = checks::RunFacts {
        isolation: cfg.isolation,
        tally: totals.tally,
        complete: !interrupted && client_errors.is_empty(),
    };
    // A fresh connection: the admin one sat idle through the run and may have been dropped.
    // Whatever goes wrong here becomes a failed check, so the load's figures are still reported.
    drop(admin);
    let mut counters = Vec::new();
    let mut checks = Vec::new();
    let post_run = async {
        let c = db::connect(&cfg.conn).await?;
        let after = read_counters(&c, &cfg).await?;
        for (k, (before, after)) in cfg.server_counters.iter().zip(counters_before.into_iter().zip(after)) {
            counters.push(CounterResult { name: k.name.clone(), sql: k.sql.clone(), before, after });
        }
        checks.extend(checks::run(&c, cfg.workload, baseline, facts).await?);
        Ok::<(), String>(())
    };
    if let Err(m) = post_run.await {
        checks.push(checks::Check {
            name: "post-run counters and checks".into(),
            ok: false,
            required: true,
            detail: m,
        });
    }
    let fixed_rate = cfg.rate.map(|rate| {
        let end = deadline.map_or(elapsed, |d| (d - shared.start).min(elapsed));
        let mut scheduled = (end.as_secs_f64() * rate).ceil() as u64;
        if let StopRule::Transactions(n) = cfg.stop {
            scheduled = scheduled.min(n);
        }
        (scheduled, shared.started.load(Ordering::Relaxed))
    });
    Ok(Some(Report {
        config: (*cfg).clone(),
        shape,
        elapsed,
        totals,
        client_errors,
        counters,
        checks,
        progress,
        fixed_rate,
        interrupted,
    }))
}
