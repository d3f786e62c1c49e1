//! The `ssidb` command: `ssidb [serve] [--listen HOST:PORT] [--data-dir DIR] [--auth trust|scram] ...`.

use ssidb::server::auth::AuthMethod;
use ssidb::server::{self, Config};
use ssidb::sql::cluster::{Cluster, StorageConfig};
use ssidb::sql::session::STACK_SIZE;
use ssidb::storage::btree::parse_size;
use std::process::ExitCode;

const USAGE: &str = "usage: ssidb [serve] [--listen HOST:PORT] [--data-dir DIR] [--buffer-pool SIZE]

  --listen HOST:PORT    address to listen on (default 127.0.0.1:5433)
  --data-dir DIR        data directory (default ./ssidb-data)
  --buffer-pool SIZE    buffer pool size, e.g. 64MB, 1GB (default 128MB)
  --checkpoint-secs N   seconds between checkpoints (default 10)
  --checkpoint-wal SIZE write-ahead log volume that triggers a checkpoint (default 64MB)
  --ssi-max-locks N     SERIALIZABLE bookkeeping budget per database: transactions plus SIREAD
                        locks tracked at once (default 200000, minimum 8); past it locks are
                        merged into coarser ranges and old committed transactions summarized
  --auth trust|scram    client authentication (default trust, allowed on loopback addresses only)
  --password-file FILE  the bootstrap superuser's (postgres) password: first line of FILE
                        (or the SSIDB_PASSWORD environment variable); stored as a SCRAM verifier
  --tls-cert FILE       server certificate chain (PEM); with --tls-key, SSLRequest gets TLS
  --tls-key FILE        the certificate's private key (PEM)
  --require-tls         refuse connections that do not use TLS
";

struct Args {
    listen: String,
    data_dir: String,
    buffer_pool: u64,
    checkpoint_secs: u64,
    checkpoint_wal: u64,
    ssi_max_locks: usize,
    auth: AuthMethod,
    password_file: Option<String>,
    tls_cert: Option<String>,
    tls_key: Option<String>,
    require_tls: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        listen: "127.0.0.1:5433".into(),
        data_dir: "./ssidb-data".into(),
        buffer_pool: 128 << 20,
        checkpoint_secs: 10,
        checkpoint_wal: 64 << 20,
        ssi_max_locks: 0,
        auth: AuthMethod::Trust,
        password_file: None,
        tls_cert: None,
        tls_key: None,
        require_tls: false,
    };
    let mut it = std::env::args().skip(1).peekable();
    if it.peek().map(String::as_str) == Some("serve") {
        it.next();
    }
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let mut value =
            |name: &str| inline.clone().or_else(|| it.next()).ok_or(format!("{name} needs a value"));
        match flag.as_str() {
            "--listen" => args.listen = value("--listen")?,
            "--data-dir" => args.data_dir = value("--data-dir")?,
            "--buffer-pool" => {
                let v = value("--buffer-pool")?;
                args.buffer_pool = parse_size(&v).map_err(|e| format!("--buffer-pool: {e}"))?;
            }
            "--checkpoint-secs" => {
                let v = value("--checkpoint-secs")?;
                args.checkpoint_secs =
                    v.parse().map_err(|_| format!("--checkpoint-secs: not a number: {v}"))?;
            }
            "--checkpoint-wal" => {
                let v = value("--checkpoint-wal")?;
                args.checkpoint_wal = parse_size(&v).map_err(|e| format!("--checkpoint-wal: {e}"))?;
            }
            "--ssi-max-locks" => {
                let v = value("--ssi-max-locks")?;
                args.ssi_max_locks = v.parse().map_err(|_| format!("--ssi-max-locks: not a number: {v}"))?;
            }
            "--auth" => {
                args.auth = match value("--auth")?.as_str() {
                    "trust" => AuthMethod::Trust,
                    "scram" | "scram-sha-256" => AuthMethod::Scram,
                    other => return Err(format!("--auth: expected trust or scram, not {other}")),
                }
            }
            "--password-file" => args.password_file = Some(value("--password-file")?),
            "--tls-cert" => args.tls_cert = Some(value("--tls-cert")?),
            "--tls-key" => args.tls_key = Some(value("--tls-key")?),
            "--require-tls" => args.require_tls = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("ssidb: {msg}");
            }
            eprint!("{USAGE}");
            return if msg.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) };
        }
    };
    if args.auth == AuthMethod::Trust && !server::is_loopback(&args.listen) {
        eprintln!("ssidb: {}", server::trust_refusal(&args.listen));
        return ExitCode::from(2);
    }
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => match server::tls::load(cert, key) {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!("ssidb: {e}");
                return ExitCode::from(2);
            }
        },
        (None, None) => None,
        _ => {
            eprintln!("ssidb: --tls-cert and --tls-key go together");
            return ExitCode::from(2);
        }
    };
    if args.require_tls && tls.is_none() {
        eprintln!("ssidb: --require-tls needs a certificate and key (--tls-cert FILE --tls-key FILE)");
        return ExitCode::from(2);
    }
    let password = match bootstrap_password(args.password_file.as_deref()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("ssidb: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(STACK_SIZE)
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ssidb: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let storage = StorageConfig {
            data_dir: Some(args.data_dir.clone().into()),
            buffer_pool_bytes: args.buffer_pool,
            checkpoint_wal_bytes: args.checkpoint_wal,
            checkpoint_interval: Some(std::time::Duration::from_secs(args.checkpoint_secs.max(1))),
            ssi_max_locks: args.ssi_max_locks,
        };
        let cluster = match tokio::task::spawn_blocking(move || Cluster::open(&storage)).await {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => {
                eprintln!("ssidb: {e}");
                return ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!("ssidb: {e}");
                return ExitCode::FAILURE;
            }
        };
        if let Some(p) = password {
            let c = cluster.clone();
            match tokio::task::spawn_blocking(move || c.set_bootstrap_password(&p)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    eprintln!("ssidb: could not store the bootstrap superuser's password: {e}");
                    return ExitCode::FAILURE;
                }
                Err(e) => {
                    eprintln!("ssidb: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        if args.auth == AuthMethod::Scram
            && !cluster.roles().all().iter().any(|r| r.login && r.verifier.is_some())
        {
            eprintln!(
                "ssidb: --auth scram, but no role can log in with a password: give the bootstrap \
                 superuser (postgres) one with --password-file FILE or the SSIDB_PASSWORD environment variable"
            );
            return ExitCode::from(2);
        }
        let config = Config {
            listen: args.listen.clone(),
            auth: args.auth,
            tls,
            require_tls: args.require_tls,
            ..Config::default()
        };
        let handle = match server::start(config, cluster.clone()).await {
            Ok(h) => h,
            Err(e) => {
                eprintln!("ssidb: {e}");
                return ExitCode::FAILURE;
            }
        };
        eprintln!(
            "ssidb {}: data in {} (B+tree store with write-ahead log, {} buffer pool, checkpoint every {}s or {} of log)",
            env!("CARGO_PKG_VERSION"),
            args.data_dir,
            human(args.buffer_pool),
            args.checkpoint_secs,
            human(args.checkpoint_wal)
        );
        // The background vacuum sweep (checkpoints run in the storage layer's own thread).
        let vacuumer = {
            let cluster = cluster.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(std::time::Duration::from_secs(VACUUM_SECS));
                tick.tick().await;
                loop {
                    tick.tick().await;
                    let c = cluster.clone();
                    match tokio::task::spawn_blocking(move || c.vacuum_all()).await {
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => eprintln!("ssidb: vacuum failed: {e}"),
                        Err(e) => eprintln!("ssidb: vacuum failed: {e}"),
                    }
                }
            })
        };
        println!(
            "ssidb listening on {} ({} authentication{}); connect with: psql -h {} -p {} -U postgres -d postgres",
            handle.addr,
            if args.auth == AuthMethod::Scram { "scram-sha-256" } else { "trust" },
            match (args.require_tls, args.tls_cert.is_some()) {
                (true, _) => ", TLS required",
                (false, true) => ", TLS available",
                _ => "",
            },
            handle.addr.ip(),
            handle.addr.port()
        );
        wait_for_signal().await;
        eprintln!("ssidb: shutting down");
        handle.shutdown().await;
        vacuumer.abort();
        match tokio::task::spawn_blocking(move || cluster.checkpoint()).await {
            Ok(Ok(())) => ExitCode::SUCCESS,
            Ok(Err(e)) => {
                eprintln!("ssidb: final checkpoint failed: {e}");
                ExitCode::FAILURE
            }
            Err(e) => {
                eprintln!("ssidb: final checkpoint failed: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

/// The bootstrap superuser's password: the first line of `file`, else `SSIDB_PASSWORD` (removed
/// from the environment once read). Never printed.
fn bootstrap_password(file: Option<&str>) -> Result<Option<String>, String> {
    let from_env = std::env::var("SSIDB_PASSWORD").ok();
    if from_env.is_some() {
        // Not inherited by anything this process might start.
        std::env::remove_var("SSIDB_PASSWORD");
    }
    let password = match file {
        Some(f) => {
            let text = std::fs::read_to_string(f).map_err(|e| format!("--password-file {f}: {e}"))?;
            Some(text.lines().next().unwrap_or("").to_string())
        }
        None => from_env,
    };
    match password {
        Some(p) if p.is_empty() => Err("the bootstrap superuser's password is empty".into()),
        p => Ok(p),
    }
}

/// Seconds between background vacuum sweeps.
const VACUUM_SECS: u64 = 30;

fn human(bytes: u64) -> String {
    if bytes.is_multiple_of(1 << 30) {
        format!("{}GB", bytes >> 30)
    } else if bytes.is_multiple_of(1 << 20) {
        format!("{}MB", bytes >> 20)
    } else {
        format!("{bytes} bytes")
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
