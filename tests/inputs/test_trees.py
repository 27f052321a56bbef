"""Structured values (trees.py): paths as Python reaches them, selectors in Python's spellings, fresh copies
with some leaves replaced, and structures that cannot be walked refused."""

from __future__ import annotations

from collections import OrderedDict, namedtuple

import numpy as np
import pytest

from gradcheck import SpecError
from gradcheck.inputs import trees
from gradcheck.inputs.calling import fresh


def test_leaves_are_listed_in_written_order_with_their_paths():
    value = {"W1": np.ones(2), "blocks": [{"w": np.zeros(1)}, (np.ones(3), "relu")], "labels": [0, 2, 1]}
    paths = [trees.path("params", keys) for keys, _ in trees.leaves(value, "params")]
    assert paths == ['params["W1"]', 'params["blocks"][0]["w"]', 'params["blocks"][1][0]', 'params["blocks"][1][1]',
                     'params["labels"]']  # a list of plain numbers is one value


@pytest.mark.parametrize(("text", "expected"), [
    ("x", ("x", ())), ('params["W1"]', ("params", ("W1",))), ("params['W1']", ("params", ("W1",))),
    ("params[W1]", ("params", ("W1",))), ("params.W1", ("params", ("W1",))), ("layers[0].w", ("layers", (0, "w"))),
    (' params [ "a b" ] ', ("params", ("a b",))),
])
def test_selectors_read_pythons_spellings(text, expected):
    assert trees.selector(text, "wrt") == expected


@pytest.mark.parametrize("text", ["", "1x", "params[", "params[W1", 'params["a"]x', "params..W1"])
def test_a_selector_that_does_not_read_is_refused(text):
    with pytest.raises(SpecError):
        trees.selector(text, "wrt")


def test_rebuilt_copies_and_keeps_each_containers_class():
    Pair = namedtuple("Pair", "w b")
    value = OrderedDict(first=Pair(np.ones(2), np.zeros(2)), rest=[np.ones(1)])
    moved = trees.rebuilt(value, {("first", 1): np.full(2, 7.0)}, fresh)
    assert type(moved) is OrderedDict and type(moved["first"]) is Pair
    assert np.array_equal(moved["first"].b, [7, 7]) and np.array_equal(value["first"].b, [0, 0])
    assert moved["rest"][0] is not value["rest"][0]


def test_a_structure_that_contains_itself_or_is_too_large_is_refused():
    looped: list = [np.ones(1)]
    looped.append(looped)
    with pytest.raises(SpecError, match="nested more than"):
        trees.leaves(looped, "looped")
    with pytest.raises(SpecError, match="more than"):
        trees.leaves([np.ones(1)] * (trees.MAX_TREE_LEAVES + 1), "many")
