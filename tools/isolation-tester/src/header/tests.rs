use super::*;
use crate::parse::parse_spec;
use crate::report::{ServerMessage, StatementResult, StepRun};

const HEADER: &str = "# Write skew between two doctors going off call.
# phenomenon: G2-item (write skew)
# definition: Adya, \"Weak Consistency\", MIT PhD thesis (1999),
#   section 4.4.2
# expect read-committed: anomaly
# expect Repeatable Read: anomaly
# expect serializable: prevented (the second committer fails with 40001)
# anomaly-if: all commit
# anomaly-if: step r2 returns (1, 'a b') (2,null) and step c2 succeeds
# anomaly-if: step r1 contains ('null', -11) and step w2 fails 40001 and step w2 waits
# pg-false-positive: r1 w1 r2 c1 \"w 2\" c2 => s1 s2: s1 wrote nothing s2 read: really
# not-a-field: ignored

setup { CREATE TABLE t (i int); }
# phenomenon: not part of the header any more
session s1
step r1 { SELECT 1; }
step w1 { SELECT 1; }
step c1 { COMMIT; }
session s2
step r2 { SELECT 1; }
step \"w 2\" { SELECT 1; }
step w2 { SELECT 1; }
step c2 { COMMIT; }
";

fn rows(values: &[&[Option<&str>]]) -> Vec<Vec<Option<String>>> {
    values.iter().map(|r| r.iter().map(|v| v.map(str::to_string)).collect()).collect()
}

#[test]
fn parses_every_field() {
    let h = parse_header(HEADER).expect("valid header");
    assert_eq!(h.phenomenon.as_deref(), Some("G2-item (write skew)"));
    assert_eq!(
        h.definition.as_deref(),
        Some("Adya, \"Weak Consistency\", MIT PhD thesis (1999), section 4.4.2")
    );
    assert_eq!(h.levels(), IsolationLevel::ALL.to_vec());
    assert_eq!(h.expect[2].outcome, Outcome::Prevented);
    assert_eq!(h.expect[2].note, "(the second committer fails with 40001)");
    assert_eq!(h.anomaly_if.len(), 3);
    assert_eq!(h.anomaly_if[0].clauses, vec![Clause::AllCommit]);
    assert_eq!(
        h.anomaly_if[1].clauses,
        vec![
            Clause::Returns("r2".into(), rows(&[&[Some("1"), Some("a b")], &[Some("2"), None]])),
            Clause::Succeeds("c2".into())
        ]
    );
    assert_eq!(
        h.anomaly_if[2].clauses,
        vec![
            Clause::Contains("r1".into(), vec![Some("null".into()), Some("-11".into())]),
            Clause::Fails("w2".into(), Some("40001".into())),
            Clause::Waits("w2".into()),
        ]
    );
    assert_eq!(
        h.pg_false_positives,
        vec![FalsePositive {
            permutation: ["r1", "w1", "r2", "c1", "w 2", "c2"].map(String::from).to_vec(),
            serial_order: vec!["s1".into(), "s2".into()],
            reason: "s1 wrote nothing s2 read: really".into(),
        }]
    );
    assert!(h.missing().is_empty());
    let spec = parse_spec(HEADER).expect("spec parses");
    assert_eq!(h.validate(&spec), Ok(()));
}

#[test]
fn reports_missing_and_bad_fields() {
    assert_eq!(
        parse_header("# just prose\n").expect("ok").missing(),
        ["phenomenon", "definition", "expect", "anomaly-if"]
    );
    let e = parse_header("# x\n# expect snapshot: anomaly\n").unwrap_err();
    assert_eq!(e.line, 2);
    assert!(e.message.contains("unknown isolation level"), "{e}");
    let e = parse_header("# expect serializable: maybe\n").unwrap_err();
    assert!(e.message.contains("anomaly or prevented"), "{e}");
    let e = parse_header("# anomaly-if: step x explodes\n").unwrap_err();
    assert!(e.message.contains("after step x"), "{e}");
    let e = parse_header("# anomaly-if: step x returns (1,2\n").unwrap_err();
    assert!(e.message.contains("unterminated row"), "{e}");
    let e = parse_header("# anomaly-if: all commit or something\n").unwrap_err();
    assert!(e.message.contains("\"and\""), "{e}");
    let e = parse_header("# expect serializable: anomaly\n# expect serializable: prevented\n").unwrap_err();
    assert!(e.message.contains("twice"), "{e}");
}

#[test]
fn validate_catches_unknown_names() {
    let spec = parse_spec("session s1 step a { SELECT 1 }").expect("parses");
    let h = parse_header("# anomaly-if: step b succeeds\n").expect("parses");
    assert_eq!(h.validate(&spec), Err("anomaly-if refers to unknown step \"b\"".into()));
    let h = parse_header("# pg-false-positive: a => s9: why\n").expect("parses");
    assert_eq!(h.validate(&spec), Err("pg-false-positive refers to unknown session \"s9\"".into()));
}

fn step(name: &str, waited: bool, results: Vec<StatementResult>) -> StepRun {
    StepRun {
        name: name.into(),
        session: "s".into(),
        position: 0,
        waited,
        canceled: false,
        results,
        notices: vec![],
    }
}

fn select(values: &[&[Option<&str>]]) -> StatementResult {
    StatementResult::Rows { columns: vec!["a".into(), "b".into()], rows: rows(values) }
}

fn fail(code: &str) -> StatementResult {
    StatementResult::Error(ServerMessage {
        severity: "ERROR".into(),
        sqlstate: code.into(),
        message: "x".into(),
        detail: None,
        hint: None,
    })
}

fn perm(index: usize, runs: Vec<StepRun>) -> PermutationRun {
    PermutationRun { index, steps: vec![], runs, output: String::new() }
}

#[test]
fn rules_evaluate_against_step_runs() {
    let h = parse_header(HEADER).expect("valid");
    let committed =
        perm(1, vec![step("r2", false, vec![select(&[&[Some("9"), None]])]), step("c2", false, vec![])]);
    assert!(h.anomaly_if[0].holds(&committed));
    assert!(!h.anomaly_if[1].holds(&committed), "rows differ");

    let returns = perm(
        2,
        vec![
            step("r2", false, vec![select(&[&[Some("1"), Some("a b")], &[Some("2"), None]])]),
            step("c2", false, vec![StatementResult::Command]),
            step("x", false, vec![fail("40001")]),
        ],
    );
    assert!(!h.anomaly_if[0].holds(&returns), "a step failed");
    assert!(h.anomaly_if[1].holds(&returns));

    let third = perm(
        3,
        vec![
            step("r1", false, vec![select(&[&[Some("0"), Some("0")], &[Some("null"), Some("-11")]])]),
            step("w2", true, vec![fail("40001")]),
        ],
    );
    assert!(h.anomaly_if[2].holds(&third));
    let not_waited = perm(4, vec![third.runs[0].clone(), step("w2", false, vec![fail("40001")])]);
    assert!(!h.anomaly_if[2].holds(&not_waited));

    let run =
        SpecRun { output: String::new(), permutations: vec![committed, returns, third], warnings: vec![] };
    let check = h.check(IsolationLevel::Serializable, &run);
    assert_eq!(check.observed, Outcome::Anomaly);
    assert_eq!(check.anomalous, vec![1, 2, 3]);
    assert!(!check.ok());
    assert!(h.check(IsolationLevel::ReadCommitted, &run).ok());
}

#[test]
fn returns_no_rows_and_fails_without_code() {
    let h = parse_header("# anomaly-if: step q returns no rows and step w fails\n").expect("valid");
    let p = perm(
        1,
        vec![
            step("q", false, vec![StatementResult::Rows { columns: vec!["i".into()], rows: vec![] }]),
            step("w", false, vec![fail("23505")]),
        ],
    );
    assert!(h.anomaly_in(&p));
}

#[test]
fn levels_parse_in_both_spellings() {
    assert_eq!(IsolationLevel::parse("REPEATABLE READ"), Some(IsolationLevel::RepeatableRead));
    assert_eq!(IsolationLevel::parse("read_committed"), Some(IsolationLevel::ReadCommitted));
    assert_eq!(IsolationLevel::parse("snapshot"), None);
    assert_eq!(IsolationLevel::Serializable.setting(), "serializable");
}
