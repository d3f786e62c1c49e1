//! The isolation spec: what a `.spec` file describes, checked and ready to run.
//!
//! A spec (PostgreSQL's `src/test/isolation` format) names *sessions*, each with an optional setup,
//! a list of *steps* (one SQL block each) and an optional teardown, plus global setup blocks and a
//! global teardown. A *permutation* is an order in which the steps of all sessions are sent, one at a
//! time, each on its own session's connection:
//!
//! ```text
//!   session s1: r1 w1 c1          permutation r1 r2 w1 w2(c1) c1 c2
//!   session s2: r2 w2 c2          -> s1:r1, s2:r2, s1:w1, s2:w2 ... s2:c2
//! ```
//!
//! A permutation step may carry *blocker* annotations that control when its completion is reported:
//! `(*)` reports it as waiting once, `(other)` delays it while step `other` is still running, and
//! `(other notices N)` delays it until `other`'s session has emitted N more notices.
//!
//! When a spec lists no permutations, every interleaving that keeps each session's steps in order is
//! run, generated in PostgreSQL's order: repeatedly take the next step from the first session (in
//! declaration order) that still has steps, recursing before trying later sessions.
//!
//! [`TestSpec::check`] performs PostgreSQL's post-parse checks (unique step names, known steps in
//! permutations, blockers referring to a step of the same permutation in another session) and
//! resolves names into indexes, producing the [`Permutation`]s the runner executes.

use std::collections::HashMap;
use std::fmt;

/// One `step name { sql }` of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The step's name, unique across the whole spec.
    pub name: String,
    /// The SQL text sent as one simple query (it may hold several statements).
    pub sql: String,
}

/// One `session name` block: its own connection, setup, steps and teardown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The session's name (prefixes its notices in the output).
    pub name: String,
    /// SQL run on the session's connection before each permutation.
    pub setup: Option<String>,
    /// The session's steps, in declaration order.
    pub steps: Vec<Step>,
    /// SQL run on the session's connection after each permutation.
    pub teardown: Option<String>,
}

/// A blocker annotation on a permutation step, as written in the spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockerSpec {
    /// `(*)`: report the step as waiting the first time, whatever happens.
    Once,
    /// `(other)`: do not report completion while step `other` is still running.
    OtherStep(String),
    /// `(other notices N)`: do not report completion until `other`'s session emitted N more notices.
    Notices(String, u32),
}

/// One entry of a `permutation` line, as written in the spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermutationStepSpec {
    /// The step's name.
    pub name: String,
    /// Its blocker annotations (empty for a plain step name).
    pub blockers: Vec<BlockerSpec>,
}

/// A parsed spec file, before name resolution.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TestSpec {
    /// Global `setup` blocks, run in order on the control connection.
    pub setup: Vec<String>,
    /// The global `teardown` block, run on the control connection.
    pub teardown: Option<String>,
    /// The sessions, in declaration order.
    pub sessions: Vec<Session>,
    /// The `permutation` lines (empty: run every interleaving).
    pub permutations: Vec<Vec<PermutationStepSpec>>,
}

/// Where a step lives: its session's index and its index within that session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StepId {
    /// Index into [`TestSpec::sessions`].
    pub session: usize,
    /// Index into that session's [`Session::steps`].
    pub step: usize,
}

/// A resolved blocker annotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocker {
    /// Report as waiting once.
    Once,
    /// Wait while this step is the active step of its session.
    OtherStep(StepId),
    /// Wait until this step's session has emitted this many more notices.
    Notices(StepId, u32),
}

/// A resolved permutation step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermutationStep {
    /// The step to send.
    pub step: StepId,
    /// Its blocker annotations.
    pub blockers: Vec<Blocker>,
}

/// A resolved permutation: the steps in the order they are sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permutation {
    /// The steps, in sending order.
    pub steps: Vec<PermutationStep>,
}

/// A spec that passed [`TestSpec::check`]: the spec plus its permutations, resolved.
#[derive(Debug, Clone)]
pub struct CheckedSpec {
    /// The spec as parsed.
    pub spec: TestSpec,
    /// The permutations to run (the listed ones, or every interleaving).
    pub permutations: Vec<Permutation>,
    /// Non-fatal findings (PostgreSQL prints them on stderr), e.g. unused steps.
    pub warnings: Vec<String>,
}

/// Why a parsed spec cannot run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError(pub String);

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SpecError {}

/// Upper bound on generated interleavings, so a spec with many steps fails clearly instead of
/// exhausting memory.
pub const MAX_GENERATED_PERMUTATIONS: usize = 1_000_000;

impl TestSpec {
    /// The step at `id`.
    pub fn step(&self, id: StepId) -> &Step {
        &self.sessions[id.session].steps[id.step]
    }

    /// Finds a step by name.
    pub fn find_step(&self, name: &str) -> Option<StepId> {
        self.sessions.iter().enumerate().find_map(|(si, s)| {
            s.steps.iter().position(|st| st.name == name).map(|step| StepId { session: si, step })
        })
    }

    /// Validates the spec as PostgreSQL's `check_testspec` does and resolves its permutations.
    pub fn check(self) -> Result<CheckedSpec, SpecError> {
        if self.sessions.is_empty() {
            return Err(SpecError("spec has no sessions".into()));
        }
        let mut by_name: HashMap<&str, StepId> = HashMap::new();
        for (si, session) in self.sessions.iter().enumerate() {
            for (ti, step) in session.steps.iter().enumerate() {
                if by_name.insert(&step.name, StepId { session: si, step: ti }).is_some() {
                    return Err(SpecError(format!("duplicate step name: {}", step.name)));
                }
            }
        }

        let mut warnings = Vec::new();
        let permutations = if self.permutations.is_empty() {
            all_interleavings(&self)?
        } else {
            let mut used = vec![false; by_name.len()];
            let mut flat_index: HashMap<StepId, usize> = HashMap::new();
            for (i, id) in self.all_step_ids().into_iter().enumerate() {
                flat_index.insert(id, i);
            }
            let mut resolved = Vec::with_capacity(self.permutations.len());
            for perm in &self.permutations {
                let mut ids = Vec::with_capacity(perm.len());
                for pstep in perm {
                    let id = by_name.get(pstep.name.as_str()).copied().ok_or_else(|| {
                        SpecError(format!("undefined step \"{}\" specified in permutation", pstep.name))
                    })?;
                    if let Some(&i) = flat_index.get(&id) {
                        used[i] = true;
                    }
                    ids.push(id);
                }
                let mut steps = Vec::with_capacity(perm.len());
                for (pstep, &id) in perm.iter().zip(&ids) {
                    let mut blockers = Vec::with_capacity(pstep.blockers.len());
                    for b in &pstep.blockers {
                        let resolve = |other: &str| -> Result<StepId, SpecError> {
                            // Only steps of this permutation can be concurrent with this one.
                            let found = perm.iter().zip(&ids).find(|(p, _)| p.name == other).map(|(_, &i)| i);
                            let oid = found.ok_or_else(|| {
                                SpecError(format!(
                                    "undefined blocking step \"{}\" referenced in permutation step \"{}\"",
                                    other, pstep.name
                                ))
                            })?;
                            if oid.session == id.session {
                                return Err(SpecError(format!(
                                    "permutation step \"{}\" cannot block on its own session",
                                    pstep.name
                                )));
                            }
                            Ok(oid)
                        };
                        blockers.push(match b {
                            BlockerSpec::Once => Blocker::Once,
                            BlockerSpec::OtherStep(o) => Blocker::OtherStep(resolve(o)?),
                            BlockerSpec::Notices(o, n) => Blocker::Notices(resolve(o)?, *n),
                        });
                    }
                    steps.push(PermutationStep { step: id, blockers });
                }
                resolved.push(Permutation { steps });
            }
            let mut unused: Vec<&str> = self
                .all_step_ids()
                .into_iter()
                .enumerate()
                .filter(|(i, _)| !used[*i])
                .map(|(_, id)| self.step(id).name.as_str())
                .collect();
            unused.sort_unstable();
            warnings.extend(unused.into_iter().map(|n| format!("unused step name: {n}")));
            resolved
        };
        Ok(CheckedSpec { spec: self, permutations, warnings })
    }

    fn all_step_ids(&self) -> Vec<StepId> {
        self.sessions
            .iter()
            .enumerate()
            .flat_map(|(si, s)| (0..s.steps.len()).map(move |ti| StepId { session: si, step: ti }))
            .collect()
    }
}

/// Every interleaving of the sessions' steps, in PostgreSQL's order.
fn all_interleavings(spec: &TestSpec) -> Result<Vec<Permutation>, SpecError> {
    fn recurse(
        spec: &TestSpec,
        piles: &mut [usize],
        current: &mut Vec<StepId>,
        out: &mut Vec<Permutation>,
    ) -> Result<(), SpecError> {
        let mut found = false;
        for si in 0..spec.sessions.len() {
            if piles[si] < spec.sessions[si].steps.len() {
                found = true;
                current.push(StepId { session: si, step: piles[si] });
                piles[si] += 1;
                recurse(spec, piles, current, out)?;
                piles[si] -= 1;
                current.pop();
            }
        }
        if !found {
            if out.len() >= MAX_GENERATED_PERMUTATIONS {
                return Err(SpecError(format!(
                    "spec has more than {MAX_GENERATED_PERMUTATIONS} interleavings; list permutations explicitly"
                )));
            }
            out.push(Permutation {
                steps: current.iter().map(|&step| PermutationStep { step, blockers: Vec::new() }).collect(),
            });
        }
        Ok(())
    }
    let mut piles = vec![0; spec.sessions.len()];
    let mut out = Vec::new();
    recurse(spec, &mut piles, &mut Vec::new(), &mut out)?;
    Ok(out)
}

impl CheckedSpec {
    /// The names of a permutation's steps, in order.
    pub fn step_names(&self, perm: &Permutation) -> Vec<String> {
        perm.steps.iter().map(|p| self.spec.step(p.step).name.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(name: &str) -> Step {
        Step { name: name.into(), sql: format!("SELECT '{name}'") }
    }

    fn session(name: &str, steps: &[&str]) -> Session {
        Session {
            name: name.into(),
            setup: None,
            steps: steps.iter().map(|s| step(s)).collect(),
            teardown: None,
        }
    }

    fn pstep(name: &str) -> PermutationStepSpec {
        PermutationStepSpec { name: name.into(), blockers: vec![] }
    }

    #[test]
    fn interleavings_follow_postgres_order() {
        let spec = TestSpec {
            sessions: vec![session("s1", &["a1", "a2"]), session("s2", &["b1", "b2"])],
            ..Default::default()
        };
        let checked = spec.check().expect("valid spec");
        let names: Vec<String> =
            checked.permutations.iter().map(|p| checked.step_names(p).join(" ")).collect();
        // Same order as simple-write-skew.out in PostgreSQL's suite.
        assert_eq!(
            names,
            ["a1 a2 b1 b2", "a1 b1 a2 b2", "a1 b1 b2 a2", "b1 a1 a2 b2", "b1 a1 b2 a2", "b1 b2 a1 a2"]
        );
    }

    #[test]
    fn interleaving_count_is_multinomial() {
        let spec = TestSpec {
            sessions: vec![
                session("s1", &["a", "b"]),
                session("s2", &["c", "d"]),
                session("s3", &["e", "f", "g"]),
            ],
            ..Default::default()
        };
        // 7! / (2! 2! 3!) = 210, as in receipt-report.
        assert_eq!(spec.check().expect("valid").permutations.len(), 210);
    }

    #[test]
    fn duplicate_step_names_are_rejected() {
        let spec =
            TestSpec { sessions: vec![session("s1", &["a"]), session("s2", &["a"])], ..Default::default() };
        assert_eq!(spec.check().unwrap_err().0, "duplicate step name: a");
    }

    #[test]
    fn undefined_steps_and_bad_blockers_are_rejected() {
        let base = TestSpec {
            sessions: vec![session("s1", &["a", "b"]), session("s2", &["c"])],
            ..Default::default()
        };
        let mut spec = base.clone();
        spec.permutations = vec![vec![pstep("a"), pstep("zz")]];
        assert_eq!(spec.check().unwrap_err().0, "undefined step \"zz\" specified in permutation");

        let mut spec = base.clone();
        spec.permutations = vec![vec![
            pstep("a"),
            PermutationStepSpec { name: "b".into(), blockers: vec![BlockerSpec::OtherStep("a".into())] },
        ]];
        assert_eq!(spec.check().unwrap_err().0, "permutation step \"b\" cannot block on its own session");

        let mut spec = base;
        spec.permutations = vec![vec![
            pstep("a"),
            PermutationStepSpec { name: "b".into(), blockers: vec![BlockerSpec::OtherStep("c".into())] },
        ]];
        assert_eq!(
            spec.check().unwrap_err().0,
            "undefined blocking step \"c\" referenced in permutation step \"b\""
        );
    }

    #[test]
    fn blockers_resolve_and_unused_steps_warn() {
        let mut spec = TestSpec {
            sessions: vec![session("s1", &["a", "b"]), session("s2", &["c", "d"])],
            ..Default::default()
        };
        spec.permutations = vec![vec![
            pstep("a"),
            PermutationStepSpec {
                name: "c".into(),
                blockers: vec![BlockerSpec::Once, BlockerSpec::Notices("a".into(), 2)],
            },
        ]];
        let checked = spec.check().expect("valid");
        let a = StepId { session: 0, step: 0 };
        assert_eq!(checked.permutations[0].steps[1].blockers, vec![Blocker::Once, Blocker::Notices(a, 2)]);
        assert_eq!(checked.warnings, vec!["unused step name: b", "unused step name: d"]);
    }
}
