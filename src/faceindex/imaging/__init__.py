"""Image intake: decoding, orientation and limits."""
