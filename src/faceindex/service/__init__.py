"""Use-cases with Rekognition's semantics, shared by every adapter."""
