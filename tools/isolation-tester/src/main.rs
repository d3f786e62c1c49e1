//! `isolation-tester`: the command-line front end.
//!
//! Invoked like PostgreSQL's `isolationtester` (`isolation-tester "host=... port=..." < x.spec`,
//! transcript on stdout), plus: spec files or directories as arguments, `--permutation N`,
//! `--verdicts`, `--step-timeout SECS`, `--isolation LEVEL`, `--levels` and `--expected DIR`.
//! Run with `--help` for the details. Exit status: 0 when everything ran (and matched), 1 when a
//! run failed or an output differed, 2 for usage errors.

use isolation_tester::conn::ConnConfig;
use isolation_tester::diff::{expected_path, unified_diff};
use isolation_tester::header::IsolationLevel;
use isolation_tester::{load_spec, run_spec_blocking, LoadedSpec, RunOptions};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "\
Usage: isolation-tester [OPTIONS] [CONNINFO] [SPEC|DIR ...]

Runs PostgreSQL isolation specs and prints PostgreSQL's isolationtester transcript.
With no SPEC, the spec is read from standard input. A DIR means every *.spec in it.
CONNINFO is a libpq-style string (\"host=127.0.0.1 port=5432 dbname=postgres\") or URL;
libpq's PG* environment variables fill what it leaves out (PGDATESTYLE too).

Options:
  --permutation N      run only the N-th permutation (1-based)
  --verdicts           print one line per permutation (committed / 40001 / 23505 / other,
                       with the failing step) instead of the transcript
  --step-timeout SECS  cancel a step still busy after SECS seconds; give up after twice that
                       (default: $PGISOLATIONTIMEOUT, else 300)
  --isolation LEVEL    run with default_transaction_isolation = LEVEL
                       (read-committed, repeatable-read, serializable)
  --levels             run each spec at every level its header lists (# expect LEVEL: ...)
  --expected DIR       compare each output with DIR/<spec>.out (DIR/<spec>.<level>.out when run
                       at a level), print a unified diff per difference, exit 1 if any differs
  -h, --help           show this help
  -V, --version        show the version
";

struct Args {
    conninfo: Option<String>,
    specs: Vec<PathBuf>,
    permutation: Option<usize>,
    verdicts: bool,
    step_timeout: Option<Duration>,
    isolation: Option<IsolationLevel>,
    levels: bool,
    expected: Option<PathBuf>,
}

fn parse_args(argv: Vec<String>) -> Result<Option<Args>, String> {
    let mut args = Args {
        conninfo: None,
        specs: Vec::new(),
        permutation: None,
        verdicts: false,
        step_timeout: None,
        isolation: None,
        levels: false,
        expected: None,
    };
    let mut it = argv.into_iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(None);
            }
            "-V" | "--version" => {
                println!("isolation-tester {}", env!("CARGO_PKG_VERSION"));
                return Ok(None);
            }
            "--permutation" => {
                let v = value("--permutation")?;
                let n = v.parse::<usize>().ok().filter(|&n| n >= 1);
                args.permutation =
                    Some(n.ok_or_else(|| format!("--permutation takes a number >= 1, not \"{v}\""))?);
            }
            "--verdicts" => args.verdicts = true,
            "--levels" => args.levels = true,
            "--step-timeout" => {
                let v = value("--step-timeout")?;
                let secs = v.parse::<f64>().ok().filter(|s| s.is_finite() && *s > 0.0);
                let secs = secs.ok_or_else(|| format!("--step-timeout takes seconds > 0, not \"{v}\""))?;
                args.step_timeout = Some(Duration::from_secs_f64(secs));
            }
            "--isolation" => {
                let v = value("--isolation")?;
                args.isolation = Some(
                    IsolationLevel::parse(&v).ok_or_else(|| format!("unknown isolation level \"{v}\""))?,
                );
            }
            "--expected" => args.expected = Some(PathBuf::from(value("--expected")?)),
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            s => {
                let p = Path::new(s);
                if p.is_file() {
                    args.specs.push(p.to_path_buf());
                } else if p.is_dir() {
                    let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                        .map_err(|e| format!("cannot read {s}: {e}"))?
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| p.extension().is_some_and(|x| x == "spec"))
                        .collect();
                    found.sort();
                    args.specs.extend(found);
                } else if args.conninfo.is_none() {
                    args.conninfo = Some(s.to_string());
                } else {
                    return Err(format!(
                        "\"{s}\" is not a spec file, and a connection string was already given"
                    ));
                }
            }
        }
    }
    if args.levels && args.isolation.is_some() {
        return Err("--levels and --isolation exclude each other".into());
    }
    Ok(Some(args))
}

/// One spec to run: where it came from and its text.
struct Input {
    name: String,
    label: String,
    text: String,
}

fn read_inputs(args: &Args) -> Result<Vec<Input>, String> {
    if args.specs.is_empty() {
        if args.expected.is_some() {
            return Err(
                "--expected needs spec files as arguments (their names locate the expected files)".into()
            );
        }
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("cannot read the spec from stdin: {e}"))?;
        return Ok(vec![Input { name: "stdin".into(), label: "<stdin>".into(), text }]);
    }
    args.specs
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
            let name = p.file_stem().map_or_else(|| "spec".to_string(), |s| s.to_string_lossy().into_owned());
            Ok(Input { name, label: p.display().to_string(), text })
        })
        .collect()
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1).collect()) {
        Ok(Some(a)) => a,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("isolation-tester: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("isolation-tester: {e}");
            ExitCode::from(2)
        }
    }
}

/// Runs every spec; returns whether all ran and (with `--expected`) matched.
fn run(args: &Args) -> Result<bool, String> {
    let inputs = read_inputs(args)?;
    let conninfo = args.conninfo.clone().unwrap_or_else(|| "dbname = postgres".into());
    let env = |k: &str| std::env::var(k).ok();
    let base = ConnConfig::parse_with_env(&conninfo, env)?;
    let step_timeout = match args.step_timeout {
        Some(t) => t,
        None => match env("PGISOLATIONTIMEOUT").and_then(|v| v.trim().parse::<u64>().ok()) {
            Some(secs) => Duration::from_secs(secs),
            None => Duration::from_secs(isolation_tester::runner::DEFAULT_STEP_TIMEOUT_SECS),
        },
    };
    let transcript = !args.verdicts && args.expected.is_none();
    let opts = RunOptions { step_timeout, permutation: args.permutation, echo: transcript };

    let mut loaded: Vec<(Input, LoadedSpec)> = Vec::new();
    for input in inputs {
        let spec = load_spec(&input.text).map_err(|e| format!("{}: {e}", input.label))?;
        loaded.push((input, spec));
    }
    let mut runs = Vec::new();
    for (input, spec) in &loaded {
        let levels: Vec<Option<IsolationLevel>> = if args.levels && !spec.header.expect.is_empty() {
            spec.header.levels().into_iter().map(Some).collect()
        } else {
            vec![args.isolation]
        };
        for level in levels {
            runs.push((input, spec, level));
        }
    }
    let many = runs.len() > 1;

    let (mut passed, mut failed) = (0usize, 0usize);
    for (input, spec, level) in runs {
        let mut conn = base.clone();
        if let Some(l) = level {
            conn.set("default_transaction_isolation", l.setting());
        }
        let title = match level {
            Some(l) => format!("{}.{}", input.name, l.slug()),
            None => input.name.clone(),
        };
        for w in &spec.warnings {
            eprintln!("{w}");
        }
        let (run, error) = match run_spec_blocking(spec, &conn, &opts) {
            Ok(run) => (run, None),
            Err(f) => (f.partial, Some(f.error)),
        };
        for w in &run.warnings[spec.warnings.len().min(run.warnings.len())..] {
            eprintln!("{w}");
        }
        let mut ok = error.is_none();
        if let Some(e) = &error {
            eprintln!("{}: {e}", input.label);
        }
        if args.verdicts {
            let prefix = if many { format!("{title} ") } else { String::new() };
            let has_rules = !spec.header.anomaly_if.is_empty();
            for p in &run.permutations {
                let mark = if has_rules && spec.header.anomaly_in(p) { " [anomaly]" } else { "" };
                println!("{prefix}{} {}: {}{mark}", p.index, p.steps_line(), p.verdict());
            }
            if let Some(l) = level {
                let check = spec.header.check(l, &run);
                if let Some(expected) = check.expected {
                    println!(
                        "# {title}: expected {}, observed {}{}",
                        expected,
                        check.observed,
                        if check.ok() { "" } else { "  <-- MISMATCH" }
                    );
                    ok &= check.ok();
                }
            }
        }
        if let Some(dir) = &args.expected {
            let path = expected_path(dir, &input.name, level);
            match std::fs::read_to_string(&path) {
                Ok(expected) => {
                    if let Some(d) = unified_diff(&expected, &run.output, &path.display().to_string(), &title)
                    {
                        println!("FAILED {title}\n{d}");
                        ok = false;
                    } else if error.is_none() {
                        println!("ok {title}");
                    }
                }
                Err(e) => {
                    println!("FAILED {title}: cannot read {}: {e}", path.display());
                    ok = false;
                }
            }
        }
        if ok {
            passed += 1;
        } else {
            failed += 1;
        }
    }
    if args.expected.is_some() || many {
        println!("{passed} passed, {failed} failed");
    }
    Ok(failed == 0)
}
