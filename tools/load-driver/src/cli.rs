//! Command-line flags.
//!
//! Hand-parsed (no argument-parsing crate): the flag set is small and flat, every flag takes at
//! most one value (`--flag VALUE` or `--flag=VALUE`), and `--server-counter` may repeat. Parsing
//! is pure — [`parse`] takes the arguments and returns a [`Config`] or a message for the user —
//! so it is unit-tested without a process. The README's flag table is the user-facing copy of
//! [`USAGE`]; keep them in step.

use std::path::PathBuf;
use std::time::Duration;

use crate::workload::{BankStyle, Kind};

/// The usage text printed for `--help` and after a flag error.
pub const USAGE: &str = "\
usage: load-driver --workload NAME [flags]

  --conn STR              libpq-style connection string
                          (default \"host=127.0.0.1 port=5432 user=postgres dbname=postgres\")
  --workload NAME         point-select | point-update | insert | range-10 | range-100 | range-10k |
                          tpcb | bank | disjoint | smallbank | sibench | oncall | read-mostly
  --isolation LEVEL       read-committed (default) | repeatable-read | serializable
  --clients N             concurrent connections (default 1)
  --duration SECS         run time (default 10 unless --transactions is given)
  --transactions N        total logical transactions over all clients (instead of --duration)
  --rate TPS              fixed-rate mode: start TPS transactions/s in total; latency is measured
                          from each transaction's intended start (default: closed loop)
  --seed N                seed for the per-client random streams (default: from the clock; printed)
  --retries N|unlimited   retries of a whole transaction after 40001/40P01 (default unlimited)
  --init                  drop, create and load the workload's tables, then run
  --init-only             drop, create and load the workload's tables, then exit
  --scale N               tpcb scale factor for --init (default 1: 100,000 accounts)
  --rows N                table size for --init (per-workload default; see README)
  --doctors N             oncall: doctors per shift for --init (default 2)
  --hotspot N             smallbank: 90% of transactions use customers 1..=N (default 100, 0 = uniform)
  --send-payment          smallbank: add SendPayment to the five standard transactions
  --bank-style STYLE      bank: delta (SET balance = balance - x) or rmw (SELECT, then SET balance = v);
                          default delta at read-committed, rmw otherwise
  --server-counter N=SQL  run SQL (one numeric value) before and after; report the difference (repeatable)
  --json FILE             write the full result as JSON
  --quiet                 no per-second progress lines on stderr
  --help                  this text
";

/// How a run ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StopRule {
    /// Stop starting transactions after this long.
    Duration(Duration),
    /// Stop after this many logical transactions (committed, rolled back or failed) in total.
    Transactions(u64),
}

/// How many times a transaction is retried after a serialization failure or deadlock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retries {
    /// At most this many retries (0: never retry).
    Limit(u32),
    /// Retry until it commits or the run stops.
    Unlimited,
}

impl Retries {
    /// Whether a transaction that has been retried `done` times may be retried again.
    pub fn allows(self, done: u32) -> bool {
        match self {
            Retries::Limit(n) => done < n,
            Retries::Unlimited => true,
        }
    }

    /// The flag's spelling, for reports.
    pub fn describe(self) -> String {
        match self {
            Retries::Limit(n) => n.to_string(),
            Retries::Unlimited => "unlimited".to_string(),
        }
    }
}

/// The isolation level every transaction is started with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isolation {
    /// `READ COMMITTED`.
    ReadCommitted,
    /// `REPEATABLE READ`.
    RepeatableRead,
    /// `SERIALIZABLE`.
    Serializable,
}

impl Isolation {
    /// Every level, weakest first.
    pub const ALL: [Isolation; 3] =
        [Isolation::ReadCommitted, Isolation::RepeatableRead, Isolation::Serializable];

    /// The flag's spelling.
    pub fn name(self) -> &'static str {
        match self {
            Isolation::ReadCommitted => "read-committed",
            Isolation::RepeatableRead => "repeatable-read",
            Isolation::Serializable => "serializable",
        }
    }

    /// The statement that opens a transaction at this level.
    pub fn begin_sql(self) -> &'static str {
        match self {
            Isolation::ReadCommitted => "BEGIN ISOLATION LEVEL READ COMMITTED",
            Isolation::RepeatableRead => "BEGIN ISOLATION LEVEL REPEATABLE READ",
            Isolation::Serializable => "BEGIN ISOLATION LEVEL SERIALIZABLE",
        }
    }

    fn parse(s: &str) -> Option<Isolation> {
        Isolation::ALL.into_iter().find(|l| l.name() == s)
    }
}

/// A server counter: a query returning one number, run before and after the load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerCounter {
    /// The name it is reported under.
    pub name: String,
    /// The query; its first column of its first row is the value.
    pub sql: String,
}

/// Everything a run is configured with.
#[derive(Debug, Clone)]
pub struct Config {
    /// libpq-style connection string.
    pub conn: String,
    /// The workload to run.
    pub workload: Kind,
    /// Isolation level of every transaction.
    pub isolation: Isolation,
    /// Number of concurrent clients (connections).
    pub clients: usize,
    /// When to stop.
    pub stop: StopRule,
    /// Fixed-rate mode's total transactions per second; `None` is closed loop.
    pub rate: Option<f64>,
    /// Seed of the per-client random streams.
    pub seed: u64,
    /// Retry policy for 40001 and 40P01.
    pub retries: Retries,
    /// Create and load the tables before running.
    pub init: bool,
    /// Create and load the tables and do nothing else.
    pub init_only: bool,
    /// TPC-B scale factor for `--init`.
    pub scale: u32,
    /// Table size for `--init`; `None` takes the workload's default.
    pub rows: Option<u64>,
    /// Doctors per shift for `oncall --init`.
    pub doctors: u32,
    /// SmallBank hotspot size (0: uniform).
    pub hotspot: u64,
    /// SmallBank includes SendPayment.
    pub send_payment: bool,
    /// Bank transfer style; `None` picks by isolation level.
    pub bank_style: Option<BankStyle>,
    /// Server counters to sample before and after.
    pub server_counters: Vec<ServerCounter>,
    /// Where to write the JSON result.
    pub json: Option<PathBuf>,
    /// Print per-second progress on stderr.
    pub progress: bool,
}

impl Config {
    /// The bank style in force: the flag, or delta at READ COMMITTED and rmw above it.
    pub fn effective_bank_style(&self) -> BankStyle {
        self.bank_style.unwrap_or(match self.isolation {
            Isolation::ReadCommitted => BankStyle::Delta,
            _ => BankStyle::Rmw,
        })
    }
}

/// What the command line asked for.
#[derive(Debug)]
pub enum Command {
    /// Run (or initialise) with this configuration.
    Run(Box<Config>),
    /// Print [`USAGE`] and exit successfully.
    Help,
}

fn number<T: std::str::FromStr>(flag: &str, v: &str) -> Result<T, String> {
    v.parse().map_err(|_| format!("{flag}: '{v}' is not a valid number"))
}

/// Parses the arguments (without the program name); `default_seed` is used when `--seed` is absent.
pub fn parse(args: &[String], default_seed: u64) -> Result<Command, String> {
    let mut conn = "host=127.0.0.1 port=5432 user=postgres dbname=postgres".to_string();
    let mut workload = None;
    let mut isolation = Isolation::ReadCommitted;
    let mut clients = 1usize;
    let mut duration = None;
    let mut transactions = None;
    let mut rate = None;
    let mut seed = default_seed;
    let mut retries = Retries::Unlimited;
    let (mut init, mut init_only, mut send_payment, mut progress) = (false, false, false, true);
    let mut scale = 1u32;
    let mut rows = None;
    let mut doctors = 2u32;
    let mut hotspot = 100u64;
    let mut bank_style = None;
    let mut server_counters = Vec::new();
    let mut json = None;

    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        // Boolean flags take no value.
        match flag {
            "--help" | "-h" => return Ok(Command::Help),
            "--init" | "--init-only" | "--send-payment" | "--quiet" => {
                if inline.is_some() {
                    return Err(format!("{flag} takes no value"));
                }
                match flag {
                    "--init" => init = true,
                    "--init-only" => init_only = true,
                    "--send-payment" => send_payment = true,
                    _ => progress = false,
                }
                continue;
            }
            _ => {}
        }
        if !flag.starts_with("--") {
            return Err(format!("unexpected argument '{arg}'"));
        }
        let value = match inline {
            Some(v) => v,
            None => it.next().cloned().ok_or_else(|| format!("{flag} needs a value"))?,
        };
        let v = value.as_str();
        match flag {
            "--conn" => conn = value,
            "--workload" => {
                workload = Some(Kind::parse(v).ok_or_else(|| format!("--workload: unknown workload '{v}'"))?)
            }
            "--isolation" => {
                isolation = Isolation::parse(v).ok_or_else(|| {
                    format!("--isolation: '{v}' is not read-committed, repeatable-read or serializable")
                })?
            }
            "--clients" => clients = number(flag, v)?,
            "--duration" => {
                let secs: f64 = number(flag, v)?;
                if !(secs > 0.0 && secs.is_finite()) {
                    return Err("--duration must be positive".into());
                }
                duration = Some(Duration::from_secs_f64(secs));
            }
            "--transactions" => transactions = Some(number(flag, v)?),
            "--rate" => {
                let r: f64 = number(flag, v)?;
                if !(r > 0.0 && r.is_finite()) {
                    return Err("--rate must be positive".into());
                }
                rate = Some(r);
            }
            "--seed" => seed = number(flag, v)?,
            "--retries" => {
                retries = if v == "unlimited" { Retries::Unlimited } else { Retries::Limit(number(flag, v)?) }
            }
            "--scale" => scale = number(flag, v)?,
            "--rows" => rows = Some(number(flag, v)?),
            "--doctors" => doctors = number(flag, v)?,
            "--hotspot" => hotspot = number(flag, v)?,
            "--bank-style" => {
                bank_style =
                    Some(BankStyle::parse(v).ok_or_else(|| "--bank-style: delta or rmw".to_string())?)
            }
            "--server-counter" => {
                let (name, sql) = v
                    .split_once('=')
                    .filter(|(n, s)| !n.trim().is_empty() && !s.trim().is_empty())
                    .ok_or_else(|| format!("--server-counter: expected NAME=SQL, got '{v}'"))?;
                server_counters.push(ServerCounter { name: name.trim().into(), sql: sql.trim().into() });
            }
            "--json" => json = Some(PathBuf::from(value)),
            _ => return Err(format!("unknown flag {flag}")),
        }
    }

    let workload = workload.ok_or("--workload is required")?;
    if clients == 0 {
        return Err("--clients must be at least 1".into());
    }
    if scale == 0 || doctors == 0 {
        return Err("--scale and --doctors must be at least 1".into());
    }
    let stop = match (duration, transactions) {
        (Some(_), Some(_)) => return Err("give --duration or --transactions, not both".into()),
        (Some(d), None) => StopRule::Duration(d),
        (None, Some(n)) => StopRule::Transactions(n),
        (None, None) => StopRule::Duration(Duration::from_secs(10)),
    };
    Ok(Command::Run(Box::new(Config {
        conn,
        workload,
        isolation,
        clients,
        stop,
        rate,
        seed,
        retries,
        init: init || init_only,
        init_only,
        scale,
        rows,
        doctors,
        hotspot,
        send_payment,
        bank_style,
        server_counters,
        json,
        progress,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    fn config(s: &str) -> Config {
        match parse(&args(s), 7) {
            Ok(Command::Run(c)) => *c,
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let c = config("--workload bank");
        assert_eq!(c.clients, 1);
        assert_eq!(c.seed, 7);
        assert_eq!(c.retries, Retries::Unlimited);
        assert_eq!(c.stop, StopRule::Duration(Duration::from_secs(10)));
        assert_eq!(c.isolation, Isolation::ReadCommitted);
        assert_eq!(c.effective_bank_style(), BankStyle::Delta);
        assert!(c.rate.is_none() && !c.init && c.progress);
    }

    #[test]
    fn every_flag() {
        let c = config(
            "--workload=smallbank --conn x --isolation serializable --clients 16 --transactions 100000 \
             --rate 500 --seed 3 --retries 5 --init-only --scale 2 --rows 10 --doctors 3 --hotspot 0 \
             --send-payment --bank-style delta --server-counter a=SELECT --json out.json --quiet",
        );
        assert_eq!(c.workload, Kind::SmallBank);
        assert_eq!(c.conn, "x");
        assert_eq!(c.isolation, Isolation::Serializable);
        assert_eq!(c.clients, 16);
        assert_eq!(c.stop, StopRule::Transactions(100_000));
        assert_eq!(c.rate, Some(500.0));
        assert_eq!((c.seed, c.retries), (3, Retries::Limit(5)));
        assert!(c.init && c.init_only && c.send_payment && !c.progress);
        assert_eq!((c.scale, c.rows, c.doctors, c.hotspot), (2, Some(10), 3, 0));
        assert_eq!(c.effective_bank_style(), BankStyle::Delta);
        assert_eq!(c.server_counters, vec![ServerCounter { name: "a".into(), sql: "SELECT".into() }]);
        assert_eq!(c.json, Some(PathBuf::from("out.json")));
    }

    #[test]
    fn rmw_is_the_default_above_read_committed() {
        assert_eq!(
            config("--workload bank --isolation repeatable-read").effective_bank_style(),
            BankStyle::Rmw
        );
        assert_eq!(config("--workload bank --isolation serializable").effective_bank_style(), BankStyle::Rmw);
    }

    #[test]
    fn server_counter_keeps_equals_in_sql() {
        let a =
            vec!["--workload".into(), "bank".into(), "--server-counter".into(), "n = SELECT 1 = 1".into()];
        let Ok(Command::Run(c)) = parse(&a, 0) else { panic!() };
        assert_eq!(c.server_counters[0], ServerCounter { name: "n".into(), sql: "SELECT 1 = 1".into() });
    }

    #[test]
    fn errors_are_messages() {
        for bad in [
            "",
            "--workload nope",
            "--workload bank --clients 0",
            "--workload bank --duration 1 --transactions 5",
            "--workload bank --retries some",
            "--workload bank --isolation snapshot",
            "--workload bank --rate 0",
            "--workload bank --frobnicate 1",
            "--workload bank --clients",
            "--workload bank --server-counter nosql",
            "--workload bank --init=1",
        ] {
            assert!(parse(&args(bad), 0).is_err(), "{bad}");
        }
        assert!(matches!(parse(&args("--help"), 0), Ok(Command::Help)));
    }

    #[test]
    fn retries_allow() {
        assert!(!Retries::Limit(0).allows(0));
        assert!(Retries::Limit(2).allows(1));
        assert!(!Retries::Limit(2).allows(2));
        assert!(Retries::Unlimited.allows(u32::MAX));
    }
}
