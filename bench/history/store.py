"""The history index in SQL: an SQLite file (embedded, the default) or a shared PostgreSQL
server (several rigs' nightly jobs report into one place). One schema and one set of queries
for both; only the placeholder differs (`?` for sqlite3, `%s` for psycopg).

The index is a cache of the run directories: `bench history` brings it up to date from them
on every call and can rebuild it at any time. Each run is keyed by the host that indexed its
directory and the directory's path, so rigs on several hosts share the tables.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bench.history.scan import CaseRow, IndexedRun, MeasurementRow

SCHEMA_VERSION = "1"
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS hist_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS hist_runs (run_key TEXT PRIMARY KEY, run_id TEXT NOT NULL, "
    "host TEXT NOT NULL, indexed_on TEXT NOT NULL, path TEXT NOT NULL, rig TEXT NOT NULL, "
    "plan TEXT NOT NULL, station_id TEXT NOT NULL, started_utc TEXT NOT NULL, "
    "ended_utc TEXT NOT NULL, status TEXT NOT NULL, verdict TEXT NOT NULL, "
    "partial INTEGER NOT NULL, vendor TEXT NOT NULL, model TEXT NOT NULL, "
    "firmware TEXT NOT NULL, config_hash TEXT NOT NULL, config_json TEXT NOT NULL, "
    "bench_version TEXT NOT NULL, git_revision TEXT NOT NULL, faults TEXT NOT NULL, "
    "fingerprint TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS hist_runs_started ON hist_runs (started_utc)",
    "CREATE TABLE IF NOT EXISTS hist_cases (run_key TEXT NOT NULL, case_id TEXT NOT NULL, "
    "name TEXT NOT NULL, profile TEXT NOT NULL, verdict TEXT NOT NULL, "
    "attempts INTEGER NOT NULL, message TEXT NOT NULL, PRIMARY KEY (run_key, case_id))",
    "CREATE TABLE IF NOT EXISTS hist_measurements (run_key TEXT NOT NULL, "
    "case_id TEXT NOT NULL, name TEXT NOT NULL, unit TEXT NOT NULL, n INTEGER NOT NULL, "
    "median DOUBLE PRECISION NOT NULL, worst DOUBLE PRECISION NOT NULL, "
    "direction INTEGER NOT NULL, p95 DOUBLE PRECISION NOT NULL, low DOUBLE PRECISION, "
    "high DOUBLE PRECISION, stat TEXT NOT NULL, outcome TEXT NOT NULL, "
    "PRIMARY KEY (run_key, case_id, name))",
)
RUN_COLUMNS = ("run_key", "run_id", "host", "indexed_on", "path", "rig", "plan", "station_id",
               "started_utc", "ended_utc", "status", "verdict", "partial", "vendor", "model",
               "firmware", "config_hash", "config_json", "bench_version", "git_revision",
               "faults", "fingerprint")
CASE_COLUMNS = ("case_id", "name", "profile", "verdict", "attempts", "message")
MEASUREMENT_COLUMNS = ("case_id", "name", "unit", "n", "median", "worst", "direction", "p95",
                       "low", "high", "stat", "outcome")
CHILD_TABLES = ("hist_cases", "hist_measurements")
POSTGRES_SCHEMES = ("postgresql", "postgres")
CONNECT_TIMEOUT_S = 10


class HistoryDbError(RuntimeError):
    """The index cannot be opened, read or written; names the database and the step."""


@dataclass
class RunRow:
    """A night as the index holds it (what the history shows of a run)."""

    run_key: str
    run_id: str
    host: str
    indexed_on: str
    path: str
    rig: str
    plan: str
    station_id: str
    started_utc: str
    ended_utc: str
    status: str
    verdict: str
    partial: bool
    vendor: str
    model: str
    firmware: str
    config_hash: str
    config: dict[str, str]
    bench_version: str
    git_revision: str
    faults: str
    fingerprint: str


@dataclass
class HistoryRows:
    runs: list[RunRow]
    cases: list[tuple[str, CaseRow]]  # (run_key, row)
    measurements: list[tuple[str, MeasurementRow]]


def describe(db: str | Path) -> str:
    """The database as messages name it: a URL without its password, or the file path."""
    text = str(db)
    parts = urlsplit(text)
    if parts.scheme in POSTGRES_SCHEMES and parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return text


def is_postgres(db: str | Path) -> bool:
    return urlsplit(str(db)).scheme in POSTGRES_SCHEMES


def sqlite_path(db: str | Path) -> Path:
    text = str(db)
    return Path(text[len("sqlite:///") - 1:] if text.startswith("sqlite:///") else text)


class HistoryStore:
    def __init__(self, conn: Any, postgres: bool, where: str) -> None:
        self.conn, self.postgres, self.where = conn, postgres, where
        self._errors: tuple[type[BaseException], ...] = (sqlite3.Error,)
        if postgres:
            import psycopg

            self._errors = (psycopg.Error,)

    @classmethod
    def open(cls, db: str | Path) -> HistoryStore:
        where = describe(db)
        if is_postgres(db):
            try:
                import psycopg
            except ImportError as exc:
                raise HistoryDbError(f"history index {where}: the PostgreSQL client (psycopg) "
                                     f"is not installed: {exc}") from None
            try:
                conn = psycopg.connect(str(db), connect_timeout=CONNECT_TIMEOUT_S)
            except psycopg.Error as exc:
                raise HistoryDbError(f"history index {where}: cannot connect (waited up to "
                                     f"{CONNECT_TIMEOUT_S} s): {exc}".strip()) from None
            store = cls(conn, True, where)
        else:
            path = sqlite_path(db)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(path, timeout=30)
            except (OSError, sqlite3.Error) as exc:
                raise HistoryDbError(f"history index {where}: cannot open: {exc}") from None
            store = cls(conn, False, where)
        store.ensure_schema()
        return store

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ----------------------------------------------------------------------------

    def _sql(self, query: str) -> str:
        return query.replace("?", "%s") if self.postgres else query

    @contextmanager
    def transaction(self, what: str) -> Iterator[Any]:
        """A cursor whose work is committed at the end, or rolled back on any error."""
        try:
            cur = self.conn.cursor()
            yield cur
            self.conn.commit()
        except self._errors as exc:
            self._rollback()
            raise HistoryDbError(f"history index {self.where}: {what}: {exc}") from None
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        try:
            self.conn.rollback()
        except self._errors:
            pass

    def _query(self, what: str, query: str, params: Sequence[Any] = ()) -> list[tuple]:
        with self.transaction(what) as cur:
            cur.execute(self._sql(query), tuple(params))
            return list(cur.fetchall())

    def ensure_schema(self) -> None:
        with self.transaction("create the tables") as cur:
            for statement in SCHEMA:
                cur.execute(statement)
            cur.execute(self._sql("SELECT value FROM hist_meta WHERE name = ?"), ("schema",))
            row = cur.fetchone()
            if row is None:
                cur.execute(self._sql("INSERT INTO hist_meta (name, value) VALUES (?, ?)"),
                            ("schema", SCHEMA_VERSION))
            elif row[0] != SCHEMA_VERSION:
                raise HistoryDbError(
                    f"history index {self.where}: schema {row[0]}, this bench writes "
                    f"{SCHEMA_VERSION}: drop its hist_* tables (the run directories rebuild it)")

    # -- writing -----------------------------------------------------------------------------

    def fingerprints(self, indexed_on: str) -> dict[str, str]:
        rows = self._query("read the fingerprints",
                           "SELECT run_key, fingerprint FROM hist_runs WHERE indexed_on = ?",
                           (indexed_on,))
        return dict(rows)

    def write(self, runs: list[IndexedRun], forget: list[str]) -> None:
        """Replace these runs (delete and insert: a run read again may have lost rows) and
        forget those keys, in one transaction."""
        if not runs and not forget:
            return
        run_sql = self._sql(f"INSERT INTO hist_runs ({', '.join(RUN_COLUMNS)}) VALUES "
                            f"({', '.join('?' * len(RUN_COLUMNS))})")
        case_sql = self._sql(f"INSERT INTO hist_cases (run_key, {', '.join(CASE_COLUMNS)}) "
                             f"VALUES ({', '.join('?' * (len(CASE_COLUMNS) + 1))})")
        m_sql = self._sql(f"INSERT INTO hist_measurements (run_key, "
                          f"{', '.join(MEASUREMENT_COLUMNS)}) VALUES "
                          f"({', '.join('?' * (len(MEASUREMENT_COLUMNS) + 1))})")
        with self.transaction(f"write {len(runs)} run(s), forget {len(forget)}") as cur:
            for key in [r.key for r in runs] + forget:
                for table in (*CHILD_TABLES, "hist_runs"):
                    cur.execute(self._sql(f"DELETE FROM {table} WHERE run_key = ?"), (key,))
            for r in runs:
                cur.execute(run_sql, _run_values(r))
                if r.cases:
                    cur.executemany(case_sql, [(r.key, *(getattr(c, k) for k in CASE_COLUMNS))
                                               for c in r.cases])
                if r.measurements:
                    cur.executemany(m_sql, [(r.key, *(getattr(m, k) for k in
                                                      MEASUREMENT_COLUMNS))
                                            for m in r.measurements])

    # -- reading -----------------------------------------------------------------------------

    def rows(self, since_utc: str | None = None, rigs: Sequence[str] = ()) -> HistoryRows:
        """The runs started at or after since_utc on these rigs (all when none given), with
        their case verdicts and measurements, oldest first."""
        where, params = [], []
        if since_utc:
            where.append("r.started_utc >= ?")
            params.append(since_utc)
        if rigs:
            where.append(f"r.rig IN ({', '.join('?' * len(rigs))})")
            params.extend(rigs)
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        runs = [RunRow(*row[:17], json.loads(row[17]), *row[18:]) for row in self._query(
            "read the runs", f"SELECT {', '.join('r.' + c for c in RUN_COLUMNS)} FROM "
            f"hist_runs r{clause} ORDER BY r.started_utc, r.run_key", params)]
        for run in runs:
            run.partial = bool(run.partial)
        cases = [(row[0], CaseRow(*row[1:])) for row in self._query(
            "read the case verdicts",
            f"SELECT c.run_key, {', '.join('c.' + c for c in CASE_COLUMNS)} FROM hist_cases c "
            f"JOIN hist_runs r ON r.run_key = c.run_key{clause}", params)]
        measurements = [(row[0], MeasurementRow(*row[1:])) for row in self._query(
            "read the measurements", f"SELECT m.run_key, "
            f"{', '.join('m.' + c for c in MEASUREMENT_COLUMNS)} FROM hist_measurements m "
            f"JOIN hist_runs r ON r.run_key = m.run_key{clause}", params)]
        return HistoryRows(runs, cases, measurements)


def _run_values(r: IndexedRun) -> tuple:
    values = {**{k: getattr(r, k) for k in RUN_COLUMNS if hasattr(r, k)},
              "run_key": r.key, "partial": int(r.partial),
              "config_json": json.dumps(r.config, ensure_ascii=False, sort_keys=True)}
    return tuple(values[k] for k in RUN_COLUMNS)
