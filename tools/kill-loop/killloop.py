"""kill-loop: SIGKILL the real ssidb server under concurrent multi-row writers and check recovery.

Run by tools/kill-loop/run (which builds the server and provides psycopg); see README.md.

Each iteration: the server runs on DATA_DIR (kept across iterations, so recovery builds on the
previous ones), WRITERS threads commit transactions that each insert ROWS rows tagged with the
transaction's id, the server is SIGKILLed at a random moment, restarted, and the table is checked:

- every acknowledged transaction (COMMIT returned success) has all its rows;
- no transaction has only some of its rows;
- every transaction present was at least attempted (nothing invented).

A transaction whose COMMIT was in flight at the kill may be present or absent.
"""

import argparse
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import psycopg


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def conninfo(port):
    return f"host=127.0.0.1 port={port} user=postgres dbname=postgres connect_timeout=10"


class Server:
    def __init__(self, binary, data_dir, log):
        self.binary, self.data_dir, self.log = binary, data_dir, log
        self.proc, self.port = None, None

    def start(self):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [self.binary, "--data-dir", self.data_dir, "--listen", f"127.0.0.1:{self.port}"],
            stdout=self.log,
            stderr=self.log,
        )
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"kill-loop: server exited with {self.proc.returncode} at start-up (see {self.log.name})")
            try:
                with psycopg.connect(conninfo(self.port), autocommit=True) as c:
                    c.execute("SELECT 1")
                return
            except psycopg.OperationalError:
                time.sleep(0.05)
        raise SystemExit("kill-loop: server did not start within 120 s")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Ledger:
    """Transaction ids handed out, attempted and acknowledged, across all iterations."""

    def __init__(self):
        self.lock = threading.Lock()
        self.next_txn = 1
        self.attempted = set()
        self.acked = set()

    def new_txn(self):
        with self.lock:
            t = self.next_txn
            self.next_txn += 1
            self.attempted.add(t)
            return t

    def ack(self, t):
        with self.lock:
            self.acked.add(t)


def writer(port, ledger, rows, stop):
    try:
        conn = psycopg.connect(conninfo(port), autocommit=True)
    except psycopg.Error:
        return
    try:
        while not stop.is_set():
            t = ledger.new_txn()
            conn.execute("BEGIN")
            for r in range(rows):
                conn.execute("INSERT INTO kl (id, txn, payload) VALUES (%s, %s, %s)", (t * 100 + r, t, "x" * 100))
            conn.execute("COMMIT")
            ledger.ack(t)
    except psycopg.Error:
        return  # the kill, most likely; the transaction in flight may or may not be committed
    finally:
        try:
            conn.close()
        except psycopg.Error:
            pass


def check(port, ledger, rows):
    with psycopg.connect(conninfo(port), autocommit=True) as c:
        counts = dict(c.execute("SELECT txn, count(*) FROM kl GROUP BY txn").fetchall())
    lost = sorted(t for t in ledger.acked if counts.get(t, 0) != rows)
    partial = sorted(t for t, n in counts.items() if n != rows)
    invented = sorted(t for t in counts if t not in ledger.attempted)
    return counts, lost, partial, invented


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--writers", type=int, default=8)
    ap.add_argument("--rows", type=int, default=5, help="rows per transaction")
    ap.add_argument("--min-secs", type=float, default=0.3, help="earliest kill after the writers start")
    ap.add_argument("--max-secs", type=float, default=2.5, help="latest kill after the writers start")
    ap.add_argument("--bin", default="target/release/ssidb")
    ap.add_argument("--data-dir", default=None, help="default: a fresh temporary directory")
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    tmp = None
    data_dir = args.data_dir
    if data_dir is None:
        tmp = tempfile.mkdtemp(prefix="ssidb-kill-loop-")
        data_dir = os.path.join(tmp, "data")
    log = open(os.path.join(tmp or data_dir, "server.log"), "ab")
    server = Server(args.bin, data_dir, log)
    ledger = Ledger()
    print(f"kill-loop: {args.iterations} iterations, {args.writers} writers, {args.rows} rows per transaction, seed {seed}, data in {data_dir}")
    server.start()
    with psycopg.connect(conninfo(server.port), autocommit=True) as c:
        c.execute("CREATE TABLE IF NOT EXISTS kl (id bigint PRIMARY KEY, txn bigint NOT NULL, payload text)")
    failed = False
    try:
        for i in range(1, args.iterations + 1):
            stop = threading.Event()
            threads = [threading.Thread(target=writer, args=(server.port, ledger, args.rows, stop)) for _ in range(args.writers)]
            acked_before = len(ledger.acked)
            for t in threads:
                t.start()
            time.sleep(rng.uniform(args.min_secs, args.max_secs))
            server.kill()
            stop.set()
            for t in threads:
                t.join()
            started = time.time()
            server.start()
            recovery = time.time() - started
            counts, lost, partial, invented = check(server.port, ledger, args.rows)
            acked_now = len(ledger.acked) - acked_before
            in_flight = len(ledger.attempted) - len(ledger.acked)
            ok = not (lost or partial or invented)
            print(
                f"iteration {i}: {acked_now} commits acknowledged before the kill, {len(counts)} transactions present, "
                f"{len(ledger.acked)} acknowledged in total, {in_flight} in flight at kills so far, "
                f"restart {recovery:.1f}s: {'ok' if ok else 'FAILED'}",
                flush=True,
            )
            if not ok:
                print(f"  lost acknowledged: {lost[:10]} ({len(lost)})")
                print(f"  partly present: {partial[:10]} ({len(partial)})")
                print(f"  never attempted: {invented[:10]} ({len(invented)})")
                failed = True
                break
    finally:
        server.stop()
        log.close()
    if failed:
        print(f"kill-loop: FAILED (data kept in {data_dir})")
        return 1
    print(f"kill-loop: {args.iterations} iterations passed: no acknowledged transaction lost, none partly present")
    if tmp:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
