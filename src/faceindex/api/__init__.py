"""The HTTP server: Rekognition's JSON wire protocol at `POST /`, a REST API under `/v1`, and
health, readiness and metrics endpoints. Every route calls the same `service/` functions."""
