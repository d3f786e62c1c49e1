"""psycopg 3 checks against a running ssidb (run by tools/client-smoke).

Environment: SSIDB_HOST (default 127.0.0.1), SSIDB_PORT (required), SMOKE_ALLOW_MISSING_SQL=1 to
report checks that need the SQL engine (they fail with 0A000 until it lands) as warnings.

Each check prints PASS, WARN or FAIL; the exit status is 1 when any check failed.
"""

import datetime
import decimal
import os
import sys
import threading
import time

import psycopg
from psycopg import errors
from psycopg.pq import TransactionStatus as TS

HOST = os.environ.get("SSIDB_HOST", "127.0.0.1")
PORT = int(os.environ["SSIDB_PORT"])
ALLOW_MISSING_SQL = os.environ.get("SMOKE_ALLOW_MISSING_SQL") == "1"
CONNINFO = f"host={HOST} port={PORT} user=postgres dbname=postgres connect_timeout=10"

failures = 0
warnings = 0


def check(name, needs_sql=False):
    """Runs `fn` as a check. A check with `needs_sql` needs the SQL engine (SELECT); with
    SMOKE_ALLOW_MISSING_SQL=1 its failure is a warning, since the engine has not landed yet."""

    def wrap(fn):
        global failures, warnings
        try:
            fn()
            print(f"PASS psycopg: {name}")
        except Exception as e:  # noqa: BLE001 - every failure is reported, then the next check runs
            reason = f"{getattr(e, 'sqlstate', None) or type(e).__name__} {e}"
            if needs_sql and ALLOW_MISSING_SQL:
                warnings += 1
                print(f"WARN psycopg: {name}: needs the SQL engine: {reason}")
            else:
                failures += 1
                hint = " (needs the SQL engine; --allow-missing-sql turns this into a warning)" if needs_sql else ""
                print(f"FAIL psycopg: {name}: {reason}{hint}")
        return fn

    return wrap


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def connect(**kw):
    return psycopg.connect(CONNINFO, **kw)


@check("connection and reported parameters")
def _():
    with connect() as conn:
        info = conn.info
        expect(info.server_version >= 150000 and info.server_version < 160000, f"server_version {info.server_version}")
        expect(info.parameter_status("DateStyle") == "ISO, MDY", f"DateStyle {info.parameter_status('DateStyle')}")
        expect(info.parameter_status("client_encoding") == "UTF8", "client_encoding")
        expect(info.parameter_status("standard_conforming_strings") == "on", "standard_conforming_strings")
        expect(info.backend_pid > 0, "backend pid")


@check("transaction status: BEGIN, error, ROLLBACK TO SAVEPOINT, COMMIT of a failed block")
def _():
    with connect(autocommit=True) as conn:
        status = lambda: conn.info.transaction_status  # noqa: E731
        expect(status() == TS.IDLE, f"start: {status()}")
        conn.execute("BEGIN")
        expect(status() == TS.INTRANS, f"after BEGIN: {status()}")
        conn.execute("SAVEPOINT s1")
        try:
            conn.execute("SHOW no_such_setting")
            raise AssertionError("SHOW no_such_setting succeeded")
        except errors.UndefinedObject as e:
            expect(e.sqlstate == "42704", f"sqlstate {e.sqlstate}")
        expect(status() == TS.INERROR, f"after an error: {status()}")
        try:
            conn.execute("SHOW datestyle")
            raise AssertionError("a statement in a failed block succeeded")
        except errors.InFailedSqlTransaction:
            pass
        conn.execute("ROLLBACK TO SAVEPOINT s1")
        expect(status() == TS.INTRANS, f"after ROLLBACK TO SAVEPOINT: {status()}")
        try:
            conn.execute("SHOW no_such_setting")
        except errors.UndefinedObject:
            pass
        cur = conn.execute("COMMIT")
        expect(cur.statusmessage == "ROLLBACK", f"COMMIT of a failed block answered {cur.statusmessage!r}")
        expect(status() == TS.IDLE, f"after COMMIT of a failed block: {status()}")


@check("psycopg's own transactions: implicit BEGIN, nested blocks on savepoints")
def _():
    with connect() as conn:
        conn.execute("SHOW datestyle")
        expect(conn.info.transaction_status == TS.INTRANS, "psycopg should have sent BEGIN")
        conn.commit()
        expect(conn.info.transaction_status == TS.IDLE, "after commit")
        with conn.transaction():
            try:
                with conn.transaction():
                    conn.execute("SHOW no_such_setting")
            except errors.UndefinedObject:
                pass
            expect(conn.info.transaction_status == TS.INTRANS, "inner failure should be rolled back to its savepoint")
            conn.execute("SHOW datestyle")
        expect(conn.info.transaction_status == TS.IDLE, "after the outer block")


@check("SET / SHOW and ParameterStatus, over simple and extended (prepared) protocol")
def _():
    with connect(autocommit=True) as conn:
        conn.execute("SET application_name = 'smoke-py'")
        expect(conn.execute("SHOW application_name").fetchone()[0] == "smoke-py", "SHOW application_name")
        expect(conn.info.parameter_status("application_name") == "smoke-py", "ParameterStatus not re-sent")
        for _ in range(7):  # the 6th execution on makes psycopg prepare a named statement
            row = conn.execute("SHOW datestyle", prepare=True).fetchone()
            expect(row[0] == "ISO, MDY", f"SHOW datestyle gave {row}")
        conn.execute("DEALLOCATE ALL")
        conn.execute("SET TIME ZONE 'UTC'")
        expect(conn.info.parameter_status("TimeZone") == "UTC", "TimeZone ParameterStatus")


@check("error SQLSTATEs")
def _():
    with connect(autocommit=True) as conn:
        for sql, code in [("SHOW nope", "42704"), ("SET nope = 1", "42704"), ("SAVEPOINT s", "25P01")]:
            try:
                conn.execute(sql)
                raise AssertionError(f"{sql} succeeded")
            except psycopg.Error as e:
                expect(e.sqlstate == code, f"{sql}: {e.sqlstate}, expected {code}")
        expect(conn.execute("SHOW datestyle").fetchone()[0] == "ISO, MDY", "session usable after errors")


def blocked_statement(holder):
    """Returns a statement that will block in another session (pg_sleep, or a DDL waiting for the
    database lock `holder` takes in an open block until the engine has pg_sleep)."""
    try:
        holder.execute("SELECT pg_sleep(0)")
        return "SELECT pg_sleep(30)"
    except psycopg.Error:
        if holder.info.transaction_status != TS.IDLE:
            holder.execute("ROLLBACK")
    try:
        holder.execute("BEGIN; CREATE TABLE smoke_py_held (a int)")
    except psycopg.Error:
        pass
    expect(holder.info.transaction_status != TS.IDLE, "the holder's block should stay open")
    return "CREATE TABLE smoke_py_wait (a int)"


@check("cancel a running statement (57014), session stays usable")
def _():
    with connect(autocommit=True) as holder, connect(autocommit=True) as conn:
        sql = blocked_statement(holder)
        timer = threading.Timer(0.5, conn.cancel)
        timer.start()
        started = time.monotonic()
        try:
            conn.execute(sql)
            raise AssertionError(f"{sql} was not cancelled")
        except errors.QueryCanceled as e:
            expect(e.sqlstate == "57014", e.sqlstate)
        finally:
            timer.join()
        expect(time.monotonic() - started < 10, "cancel took too long")
        expect(conn.info.transaction_status == TS.IDLE, "status after cancel")
        expect(conn.execute("SHOW datestyle").fetchone()[0] == "ISO, MDY", "session usable after cancel")
        if holder.info.transaction_status != TS.IDLE:
            holder.execute("ROLLBACK")


@check("parameterized queries with typed values back (text results)", needs_sql=True)
def _():
    with connect(autocommit=True) as conn:
        expect(conn.execute("SELECT %s::int + 1", [41]).fetchone()[0] == 42, "int")
        expect(conn.execute("SELECT %s::text || 'x'", ["a"]).fetchone()[0] == "ax", "text")
        row = conn.execute(
            "SELECT %s::int8 * 2, %s::float8, %s::bool, %s::numeric, %s::date, %s::int IS NULL",
            [21, 0.5, True, decimal.Decimal("1.25"), datetime.date(2024, 2, 29), None],
        ).fetchone()
        expected = (42, 0.5, True, decimal.Decimal("1.25"), datetime.date(2024, 2, 29), True)
        expect(row == expected, f"got {row!r}")
        expect(type(row[0]) is int and type(row[1]) is float, "Python types")
        for i in range(7):  # named prepared statement from the 6th execution
            expect(conn.execute("SELECT %s::int + 1", [i]).fetchone()[0] == i + 1, "prepared")
        expect(conn.execute("SELECT 'o''neil'").fetchone()[0] == "o'neil", "literal")


@check("parameterized queries with typed values back (binary results)", needs_sql=True)
def _():
    with connect(autocommit=True) as conn:
        cur = conn.cursor(binary=True)
        row = cur.execute("SELECT %s::int + 1, %s::text, %s::float8", [41, "é", 1.5]).fetchone()
        expect(row == (42, "é", 1.5), f"got {row!r}")


print(f"psycopg {psycopg.__version__}: {failures} failed, {warnings} warning(s)")
sys.exit(1 if failures else 0)
