"""Building reliability matrices and label sets from long-form rows."""

import numpy as np
import pytest

from annotation.agreement import data

nan = np.nan

ITEMS = np.array([0, 0, 1, 2, 2, 2])
ANNOTATORS = np.array([0, 1, 1, 0, 1, 2])
LABELS = np.array(
    [[1, 0], [1, 1], [0, 0], [0, 1], [0, 1], [1, 1]],
    dtype=np.int8,
)


def test_reliability_matrix():
    R = data.reliability_matrix(ITEMS, ANNOTATORS, LABELS[:, 0], n_items=4, n_annotators=3)
    expected = np.array(
        [[1, 1, nan], [nan, 0, nan], [0, 0, 1], [nan, nan, nan]],
    )
    np.testing.assert_array_equal(R, expected)


def test_category_matrices_are_one_reliability_matrix_per_category():
    out = data.category_matrices(ITEMS, ANNOTATORS, LABELS, n_items=4, n_annotators=3)
    assert out.shape == (2, 4, 3)
    for c in range(2):
        np.testing.assert_array_equal(
            out[c], data.reliability_matrix(ITEMS, ANNOTATORS, LABELS[:, c], 4, 3)
        )


def test_label_sets():
    sets = data.label_sets(ITEMS, LABELS, n_items=4, category_ids=np.array([10, 20]))
    assert sets == [
        [frozenset({10}), frozenset({10, 20})],
        [frozenset()],  # "none of these"
        [frozenset({20}), frozenset({20}), frozenset({10, 20})],
        [],
    ]
    assert data.label_sets(np.zeros(0, dtype=int), np.zeros((0, 2)), n_items=2) == [[], []]


def test_label_sets_with_many_categories():
    # More than 62 categories: rows are compared as rows, not packed into integers.
    labels = np.zeros((3, 70), dtype=bool)
    labels[0, 65] = labels[1, 65] = labels[2, 3] = True
    sets = data.label_sets(np.array([0, 0, 1]), labels, n_items=2)
    assert sets == [[frozenset({65}), frozenset({65})], [frozenset({3})]]


@pytest.mark.parametrize(
    ("items", "annotators", "values", "message"),
    [
        ([0, 4], [0, 1], [1, 0], r"item_idx must be in \[0, 4\)"),
        ([0, 1], [0, -1], [1, 0], "annotator_idx must be in"),
        ([0, 0], [1, 1], [1, 0], "two rows for the same item"),
        ([0, 1], [0, 1], [1, 2], "only 0/1"),
        ([0, 1], [0], [1, 0], "2 item indices but 1 annotator"),
        ([0.0, 1.0], [0, 1], [1, 0], "must hold integers"),
        ([0, 1], [0, 1], [1], "value must have shape"),
    ],
)
def test_bad_rows_are_refused(items, annotators, values, message):
    with pytest.raises(ValueError, match=message):
        data.reliability_matrix(np.array(items), np.array(annotators), np.array(values), 4, 3)


def test_bad_label_matrices_are_refused():
    with pytest.raises(ValueError, match="labels must have shape"):
        data.category_matrices(ITEMS, ANNOTATORS, LABELS[:3], 4, 3)
    with pytest.raises(ValueError, match="only 0/1"):
        data.category_matrices(ITEMS, ANNOTATORS, LABELS * 2, 4, 3)
    with pytest.raises(ValueError, match="category_ids"):
        data.label_sets(ITEMS, LABELS, 4, category_ids=np.array([1, 2, 3]))
