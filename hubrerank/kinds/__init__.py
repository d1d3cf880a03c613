"""Model kinds: what a model folder holds (:func:`model_kind`), and what each trainable kind needs
(:class:`KindSpec`, :func:`get_kind`): the seam where training, evaluation, cards and card -> recipe
dispatch."""

from hubrerank.kinds.detect import ModelKind, model_kind, read_json
from hubrerank.kinds.spec import KindSpec, get_kind

__all__ = ["KindSpec", "ModelKind", "get_kind", "model_kind", "read_json"]
