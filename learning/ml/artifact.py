"""Model artifact: a FittedModel as bytes, without pickle.

The artifact is a compressed NumPy `.npz` read with `allow_pickle=False`: a JSON header (format
version, categories, feature configuration, block kinds), per feature block its IDF array and
(vocabulary mode) its term list as JSON, and the sparse coefficients and intercepts. Loading
therefore never executes code, and a model saved today still loads after a scikit-learn upgrade
(the vectorizers are rebuilt from their plain state).
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import scipy.sparse as sp

from learning.ml.classifier import LinearWeights
from learning.ml.features import FeatureBlock, FeatureConfig, Featurizer

FORMAT = "goldset-linear-model"
VERSION = 1


def _json_array(value: Any) -> np.ndarray:
    return np.frombuffer(json.dumps(value, ensure_ascii=False).encode("utf-8"), dtype=np.uint8)


def _from_json_array(array: np.ndarray) -> Any:
    return json.loads(array.tobytes().decode("utf-8"))


def dump_model(model: Any) -> bytes:
    """Serialise a `learning.ml.model.FittedModel`."""
    featurizer: Featurizer = model.featurizer
    weights: LinearWeights = model.weights
    header = {
        "format": FORMAT,
        "version": VERSION,
        "categories": model.categories,
        "multi_label": model.multi_label,
        "kind": weights.kind,
        "features": featurizer.config.as_dict(),
        "blocks": [block.kind for block in featurizer.blocks],
    }
    coef = weights.coef.tocsr()
    arrays: dict[str, Any] = {
        "header": _json_array(header),
        "coef_data": coef.data.astype(np.float32),
        "coef_indices": coef.indices.astype(np.int32),
        "coef_indptr": coef.indptr.astype(np.int64),
        "coef_shape": np.array(coef.shape, dtype=np.int64),
        "intercept": weights.intercept.astype(np.float64),
    }
    for i, block in enumerate(featurizer.blocks):
        arrays[f"block{i}_idf"] = block.idf
        if block.terms is not None:
            arrays[f"block{i}_terms"] = _json_array(block.terms)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def load_model(data: bytes) -> Any:
    """Rebuild a FittedModel from `dump_model` bytes; ValueError if they are not one."""
    from learning.ml.model import FittedModel

    try:
        npz = np.load(io.BytesIO(data), allow_pickle=False)
        header = _from_json_array(npz["header"])
    except (OSError, KeyError, ValueError) as exc:
        raise ValueError("not a goldset model artifact") from exc
    if header.get("format") != FORMAT or header.get("version") != VERSION:
        raise ValueError(
            f"unsupported model artifact {header.get('format')} v{header.get('version')}"
        )
    config = FeatureConfig.from_dict(header["features"])
    blocks = []
    for i, kind in enumerate(header["blocks"]):
        terms = _from_json_array(npz[f"block{i}_terms"]) if f"block{i}_terms" in npz else None
        blocks.append(FeatureBlock(kind=kind, idf=npz[f"block{i}_idf"], terms=terms))
    coef = sp.csr_matrix(
        (npz["coef_data"], npz["coef_indices"], npz["coef_indptr"]),
        shape=tuple(int(v) for v in npz["coef_shape"]),
    )
    weights = LinearWeights(header["kind"], coef, npz["intercept"])
    return FittedModel(
        featurizer=Featurizer(config, blocks),
        weights=weights,
        categories=int(header["categories"]),
        multi_label=bool(header["multi_label"]),
    )
