"""The fuzz suite: seeded hostile images and malformed requests against the library and a live server.

Every case is a pure function of (seed, index), so a failure names the case that reproduces it.
"""
