//! `load-driver`: see the crate documentation and `README.md`.

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use load_driver::cli::{self, Command};
use load_driver::driver;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // The clock only picks a seed when none is given; the seed is printed so the run can be replayed.
    let default_seed = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1);
    let config = match cli::parse(&args, default_seed) {
        Ok(Command::Help) => {
            print!("{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
        Ok(Command::Run(c)) => *c,
        Err(m) => {
            eprintln!("load-driver: {m}\n\n{}", cli::USAGE);
            return ExitCode::from(2);
        }
    };
    let json_path = config.json.clone();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("load-driver: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let report = match runtime.block_on(driver::run(config)) {
        Ok(Some(r)) => r,
        Ok(None) => return ExitCode::SUCCESS,
        Err(m) => {
            eprintln!("load-driver: {m}");
            return ExitCode::from(1);
        }
    };
    print!("{}", report.text());
    if let Some(path) = json_path {
        let text = match serde_json::to_string_pretty(&report.json()) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("load-driver: encoding JSON: {e}");
                return ExitCode::from(1);
            }
        };
        if let Err(e) = std::fs::write(&path, text + "\n") {
            eprintln!("load-driver: writing {}: {e}", path.display());
            return ExitCode::from(1);
        }
    }
    // The runtime may still hold aborted client tasks; do not wait for them.
    runtime.shutdown_background();
    if report.interrupted {
        ExitCode::from(130)
    } else if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
