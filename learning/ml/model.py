"""The project's classifier: features + logistic regression, fitted on gold labels.

`fit_model` learns the featurizer (optionally on unlabeled pool texts too, which gives the
vocabulary the words of items not labeled yet) and the classifier on labeled rows;
`FittedModel.predict_proba` scores any texts. Serialised by `to_bytes` as arrays and JSON, never
pickle (see `learning/ml/artifact.py`).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from learning.ml.classifier import LinearWeights, fit_linear, indicator
from learning.ml.evaluation import (  # re-exported: the interface the app codes against
    CVMetrics,
    NotEnoughData,
    cross_validate,
    cross_validate_features,
    decide,
    out_of_fold_proba,
)
from learning.ml.features import FeatureConfig, Featurizer, fit_transform

__all__ = [
    "CVMetrics",
    "FittedModel",
    "NotEnoughData",
    "cross_validate",
    "cross_validate_features",
    "fit_model",
    "fit_on_features",
    "fit_with_features",
    "out_of_fold_proba",
]


class FittedModel:
    """A fitted featurizer plus linear weights for `categories` (C) categories."""

    def __init__(
        self, *, featurizer: Featurizer, weights: LinearWeights, categories: int, multi_label: bool
    ):
        self.featurizer = featurizer
        self.weights = weights
        self.categories = categories
        self.multi_label = multi_label

    @property
    def features(self) -> FeatureConfig:
        return self.featurizer.config

    def transform(self, texts: list[str], urls: list[str]) -> sp.csr_matrix:
        """Feature matrix (n, F) for n texts and their URLs ("" when an item has none)."""
        return self.featurizer.transform(texts, urls)

    def predict_proba_features(self, X: sp.csr_matrix) -> np.ndarray:
        """(n, C) P(category) from a feature matrix made by `transform`.

        Single-label: the C category columns of the softmax; P(none of these) = 1 - row sum.
        """
        full = self.weights.full_proba(X)
        return full if self.multi_label else full[:, : self.categories]

    def predict_proba(self, texts: list[str], urls: list[str]) -> np.ndarray:
        """(n, C) P(category) for n texts and their URLs."""
        return self.predict_proba_features(self.transform(texts, urls))

    def predict(self, texts: list[str], urls: list[str]) -> np.ndarray:
        """(n, C) 0/1 predicted labels (see `evaluation.decide`)."""
        return decide(self.predict_proba(texts, urls), multi_label=self.multi_label)

    def to_bytes(self) -> bytes:
        from learning.ml.artifact import dump_model

        return dump_model(self)

    @staticmethod
    def from_bytes(b: bytes) -> FittedModel:
        from learning.ml.artifact import load_model

        return load_model(b)


def fit_on_features(
    featurizer: Featurizer,
    X: sp.csr_matrix,
    Y: np.ndarray,
    *,
    multi_label: bool,
    seed: int,
    c: float = 1.0,
    threads: int = 1,
) -> FittedModel:
    """Fit the classifier on rows already featurized by `featurizer` (X: (n, F), Y: (n, C));
    `threads`: one-vs-rest categories fitted at once (`classifier.fit_linear`)."""
    Y = indicator(Y, multi_label=multi_label)
    weights = fit_linear(X, Y, multi_label=multi_label, seed=seed, c=c, threads=threads)
    return FittedModel(
        featurizer=featurizer, weights=weights, categories=Y.shape[1], multi_label=multi_label
    )


def fit_model(
    texts: list[str],
    urls: list[str],
    Y: np.ndarray,
    *,
    multi_label: bool,
    features: FeatureConfig,
    seed: int,
    unlabeled_texts: list[str] | None = None,
    unlabeled_urls: list[str] | None = None,
    c: float = 1.0,
) -> FittedModel:
    """Fit on n labeled texts, their URLs and Y, an (n, C) 0/1 indicator matrix.

    Single-label: each row has at most one 1; an all-zero row is "none of these", its own class
    internally. A category with no positives (or only positives) gets a constant prediction.
    `unlabeled_texts`/`unlabeled_urls` (optional, equal length) join the featurizer's fit only.
    `c` is the inverse L2 regularisation strength.
    """
    Y = indicator(Y, multi_label=multi_label)
    if len(texts) != Y.shape[0] or len(urls) != Y.shape[0]:
        raise ValueError("texts, urls and Y must have the same number of rows")
    if not unlabeled_texts:
        return fit_with_features(
            texts, urls, Y, multi_label=multi_label, features=features, seed=seed, c=c
        )[0]
    if unlabeled_urls is None or len(unlabeled_urls) != len(unlabeled_texts):
        raise ValueError("unlabeled_texts and unlabeled_urls must have the same length")
    vocab_texts, vocab_urls = list(texts) + unlabeled_texts, list(urls) + unlabeled_urls
    featurizer, X_all = fit_transform(vocab_texts, vocab_urls, features)
    X = X_all[: len(texts)]
    return fit_on_features(featurizer, X, Y, multi_label=multi_label, seed=seed, c=c)


def fit_with_features(
    texts: list[str],
    urls: list[str],
    Y: np.ndarray,
    *,
    multi_label: bool,
    features: FeatureConfig,
    seed: int,
    c: float = 1.0,
    threads: int = 1,
) -> tuple[FittedModel, sp.csr_matrix]:
    """`fit_model` on labeled texts only, also returning their (n, F) feature matrix, so
    cross-validation (`cross_validate_features`) can reuse it instead of featurizing the same
    texts again. Shapes and checks as in `fit_model`."""
    Y = indicator(Y, multi_label=multi_label)
    if len(texts) != Y.shape[0] or len(urls) != Y.shape[0]:
        raise ValueError("texts, urls and Y must have the same number of rows")
    featurizer, X = fit_transform(texts, urls, features)
    model = fit_on_features(
        featurizer, X, Y, multi_label=multi_label, seed=seed, c=c, threads=threads
    )
    return model, X
