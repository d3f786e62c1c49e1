//! Running a spec: PostgreSQL's isolation tester scheduling, step by step.
//!
//! One connection per session plus a *control* connection (index 0) that runs the global setup and
//! teardown and asks the server whether a session is blocked. Each connection appends
//! `/<session name>` (or `/control connection`) to its `application_name`. The lock-wait probe is a
//! statement prepared once on the control connection:
//!
//! ```text
//! SELECT pg_catalog.pg_isolation_test_session_is_blocked($1, '{pid1,pid2,...}')
//! ```
//!
//! For each permutation: print `starting permutation: ...`, run the global setup blocks (control
//! connection) and each session's setup, then send the steps in order. Sending a step starts its SQL
//! asynchronously and calls `try_complete_step` with `NONBLOCK`:
//!
//! ```text
//!   loop while the step is busy:
//!       print any notices that arrived (prefixed "session: ")
//!       wait up to 10 ms for the step to finish
//!       still busy and NONBLOCK: run the probe; if blocked -> print "<waiting ...>", return "waiting"
//!       busy longer than the step timeout: cancel it and print "isolationtester: canceling step ..."
//!       busy longer than twice the step timeout: give up on the whole run
//!   finished, but a blocker annotation still holds -> "<waiting ...>", return "waiting"
//!   print "step x: <sql>" (or "step x: <... completed>" on a retry), then its results/errors
//! ```
//!
//! After every step, every waiting step is polled again (`NONBLOCK | RETRY`), repeating while steps
//! with blocker annotations keep being released. If the next step belongs to a session that is still
//! busy, the runner first waits for that session's step. At the end, the remaining waiting steps are
//! awaited without `NONBLOCK`; then session teardowns and the global teardown run. This is the
//! algorithm of PostgreSQL 15's `isolationtester.c` (`run_permutation`, `try_complete_steps`,
//! `try_complete_step`, `step_has_blocker`), so the text output matches its `expected/*.out` files.
//!
//! On a fatal error (a setup that fails, a step stuck past twice the timeout) PostgreSQL's tester
//! exits; this runner instead cancels what is running, closes the sessions, runs the global
//! teardown quietly (so the database is left clean) and returns the error with the partial output.

use crate::conn::{describe, spawn_simple_query, AsyncMsg, Conn, ConnConfig};
use crate::pqprint::pqprint;
use crate::report::{PermutationRun, ServerMessage, SpecRun, StatementResult, StepRun};
use crate::spec::{Blocker, CheckedSpec, Permutation};
use futures_util::FutureExt;
use std::fmt;
use std::io::Write;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio_postgres::Statement;

/// How long the tester waits for data before probing for a lock wait (PostgreSQL: 10 ms).
pub const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// PostgreSQL's default step timeout (`PGISOLATIONTIMEOUT`), in seconds.
pub const DEFAULT_STEP_TIMEOUT_SECS: u64 = 300;

/// How to run a spec.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// A step busy this long is cancelled; twice this long aborts the run.
    pub step_timeout: Duration,
    /// Run only this permutation (1-based), as `--permutation N`.
    pub permutation: Option<usize>,
    /// Also write the output to stdout as it is produced (as PostgreSQL's tester does).
    pub echo: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            step_timeout: Duration::from_secs(DEFAULT_STEP_TIMEOUT_SECS),
            permutation: None,
            echo: false,
        }
    }
}

/// Why a run stopped before the end (PostgreSQL's tester exits with status 1 in these cases).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunError {
    /// `--permutation N` is out of range.
    NoSuchPermutation {
        /// The requested 1-based index.
        requested: usize,
        /// How many permutations the spec has.
        available: usize,
    },
    /// Opening connection `index` (0 = control) failed.
    Connect {
        /// 0 for the control connection, i for the i-th session.
        index: usize,
        /// The client's error.
        message: String,
    },
    /// Setting application_name or preparing the lock-wait probe failed.
    Prepare(String),
    /// A global setup block failed.
    Setup(String),
    /// A session's setup block failed.
    SessionSetup {
        /// The session.
        session: String,
        /// The server's error.
        message: String,
    },
    /// The lock-wait probe failed.
    LockWaitQuery(String),
    /// A step stayed busy for twice the step timeout, even after being cancelled.
    StepTimedOut {
        /// The step.
        step: String,
        /// How long it had been busy, in whole seconds.
        seconds: u64,
    },
    /// Steps were still waiting on each other when the permutation ended.
    MutuallyBlocking,
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::NoSuchPermutation { requested, available } => {
                write!(f, "no permutation {requested}: the spec has {available}")
            }
            RunError::Connect { index, message } => write!(f, "Connection {index} failed: {message}"),
            RunError::Prepare(m) => write!(f, "prepare of lock wait query failed: {m}"),
            RunError::Setup(m) => write!(f, "setup failed: {m}"),
            RunError::SessionSetup { session, message } => {
                write!(f, "setup of session {session} failed: {message}")
            }
            RunError::LockWaitQuery(m) => write!(f, "lock wait query failed: {m}"),
            RunError::StepTimedOut { step, seconds } => {
                write!(f, "step {step} timed out after {seconds} seconds")
            }
            RunError::MutuallyBlocking => {
                f.write_str("failed to complete permutation due to mutually-blocking steps")
            }
        }
    }
}

impl std::error::Error for RunError {}

/// A run that stopped early: the error plus everything produced before it.
#[derive(Debug, Clone)]
pub struct RunFailure {
    /// Why the run stopped.
    pub error: RunError,
    /// Output and permutations completed before the error (the last one may be partial).
    pub partial: SpecRun,
}

impl fmt::Display for RunFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for RunFailure {}

const NONBLOCK: u8 = 1;
const RETRY: u8 = 2;

/// `ERROR:  message` as the tester prints a failed statement (severity and primary message only).
pub(crate) fn format_error(e: &ServerMessage) -> String {
    if e.severity.is_empty() {
        format!("{}\n", e.message)
    } else {
        format!("{}:  {}\n", e.severity, e.message)
    }
}

/// The message as libpq's default verbosity formats it (notices and `PQerrorMessage`).
fn format_full(e: &ServerMessage) -> String {
    let mut s = format_error(e);
    if let Some(d) = &e.detail {
        s.push_str(&format!("DETAIL:  {d}\n"));
    }
    if let Some(h) = &e.hint {
        s.push_str(&format!("HINT:  {h}\n"));
    }
    s
}

/// The transcript being written.
struct Out {
    /// Everything printed so far.
    text: String,
    /// Also copy it to stdout as it is produced.
    echo: bool,
}

impl Out {
    fn put(&mut self, s: &str) {
        self.text.push_str(s);
        if self.echo {
            let mut o = std::io::stdout().lock();
            // Output is best effort, as with printf: a closed stdout must not abort the run.
            let _ = o.write_all(s.as_bytes());
            let _ = o.flush();
        }
    }
}

/// The step currently running on a session.
struct Active {
    /// Position of the step in the permutation.
    pos: usize,
    /// The task running its SQL, until it has finished.
    handle: Option<JoinHandle<Vec<StatementResult>>>,
    /// Its results, once finished (completion may still be held back by a blocker).
    done: Option<Vec<StatementResult>>,
    /// `<waiting ...>` was printed for it.
    waited: bool,
    /// It was cancelled after the step timeout.
    canceled: bool,
    /// Notices its session printed while it ran.
    notices: Vec<ServerMessage>,
}

fn joined(r: Result<Vec<StatementResult>, tokio::task::JoinError>) -> Vec<StatementResult> {
    r.unwrap_or_else(|e| {
        vec![StatementResult::Error(ServerMessage {
            severity: String::new(),
            sqlstate: String::new(),
            message: format!("step task failed: {e}"),
            detail: None,
            hint: None,
        })]
    })
}

impl Active {
    /// Waits up to `dur` for the step to finish; true once it has.
    async fn wait(&mut self, dur: Duration) -> bool {
        if let Some(h) = self.handle.as_mut() {
            if let Ok(r) = tokio::time::timeout(dur, h).await {
                self.done = Some(joined(r));
                self.handle = None;
            }
        }
        self.done.is_some()
    }

    /// True if the step has finished, without waiting.
    fn finished_now(&mut self) -> bool {
        if let Some(h) = self.handle.as_mut() {
            if h.is_finished() {
                if let Some(r) = h.now_or_never() {
                    self.done = Some(joined(r));
                    self.handle = None;
                }
            }
        }
        self.done.is_some()
    }
}

/// A session's connection and what it is doing.
struct SessionState {
    /// The session's name.
    name: String,
    /// Its connection.
    conn: Conn,
    /// Notices printed for it so far (what `notices N` blockers count).
    total_notices: usize,
    /// The step it is running, if any.
    active: Option<Active>,
    /// NOTIFYs received and not yet printed: (sender pid, channel, payload).
    notifies: Vec<(i32, String, String)>,
}

/// The state of one spec run.
struct Runner<'a> {
    /// The spec being run.
    spec: &'a CheckedSpec,
    /// How to run it.
    opts: &'a RunOptions,
    /// Connection 0: global setup/teardown and the lock-wait probe.
    control: Conn,
    /// The prepared lock-wait probe.
    probe: Statement,
    /// One entry per spec session, in order.
    sessions: Vec<SessionState>,
    /// The transcript.
    out: Out,
    /// Messages PostgreSQL's tester would print on stderr.
    warnings: Vec<String>,
    /// A notice was printed during the current `try_complete_steps` round.
    any_new_notice: bool,
    /// Per permutation step, per blocker: the notice count that releases a `notices N` blocker.
    targets: Vec<Vec<usize>>,
    /// Step executions of the current permutation, in completion order.
    runs: Vec<StepRun>,
    /// Permutations finished so far.
    done: Vec<PermutationRun>,
}

/// Runs a checked spec against the server `conn` describes and returns its output and results.
pub async fn run_spec(
    spec: &CheckedSpec,
    conn: &ConnConfig,
    opts: &RunOptions,
) -> Result<SpecRun, RunFailure> {
    let mut out = Out { text: String::new(), echo: opts.echo };
    let fail = |error: RunError, out: Out, warnings: Vec<String>| RunFailure {
        error,
        partial: SpecRun { output: out.text, permutations: Vec::new(), warnings },
    };
    let warnings = spec.warnings.clone();
    let selected: Vec<(usize, &Permutation)> = match opts.permutation {
        None => spec.permutations.iter().enumerate().map(|(i, p)| (i + 1, p)).collect(),
        Some(n) if n >= 1 && n <= spec.permutations.len() => vec![(n, &spec.permutations[n - 1])],
        Some(n) => {
            let error = RunError::NoSuchPermutation { requested: n, available: spec.permutations.len() };
            return Err(fail(error, out, warnings));
        }
    };
    out.put(&format!("Parsed test spec with {} sessions\n", spec.spec.sessions.len()));

    let names: Vec<String> = std::iter::once("control connection".to_string())
        .chain(spec.spec.sessions.iter().map(|s| s.name.clone()))
        .collect();
    let mut conns = Vec::with_capacity(names.len());
    for (index, name) in names.iter().enumerate() {
        let c = match Conn::open(conn).await {
            Ok(c) => c,
            Err(e) => return Err(fail(RunError::Connect { index, message: describe(&e) }, out, warnings)),
        };
        let set_name = "SELECT set_config('application_name',\n  current_setting('application_name') || '/' || $1,\n  false)";
        if let Err(e) = c.client.query(set_name, &[name]).await {
            let error = RunError::Prepare(format!("setting of application name failed: {}", describe(&e)));
            return Err(fail(error, out, warnings));
        }
        conns.push(c);
    }
    let pids: Vec<String> = conns[1..].iter().map(|c| c.pid.to_string()).collect();
    let probe_sql =
        format!("SELECT pg_catalog.pg_isolation_test_session_is_blocked($1, '{{{}}}')", pids.join(","));
    let mut conns = conns.into_iter();
    let Some(control) = conns.next() else {
        return Err(fail(RunError::Prepare("no control connection".into()), out, warnings));
    };
    let probe = match control.client.prepare(&probe_sql).await {
        Ok(p) => p,
        Err(e) => return Err(fail(RunError::Prepare(describe(&e)), out, warnings)),
    };
    let sessions = conns
        .zip(spec.spec.sessions.iter())
        .map(|(conn, s)| SessionState {
            name: s.name.clone(),
            conn,
            total_notices: 0,
            active: None,
            notifies: Vec::new(),
        })
        .collect();

    let mut runner = Runner {
        spec,
        opts,
        control,
        probe,
        sessions,
        out,
        warnings,
        any_new_notice: false,
        targets: Vec::new(),
        runs: Vec::new(),
        done: Vec::new(),
    };
    for (index, perm) in selected {
        let start = runner.out.text.len();
        if let Err(error) = runner.run_permutation(perm).await {
            runner.finish_permutation(index, perm, start);
            runner.abort_cleanup().await;
            let partial =
                SpecRun { output: runner.out.text, permutations: runner.done, warnings: runner.warnings };
            return Err(RunFailure { error, partial });
        }
        runner.finish_permutation(index, perm, start);
    }
    Ok(SpecRun { output: runner.out.text, permutations: runner.done, warnings: runner.warnings })
}

impl Runner<'_> {
    fn finish_permutation(&mut self, index: usize, perm: &Permutation, start: usize) {
        self.done.push(PermutationRun {
            index,
            steps: self.spec.step_names(perm),
            runs: std::mem::take(&mut self.runs),
            output: self.out.text[start..].to_string(),
        });
    }

    /// After a fatal error: stop what runs, close the sessions, run the global teardown quietly.
    async fn abort_cleanup(&mut self) {
        for s in &self.sessions {
            if s.active.is_some() {
                let _ = s.conn.cancel_query().await;
            }
        }
        self.sessions.clear();
        if let Some(sql) = &self.spec.spec.teardown {
            let _ = tokio::time::timeout(self.opts.step_timeout, self.control.exec(sql)).await;
        }
    }

    /// Prints the result of a setup/teardown block as `PQexec` + `printResultSet` would: only the
    /// last result counts; returns its error, if any.
    fn print_exec_result(&mut self, results: &[StatementResult]) -> Option<ServerMessage> {
        match results.last() {
            Some(StatementResult::Rows { columns, rows }) => {
                self.out.put(&pqprint(columns, rows));
                None
            }
            Some(StatementResult::Error(e)) => Some(e.clone()),
            _ => None,
        }
    }

    /// Prints (and counts) the notices a session received so far; keeps its NOTIFYs for later.
    fn drain_session(&mut self, sid: usize) {
        let s = &mut self.sessions[sid];
        for msg in s.conn.drain() {
            match msg {
                AsyncMsg::Notice(n) => {
                    self.out.put(&format!("{}: {}", s.name, format_full(&n)));
                    s.total_notices += 1;
                    self.any_new_notice = true;
                    if let Some(a) = s.active.as_mut() {
                        a.notices.push(n);
                    }
                }
                AsyncMsg::Notify { pid, channel, payload } => s.notifies.push((pid, channel, payload)),
            }
        }
    }

    async fn run_permutation(&mut self, perm: &Permutation) -> Result<(), RunError> {
        let spec = &self.spec.spec;
        self.runs.clear();
        self.targets = perm.steps.iter().map(|p| vec![0; p.blockers.len()]).collect();
        let mut line = String::from("\nstarting permutation:");
        for p in &perm.steps {
            line.push(' ');
            line.push_str(&spec.step(p.step).name);
        }
        line.push('\n');
        self.out.put(&line);

        for sql in &spec.setup {
            let results = self.control.exec(sql).await;
            self.control.drain(); // the control connection's notices are hidden
            if let Some(e) = self.print_exec_result(&results) {
                return Err(RunError::Setup(format_full(&e)));
            }
        }
        for (sid, session) in spec.sessions.iter().enumerate() {
            if let Some(sql) = &session.setup {
                let results = self.sessions[sid].conn.exec(sql).await;
                self.drain_session(sid);
                if let Some(e) = self.print_exec_result(&results) {
                    return Err(RunError::SessionSetup {
                        session: session.name.clone(),
                        message: format_full(&e),
                    });
                }
            }
        }

        let max_wait = self.opts.step_timeout;
        let mut waiting: Vec<usize> = Vec::new();
        for (pos, pstep) in perm.steps.iter().enumerate() {
            let sid = pstep.step.session;
            // The session is still busy with an earlier step: wait for it first.
            let start = Instant::now();
            while let Some(old) = self.sessions[sid].active.as_ref().map(|a| a.pos) {
                if !self.try_complete_step(perm, old, RETRY).await? {
                    waiting.retain(|&w| w != old);
                }
                waiting = self.try_complete_steps(perm, waiting, NONBLOCK | RETRY).await?;
                if let Some(a) = &self.sessions[sid].active {
                    if start.elapsed() > 2 * max_wait {
                        let step = spec.step(perm.steps[a.pos].step).name.clone();
                        return Err(RunError::StepTimedOut { step, seconds: start.elapsed().as_secs() });
                    }
                }
            }

            let step = spec.step(pstep.step);
            let handle = spawn_simple_query(self.sessions[sid].conn.client.clone(), step.sql.clone());
            self.sessions[sid].active = Some(Active {
                pos,
                handle: Some(handle),
                done: None,
                waited: false,
                canceled: false,
                notices: vec![],
            });
            for (bi, b) in pstep.blockers.iter().enumerate() {
                if let Blocker::Notices(other, n) = b {
                    self.targets[pos][bi] = *n as usize + self.sessions[other.session].total_notices;
                }
            }
            let must_wait = self.try_complete_step(perm, pos, NONBLOCK).await?;
            waiting = self.try_complete_steps(perm, waiting, NONBLOCK | RETRY).await?;
            if must_wait {
                waiting.push(pos);
            }
        }
        let waiting = self.try_complete_steps(perm, waiting, RETRY).await?;
        if !waiting.is_empty() {
            return Err(RunError::MutuallyBlocking);
        }

        for (sid, session) in spec.sessions.iter().enumerate() {
            if let Some(sql) = &session.teardown {
                let results = self.sessions[sid].conn.exec(sql).await;
                self.drain_session(sid);
                if let Some(e) = self.print_exec_result(&results) {
                    self.warnings.push(format!(
                        "teardown of session {} failed: {}",
                        session.name,
                        format_full(&e)
                    ));
                }
            }
        }
        if let Some(sql) = &spec.teardown {
            let results = self.control.exec(sql).await;
            self.control.drain();
            if let Some(e) = self.print_exec_result(&results) {
                self.warnings.push(format!("teardown failed: {}", format_full(&e)));
            }
        }
        Ok(())
    }

    /// Polls the waiting steps; returns those still waiting. Repeats while steps with blocker
    /// annotations remain and something (a completion, a notice) may have released them.
    async fn try_complete_steps(
        &mut self,
        perm: &Permutation,
        mut waiting: Vec<usize>,
        flags: u8,
    ) -> Result<Vec<usize>, RunError> {
        loop {
            self.any_new_notice = false;
            let old_len = waiting.len();
            let mut have_blocker = false;
            let mut w = 0;
            while w < waiting.len() {
                if self.try_complete_step(perm, waiting[w], flags).await? {
                    if !perm.steps[waiting[w]].blockers.is_empty() {
                        have_blocker = true;
                    }
                    w += 1;
                } else {
                    waiting.remove(w);
                }
            }
            if !(have_blocker && (waiting.len() < old_len || self.any_new_notice)) {
                return Ok(waiting);
            }
        }
    }

    fn step_has_blocker(&self, perm: &Permutation, pos: usize) -> bool {
        perm.steps[pos].blockers.iter().enumerate().any(|(bi, b)| match b {
            Blocker::Once => false,
            Blocker::OtherStep(other) => {
                self.sessions[other.session].active.as_ref().is_some_and(|a| perm.steps[a.pos].step == *other)
            }
            Blocker::Notices(other, _) => self.sessions[other.session].total_notices < self.targets[pos][bi],
        })
    }

    async fn is_blocked(&self, sid: usize) -> Result<bool, RunError> {
        let pid = self.sessions[sid].conn.pid;
        let row = self
            .control
            .client
            .query_one(&self.probe, &[&pid])
            .await
            .map_err(|e| RunError::LockWaitQuery(describe(&e)))?;
        row.try_get::<_, bool>(0).map_err(|e| RunError::LockWaitQuery(e.to_string()))
    }

    fn print_waiting(&mut self, perm: &Permutation, pos: usize) {
        let step = self.spec.spec.step(perm.steps[pos].step);
        self.out.put(&format!("step {}: {} <waiting ...>\n", step.name, step.sql));
        if let Some(a) = self.sessions[perm.steps[pos].step.session].active.as_mut() {
            a.waited = true;
        }
    }

    /// Tries to complete the step at `pos` of `perm`, whose SQL was already sent. Returns true if
    /// it did *not* complete (it waits for a lock, or a blocker annotation holds it back).
    async fn try_complete_step(
        &mut self,
        perm: &Permutation,
        pos: usize,
        flags: u8,
    ) -> Result<bool, RunError> {
        let sid = perm.steps[pos].step.session;
        let step = self.spec.spec.step(perm.steps[pos].step);
        if flags & RETRY == 0 && perm.steps[pos].blockers.contains(&Blocker::Once) {
            self.print_waiting(perm, pos);
            return Ok(true);
        }
        let max_wait = self.opts.step_timeout;
        let start = Instant::now();
        // Per call, as in PostgreSQL: a later call may cancel a step that is still busy again.
        let mut canceled = false;
        loop {
            let Some(active) = self.sessions[sid].active.as_mut() else {
                return Ok(false); // nothing running: treat as completed
            };
            if active.finished_now() {
                break;
            }
            self.drain_session(sid);
            let Some(active) = self.sessions[sid].active.as_mut() else { return Ok(false) };
            if active.wait(POLL_INTERVAL).await {
                break;
            }
            if flags & NONBLOCK != 0 && self.is_blocked(sid).await? {
                self.drain_session(sid);
                let Some(active) = self.sessions[sid].active.as_mut() else { return Ok(false) };
                if active.finished_now() {
                    break;
                }
                if flags & RETRY == 0 {
                    self.print_waiting(perm, pos);
                }
                return Ok(true);
            }
            let td = start.elapsed();
            let Some(active) = self.sessions[sid].active.as_mut() else { return Ok(false) };
            if td > max_wait && !canceled {
                canceled = true;
                active.canceled = true;
                match self.sessions[sid].conn.cancel_query().await {
                    Ok(()) => self.out.put(&format!(
                        "isolationtester: canceling step {} after {} seconds\n",
                        step.name,
                        td.as_secs()
                    )),
                    Err(e) => self.warnings.push(format!("PQcancel failed: {e}")),
                }
            }
            if td > 2 * max_wait {
                return Err(RunError::StepTimedOut { step: step.name.clone(), seconds: td.as_secs() });
            }
        }
        // Notices sent before the result are in the channel by now: print them first.
        self.drain_session(sid);
        if self.step_has_blocker(perm, pos) {
            if flags & RETRY == 0 {
                self.print_waiting(perm, pos);
            }
            return Ok(true);
        }
        if flags & RETRY != 0 {
            self.out.put(&format!("step {}: <... completed>\n", step.name));
        } else {
            self.out.put(&format!("step {}: {}\n", step.name, step.sql));
        }
        let Some(active) = self.sessions[sid].active.take() else { return Ok(false) };
        let results = active.done.unwrap_or_default();
        for r in &results {
            match r {
                StatementResult::Rows { columns, rows } => self.out.put(&pqprint(columns, rows)),
                StatementResult::Command => {}
                StatementResult::Error(e) => self.out.put(&format_error(e)),
            }
        }
        self.drain_session(sid);
        let notifies = std::mem::take(&mut self.sessions[sid].notifies);
        for (pid, channel, payload) in notifies {
            let sender = self
                .sessions
                .iter()
                .find(|s| s.conn.pid == pid)
                .map_or_else(|| format!("PID {pid}"), |s| s.name.clone());
            let line = format!(
                "{}: NOTIFY \"{}\" with payload \"{}\" from {}\n",
                self.sessions[sid].name, channel, payload, sender
            );
            self.out.put(&line);
        }
        self.runs.push(StepRun {
            name: step.name.clone(),
            session: self.sessions[sid].name.clone(),
            position: pos,
            waited: active.waited,
            canceled: active.canceled,
            results,
            notices: active.notices,
        });
        Ok(false)
    }
}
