"""The transparency log's Merkle tree against RFC 6962's test vectors (the ones
certificate-transparency's reference implementations test with)."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from clients import transparency as tl

LEAVES = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                     "606162636465666768696a6b6c6d6e6f")]
HASHES = [tl.leaf_hash(d) for d in LEAVES]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# The subtree hashes the proofs below are made of, by the leaves each covers: MTH(D[a:b]), RFC 6962 2.1.
NODE = {
    (0, 1): "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    (0, 2): "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    (0, 4): "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    (1, 2): "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    (2, 4): "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    (4, 5): "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    (4, 6): "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
    (4, 8): "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    (6, 8): "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
}


def path(*covers: tuple[int, int]) -> list[str]:
    return [NODE[c] for c in covers]


INCLUSION = [  # (leaf index, tree size, path)
    (0, 8, path((1, 2), (2, 4), (4, 8))),
    (5, 8, path((4, 5), (6, 8), (0, 4))),
    (2, 3, path((0, 2))),
    (1, 5, path((0, 1), (2, 4), (4, 5))),
]
CONSISTENCY = [  # (first size, second size, proof)
    (1, 1, path()),
    (1, 8, path((1, 2), (2, 4), (4, 8))),
    (6, 8, path((4, 6), (6, 8), (0, 4))),
    (2, 5, path((2, 4), (4, 5))),
]


class TestRootRFC6962:
    def test_empty_tree(self) -> None:
        assert tl.root([]).hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    @pytest.mark.parametrize("size", range(1, 9))
    def test_roots(self, size: int) -> None:
        assert tl.root(HASHES[:size]).hex() == ROOTS[size - 1]

    @pytest.mark.parametrize("size", range(0, 9))
    def test_the_growing_tree_gives_the_same_roots(self, size: int) -> None:
        tree = tl.Tree()
        for h in HASHES[:size]:
            tree.append(h)
        assert tree.root() == tl.root(HASHES[:size])


class TestInclusionRFC6962:
    @pytest.mark.parametrize(("index", "size", "path"), INCLUSION)
    def test_paths(self, index: int, size: int, path: list[str]) -> None:
        assert [p.hex() for p in tl.inclusion_proof(index, HASHES[:size])] == path
        assert tl.verify_inclusion(index, size, HASHES[index], [bytes.fromhex(p) for p in path],
                                   bytes.fromhex(ROOTS[size - 1]))

    def test_a_wrong_leaf_or_place_fails(self) -> None:
        index, size, path = INCLUSION[1]
        proof, expected = [bytes.fromhex(p) for p in path], bytes.fromhex(ROOTS[size - 1])
        assert not tl.verify_inclusion(index, size, HASHES[index - 1], proof, expected)
        assert not tl.verify_inclusion(index + 1, size, HASHES[index], proof, expected)
        assert not tl.verify_inclusion(index, size, HASHES[index], proof[:-1], expected)
        assert not tl.verify_inclusion(size, size, HASHES[index], proof, expected)


class TestConsistencyRFC6962:
    @pytest.mark.parametrize(("first", "second", "proof"), CONSISTENCY)
    def test_proofs(self, first: int, second: int, proof: list[str]) -> None:
        assert [p.hex() for p in tl.consistency_proof(first, HASHES[:second])] == proof
        assert tl.verify_consistency(first, second, bytes.fromhex(ROOTS[first - 1]), bytes.fromhex(ROOTS[second - 1]),
                                     [bytes.fromhex(p) for p in proof])

    def test_a_rewritten_history_fails(self) -> None:
        rewritten = HASHES[:3] + [tl.leaf_hash(b"another")] + HASHES[4:]
        proof = tl.consistency_proof(5, rewritten)
        assert not tl.verify_consistency(5, 8, bytes.fromhex(ROOTS[4]), tl.root(rewritten), proof)


@given(st.integers(min_value=1, max_value=40), st.data())
def test_every_proof_of_every_tree_verifies(size: int, data: st.DataObject) -> None:
    leaves = [tl.leaf_hash(i.to_bytes(2, "big")) for i in range(size)]
    tree = tl.Tree()
    for leaf in leaves:
        tree.append(leaf)
    assert tree.root() == tl.root(leaves)
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    assert tl.verify_inclusion(index, size, leaves[index], tl.inclusion_proof(index, leaves), tree.root())
    first = data.draw(st.integers(min_value=1, max_value=size))
    assert tl.verify_consistency(first, size, tl.root(leaves[:first]), tree.root(),
                                 tl.consistency_proof(first, leaves))


def test_the_verifier_imports_nothing_of_the_server() -> None:
    """auction-verify trusts only the standard library and `cryptography` (and its own modules)."""
    import ast
    import sys
    from pathlib import Path

    clients = Path(tl.__file__).parent
    for name in ("verify.py", "verify_rules.py", "transparency.py"):
        tree = ast.parse((clients / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                allowed = top in sys.stdlib_module_names or top == "cryptography" or module in (
                    "clients", "clients.transparency", "clients.verify_rules")
                assert allowed, (name, module)


@given(st.integers(min_value=1, max_value=70))
def test_a_batch_gives_every_path_in_one_pass(size: int) -> None:
    leaves = [tl.leaf_hash(i.to_bytes(2, "big")) for i in range(size)]
    root, paths = tl.batch_paths(leaves)
    assert root == tl.root(leaves)
    assert paths == [tl.inclusion_proof(i, leaves) for i in range(size)]


# What the log stores: strings (any text a session id, bid_id or reason may hold), integers, booleans, null,
# and objects and lists of them (a session's terms).
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


class TestCanonicalBytesWrittenDirectly:
    """The fast encodings are the reference `canonical` bytes, exactly: anything else would change
    the leaves and the signed statements."""

    @given(JSON_VALUES)
    def test_the_servers_encoder(self, value: object) -> None:
        from auction.adapters.protocol import canonical_json

        assert canonical_json(value) == tl.canonical(value)

    @given(st.text(), st.integers(min_value=1), st.text(), st.dictionaries(st.text(max_size=8), JSON_VALUES))
    def test_a_leaf(self, session_id: str, seq: int, event_type: str, event: dict[str, object]) -> None:
        expected = tl.canonical({"session_id": session_id, "seq": seq, "type": event_type, "event": event})
        assert tl.leaf_bytes(session_id, seq, event_type, event) == expected
        assert tl.leaf_bytes_of(session_id, seq, event_type, tl.canonical(event)) == expected

    @given(st.text(), st.integers(min_value=1), st.text(), st.integers(min_value=1), st.text())
    def test_a_receipt_statement(self, session_id: str, seq: int, leaf: str, size: int, root: str) -> None:
        assert tl.receipt_bytes(session_id, seq, leaf, size, root) == tl.canonical(
            {"kind": "receipt", "session_id": session_id, "seq": seq, "leaf_hash": leaf, "tree_size": size,
             "root_hash": root})
