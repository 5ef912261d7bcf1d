"""The one exception hierarchy of faceindex.

Everything below `api/` and `cli/` raises only these. Each class carries the error code that
Amazon Rekognition returns for the same situation (`code`), so every adapter can translate it
with one table: the Rekognition wire protocol uses `code` as `__type`, the CLI maps classes to
exit codes. Messages are meant for the person who sent the request: they name the limit or the
parameter, never image bytes or descriptors.

    FaceIndexError
    ├── InvalidParameter          bad argument (InvalidParameterException)
    │   └── NoFaceInSource        compare/search needs a face and found none
    ├── InvalidPaginationToken    a NextToken not issued for this request (InvalidPaginationTokenException)
    ├── InvalidImageFormat        not a decodable image (InvalidImageFormatException)
    ├── ResourceNotFound          no such collection, face or user (ResourceNotFoundException)
    ├── ResourceAlreadyExists     the collection exists (ResourceAlreadyExistsException)
    ├── Conflict                  the user exists (ConflictException)
    ├── ServiceQuotaExceeded      e.g. more than 100 faces for one user (ServiceQuotaExceededException)
    ├── ImageTooLarge             over the byte or pixel limit (ImageTooLargeException)
    ├── InvalidS3Object           Image.S3Object cannot be read (InvalidS3ObjectException)
    ├── VideoTooLarge             over 10 GB or 6 hours (VideoTooLargeException)
    ├── InvalidVideo              not a video, or one that cannot be decoded: a video job's StatusMessage
    ├── AccessDenied              the access key may not call this operation (AccessDeniedException)
    ├── Throttled                 the server is at its concurrency limit (ThrottlingException)
    ├── ServiceUnavailable        the disk failed a write: retry later (ServiceUnavailableException, HTTP 503)
    │   └── DiskFull              no room: the disk is full or the database at its cap (max_db_bytes)
    ├── ResourceInUse             the data folder is served by another process (ResourceInUseException)
    └── ModelError                the model pack could not be read, built or loaded
        └── ModelFormatError      a `.dat` file is not the network we expect
"""

from __future__ import annotations


class FaceIndexError(Exception):
    """Base of every error faceindex raises on purpose."""

    code = "InternalServerError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidParameter(FaceIndexError):
    code = "InvalidParameterException"


class NoFaceInSource(InvalidParameter):
    """Rekognition answers InvalidParameterException when the source image has no face."""


class InvalidPaginationToken(FaceIndexError):
    """A NextToken this server did not issue, or issued for another request."""

    code = "InvalidPaginationTokenException"


class InvalidImageFormat(FaceIndexError):
    code = "InvalidImageFormatException"


class ResourceNotFound(FaceIndexError):
    code = "ResourceNotFoundException"


class ResourceAlreadyExists(FaceIndexError):
    code = "ResourceAlreadyExistsException"


class Conflict(FaceIndexError):
    code = "ConflictException"


class IdempotentParameterMismatch(FaceIndexError):
    """A ClientRequestToken reused with other parameters than its first request's."""

    code = "IdempotentParameterMismatchException"


class ServiceQuotaExceeded(FaceIndexError):
    code = "ServiceQuotaExceededException"


class ImageTooLarge(FaceIndexError):
    code = "ImageTooLargeException"


class InvalidS3Object(FaceIndexError):
    code = "InvalidS3ObjectException"


class VideoTooLarge(FaceIndexError):
    """Over the stored-video limits (10 GB, 6 hours): Rekognition raises it at Start."""

    code = "VideoTooLargeException"


class InvalidVideo(FaceIndexError):
    """Not a video, an unsupported container, or a stream that cannot be decoded. Rekognition does not
    look inside the video at Start: a job fails with this message as its StatusMessage. Raised outside
    a job (the CLI) it is a bad argument."""

    code = "InvalidParameterException"


class AccessDenied(FaceIndexError):
    code = "AccessDeniedException"


class Throttled(FaceIndexError):
    code = "ThrottlingException"


class ServiceUnavailable(FaceIndexError):
    """The store could not write (disk full, I/O error); nothing was written. Not one of Rekognition's
    modelled codes: the adapters answer HTTP 503, which every AWS SDK retries with back-off."""

    code = "ServiceUnavailableException"


class DiskFull(ServiceUnavailable):
    """No room to write: the disk is full, or the database is at its cap (max_db_bytes)."""


class ResourceInUse(FaceIndexError):
    code = "ResourceInUseException"


class ModelError(FaceIndexError):
    code = "InternalServerError"


class ModelFormatError(ModelError):
    pass
