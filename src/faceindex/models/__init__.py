"""Inference only: model files, runtimes, detector, landmarks, embedder (no SQL, no HTTP)."""
