"""Linear attack-report model stored as plain arrays (``.npz``).

Per language the file holds two logistic regressions and the decision
threshold:

* the rule model: rule-feature scaling, weights of the rule features and of
  the hashed words of attack sentences, intercept;
* the text model: weights of hashed word 1–2-grams and character 3–5-grams
  (:func:`~detector.features.extract_text_features`), intercept.

The score is the logistic of the weighted mean of the two log-odds
(``stack_weight`` for the rule model). Loading uses
``numpy.load(allow_pickle=False)`` and scoring is a dot product, so inference
needs neither pickle nor scikit-learn.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .features import HASH_DIM, RULE_FEATURES, TEXT_DIM

logger = logging.getLogger(__name__)

MODEL_PATH = Path(__file__).resolve().parent / "data" / "model.npz"
FORMAT_VERSION = 2


@dataclass
class LinearModel:
    """Logistic-regression weights for one language."""

    language: str
    rule_names: list[str]
    rule_mean: np.ndarray
    rule_scale: np.ndarray
    rule_coef: np.ndarray
    hash_coef: np.ndarray
    intercept: float
    threshold: float
    text_coef: np.ndarray | None = None
    text_intercept: float = 0.0
    stack_weight: float = 1.0

    def rule_decision(self, rules: dict[str, float], hashed: dict[int, float]) -> float:
        """Log-odds of the rule model."""
        values = np.fromiter((rules.get(n, 0.0) for n in self.rule_names), dtype=np.float64, count=len(self.rule_names))
        total = float(np.dot((values - self.rule_mean) / self.rule_scale, self.rule_coef)) + self.intercept
        for index, value in hashed.items():
            total += float(self.hash_coef[index]) * value
        return total

    def text_decision(self, text: dict[int, float]) -> float:
        """Log-odds of the text model (0 without one)."""
        if self.text_coef is None:
            return 0.0
        if not text:
            return self.text_intercept
        indices = np.fromiter(text.keys(), dtype=np.int64, count=len(text))
        values = np.fromiter(text.values(), dtype=np.float64, count=len(text))
        return float(np.dot(self.text_coef[indices], values)) + self.text_intercept

    def decision(self, rules: dict[str, float], hashed: dict[int, float], text: dict[int, float] | None = None) -> float:
        """Combined log-odds: weighted mean of the rule and text models."""
        z = self.rule_decision(rules, hashed)
        if self.text_coef is None or self.stack_weight >= 1.0:
            return z
        return self.stack_weight * _clip(z) + (1.0 - self.stack_weight) * _clip(self.text_decision(text or {}))

    def score(self, rules: dict[str, float], hashed: dict[int, float], text: dict[int, float] | None = None) -> float:
        """Probability-like score in [0, 1]."""
        z = self.decision(rules, hashed, text)
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))

    def top_rule_contributions(self, rules: dict[str, float], limit: int = 5) -> list[tuple[str, float]]:
        """Rule features with the largest positive contributions."""
        values = np.array([rules.get(n, 0.0) for n in self.rule_names])
        contrib = (values - self.rule_mean) / self.rule_scale * self.rule_coef
        order = np.argsort(-contrib)[:limit]
        return [(self.rule_names[i], round(float(contrib[i]), 3)) for i in order if contrib[i] > 0]


def _clip(z: float) -> float:
    """Log-odds bounded as those of a probability clipped to [1e-6, 1 - 1e-6]."""
    return max(min(z, 13.8155), -13.8155)


def save_models(models: dict[str, LinearModel], path: Path = MODEL_PATH, info: dict | None = None) -> None:
    """Write models to an ``.npz`` file (no pickled objects)."""
    arrays: dict[str, np.ndarray] = {}
    meta = {"format": FORMAT_VERSION, "hash_dim": HASH_DIM, "text_dim": TEXT_DIM, "languages": {}, "info": info or {}}
    for language, model in models.items():
        arrays[f"{language}_rule_mean"] = model.rule_mean.astype(np.float32)
        arrays[f"{language}_rule_scale"] = model.rule_scale.astype(np.float32)
        arrays[f"{language}_rule_coef"] = model.rule_coef.astype(np.float32)
        arrays[f"{language}_hash_coef"] = model.hash_coef.astype(np.float32)
        if model.text_coef is not None:
            # float16 keeps the file small; the weights are far from its limits
            arrays[f"{language}_text_coef"] = model.text_coef.astype(np.float16)
        meta["languages"][language] = {
            "rule_names": model.rule_names,
            "intercept": model.intercept,
            "threshold": model.threshold,
            "text_intercept": model.text_intercept,
            "stack_weight": model.stack_weight,
        }
    arrays["meta"] = np.frombuffer(json.dumps(meta, sort_keys=True).encode("utf-8"), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        np.savez_compressed(handle, **arrays)
    logger.info("wrote model to %s", path)


def load_models(path: Path = MODEL_PATH) -> dict[str, LinearModel]:
    """Load all language models from ``path``."""
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(bytes(data["meta"]).decode("utf-8"))
        if meta.get("format") != FORMAT_VERSION or meta.get("hash_dim") != HASH_DIM or meta.get("text_dim") != TEXT_DIM:
            raise ValueError(f"incompatible model file {path}")
        models = {}
        for language, info in meta["languages"].items():
            models[language] = LinearModel(
                language=language,
                rule_names=list(info["rule_names"]),
                rule_mean=data[f"{language}_rule_mean"].astype(np.float64),
                rule_scale=data[f"{language}_rule_scale"].astype(np.float64),
                rule_coef=data[f"{language}_rule_coef"].astype(np.float64),
                hash_coef=data[f"{language}_hash_coef"].astype(np.float64),
                intercept=float(info["intercept"]),
                threshold=float(info["threshold"]),
                text_coef=data[f"{language}_text_coef"].astype(np.float64) if f"{language}_text_coef" in data else None,
                text_intercept=float(info.get("text_intercept", 0.0)),
                stack_weight=float(info.get("stack_weight", 1.0)),
            )
    missing = set(RULE_FEATURES) - set(next(iter(models.values())).rule_names) if models else set()
    if missing:
        logger.warning("model lacks rule features %s; they are ignored", sorted(missing))
    return models
