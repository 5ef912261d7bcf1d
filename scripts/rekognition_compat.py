"""Write docs/rekognition-compatibility.md from botocore's Rekognition model and the server's handlers.

    .venv/bin/python scripts/rekognition_compat.py [--check]

Every operation in the model is listed; supported ones with the differences we know of. `--check`
exits 1 when the committed file is out of date (the test suite runs it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import botocore

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from faceindex.api.rekognition.model import service_model  # noqa: E402
from faceindex.api.rekognition.operations import HANDLERS, IGNORED_MEMBERS  # noqa: E402

OUT = ROOT / "docs" / "rekognition-compatibility.md"

# why an operation is not served, by the family its name belongs to
FAMILIES = [
    (("FaceLiveness",), "not planned: liveness needs Amazon's client-side challenge SDK"),
    (("Celebrit",), "not planned: a celebrity index is a cloud data product, not a model we can ship"),
    (("StreamProcessor",), "not planned yet: live video streams (Kinesis) have no local equivalent here"),
    (("Project", "Dataset", "CustomLabels"), "not planned: Custom Labels model training and hosting"),
    (("MediaAnalysisJob",), "not planned: batch jobs over S3 manifests"),
    (("Label", "Moderation", "Text", "ProtectiveEquipment", "Segment", "PersonTracking", "ContentModeration"),
     "out of scope: not a face operation"),
]  # fmt: skip

# output members that the model allows and faceindex never returns, and other behaviour to know
DIFFERENCES: dict[str, list[str]] = {
    "DetectFaces": [
        "FaceDetails never carry AgeRange, Gender, Emotions, Smile, Beard, Mustache, Eyeglasses, Sunglasses, "
        "FaceOccluded or EyeDirection: no model with a licence fit for the default pack estimates them "
        "(and inferring gender or emotion from a face is not something we want to ship). `Attributes` naming "
        "them are accepted and add nothing; EYES_OPEN or MOUTH_OPEN add both.",
        "OrientationCorrection is never returned: EXIF orientation is applied before detection, so boxes are "
        "relative to the upright image.",
        "Landmarks: all 30 Rekognition types, from MediaPipe FaceMesh; BoundingBox follows dlib's square box "
        "convention, which stops at the chin and is tighter than Rekognition's.",
    ],
    "CompareFaces": [
        "Similarity comes from dlib's descriptor distance (100 / (1 + (d / 0.714)^8)): 80 at distance 0.6, "
        "face_recognition's usual tolerance.",
        "SourceImageOrientationCorrection and TargetImageOrientationCorrection are never returned (see DetectFaces).",
        "QualityFilter (default NONE) leaves target faces below the bar out of FaceMatches and UnmatchedFaces; "
        "a source face below it is InvalidParameterException. The bars are faceindex's own (confidence, pose, "
        "brightness, sharpness, box size), as for IndexFaces: Rekognition does not publish its thresholds.",
    ],
    "IndexFaces": [
        "FaceRecords[].FaceDetail follows DetectFaces (no age, gender or emotions); OrientationCorrection is "
        "never returned. FaceModelVersion names faceindex's model pack (dlib-v1), not a Rekognition version.",
    ],
    "CreateCollection": ["CollectionArn uses the server's configured region and account id."],
    "SearchFacesByImage": ["FaceMatchThreshold, MaxFaces and QualityFilter as documented; Similarity as CompareFaces."],
    "SearchUsersByImage": [
        "UserMatchThreshold (default 80), MaxUsers and QualityFilter (default NONE) as documented; Similarity as "
        "CompareFaces.",
    ],
    "AssociateFaces": [
        "UserMatchThreshold (default 75) as documented: a face joins when its best similarity to "
        "the user's faces reaches it."
    ],
    "StartFaceDetection": [
        "Video.S3Object from a bucket folder or the S3-compatible store, as images; a missing object is "
        "InvalidS3ObjectException and one over 10 GB VideoTooLargeException at once; a file that does not "
        "decode (MP4, MOV or AVI; H.264, MPEG-4, MJPEG, ...) FAILS the job with a StatusMessage. Jobs are rows "
        "of the database, run by the server's worker pool (FACEINDEX_VIDEO_WORKERS): a server killed mid-job "
        "restarts it once, then fails it. Past FACEINDEX_VIDEO_MAX_JOBS (20) IN_PROGRESS jobs: "
        "LimitExceededException. ClientRequestToken is kept 7 days. NotificationChannel is published to "
        "FACEINDEX_SNS_ENDPOINT (RoleArn is not assumed); without one it is InvalidParameterException.",
    ],
    "GetFaceDetection": [
        "Frames are sampled 5 a second (FACEINDEX_VIDEO_FPS; AWS documents none); Timestamp is the source "
        "frame's, in ms. MaxResults defaults to and is capped at 1000. Faces follow DetectFaces. Jobs and "
        "results are deleted FACEINDEX_VIDEO_RESULTS_DAYS (7) after they finish.",
    ],
    "StartFaceSearch": [
        "As StartFaceDetection; FaceMatchThreshold (default 80) is raised by key and collection floors.",
    ],
    "GetFaceSearch": [
        "Person.Index is faceindex's own tracker's (box overlap and descriptors, tracks of one person "
        "rejoined); each person's FaceMatches (at most 10) are its mean descriptor's, with the calibrated "
        "Similarity, the same on each of its entries; persons without a match are listed with none.",
    ],
}

GENERAL = [
    "Authentication is AWS Signature Version 4 against keys made with `faceindex keys create`; each key "
    "carries the operations it may call. There are no IAM policies, STS session tokens or presigned URLs; "
    "a request with X-Amz-Security-Token is refused with UnrecognizedClientException.",
    "ClientRequestToken (CreateUser, DeleteUser, AssociateFaces, DisassociateFaces; AWS SDKs fill one in): a "
    "successful request repeated with its token within 24 hours gets its first response again, kept in the "
    "database; the token with other parameters is IdempotentParameterMismatchException. StartFaceDetection "
    "and StartFaceSearch keep theirs 7 days, as Rekognition, in the job table.",
    "The credential scope's region is not checked against the server's region: any region a client is "
    "configured with works.",
    "`Image.S3Object` is read from a local folder mapped to the bucket name (FACEINDEX_BUCKETS) or from an "
    "S3-compatible store (FACEINDEX_S3_ENDPOINT); object versions only on the latter.",
    "Operations outside the table's supported set answer `UnsupportedOperationException` (HTTP 400), which "
    "SDKs raise as a client error naming the code; an unknown target answers `UnknownOperationException`.",
    'Errors are `{"__type": code, "Message": text}` with HTTP 400; the body of a request larger than '
    "FACEINDEX_MAX_BODY_BYTES (8 MiB) is refused with ImageTooLargeException; overload answers "
    "ThrottlingException, which SDKs retry.",
    "Limits as Rekognition documents them: 5 MB image bytes, 15 MB S3 objects, 80 px minimum side, "
    "MaxFaces up to 4096 for searches, 100 faces a user.",
]


def family_note(name: str) -> str:
    for keys, note in FAMILIES:
        if any(key in name for key in keys):
            return note
    return "not supported"


def render() -> str:
    model = service_model()
    names = sorted(model.operation_names)
    supported = [n for n in names if n in HANDLERS]
    lines = [
        "# Amazon Rekognition compatibility",
        "",
        f"Generated by `scripts/rekognition_compat.py` from botocore {botocore.__version__}'s Rekognition model "
        f"(API {model.api_version}); do not edit by hand.",
        "",
        f"faceindex serves **{len(supported)} of the {len(names)}** Rekognition operations: every image face "
        "operation (detect, compare, collections, faces, users, search, tags) and face detection and search in "
        "stored video. Point any AWS SDK or the AWS "
        "CLI at the server with its endpoint URL and a faceindex access key.",
        "",
        "| Operation | Supported | Notes |",
        "|---|---|---|",
    ]
    for name in names:
        if name in HANDLERS:
            ignored = IGNORED_MEMBERS.get(name, {})
            notes = "; ".join(f"`{member}` {why}" for member, why in ignored.items())
            if name in DIFFERENCES:
                notes = (notes + "; " if notes else "") + "see below"
            lines.append(f"| {name} | yes | {notes} |")
        else:
            lines.append(f"| {name} | no | {family_note(name)} |")
    lines += ["", "## Known differences, by operation", ""]
    for name in supported:
        for note in DIFFERENCES.get(name, []):
            lines.append(f"- **{name}**: {note}")
        for member, why in IGNORED_MEMBERS.get(name, {}).items():
            lines.append(f"- **{name}**: `{member}` {why}.")
    lines += ["", "## Everywhere", ""] + [f"- {note}" for note in GENERAL]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed file is out of date")
    args = parser.parse_args()
    text = render()
    if args.check:
        current = OUT.read_text() if OUT.exists() else ""
        if current != text:
            print(f"{OUT.relative_to(ROOT)} is out of date: run scripts/rekognition_compat.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
