//! The `ssidb` command: `ssidb [serve] [--listen HOST:PORT] [--data-dir DIR]`.

use ssidb::server::{self, Config};
use ssidb::sql::cluster::Cluster;
use ssidb::sql::session::STACK_SIZE;
use std::process::ExitCode;

const USAGE: &str = "usage: ssidb [serve] [--listen HOST:PORT] [--data-dir DIR]

  --listen HOST:PORT   address to listen on (default 127.0.0.1:5433)
  --data-dir DIR       data directory (default ./ssidb-data)
";

struct Args {
    listen: String,
    data_dir: String,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args { listen: "127.0.0.1:5433".into(), data_dir: "./ssidb-data".into() };
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
    if !server::is_loopback(&args.listen) {
        eprintln!(
            "ssidb: refusing to listen on {}: it is not a loopback address and password authentication \
             is not available yet (trust authentication is allowed on 127.0.0.1, ::1 and localhost only)",
            args.listen
        );
        return ExitCode::from(2);
    }
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
        let cluster = match Cluster::new_in_memory() {
            Ok(c) => c,
            Err(e) => {
                eprintln!("ssidb: {e}");
                return ExitCode::FAILURE;
            }
        };
        let config = Config { listen: args.listen.clone(), ..Config::default() };
        let handle = match server::start(config, cluster).await {
            Ok(h) => h,
            Err(e) => {
                eprintln!("ssidb: {e}");
                return ExitCode::FAILURE;
            }
        };
        eprintln!(
            "ssidb {}: data is kept in memory only (durable storage is not built yet; {} is not used)",
            env!("CARGO_PKG_VERSION"),
            args.data_dir
        );
        println!(
            "ssidb listening on {}; connect with: psql -h {} -p {} -U postgres -d postgres",
            handle.addr,
            handle.addr.ip(),
            handle.addr.port()
        );
        wait_for_signal().await;
        eprintln!("ssidb: shutting down");
        handle.shutdown().await;
        ExitCode::SUCCESS
    })
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
