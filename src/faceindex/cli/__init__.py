"""The `faceindex` command."""
