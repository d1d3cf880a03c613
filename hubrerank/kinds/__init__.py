"""Model kinds: what a model folder holds (cross-encoder, bi-encoder, or a bare checkpoint)."""

from hubrerank.kinds.detect import ModelKind, model_kind, read_json

__all__ = ["ModelKind", "model_kind", "read_json"]
