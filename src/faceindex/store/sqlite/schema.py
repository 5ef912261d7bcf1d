"""The schema, as numbered migrations applied in order; `PRAGMA user_version` records the last one."""

from __future__ import annotations

import sqlite3

MIGRATIONS: list[str] = [
    # 1: collections, faces (descriptors as float32 BLOBs), users, images seen, tags
    """
    CREATE TABLE collections (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        arn TEXT NOT NULL,
        face_model_version TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE TABLE faces (
        id INTEGER PRIMARY KEY AUTOINCREMENT,  -- the vector index key, never reused
        collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
        face_id TEXT NOT NULL UNIQUE,
        image_id TEXT NOT NULL,
        external_image_id TEXT,
        box_width REAL NOT NULL, box_height REAL NOT NULL, box_left REAL NOT NULL, box_top REAL NOT NULL,
        confidence REAL NOT NULL,
        descriptor BLOB NOT NULL,
        model_version TEXT NOT NULL,
        user_id TEXT,
        created_at REAL NOT NULL
    );
    CREATE INDEX faces_by_collection ON faces (collection_id, id);
    CREATE INDEX faces_by_user ON faces (collection_id, user_id);
    CREATE TABLE users (
        collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
        user_id TEXT NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (collection_id, user_id)
    );
    CREATE TABLE images (  -- images already indexed, by content hash, so re-runs can skip them
        collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
        sha256 TEXT NOT NULL,
        image_id TEXT NOT NULL,
        indexed_at REAL NOT NULL,
        PRIMARY KEY (collection_id, sha256)
    );
    CREATE TABLE changes (  -- append-only log of index changes: in-memory indexes catch up from it
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
        row_id INTEGER NOT NULL,
        added INTEGER NOT NULL  -- 1 added, 0 removed
    );
    CREATE INDEX changes_by_collection ON changes (collection_id, seq);
    CREATE TABLE tags (
        resource_arn TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (resource_arn, key)
    );
    """,
    # 2: access keys for the server (secrets encrypted with the data folder's master key)
    """
    CREATE TABLE access_keys (
        access_key_id TEXT PRIMARY KEY,
        secret_sealed BLOB NOT NULL,  -- AES-GCM(nonce || ciphertext); SigV4 needs the secret itself
        name TEXT NOT NULL,
        operations TEXT NOT NULL,  -- JSON list of operation names, or ["*"]
        created_at REAL NOT NULL,
        revoked_at REAL
    );
    """,
    # 3: responses to requests that carried a ClientRequestToken, so a retry answers as the first did
    """
    CREATE TABLE request_tokens (
        operation TEXT NOT NULL,
        token TEXT NOT NULL,
        collection TEXT NOT NULL,  -- CollectionId and UserId named by the request: deleting either
        user_id TEXT,  -- deletes the responses that mention it
        request_sha256 TEXT NOT NULL,  -- the request's other members: a token reused with others is refused
        response TEXT NOT NULL,  -- JSON, as answered; never images or descriptors (these operations have none)
        created_at REAL NOT NULL,
        PRIMARY KEY (operation, token)
    );
    CREATE INDEX request_tokens_by_age ON request_tokens (created_at);
    CREATE INDEX request_tokens_by_user ON request_tokens (collection, user_id);
    """,
    # 4: an image counts as indexed only while one of its faces is stored (a run that kept no face, or
    # `faces delete`, leaves it indexable again); rows of images that kept no face are dropped
    """
    CREATE INDEX faces_by_image ON faces (collection_id, image_id);
    DELETE FROM images WHERE NOT EXISTS (
        SELECT 1 FROM faces WHERE faces.collection_id = images.collection_id AND faces.image_id = images.image_id
    );
    """,
    # 5: issue 13's safeguards: what a key may do, collection policies, the audit log and its signed heads,
    # sealed service secrets (the audit signing key), and when a face was last used (for retention)
    """
    ALTER TABLE access_keys ADD COLUMN classes TEXT NOT NULL DEFAULT '[]';  -- JSON list of permission classes
    ALTER TABLE access_keys ADD COLUMN collections TEXT;  -- JSON list, or NULL for every collection
    ALTER TABLE access_keys ADD COLUMN min_similarity REAL;
    ALTER TABLE access_keys ADD COLUMN purpose TEXT;
    CREATE TABLE collection_policies (
        collection TEXT PRIMARY KEY,  -- by name: a policy set before the collection exists still applies
        min_similarity REAL,
        require_purpose INTEGER NOT NULL DEFAULT 0,
        retention_days REAL
    );
    CREATE TABLE audit (  -- append-only; each row chained to the one before and signed (service.audit)
        seq INTEGER PRIMARY KEY,
        time REAL NOT NULL,
        principal TEXT NOT NULL,
        operation TEXT NOT NULL,
        collection TEXT,
        body TEXT NOT NULL,  -- canonical JSON: who, what, when; never images or descriptors
        chain BLOB NOT NULL,
        signature BLOB NOT NULL
    );
    CREATE INDEX audit_by_time ON audit (time);
    CREATE TABLE audit_heads (  -- signed tree heads, each naming the one before (CloudTrail's digest chain)
        size INTEGER PRIMARY KEY,
        head TEXT NOT NULL,  -- JSON, as exported to a witness
        frontier TEXT NOT NULL  -- the Merkle tree's right edge at `size`, so the next head reads only newer rows
    );
    CREATE TABLE sealed_secrets (
        name TEXT PRIMARY KEY,
        sealed BLOB NOT NULL  -- AES-GCM under the master key, as access-key secrets
    );
    ALTER TABLE faces ADD COLUMN used_at REAL;  -- last indexed or matched; NULL: created_at
    """,
    # 6: stored-video jobs (StartFaceDetection / StartFaceSearch) and their results, one Faces / Persons
    # entry a row so that Get* pages in SQL; a job and its results go together when it expires
    """
    CREATE TABLE video_jobs (
        job_id TEXT PRIMARY KEY,
        api TEXT NOT NULL,  -- FaceDetection | FaceSearch
        status TEXT NOT NULL CHECK (status IN ('IN_PROGRESS', 'SUCCEEDED', 'FAILED')),
        status_message TEXT,
        request TEXT NOT NULL,  -- the Start request's members as JSON (a bucket and key, never video bytes)
        request_sha256 TEXT NOT NULL,
        client_token TEXT,
        job_tag TEXT,
        created_at REAL NOT NULL,
        started_at REAL,
        finished_at REAL,
        heartbeat_at REAL,
        owner TEXT,  -- the worker running it; NULL while queued
        attempts INTEGER NOT NULL DEFAULT 0,
        video_metadata TEXT,  -- VideoMetadata as JSON
        expires_at REAL
    );
    CREATE INDEX video_jobs_by_token ON video_jobs (api, client_token, created_at);
    CREATE INDEX video_jobs_by_status ON video_jobs (status, created_at);
    CREATE TABLE video_job_results (
        job_id TEXT NOT NULL REFERENCES video_jobs(job_id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        timestamp INTEGER NOT NULL,  -- ms of the source video
        person INTEGER NOT NULL,  -- Person.Index, or the face's place in its frame
        item TEXT NOT NULL,  -- one Faces / Persons entry as JSON: boxes, landmarks, matches; no descriptor
        PRIMARY KEY (job_id, seq)
    );
    CREATE INDEX video_job_results_by_time ON video_job_results (job_id, timestamp, person, seq);
    CREATE INDEX video_job_results_by_person ON video_job_results (job_id, person, timestamp, seq);
    """,
]


def migrate(connection: sqlite3.Connection) -> int:
    """Bring the database to the newest schema; returns its version."""
    version = int(connection.execute("PRAGMA user_version").fetchone()[0])
    if version > len(MIGRATIONS):
        raise RuntimeError(f"database schema {version} is newer than this faceindex ({len(MIGRATIONS)})")
    for number in range(version + 1, len(MIGRATIONS) + 1):
        # one transaction per migration: a crash leaves the previous version intact
        connection.executescript(f"BEGIN;\n{MIGRATIONS[number - 1]}\nPRAGMA user_version = {number};\nCOMMIT;")
    return len(MIGRATIONS)
