"""The SQLite rows of stored-video jobs (issue 14): `video_jobs` and `video_job_results`. A mixin of
`SqliteStore`, as `governance` is: each method is one transaction on the store's connection, so a job's
creation under the quota, its claim by one worker and its results with its final status are atomic,
across threads and across processes sharing the file."""

from __future__ import annotations

import contextlib
import sqlite3
from typing import Protocol

from faceindex.store.records import JobRecord, JobResult, NewJob

JOB_COLUMNS = (
    "job_id, api, status, request, request_sha256, created_at, client_token, job_tag, status_message,"
    " started_at, finished_at, heartbeat_at, owner, attempts, video_metadata, expires_at"
)


class _Transactional(Protocol):
    def _connection(self) -> sqlite3.Connection: ...
    def _write(self) -> contextlib.AbstractContextManager[sqlite3.Connection]: ...


def _job(row: tuple[object, ...]) -> JobRecord:
    return JobRecord(*row)  # type: ignore[arg-type]  # the columns in the record's order


class JobRows:
    def create_job(
        self: _Transactional, job: NewJob, now: float, max_in_progress: int, token_since: float
    ) -> JobRecord | None:
        with self._write() as db:
            if job.client_token is not None:
                row = db.execute(
                    f"SELECT {JOB_COLUMNS} FROM video_jobs WHERE api = ? AND client_token = ? AND created_at >= ?"
                    " ORDER BY created_at DESC LIMIT 1",
                    (job.api, job.client_token, token_since),
                ).fetchone()
                if row is not None:
                    return _job(row)
            running = db.execute("SELECT COUNT(*) FROM video_jobs WHERE status = 'IN_PROGRESS'").fetchone()[0]
            if int(running) >= max_in_progress:
                return None
            db.execute(
                "INSERT INTO video_jobs (job_id, api, status, request, request_sha256, created_at, client_token,"
                " job_tag) VALUES (?, ?, 'IN_PROGRESS', ?, ?, ?, ?, ?)",
                (job.job_id, job.api, job.request, job.request_sha256, now, job.client_token, job.job_tag),
            )
            return _job(db.execute(f"SELECT {JOB_COLUMNS} FROM video_jobs WHERE job_id = ?", (job.job_id,)).fetchone())

    def job(self: _Transactional, job_id: str) -> JobRecord | None:
        row = self._connection().execute(f"SELECT {JOB_COLUMNS} FROM video_jobs WHERE job_id = ?", (job_id,)).fetchone()
        return None if row is None else _job(row)

    def claim_job(self: _Transactional, owner: str, now: float, job_id: str | None = None) -> JobRecord | None:
        with self._write() as db:
            row = db.execute(
                "SELECT job_id FROM video_jobs WHERE status = 'IN_PROGRESS' AND owner IS NULL"
                " AND (? IS NULL OR job_id = ?) ORDER BY created_at, job_id LIMIT 1",
                (job_id, job_id),
            ).fetchone()
            if row is None:
                return None
            db.execute(
                "UPDATE video_jobs SET owner = ?, started_at = COALESCE(started_at, ?), heartbeat_at = ?,"
                " attempts = attempts + 1 WHERE job_id = ?",
                (owner, now, now, row[0]),
            )
            return _job(db.execute(f"SELECT {JOB_COLUMNS} FROM video_jobs WHERE job_id = ?", (row[0],)).fetchone())

    def heartbeat_job(self: _Transactional, job_id: str, owner: str, now: float) -> bool:
        with self._write() as db:
            cursor = db.execute(
                "UPDATE video_jobs SET heartbeat_at = ? WHERE job_id = ? AND owner = ? AND status = 'IN_PROGRESS'",
                (now, job_id, owner),
            )
            return cursor.rowcount == 1

    def running_jobs(self: _Transactional) -> list[JobRecord]:
        rows = self._connection().execute(
            f"SELECT {JOB_COLUMNS} FROM video_jobs WHERE status = 'IN_PROGRESS' AND owner IS NOT NULL"
            " ORDER BY created_at"
        )
        return [_job(r) for r in rows.fetchall()]

    def requeue_job(self: _Transactional, job_id: str, owner: str, stopped: bool = False) -> bool:
        with self._write() as db:
            cursor = db.execute(
                "UPDATE video_jobs SET owner = NULL, heartbeat_at = NULL, video_metadata = NULL,"
                " attempts = attempts - ? WHERE job_id = ? AND owner = ? AND status = 'IN_PROGRESS'",
                (int(stopped), job_id, owner),
            )
            return cursor.rowcount == 1

    def set_job_metadata(self: _Transactional, job_id: str, owner: str, metadata: str) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE video_jobs SET video_metadata = ? WHERE job_id = ? AND owner = ?", (metadata, job_id, owner)
            )

    def finish_job(
        self: _Transactional,
        job_id: str,
        owner: str | None,
        status: str,
        message: str | None,
        results: list[JobResult],
        now: float,
        expires_at: float,
    ) -> bool:
        with self._write() as db:
            cursor = db.execute(
                "UPDATE video_jobs SET status = ?, status_message = ?, finished_at = ?, expires_at = ?, owner = NULL"
                " WHERE job_id = ? AND status = 'IN_PROGRESS' AND (? IS NULL OR owner = ?)",
                (status, message, now, expires_at, job_id, owner, owner),
            )
            if cursor.rowcount != 1:
                return False
            db.executemany(
                "INSERT INTO video_job_results (job_id, seq, timestamp, person, item) VALUES (?, ?, ?, ?, ?)",
                [(job_id, seq, r.timestamp, r.index, r.item) for seq, r in enumerate(results)],
            )
            return True

    def job_results(self: _Transactional, job_id: str, by_index: bool, offset: int, limit: int) -> list[str]:
        order = "person, timestamp, seq" if by_index else "timestamp, person, seq"
        rows = self._connection().execute(
            f"SELECT item FROM video_job_results WHERE job_id = ? ORDER BY {order} LIMIT ? OFFSET ?",
            (job_id, limit, offset),
        )
        return [str(r[0]) for r in rows.fetchall()]

    def expire_jobs(self: _Transactional, now: float) -> int:
        with self._write() as db:
            expired = [
                r[0]
                for r in db.execute(
                    "SELECT job_id FROM video_jobs WHERE status != 'IN_PROGRESS' AND expires_at < ?", (now,)
                ).fetchall()
            ]
            for job_id in expired:  # results first: the cascade needs foreign_keys, explicit is plainer
                db.execute("DELETE FROM video_job_results WHERE job_id = ?", (job_id,))
                db.execute("DELETE FROM video_jobs WHERE job_id = ?", (job_id,))
            return len(expired)
