"""The in-memory rows of stored-video jobs (a mixin of `MemoryStore`, as `sqlite.jobs` is of `SqliteStore`)."""

from __future__ import annotations

import dataclasses
import threading

from faceindex.store.records import JobRecord, JobResult, NewJob


class JobRows:
    _lock: threading.RLock
    _jobs: dict[str, JobRecord]
    _job_results: dict[str, list[JobResult]]

    def create_job(self, job: NewJob, now: float, max_in_progress: int, token_since: float) -> JobRecord | None:
        with self._lock:
            if job.client_token is not None:
                same = [
                    j
                    for j in self._jobs.values()
                    if j.api == job.api and j.client_token == job.client_token and j.created_at >= token_since
                ]
                if same:
                    return max(same, key=lambda j: j.created_at)
            if sum(j.status == "IN_PROGRESS" for j in self._jobs.values()) >= max_in_progress:
                return None
            record = JobRecord(
                job.job_id,
                job.api,
                "IN_PROGRESS",
                job.request,
                job.request_sha256,
                now,
                client_token=job.client_token,
                job_tag=job.job_tag,
            )
            self._jobs[job.job_id] = record
            return record

    def job(self, job_id: str) -> JobRecord | None:
        with self._lock:
            return self._jobs.get(job_id)

    def claim_job(self, owner: str, now: float, job_id: str | None = None) -> JobRecord | None:
        with self._lock:
            queued = [
                j
                for j in self._jobs.values()
                if j.status == "IN_PROGRESS" and j.owner is None and (job_id is None or j.job_id == job_id)
            ]
            if not queued:
                return None
            job = min(queued, key=lambda j: (j.created_at, j.job_id))
            claimed = dataclasses.replace(
                job, owner=owner, started_at=job.started_at or now, heartbeat_at=now, attempts=job.attempts + 1
            )
            self._jobs[job.job_id] = claimed
            return claimed

    def _held(self, job_id: str, owner: str | None) -> JobRecord | None:
        job = self._jobs.get(job_id)
        if job is None or job.status != "IN_PROGRESS" or (owner is not None and job.owner != owner):
            return None
        return job

    def heartbeat_job(self, job_id: str, owner: str, now: float) -> bool:
        with self._lock:
            job = self._held(job_id, owner)
            if job is not None:
                self._jobs[job_id] = dataclasses.replace(job, heartbeat_at=now)
            return job is not None

    def running_jobs(self) -> list[JobRecord]:
        with self._lock:
            running = [j for j in self._jobs.values() if j.status == "IN_PROGRESS" and j.owner is not None]
            return sorted(running, key=lambda j: j.created_at)

    def requeue_job(self, job_id: str, owner: str, stopped: bool = False) -> bool:
        with self._lock:
            job = self._held(job_id, owner)
            if job is not None:
                attempts = job.attempts - int(stopped)
                self._jobs[job_id] = dataclasses.replace(
                    job, owner=None, heartbeat_at=None, video_metadata=None, attempts=attempts
                )
            return job is not None

    def set_job_metadata(self, job_id: str, owner: str, metadata: str) -> None:
        with self._lock:
            job = self._held(job_id, owner)
            if job is not None:
                self._jobs[job_id] = dataclasses.replace(job, video_metadata=metadata)

    def finish_job(
        self,
        job_id: str,
        owner: str | None,
        status: str,
        message: str | None,
        results: list[JobResult],
        now: float,
        expires_at: float,
    ) -> bool:
        with self._lock:
            job = self._held(job_id, owner)
            if job is None:
                return False
            self._jobs[job_id] = dataclasses.replace(
                job, status=status, status_message=message, finished_at=now, expires_at=expires_at, owner=None
            )
            self._job_results[job_id] = list(results)
            return True

    def job_results(self, job_id: str, by_index: bool, offset: int, limit: int) -> list[str]:
        with self._lock:
            numbered = list(enumerate(self._job_results.get(job_id, [])))
        order = sorted(
            numbered,
            key=lambda n: (n[1].index, n[1].timestamp, n[0]) if by_index else (n[1].timestamp, n[1].index, n[0]),
        )
        return [result.item for _, result in order[offset : offset + limit]]

    def expire_jobs(self, now: float) -> int:
        with self._lock:
            expired = [
                j.job_id
                for j in self._jobs.values()
                if j.status != "IN_PROGRESS" and j.expires_at is not None and j.expires_at < now
            ]
            for job_id in expired:
                del self._jobs[job_id]
                self._job_results.pop(job_id, None)
            return len(expired)
