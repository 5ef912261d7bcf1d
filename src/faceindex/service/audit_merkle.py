"""RFC 6962 Merkle tree hashes (RFC 9162 §2.1), their proofs and the proofs' verifiers, over SHA-256.

A leaf is hashed as SHA256(0x00 || data), an interior node as SHA256(0x01 || left || right) and the
empty tree as SHA256(""), so an audit root can be checked with any Certificate Transparency tool
(transparency-dev/merkle, trillian). `MerkleTree` keeps only its compact frontier (the roots of the
perfect subtrees it is made of, one per set bit of its size): appending costs two hashes on average
and a verifier streaming a million entries holds twenty hashes. Proofs are built from the leaf
hashes (the log's store has them all); the verifiers need only hashes.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


class MerkleTree:
    """An append-only tree of leaf hashes (see `leaf_hash`) that keeps only its compact frontier."""

    def __init__(self) -> None:
        self._size = 0
        self._frontier: list[bytes] = []  # perfect subtrees' roots, the largest (leftmost) first

    @classmethod
    def restore(cls, size: int, frontier: Sequence[bytes]) -> MerkleTree:
        """The tree saved as (`size`, `frontier`), so that a log need not rehash its leaves at start-up."""
        if size < 0 or len(frontier) != size.bit_count() or any(len(node) != HASH_SIZE for node in frontier):
            raise ValueError(f"{len(frontier)} hashes are not the frontier of a tree of {size} leaves")
        tree = cls()
        tree._size, tree._frontier = size, list(frontier)
        return tree

    @property
    def size(self) -> int:
        return self._size

    @property
    def frontier(self) -> tuple[bytes, ...]:
        return tuple(self._frontier)

    def append(self, leaf: bytes) -> None:
        if len(leaf) != HASH_SIZE:
            raise ValueError(f"a leaf hash has {HASH_SIZE} bytes, not {len(leaf)}")
        # Like a binary counter's carry: each trailing 1 bit of the size is a subtree as large as
        # the one being carried, and the two merge.
        node, carry = leaf, self._size
        while carry & 1:
            node = node_hash(self._frontier.pop(), node)
            carry >>= 1
        self._frontier.append(node)
        self._size += 1

    def root(self) -> bytes:
        if not self._frontier:
            return EMPTY_ROOT
        node = self._frontier[-1]
        for left in reversed(self._frontier[:-1]):
            node = node_hash(left, node)
        return node


def root_of(leaves: Iterable[bytes]) -> bytes:
    """The root of the tree of these leaf hashes (of any earlier size: pass the first n)."""
    tree = MerkleTree()
    for leaf in leaves:
        tree.append(leaf)
    return tree.root()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2): the size of the left subtree."""
    return 1 << ((n - 1).bit_length() - 1)


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """The audit path of leaf `index` (from 0) in the tree of `leaves` (RFC 9162 §2.1.3.1)."""
    if not 0 <= index < len(leaves):
        raise ValueError(f"leaf {index} is not in a tree of {len(leaves)} leaves")
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return [*inclusion_proof(leaves[:k], index), root_of(leaves[k:])]
    return [*inclusion_proof(leaves[k:], index - k), root_of(leaves[:k])]


def consistency_proof(leaves: Sequence[bytes], old_size: int) -> list[bytes]:
    """The proof that the tree of the first `old_size` leaves is a prefix of `leaves`' (§2.1.4.1)."""
    if not 0 <= old_size <= len(leaves):
        raise ValueError(f"a tree of {len(leaves)} leaves has no prefix of {old_size}")
    if old_size in (0, len(leaves)):
        return []
    return _subproof(leaves, old_size, whole=True)


def _subproof(leaves: Sequence[bytes], m: int, whole: bool) -> list[bytes]:
    if m == len(leaves):
        return [] if whole else [root_of(leaves)]
    k = _split(len(leaves))
    if m <= k:
        return [*_subproof(leaves[:k], m, whole), root_of(leaves[k:])]
    return [*_subproof(leaves[k:], m - k, whole=False), root_of(leaves[:k])]


def _hashes(*values: bytes) -> bool:
    return all(len(value) == HASH_SIZE for value in values)


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """Whether `proof` shows leaf hash `leaf` at `index` in the tree of `size` leaves and `root` (§2.1.3.2)."""
    if not 0 <= index < size or not _hashes(leaf, root, *proof):
        return False
    fn, sn, node = index, size - 1, leaf
    for sibling in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            node = node_hash(sibling, node)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            node = node_hash(node, sibling)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and hmac.compare_digest(node, root)


def verify_consistency(old_size: int, old_root: bytes, new_size: int, new_root: bytes, proof: Sequence[bytes]) -> bool:
    """Whether `proof` shows the tree (`old_size`, `old_root`) is a prefix of (`new_size`, `new_root`) (§2.1.4.2).

    The empty tree is a prefix of every tree, with an empty proof (and its root must be EMPTY_ROOT).
    """
    if not 0 <= old_size <= new_size or not _hashes(old_root, new_root, *proof):
        return False
    if old_size == new_size:
        return not proof and hmac.compare_digest(old_root, new_root)
    if old_size == 0:
        return not proof and hmac.compare_digest(old_root, EMPTY_ROOT)
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # the old tree is a whole subtree of the new: the proof omits it
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    old, new = path[0], path[0]
    for node in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            old, new = node_hash(node, old), node_hash(node, new)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            new = node_hash(new, node)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and hmac.compare_digest(old, old_root) and hmac.compare_digest(new, new_root)
