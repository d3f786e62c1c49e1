//! Issue 14's acceptance, end to end: SCRAM-SHA-256 (28P01 for a wrong password, after the
//! configured delay; the right one logs in), TLS with certificate verification against a test CA
//! (rcgen, made at run time) and `--require-tls`, privileges (42501 until GRANT), roles that
//! persist across a restart, `ssidb --listen 0.0.0.0:...` refused without `--auth scram`, no
//! password in the server's output or data files, and real psql with `sslmode=verify-full` (skipped
//! with a message when psql is not installed).

use ssidb::server::auth::AuthMethod;
use ssidb::server::Config;
use ssidb::sql::cluster::{Cluster, StorageConfig};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const PASSWORD: &str = "s3cret-Bootstrap";
const DELAY: Duration = Duration::from_millis(300);

/// Starts a server on a free loopback port in its own runtime; it lives as long as the test binary.
fn start(config: Config, cluster: Arc<Cluster>) -> u16 {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_stack_size(ssidb::sql::session::STACK_SIZE)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let handle = ssidb::server::start(config, cluster).await.expect("server starts");
            tx.send(handle.addr.port()).expect("report port");
            std::future::pending::<()>().await;
        });
    });
    rx.recv().expect("port")
}

fn scram_config(tls: Option<ssidb::server::tls::TlsConfig>, require_tls: bool) -> Config {
    Config {
        listen: "127.0.0.1:0".into(),
        auth: AuthMethod::Scram,
        tls,
        require_tls,
        auth_failure_delay: DELAY,
        ..Config::default()
    }
}

fn cluster_with_password() -> Arc<Cluster> {
    let cluster = Cluster::new_in_memory().expect("cluster");
    cluster.set_bootstrap_password(PASSWORD).expect("password");
    cluster
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime").block_on(f)
}

async fn connect(conf: &str) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, conn) = tokio_postgres::connect(conf, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    Ok(client)
}

/// The error of a call that must fail.
fn fails<T>(r: Result<T, tokio_postgres::Error>, what: &str) -> tokio_postgres::Error {
    match r {
        Ok(_) => panic!("expected an error: {what}"),
        Err(e) => e,
    }
}

fn sqlstate(e: &tokio_postgres::Error) -> String {
    e.as_db_error().map(|d| d.code().code().to_string()).unwrap_or_else(|| format!("no SQLSTATE: {e}"))
}

fn message(e: &tokio_postgres::Error) -> String {
    e.as_db_error().map(|d| d.message().to_string()).unwrap_or_default()
}

/// A test CA and a server certificate for localhost and 127.0.0.1, as PEM files in `dir`.
struct Certs {
    ca_der: rustls_pki_types::CertificateDer<'static>,
    ca_file: std::path::PathBuf,
    cert_file: String,
    key_file: String,
}

fn make_certs(dir: &Path) -> Certs {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
    };
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params.distinguished_name.push(DnType::CommonName, "ssidb test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("ca key")).expect("ca");
    let server_key = KeyPair::generate().expect("server key");
    let mut params =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).expect("params");
    params.distinguished_name.push(DnType::CommonName, "localhost");
    let cert = params.signed_by(&server_key, &ca).expect("server certificate");
    let ca_file = dir.join("ca.crt");
    std::fs::write(&ca_file, ca.pem()).expect("write ca");
    let cert_file = dir.join("server.crt");
    std::fs::write(&cert_file, cert.pem()).expect("write cert");
    let key_file = dir.join("server.key");
    std::fs::write(&key_file, server_key.serialize_pem()).expect("write key");
    Certs {
        ca_der: ca.der().clone(),
        ca_file,
        cert_file: cert_file.display().to_string(),
        key_file: key_file.display().to_string(),
    }
}

fn tls_connector(ca: &rustls_pki_types::CertificateDer<'static>) -> tokio_postgres_rustls::MakeRustlsConnect {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.clone()).expect("CA certificate");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_postgres_rustls::MakeRustlsConnect::new(config)
}

#[test]
fn wrong_password_is_28p01_after_a_delay_and_the_right_one_logs_in() {
    let port = start(scram_config(None, false), cluster_with_password());
    block_on(async {
        for (user, password) in [("postgres", "wrong"), ("nobody", "wrong"), ("postgres", "")] {
            let started = Instant::now();
            let conf =
                format!("host=127.0.0.1 port={port} user={user} password='{password}' dbname=postgres");
            let e = fails(connect(&conf).await, "refused");
            assert_eq!(sqlstate(&e), "28P01", "{user}: {e}");
            assert_eq!(message(&e), format!("password authentication failed for user \"{user}\""));
            assert!(started.elapsed() >= DELAY, "the refusal waits {DELAY:?}");
        }
        let conf = format!("host=127.0.0.1 port={port} user=postgres password={PASSWORD} dbname=postgres");
        let c = connect(&conf).await.expect("right password");
        let row = c.query_one("SELECT current_user::text", &[]).await.expect("query");
        assert_eq!(row.get::<_, String>(0), "postgres");
        // A role created with a password logs in with it; one without LOGIN does not.
        c.batch_execute("CREATE ROLE alice LOGIN PASSWORD 'alice-pw'").await.expect("create role");
        c.batch_execute("CREATE ROLE noone PASSWORD 'noone-pw'").await.expect("create role");
        let verifier: String = c
            .query_one("SELECT rolpassword FROM pg_authid WHERE rolname = 'alice'", &[])
            .await
            .expect("pg_authid")
            .get(0);
        assert!(verifier.starts_with("SCRAM-SHA-256$4096:"), "{verifier}");
        assert!(!verifier.contains("alice-pw"));
        let a = connect(&format!("host=127.0.0.1 port={port} user=alice password=alice-pw dbname=postgres"))
            .await
            .expect("alice logs in");
        let e = fails(a.query_one("SELECT rolpassword FROM pg_authid", &[]).await, "not superuser");
        assert_eq!(sqlstate(&e), "42501");
        let e = fails(
            connect(&format!("host=127.0.0.1 port={port} user=noone password=noone-pw dbname=postgres"))
                .await,
            "NOLOGIN",
        );
        assert_eq!(sqlstate(&e), "28000");
        assert_eq!(message(&e), "role \"noone\" is not permitted to log in");
        // ALTER ROLE ... PASSWORD: the old one stops working.
        a.batch_execute("ALTER ROLE alice PASSWORD 'alice-pw2'").await.expect("own password");
        let e = fails(
            connect(&format!("host=127.0.0.1 port={port} user=alice password=alice-pw dbname=postgres"))
                .await,
            "old password",
        );
        assert_eq!(sqlstate(&e), "28P01");
        connect(&format!("host=127.0.0.1 port={port} user=alice password=alice-pw2 dbname=postgres"))
            .await
            .expect("new password");
    });
}

#[test]
fn tls_with_a_verified_certificate_and_require_tls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let certs = make_certs(dir.path());
    let tls = ssidb::server::tls::load(&certs.cert_file, &certs.key_file).expect("load certificate");
    let port = start(scram_config(Some(tls), true), cluster_with_password());
    block_on(async {
        // Plaintext is refused before any password is asked for.
        let conf = format!("host=127.0.0.1 port={port} user=postgres password={PASSWORD} dbname=postgres");
        let e = fails(connect(&conf).await, "plaintext refused");
        assert_eq!(sqlstate(&e), "28000", "{e}");
        assert_eq!(
            message(&e),
            "no pg_hba.conf entry for host \"127.0.0.1\", user \"postgres\", database \"postgres\", no encryption"
        );
        // TLS, verifying the server's certificate against the test CA and the host name.
        let conf = format!(
            "host=localhost hostaddr=127.0.0.1 port={port} user=postgres password={PASSWORD} dbname=postgres sslmode=require"
        );
        let (client, conn) = tokio_postgres::connect(&conf, tls_connector(&certs.ca_der)).await.expect("TLS");
        tokio::spawn(conn);
        let row = client.query_one("SELECT 40 + 2", &[]).await.expect("query over TLS");
        assert_eq!(row.get::<_, i32>(0), 42);
        // A wrong password over TLS is still 28P01.
        let bad = conf.replace(PASSWORD, "nope");
        let e = fails(tokio_postgres::connect(&bad, tls_connector(&certs.ca_der)).await, "refused");
        assert_eq!(sqlstate(&e), "28P01");
        // A client that trusts another CA refuses the server's certificate.
        let other = make_certs(&dir.path().join("other").tap_mkdir());
        let e = fails(tokio_postgres::connect(&conf, tls_connector(&other.ca_der)).await, "unknown CA");
        assert!(e.as_db_error().is_none(), "a TLS failure, not a server error: {e}");
    });
}

trait TapMkdir {
    fn tap_mkdir(self) -> Self;
}

impl TapMkdir for std::path::PathBuf {
    fn tap_mkdir(self) -> Self {
        std::fs::create_dir_all(&self).expect("mkdir");
        self
    }
}

#[test]
fn select_is_denied_until_granted() {
    let cluster = Cluster::new_in_memory().expect("cluster");
    let port = start(Config { listen: "127.0.0.1:0".into(), ..Config::default() }, cluster);
    block_on(async {
        let admin = connect(&format!("host=127.0.0.1 port={port} user=postgres dbname=postgres"))
            .await
            .expect("trust on loopback");
        admin
            .batch_execute("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'one')")
            .await
            .expect("setup");
        admin.batch_execute("CREATE ROLE reader LOGIN").await.expect("role");
        let reader = connect(&format!("host=127.0.0.1 port={port} user=reader dbname=postgres"))
            .await
            .expect("reader logs in");
        let e = fails(reader.query("SELECT * FROM t", &[]).await, "denied");
        assert_eq!(sqlstate(&e), "42501");
        assert_eq!(message(&e), "permission denied for table t");
        // The extended protocol checks too (prepare binds the statement).
        let e = fails(reader.prepare("SELECT v FROM t WHERE id = $1").await, "denied at prepare");
        assert_eq!(sqlstate(&e), "42501");
        let has = "SELECT has_table_privilege('reader', 't', 'SELECT')";
        assert!(!admin.query_one(has, &[]).await.expect("has").get::<_, bool>(0));
        admin.batch_execute("GRANT SELECT ON t TO reader").await.expect("grant");
        assert!(admin.query_one(has, &[]).await.expect("has").get::<_, bool>(0));
        let rows = reader.query("SELECT v FROM t WHERE id = $1", &[&1i32]).await.expect("reads after GRANT");
        assert_eq!(rows[0].get::<_, String>(0), "one");
        let e = fails(reader.execute("INSERT INTO t VALUES (2, 'two')", &[]).await, "no INSERT");
        assert_eq!(sqlstate(&e), "42501");
        let acl: String = admin
            .query_one("SELECT array_to_string(relacl, ',') FROM pg_class WHERE relname = 't'", &[])
            .await
            .expect("relacl")
            .get(0);
        assert_eq!(acl, "postgres=arwdDxt/postgres,reader=r/postgres");
        admin.batch_execute("REVOKE SELECT ON t FROM reader").await.expect("revoke");
        let e = fails(reader.query("SELECT * FROM t", &[]).await, "denied again");
        assert_eq!(sqlstate(&e), "42501");
    });
}

#[test]
fn roles_and_grants_persist_across_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = StorageConfig { data_dir: Some(dir.path().to_path_buf()), ..StorageConfig::default() };
    {
        let cluster = Cluster::open(&storage).expect("open");
        let mut s =
            ssidb::sql::session::Session::new(cluster.clone(), "postgres", "postgres").expect("session");
        for sql in [
            "CREATE ROLE carol LOGIN PASSWORD 'carol-pw'",
            "CREATE TABLE kept (a int)",
            "GRANT SELECT, INSERT ON kept TO carol",
        ] {
            let (_, e) = s.execute_simple(sql);
            assert!(e.is_none(), "{sql}: {e:?}");
        }
        drop(s);
        cluster.checkpoint().expect("checkpoint");
    }
    let cluster = Cluster::open(&storage).expect("reopen");
    let carol = cluster.roles().by_name("carol").cloned().expect("carol is still there");
    assert!(carol.login);
    assert!(carol.verifier.as_deref().is_some_and(|v| v.starts_with("SCRAM-SHA-256$")));
    cluster.set_bootstrap_password(PASSWORD).expect("password");
    let port = start(scram_config(None, false), cluster);
    block_on(async {
        let c = connect(&format!("host=127.0.0.1 port={port} user=carol password=carol-pw dbname=postgres"))
            .await
            .expect("carol logs in after the restart");
        c.execute("INSERT INTO kept VALUES (1)", &[]).await.expect("grant kept");
        let e = fails(c.execute("DELETE FROM kept", &[]).await, "no DELETE");
        assert_eq!(sqlstate(&e), "42501");
    });
}

#[test]
fn listening_beyond_loopback_needs_scram() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = env!("CARGO_BIN_EXE_ssidb");
    let data = dir.path().join("data");
    let out = std::process::Command::new(bin)
        .args(["--listen", "0.0.0.0:5433", "--data-dir"])
        .arg(&data)
        .env_remove("SSIDB_PASSWORD")
        .output()
        .expect("run ssidb");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refusing to listen on 0.0.0.0:5433 with trust authentication")
            && err.contains("--auth scram"),
        "{err}"
    );
    assert!(!data.exists(), "refused before touching the data directory");
    // --auth scram with no password anywhere: nobody could log in, so it does not start either.
    let out = std::process::Command::new(bin)
        .args(["--listen", "0.0.0.0:5433", "--auth", "scram", "--data-dir"])
        .arg(&data)
        .env_remove("SSIDB_PASSWORD")
        .output()
        .expect("run ssidb");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no role can log in with a password"));
}

/// Runs the real binary with a data directory, sends role statements with passwords and failed
/// logins, stops it, and looks for the passwords in its output and in every file it wrote.
#[test]
fn passwords_reach_no_log_and_no_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let port = free_port();
    let secret_boot = "Boot-pw-7f3a91";
    let secret_role = "Role-pw-c55e02";
    let secret_alter = "Alter-pw-9d0b44";
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_ssidb"))
        .args(["--listen", &format!("127.0.0.1:{port}"), "--auth", "scram", "--data-dir"])
        .arg(&data)
        .env("SSIDB_PASSWORD", secret_boot)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start ssidb");
    block_on(async {
        let conf = format!("host=127.0.0.1 port={port} user=postgres password={secret_boot} dbname=postgres");
        let mut admin = None;
        for _ in 0..100 {
            if let Ok(c) = connect(&conf).await {
                admin = Some(c);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let admin = admin.expect("ssidb came up");
        admin
            .batch_execute(&format!("CREATE ROLE dave LOGIN PASSWORD '{secret_role}'"))
            .await
            .expect("create");
        admin.batch_execute(&format!("ALTER ROLE dave PASSWORD '{secret_alter}'")).await.expect("alter");
        let e = admin.batch_execute(&format!("CREATE ROLE dave PASSWORD '{secret_role}'")).await.err();
        assert_eq!(e.map(|e| sqlstate(&e)).as_deref(), Some("42710"));
        let wrong = format!("host=127.0.0.1 port={port} user=dave password={secret_role} dbname=postgres");
        assert!(connect(&wrong).await.is_err());
        admin.batch_execute("CHECKPOINT").await.expect("checkpoint");
    });
    let _ = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status();
    let out = child.wait_with_output().expect("ssidb exits");
    let logs = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    for secret in [secret_boot, secret_role, secret_alter] {
        assert!(!logs.contains(secret), "{secret} in the server's output:\n{logs}");
        for file in files_under(&data) {
            let bytes = std::fs::read(&file).expect("read data file");
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{secret} stored in {}",
                file.display()
            );
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    assert!(!out.is_empty(), "the server wrote data files");
    out
}

/// psql itself: a wrong password is refused, the right one works over TLS with
/// `sslmode=verify-full` against the test CA, and plaintext is refused under --require-tls.
#[test]
fn psql_verify_full_against_the_test_ca() {
    if std::process::Command::new("psql").arg("--version").output().is_err() {
        eprintln!("psql_verify_full_against_the_test_ca: SKIPPED: psql is not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let certs = make_certs(dir.path());
    let tls = ssidb::server::tls::load(&certs.cert_file, &certs.key_file).expect("load certificate");
    let port = start(scram_config(Some(tls), true), cluster_with_password());
    let psql = |conninfo: String, password: &str| {
        let out = std::process::Command::new("psql")
            .args([
                "-X",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                &conninfo,
                "-c",
                "SELECT 'connected as ' || current_user",
                "-c",
                "\\conninfo",
            ])
            .env("PGPASSWORD", password)
            .env("PGCONNECT_TIMEOUT", "10")
            .output()
            .expect("run psql");
        (
            out.status.success(),
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
        )
    };
    let full = format!(
        "host=localhost port={port} user=postgres dbname=postgres sslmode=verify-full sslrootcert={}",
        certs.ca_file.display()
    );
    let (ok, out) = psql(full.clone(), "wrong");
    assert!(!ok && out.contains("password authentication failed for user \"postgres\""), "{out}");
    let (ok, out) = psql(full, PASSWORD);
    assert!(ok && out.contains("connected as postgres") && out.contains("SSL connection"), "{out}");
    let plain = format!("host=127.0.0.1 port={port} user=postgres dbname=postgres sslmode=disable");
    let (ok, out) = psql(plain, PASSWORD);
    assert!(!ok && out.contains("no pg_hba.conf entry") && out.contains("no encryption"), "{out}");
}
