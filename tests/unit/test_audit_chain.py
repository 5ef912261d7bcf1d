"""The audit log's tamper evidence: RFC 6962 vectors, proofs, and every kind of tampering named at its first entry."""

from __future__ import annotations

import base64
import dataclasses
import json
import math
from typing import Any

import pytest

from faceindex.service.audit_chain import (
    GENESIS,
    HEAD_CONTEXT,
    AuditSigner,
    StoredEntry,
    TreeHead,
    Verdict,
    canonical,
    entry_leaf,
    seal_entry,
    sign_head,
    verify,
    verify_signature,
)
from faceindex.service.audit_merkle import (
    EMPTY_ROOT,
    MerkleTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)

# Published vectors: transparency-dev/merkle (the Merkle code of Certificate Transparency's Go
# implementation and of trillian), rfc6962/rfc6962_test.go (hashes) and proof/verify_test.go
# (`leaves`, `roots`, `inclusionProofs`, `consistencyProofs`).
VECTOR_LEAVES = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657")] + [
    bytes.fromhex("606162636465666768696a6b6c6d6e6f")
]
VECTOR_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
H96A = "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"
H5F0 = "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"
H6B4 = "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"
HBC1 = "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"
HCA8 = "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"
HD37 = VECTOR_ROOTS[3]
H0EB = "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"
HB08 = "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"
VECTOR_INCLUSION = [  # (leaf index from 1, tree size, proof)
    (1, 1, []),
    (1, 8, [H96A, H5F0, H6B4]),
    (6, 8, [HBC1, HCA8, HD37]),
    (3, 3, [VECTOR_ROOTS[1]]),
    (2, 5, [VECTOR_ROOTS[0], H5F0, HBC1]),
]
VECTOR_CONSISTENCY = [  # (old size, new size, proof)
    (1, 1, []),
    (1, 8, [H96A, H5F0, H6B4]),
    (6, 8, [H0EB, HCA8, HD37]),
    (2, 5, [H5F0, HBC1]),
    (6, 7, [H0EB, HB08, HD37]),
]
LEAVES = [leaf_hash(data) for data in VECTOR_LEAVES]


def test_hashes_are_rfc6962s() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert leaf_hash(b"").hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    assert leaf_hash(b"L123456").hex() == "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"
    assert node_hash(b"N123", b"N456").hex() == "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"


def test_roots_match_the_published_vectors_at_every_size() -> None:
    tree = MerkleTree()
    assert tree.root() == EMPTY_ROOT == root_of([])
    for size, (leaf, expected) in enumerate(zip(LEAVES, VECTOR_ROOTS, strict=True), start=1):
        tree.append(leaf)
        assert tree.size == size
        assert tree.root().hex() == expected == root_of(LEAVES[:size]).hex()


@pytest.mark.parametrize(("leaf", "size", "proof"), VECTOR_INCLUSION)
def test_inclusion_proofs_match_the_published_vectors(leaf: int, size: int, proof: list[str]) -> None:
    assert [node.hex() for node in inclusion_proof(LEAVES[:size], leaf - 1)] == proof
    root = bytes.fromhex(VECTOR_ROOTS[size - 1])
    assert verify_inclusion(leaf - 1, size, LEAVES[leaf - 1], [bytes.fromhex(h) for h in proof], root)


@pytest.mark.parametrize(("old", "new", "proof"), VECTOR_CONSISTENCY)
def test_consistency_proofs_match_the_published_vectors(old: int, new: int, proof: list[str]) -> None:
    assert [node.hex() for node in consistency_proof(LEAVES[:new], old)] == proof
    old_root, new_root = bytes.fromhex(VECTOR_ROOTS[old - 1]), bytes.fromhex(VECTOR_ROOTS[new - 1])
    assert verify_consistency(old, old_root, new, new_root, [bytes.fromhex(h) for h in proof])


def _definition_root(leaves: list[bytes]) -> bytes:
    """MTH straight from RFC 9162 §2.1.1, to check the compact tree against."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(_definition_root(leaves[:k]), _definition_root(leaves[k:]))


MANY = [leaf_hash(i.to_bytes(2, "big")) for i in range(33)]
ROOTS = [_definition_root(MANY[:n]) for n in range(34)]


def _flipped(proof: list[bytes], i: int) -> list[bytes]:
    return [bytes([node[0] ^ 8, *node[1:]]) if j == i else node for j, node in enumerate(proof)]


def test_the_compact_tree_has_the_definitions_root_at_sizes_0_to_33_and_restores_from_its_frontier() -> None:
    tree = MerkleTree()
    for n, leaf in enumerate(MANY, start=1):
        tree.append(leaf)
        assert tree.root() == ROOTS[n]
        assert len(tree.frontier) == bin(n).count("1")
        restored = MerkleTree.restore(tree.size, tree.frontier)
        restored.append(MANY[0])
        assert restored.root() == _definition_root([*MANY[:n], MANY[0]])
    with pytest.raises(ValueError, match="frontier"):
        MerkleTree.restore(5, tree.frontier[:1])


@pytest.mark.parametrize("size", range(1, 34))
def test_inclusion_proofs_verify_and_every_mutation_fails(size: int) -> None:
    leaves, root = MANY[:size], ROOTS[size]
    for index in range(size):
        proof = inclusion_proof(leaves, index)
        assert verify_inclusion(index, size, leaves[index], proof, root)
        bad = [
            *(_flipped(proof, i) for i in range(len(proof))),
            proof[:-1] if proof else [root],
            [*proof, root],
            [root, *proof],
        ]
        assert not any(verify_inclusion(index, size, leaves[index], wrong, root) for wrong in bad)
        assert not verify_inclusion(index, size, MANY[-1] if index != 32 else MANY[0], proof, root)
        assert not verify_inclusion(index, size, leaves[index], proof, ROOTS[size - 1])
        assert not any(
            verify_inclusion(other, size, leaves[index], proof, root) for other in range(size) if other != index
        )
        assert not verify_inclusion(size, size, leaves[index], proof, root)


@pytest.mark.parametrize("size", range(1, 34))
def test_consistency_proofs_verify_and_every_mutation_fails(size: int) -> None:
    leaves, root = MANY[:size], ROOTS[size]
    for old in range(size + 1):
        proof = consistency_proof(leaves, old)
        assert verify_consistency(old, ROOTS[old], size, root, proof)
        if old in (0, size):
            assert proof == []
            assert not verify_consistency(old, ROOTS[old], size, root, [EMPTY_ROOT])
            continue
        bad = [*(_flipped(proof, i) for i in range(len(proof))), proof[:-1], [*proof, root], [root, *proof], []]
        assert not any(verify_consistency(old, ROOTS[old], size, root, wrong) for wrong in bad)
        assert not verify_consistency(old, ROOTS[old + 1], size, root, proof)
        assert not verify_consistency(old, ROOTS[old], size, ROOTS[old], proof)
        assert not verify_consistency(size, root, old, ROOTS[old], proof)
        assert not any(
            verify_consistency(other, ROOTS[other], size, root, proof) for other in range(1, size) if other != old
        )


def test_canonical_json_is_one_byte_string_per_body() -> None:
    assert canonical({"b": [1, 2.5, None, True], "a": "é", "c": {"y": 0.1, "x": 1e-7}}) == (
        '{"a":"é","b":[1,2.5,null,true],"c":{"x":1e-07,"y":0.1}}'.encode()
    )
    assert canonical({"x": 1, "y": 2}) == canonical({"y": 2, "x": 1})
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError):
            canonical({"threshold": bad})


SIGNER = AuditSigner.from_private_bytes(bytes(range(32)))
OTHER = AuditSigner.from_private_bytes(bytes(range(1, 33)))
KEY = SIGNER.public_bytes()


def test_signer_round_trips_its_key_and_signatures_check() -> None:
    again = AuditSigner.from_private_bytes(SIGNER.private_bytes())
    assert again.public_bytes() == KEY and len(KEY) == 32 and len(SIGNER.private_bytes()) == 32
    assert SIGNER.private_bytes().hex() not in repr(SIGNER)
    signature = SIGNER.sign(b"data")
    assert verify_signature(KEY, b"data", signature)
    assert not verify_signature(KEY, b"date", signature)
    assert not verify_signature(OTHER.public_bytes(), b"data", signature)
    assert not verify_signature(KEY[:31], b"data", signature)
    assert AuditSigner.generate().public_bytes() != AuditSigner.generate().public_bytes()


def body(seq: int) -> dict[str, Any]:
    return {
        "operation": "SearchFacesByImage",
        "key_id": "AKIAFACEINDEX0001",
        "collection": "entrance",
        "threshold": {"asked": 80.0, "applied": 99.0},
        "purpose": "door access, bâtiment B",
        "matches": [f"face-{seq}"],
        "request_id": f"req-{seq}",
        "time": 1_790_000_000.25 + seq,
    }


def build(count: int, every: int, signer: AuditSigner = SIGNER) -> tuple[list[StoredEntry], list[TreeHead]]:
    """A log of `count` entries with a signed head every `every` entries."""
    entries: list[StoredEntry] = []
    heads: list[TreeHead] = []
    tree, chain = MerkleTree(), GENESIS
    for seq in range(1, count + 1):
        entry = seal_entry(seq, body(seq), chain, signer)
        entries.append(entry)
        chain = entry.chain
        tree.append(entry_leaf(entry.body))
        if seq % every == 0:
            heads.append(sign_head(tree, 1_790_000_000.0 + seq, heads[-1] if heads else None, signer))
    return entries, heads


ENTRIES, HEADS = build(65, every=20)  # heads at 20, 40 and 60; entries 61 to 65 under none yet


def rechained(entries: list[StoredEntry], start: int, signer: AuditSigner | None = None) -> list[StoredEntry]:
    """Entries from index `start` on with their chains recomputed (and re-signed by `signer` if given)."""
    out = entries[:start]
    chain = out[-1].chain if out else GENESIS
    for entry in entries[start:]:
        sealed = seal_entry(entry.seq, entry.body, chain, signer or OTHER)
        out.append(sealed if signer else dataclasses.replace(entry, chain=sealed.chain))
        chain = sealed.chain
    return out


def test_an_intact_log_of_1000_entries_with_a_head_every_100_verifies() -> None:
    entries, heads = build(1000, every=100)
    assert verify(iter(entries), heads, KEY) == Verdict(True, 1000, 10, None, "")
    assert verify(ENTRIES, HEADS, KEY) == Verdict(True, 65, 3, None, "")
    assert verify([], [], KEY) == Verdict(True, 0, 0, None, "")


def _altered_body(entry: StoredEntry) -> StoredEntry:
    return dataclasses.replace(entry, body={**entry.body, "matches": []})


def _swapped_contents(entries: list[StoredEntry], i: int) -> list[StoredEntry]:
    a, b = entries[i], entries[i + 1]
    return [*entries[:i], dataclasses.replace(b, seq=a.seq), dataclasses.replace(a, seq=b.seq), *entries[i + 2 :]]


def _forged_head(heads: list[TreeHead], i: int) -> list[TreeHead]:
    return [dataclasses.replace(h, root=bytes(32)) if j == i else h for j, h in enumerate(heads)]


def _resigned_heads(entries: list[StoredEntry], every: int, signer: AuditSigner) -> list[TreeHead]:
    heads: list[TreeHead] = []
    tree = MerkleTree()
    for entry in entries:
        tree.append(entry_leaf(entry.body))
        if entry.seq % every == 0:
            heads.append(sign_head(tree, 1_790_000_000.0 + entry.seq, heads[-1] if heads else None, signer))
    return heads


E, H = ENTRIES, HEADS
TAMPERING = {
    "a body field altered": (
        [*E[:16], _altered_body(E[16]), *E[17:]],
        H,
        17,
        "entry 17 was altered (its hash does not match)",
    ),
    "altered with its chain recomputed": (
        rechained([*E[:16], _altered_body(E[16]), *E[17:]], 16),
        H,
        17,
        "entry 17 was altered (its signature does not match this log's key)",
    ),
    "one removed": ([*E[:16], *E[17:]], H, 17, "entry 17 is missing (16 is followed by 18)"),
    "three removed": ([*E[:16], *E[19:]], H, 17, "entries 17 to 19 are missing (16 is followed by 20)"),
    "the first removed": (E[1:], H, 1, "entry 1 is missing (the log starts at entry 2)"),
    "two swapped in storage": ([*E[:8], E[9], E[8], *E[10:]], H, 9, "entries 9 and 10 are out of order"),
    "two swapped in content": (_swapped_contents(E, 8), H, 9, "entries 9 and 10 are out of order"),
    "one duplicated": ([*E[:8], E[7], *E[8:]], H, 8, "entry 8 appears twice"),
    "one moved back": ([*E[:30], E[4], *E[30:]], H, 5, "entries 5 and 30 are out of order"),
    "the tail truncated": (E[:45], H, 46, "the log ends at entry 45 but signed head 3 covers 60 entries (truncated)"),
    "all truncated": ([], H, 1, "the log is empty but signed head 1 covers 20 entries (truncated)"),
    "a head forged": (E, _forged_head(H, 1), None, "head 2 is not signed by this log's key"),
    "a head past the end forged": (E[:45], _forged_head(H, 2), None, "head 3 is not signed by this log's key"),
    "all re-signed with another key": (
        rechained(E, 0, OTHER),
        _resigned_heads(E, 20, OTHER),
        1,
        "entry 1 was altered (its signature does not match this log's key)",
    ),
    "the heads re-signed with another key": (
        E,
        _resigned_heads(E, 20, OTHER),
        None,
        "head 1 is not signed by this log's key",
    ),
    "a head removed": (E, [H[0], H[2]], None, "head 2 does not follow head 1"),
    "the first head removed": (
        E,
        H[1:],
        None,
        "head 1 does not follow the start of the log (a head before it is missing)",
    ),
    "heads reordered": (
        E,
        [H[1], H[0], H[2]],
        None,
        "head 1 does not follow the start of the log (a head before it is missing)",
    ),
    "history rewritten with the key under a head": (
        rechained([*E[:24], _altered_body(E[24]), *E[25:]], 24, SIGNER),
        H,
        21,
        "entries 21 to 40 do not match signed head 2 (its root differs)",
    ),
}


@pytest.mark.parametrize("kind", TAMPERING)
def test_each_kind_of_tampering_is_named_at_its_first_bad_entry(kind: str) -> None:
    entries, heads, first_bad, problem = TAMPERING[kind]
    verdict = verify(iter(entries), heads, KEY)
    assert (verdict.ok, verdict.first_bad, verdict.problem) == (False, first_bad, problem)
    if first_bad is not None:
        assert verdict.entries == first_bad - 1  # the entries before it


def test_a_signed_head_that_covers_fewer_entries_than_the_one_before_fails() -> None:
    tree = MerkleTree()
    for entry in E[:10]:
        tree.append(entry_leaf(entry.body))
    unsigned = TreeHead(tree.size, tree.root(), 1_790_000_100.0, H[0].digest(), b"")  # sign_head refuses it
    shrunk = dataclasses.replace(unsigned, signature=SIGNER.sign(unsigned.signed_form()))
    verdict = verify(E, [H[0], shrunk], KEY)
    assert (verdict.ok, verdict.heads) == (False, 1)
    assert verdict.problem == "head 2 does not follow head 1 (it covers fewer entries)"
    with pytest.raises(ValueError, match="cannot follow"):
        sign_head(tree, 1_790_000_100.0, H[1], SIGNER)


def test_heads_may_repeat_a_size_and_an_empty_log_may_have_a_head() -> None:
    tree = MerkleTree()
    for entry in E[:20]:
        tree.append(entry_leaf(entry.body))
    again = sign_head(tree, 1_790_000_500.0, H[0], SIGNER)  # nothing logged since the last head
    assert again.previous == H[0].digest() and again.root == H[0].root
    assert verify(E[:20], [H[0], again], KEY) == Verdict(True, 20, 2, None, "")
    empty = sign_head(MerkleTree(), 1_790_000_000.0, None, SIGNER)
    assert (empty.size, empty.root) == (0, EMPTY_ROOT)
    assert verify([], [empty], KEY) == Verdict(True, 0, 1, None, "")


def test_a_witness_head_catches_the_tail_and_its_heads_removed() -> None:
    witness = TreeHead.from_json(H[2].to_json(KEY))
    assert verify(E[:40], H[:2], KEY) == Verdict(True, 40, 2, None, "")  # undetectable without a witness
    verdict = verify(E[:40], H[:2], KEY, witness=witness)
    assert verdict == Verdict(
        False, 40, 2, 41, "the log ends at entry 40 but the witness's head covers 60 entries (truncated)"
    )
    assert verify(E, H, KEY, witness=witness).ok
    assert verify(E, H, KEY, witness=TreeHead.from_json(H[0].to_json())).ok


def test_a_witness_head_catches_a_history_rewritten_with_the_key() -> None:
    rewritten = rechained([*E[:4], _altered_body(E[4]), *E[5:]], 4, SIGNER)
    heads = _resigned_heads(rewritten, 20, SIGNER)
    assert verify(rewritten, heads, KEY).ok  # whoever holds the key can re-sign every head
    verdict = verify(rewritten, heads, KEY, witness=H[1])
    assert (verdict.ok, verdict.first_bad, verdict.problem) == (
        False,
        None,
        "the witness's head (size 40) does not match this log",
    )
    forged = verify(E, H, KEY, witness=dataclasses.replace(H[1], size=41))
    assert (forged.ok, forged.problem) == (False, "the witness's head is not signed by this log's key")


def test_a_head_exported_as_json_can_be_checked_with_nothing_but_its_json() -> None:
    exported = json.loads(H[1].to_json(KEY))
    assert set(exported) == {"size", "root", "timestamp", "previous", "signature", "public_key"}
    signed = {name: exported[name] for name in ("size", "root", "timestamp", "previous")}
    public_key = base64.b64decode(exported["public_key"])
    assert verify_signature(public_key, HEAD_CONTEXT + canonical(signed), base64.b64decode(exported["signature"]))
    assert exported["previous"] == H[0].digest().hex() and json.loads(H[0].to_json())["previous"] == GENESIS.hex()
    assert TreeHead.from_json(H[1].to_json(KEY)) == H[1]
    for bad in ("{}", "[]", "not json", json.dumps({**exported, "size": "40"}), json.dumps({**exported, "root": "zz"})):
        with pytest.raises(ValueError, match="not an audit tree head"):
            TreeHead.from_json(bad)


def test_sealing_refuses_what_cannot_be_checked() -> None:
    with pytest.raises(ValueError, match="cannot follow"):
        seal_entry(0, body(0), GENESIS, SIGNER)
    with pytest.raises(ValueError, match="cannot follow"):
        seal_entry(1, body(1), b"short", SIGNER)
    with pytest.raises(ValueError):
        seal_entry(1, {"threshold": math.nan}, GENESIS, SIGNER)
    nan_read_back = dataclasses.replace(E[2], body={**E[2].body, "time": math.nan})
    verdict = verify([*E[:2], nan_read_back, *E[3:]], H, KEY)
    assert (verdict.first_bad, verdict.problem) == (3, "entry 3 was altered (its hash does not match)")
