"""The stored-video worker pool: `video_workers` threads that claim queued jobs from the store, run them
(`service.video.run_job`), record SUCCEEDED or FAILED with a StatusMessage, and publish the completion
to a job's NotificationChannel. Started and stopped with the server; the CLI runs one job in-process
with `run_one`.

Jobs survive the server: a worker heartbeats its job every `HEARTBEAT_S`. A job whose owner is gone
(its process is dead on this host, or its heartbeat is older than `STALE_S`) is queued again once,
and failed with a StatusMessage the second time (a video that kills its worker must not loop for ever),
so no job stays IN_PROGRESS for ever. A clean stop puts its jobs back in the queue. Finished jobs and
their results are deleted `video_results_days` after they finish, checked every `housekeeping_s`.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from typing import Any

from faceindex.errors import FaceIndexError
from faceindex.imaging.sources import video_file
from faceindex.service.container import Services
from faceindex.service.video import APIS, JobLost, Progress, run_job
from faceindex.store.records import JobRecord

LOG = logging.getLogger("faceindex.jobs")
HEARTBEAT_S = 2.0
STALE_S = 60.0  # a heartbeat older than this: its worker is gone (another host, or a hung process)
POLL_S = 0.5  # how often an idle worker looks for a queued job
MAX_ATTEMPTS = 2  # claims of one job by workers that died: the first is retried, the second fails it


class Stopping(Exception):
    """The pool is stopping: the job goes back to the queue."""


def owner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _owner_dead(owner: str) -> bool:
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another host's: only its heartbeat tells
    if int(pid) == os.getpid():
        return False  # this process's (another pool or the CLI in it): it finishes or requeues its own
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def recover(services: Services, now: float | None = None) -> list[str]:
    """Requeue (first time) or fail (second) jobs whose worker is gone; the ids handled."""
    now = time.time() if now is None else now
    store, handled = services.store, []
    for job in store.running_jobs():
        owner = job.owner or ""
        stale = job.heartbeat_at is None or now - job.heartbeat_at > STALE_S
        if not (stale or _owner_dead(owner)):
            continue
        if job.attempts >= MAX_ATTEMPTS:
            message = (
                f"the job was interrupted {job.attempts} times (the server running it stopped without finishing "
                "it); it is not retried again"
            )
            done = _finish_failed(services, job, None, message)
        else:
            done = store.requeue_job(job.job_id, owner)
        if done:
            LOG.warning("video job recovered", extra={"fields": {"job": job.job_id, "attempts": job.attempts}})
            handled.append(job.job_id)
    return handled


def process(
    services: Services, job: JobRecord, stop: threading.Event | None = None, progress: Progress | None = None
) -> str:
    """Run a claimed job to its end; its final status (IN_PROGRESS if it went back to the queue)."""
    assert job.owner is not None
    owner, last = job.owner, [time.monotonic()]

    def beat() -> None:
        if stop is not None and stop.is_set():
            raise Stopping
        if time.monotonic() - last[0] >= HEARTBEAT_S:
            last[0] = time.monotonic()
            if not services.store.heartbeat_job(job.job_id, owner, time.time()):
                raise JobLost(job.job_id)

    try:
        with video_file(json.loads(job.request)["Video"], services.settings) as path:
            run_job(services, job, path, beat, progress or (lambda reached, duration: None))
    except Stopping:
        services.store.requeue_job(job.job_id, owner, stopped=True)  # a clean stop is no attempt
        return "IN_PROGRESS"
    except JobLost:
        LOG.warning("video job taken over", extra={"fields": {"job": job.job_id}})
        return "LOST"
    except FaceIndexError as error:  # an unreadable video, a missing object, a deleted collection
        _finish_failed(services, job, owner, error.message)
        return "FAILED"
    except Exception as error:
        LOG.exception("video job failed", extra={"fields": {"job": job.job_id}})
        _finish_failed(services, job, owner, f"internal error ({type(error).__name__}); see the server's log")
        return "FAILED"
    _notify(services, job, "SUCCEEDED")
    return "SUCCEEDED"


def _finish_failed(services: Services, job: JobRecord, owner: str | None, message: str) -> bool:
    expires = time.time() + services.settings.video_results_days * 86400
    done = services.store.finish_job(job.job_id, owner, "FAILED", message, [], time.time(), expires)
    if done:
        _notify(services, job, "FAILED")
    return done


def run_one(services: Services, job_id: str, progress: Progress | None = None) -> str:
    """Claim and run one job in this process (the CLI's way); its final status."""
    job = services.store.claim_job(owner_name(), time.time(), job_id=job_id)
    if job is None:
        current = services.store.job(job_id)
        return "LOST" if current is None else current.status  # a server's worker took it first
    return process(services, job, progress=progress)


def _notify(services: Services, job: JobRecord, status: str) -> None:
    """Publish {JobId, Status, API, JobTag, Timestamp, Video} to the job's SNS topic; a failure is logged
    (the job's status stands: Get* still answers it)."""
    request: dict[str, Any] = json.loads(job.request)
    channel = request.get("NotificationChannel")
    settings = services.settings
    if not channel or not settings.sns_endpoint:
        return
    location = request.get("Video", {}).get("S3Object", {})
    message = {
        "JobId": job.job_id,
        "Status": status,
        "API": APIS[job.api],
        "JobTag": job.job_tag,
        "Timestamp": int(time.time() * 1000),
        "Video": {"S3ObjectName": location.get("Name"), "S3Bucket": location.get("Bucket")},
    }
    try:
        import boto3  # only servers with an SNS endpoint need it

        client = boto3.session.Session().client(
            "sns",
            endpoint_url=settings.sns_endpoint,
            region_name=settings.sns_region,
            aws_access_key_id=settings.sns_access_key_id or None,
            aws_secret_access_key=settings.sns_secret_access_key or None,
        )
        client.publish(TopicArn=channel["SNSTopicArn"], Message=json.dumps(message))
    except Exception as error:  # an endpoint down, a topic deleted: the job's answer stands
        LOG.warning("notification not sent", extra={"fields": {"job": job.job_id, "reason": type(error).__name__}})


class WorkerPool:
    """`video_workers` threads taking queued jobs, and one keeping house (recovery, expiry)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self._tend(time.time())  # before any worker claims: a dead server's jobs first
        count = self.services.settings.video_workers
        self._threads = [threading.Thread(target=self._work, name=f"video-{n}", daemon=True) for n in range(count)]
        self._threads.append(threading.Thread(target=self._keep_house, name="video-housekeeping", daemon=True))
        for thread in self._threads:
            thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop after the current frame; a job in progress goes back to the queue."""
        self._stop.set()
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _work(self) -> None:
        owner = owner_name()
        while not self._stop.is_set():
            try:
                job = self.services.store.claim_job(owner, time.time())
                if job is None:
                    self._stop.wait(POLL_S)
                    continue
                process(self.services, job, self._stop)
            except Exception:  # a locked or full database: try again later
                LOG.exception("video worker round failed")
                self._stop.wait(5 * POLL_S)

    def _keep_house(self) -> None:
        every = self.services.settings.housekeeping_s
        expired_at = time.monotonic()
        while not self._stop.wait(STALE_S / 4):
            now = time.time()
            try:
                recover(self.services, now)
                if time.monotonic() - expired_at >= every:
                    expired_at = time.monotonic()
                    self.services.store.expire_jobs(now)
            except Exception:
                LOG.exception("video housekeeping failed")

    def _tend(self, now: float) -> None:
        try:
            recover(self.services, now)
            self.services.store.expire_jobs(now)
        except Exception:
            LOG.exception("video housekeeping failed")
