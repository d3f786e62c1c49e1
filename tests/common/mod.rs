//! Shared helpers for integration tests: an in-process server on a free port, a tiny raw
//! protocol-v3 client (blocking `std::net`, exact bytes, so tests can see command tags and
//! ReadyForQuery status and send malformed messages), and a throwaway PostgreSQL 15 for
//! side-by-side comparisons when one is installed.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

/// How long a test waits for any single server reply.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(20);

/// Port of the in-process ssidb server shared by the tests of one test binary.
pub fn server_port() -> u16 {
    static PORT: OnceLock<u16> = OnceLock::new();
    *PORT.get_or_init(|| server_port_for(ssidb::sql::cluster::Cluster::new_in_memory().expect("cluster")))
}

/// Starts an in-process ssidb server on `cluster` (it runs until the test binary exits) and
/// returns its port.
pub fn server_port_for(cluster: std::sync::Arc<ssidb::sql::cluster::Cluster>) -> u16 {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_stack_size(ssidb::sql::session::STACK_SIZE)
            .enable_all()
            .build()
            .expect("test runtime");
        rt.block_on(async move {
            let config = ssidb::server::Config { listen: "127.0.0.1:0".into(), ..Default::default() };
            let handle = ssidb::server::start(config, cluster).await.expect("server starts");
            tx.send(handle.addr.port()).expect("report port");
            std::future::pending::<()>().await;
        });
    });
    rx.recv().expect("server port")
}

/// One backend message: its type byte and body.
#[derive(Clone, Debug)]
pub struct Msg {
    /// Type byte (`Z`, `C`, `E`, ...).
    pub kind: u8,
    /// Body after the length word.
    pub body: Vec<u8>,
}

/// What one simple Query produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// CommandComplete tags in order.
    pub tags: Vec<String>,
    /// SQLSTATE of the ErrorResponse, if any.
    pub error: Option<String>,
    /// ReadyForQuery status byte as a char.
    pub status: char,
}

/// A raw protocol connection.
pub struct RawConn {
    stream: TcpStream,
    /// Backend pid from BackendKeyData.
    pub pid: i32,
    /// Cancel secret from BackendKeyData.
    pub secret: i32,
}

/// Error fields (`C`, `M`, `S`, ...) of an ErrorResponse/NoticeResponse body.
pub fn fields(body: &[u8]) -> HashMap<u8, String> {
    let mut out = HashMap::new();
    let mut rest = body;
    while let Some((&code, tail)) = rest.split_first() {
        if code == 0 {
            break;
        }
        let end = tail.iter().position(|b| *b == 0).unwrap_or(tail.len());
        out.insert(code, String::from_utf8_lossy(&tail[..end]).into_owned());
        rest = tail.get(end + 1..).unwrap_or(&[]);
    }
    out
}

fn cstr(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

impl RawConn {
    /// Connects as `postgres` to database `postgres` and reads through the first ReadyForQuery.
    pub fn connect(port: u16) -> std::io::Result<RawConn> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(REPLY_TIMEOUT))?;
        stream.set_nodelay(true)?;
        let mut c = RawConn { stream, pid: 0, secret: 0 };
        let mut body = 196_608i32.to_be_bytes().to_vec();
        for s in ["user", "postgres", "database", "postgres", ""] {
            body.extend(cstr(s));
        }
        let mut packet = ((body.len() + 4) as i32).to_be_bytes().to_vec();
        packet.extend(body);
        c.stream.write_all(&packet)?;
        loop {
            let m = c.read_msg()?.ok_or_else(|| std::io::Error::other("closed during startup"))?;
            match m.kind {
                b'K' if m.body.len() >= 8 => {
                    c.pid = i32::from_be_bytes([m.body[0], m.body[1], m.body[2], m.body[3]]);
                    c.secret = i32::from_be_bytes([m.body[4], m.body[5], m.body[6], m.body[7]]);
                }
                b'Z' => return Ok(c),
                b'E' => return Err(std::io::Error::other(format!("startup failed: {:?}", fields(&m.body)))),
                _ => {}
            }
        }
    }

    /// Sends a message with type byte `kind` and `body` (the length word is computed).
    pub fn send(&mut self, kind: u8, body: &[u8]) -> std::io::Result<()> {
        let mut out = vec![kind];
        out.extend(((body.len() + 4) as i32).to_be_bytes());
        out.extend_from_slice(body);
        self.stream.write_all(&out)
    }

    /// Sends bytes as they are.
    pub fn send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Reads one message; `None` when the server closed the connection.
    pub fn read_msg(&mut self) -> std::io::Result<Option<Msg>> {
        let mut head = [0u8; 5];
        match self.stream.read_exact(&mut head) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Ok(None),
            Err(e) => return Err(e),
        }
        let len = i32::from_be_bytes([head[1], head[2], head[3], head[4]]);
        if !(4..=(64 << 20)).contains(&len) {
            return Err(std::io::Error::other(format!("bad backend message length {len}")));
        }
        let mut body = vec![0u8; len as usize - 4];
        self.stream.read_exact(&mut body)?;
        Ok(Some(Msg { kind: head[0], body }))
    }

    /// Sends a simple Query and collects tags, error and status up to ReadyForQuery.
    pub fn query(&mut self, sql: &str) -> std::io::Result<Reply> {
        self.send(b'Q', &cstr(sql))?;
        self.collect()
    }

    /// Reads messages up to ReadyForQuery.
    pub fn collect(&mut self) -> std::io::Result<Reply> {
        let mut reply = Reply { tags: vec![], error: None, status: '?' };
        loop {
            let m = self.read_msg()?.ok_or_else(|| std::io::Error::other("server closed the connection"))?;
            match m.kind {
                b'C' => reply
                    .tags
                    .push(String::from_utf8_lossy(m.body.split(|b| *b == 0).next().unwrap_or(&[])).into()),
                b'E' => reply.error = fields(&m.body).get(&b'C').cloned(),
                b'Z' => {
                    reply.status = m.body.first().map(|b| *b as char).unwrap_or('?');
                    return Ok(reply);
                }
                _ => {}
            }
        }
    }

    /// Sets how long reads wait.
    pub fn set_read_timeout(&self, t: Duration) -> std::io::Result<()> {
        self.stream.set_read_timeout(Some(t))
    }

    /// Sends CancelRequest(pid, secret) to the server at `port` on a new connection.
    pub fn cancel(port: u16, pid: i32, secret: i32) -> std::io::Result<()> {
        let mut s = TcpStream::connect(("127.0.0.1", port))?;
        let mut packet = 16i32.to_be_bytes().to_vec();
        packet.extend(80_877_102i32.to_be_bytes());
        packet.extend(pid.to_be_bytes());
        packet.extend(secret.to_be_bytes());
        s.write_all(&packet)?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        let mut sink = [0u8; 8];
        let _ = s.read(&mut sink);
        Ok(())
    }
}

/// PostgreSQL 15's server binary; tests that compare with PostgreSQL run only when it exists.
pub const PG_BINARY: &str = "/usr/lib/postgresql/15/bin/postgres";

/// A throwaway PostgreSQL 15 started by `tools/pg-throwaway`, stopped on drop.
pub struct ThrowawayPg {
    /// Its port on 127.0.0.1.
    pub port: u16,
    dir: String,
}

impl ThrowawayPg {
    /// Starts one, or `None` (with a printed reason) when PostgreSQL 15 is not installed or does
    /// not start.
    pub fn start() -> Option<ThrowawayPg> {
        if !Path::new(PG_BINARY).exists() {
            println!("skipping the PostgreSQL comparison: {PG_BINARY} is not installed");
            return None;
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/pg-throwaway");
        let out = match std::process::Command::new(&script).arg("start").output() {
            Ok(o) if o.status.success() => o,
            Ok(o) => {
                println!("skipping the PostgreSQL comparison: {}", String::from_utf8_lossy(&o.stderr));
                return None;
            }
            Err(e) => {
                println!("skipping the PostgreSQL comparison: cannot run {}: {e}", script.display());
                return None;
            }
        };
        let stdout = String::from_utf8_lossy(&out.stdout);
        let get = |k: &str| stdout.lines().find_map(|l| l.strip_prefix(k)).map(str::to_string);
        let dir = get("PGDATA_DIR=")?;
        let port = get("PGPORT=").and_then(|p| p.parse().ok());
        let Some(port) = port else {
            drop(ThrowawayPg { port: 0, dir });
            println!("skipping the PostgreSQL comparison: pg-throwaway printed no PGPORT");
            return None;
        };
        Some(ThrowawayPg { port, dir })
    }
}

impl Drop for ThrowawayPg {
    fn drop(&mut self) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/pg-throwaway");
        let _ = std::process::Command::new(script).arg("stop").arg(&self.dir).output();
    }
}
