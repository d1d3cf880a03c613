"""The losses a recipe may name, per model kind: their aliases, the data form each trains on, the label
columns it accepts, and the parameters a recipe may give it (its signature, plus the torch loss its
``**kwargs`` reach). The recipe reader checks recipes against this registry; the trainer builds from it.

Bi-encoder losses may also wrap another loss (``MatryoshkaLoss``: the recipe's ``loss.inner``) or need
a guide model (``GISTEmbedLoss``: the recipe's ``loss.guide``, a pinned model repo). A sparse encoder
(SPLADE) trains its ranking loss inside ``SpladeLoss`` (or ``CachedSpladeLoss``), which adds the FLOPS
regularizers that keep its vectors sparse, or, a CSR model (a dense encoder under a ``SparseAutoEncoder``,
sparse by its top-k), inside ``CSRLoss``, which adds the autoencoder's reconstruction losses: the recipe
names the ranking loss as ``loss.inner`` and the wrapper's weights as its parameters.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

from hubrerank.errors import RecipeError
from hubrerank.kinds.spec import DEFAULT_KIND, get_kind
from hubrerank.suggestions import did_you_mean

# the input columns of each training form (docs/contracts.md); the labels depend on the loss
FORM_COLUMNS = {
    "labeled-pair": "query, passage",
    "n-tuple": "query, positive, negative_1..negative_n",
    "labeled-list": "query, documents",
    "triplet": "query, positive, negative_1 (or negative)",
}
# the --output-format of `hubrerank data build` that makes each form
BUILD_FORMAT = {
    "labeled-pair": "labeled-pair",
    "n-tuple": "n-tuple",
    "labeled-list": "labeled-list",
    "triplet": "n-tuple",
}


@dataclass(frozen=True)
class LossInfo:
    """A loss of model kind ``kind``: its class name, short aliases, the data form it trains on, its labels.

    ``labels`` lists the label columns it accepts, preferred first (empty: the loss takes none);
    ``torch_loss`` names the ``torch.nn`` loss its ``**kwargs`` are passed to, if any. A ``wrapper``
    trains the recipe's ``loss.inner`` loss (whose form and labels are the data's); a loss with a
    ``guide`` takes the recipe's ``loss.guide`` model as that parameter. A ``wrapped`` loss trains only as a
    wrapper's inner loss (a sparse ranking loss inside SpladeLoss, which refuses it alone).
    """

    name: str
    aliases: tuple[str, ...]
    form: str
    labels: tuple[str, ...]
    torch_loss: str | None = None
    kind: str = DEFAULT_KIND
    wrapper: bool = False
    guide: str | None = None
    wrapped: bool = False


_LISTWISE_LABELS = ("labels", "scores")
LOSSES: dict[str, LossInfo] = {
    info.name: info
    for info in (
        LossInfo("BinaryCrossEntropyLoss", ("BCE",), "labeled-pair", ("label", "score"), "BCEWithLogitsLoss"),
        LossInfo("CrossEntropyLoss", ("CE",), "labeled-pair", ("label",), "CrossEntropyLoss"),
        LossInfo("MultipleNegativesRankingLoss", ("MNRL",), "n-tuple", ()),
        LossInfo("CachedMultipleNegativesRankingLoss", ("CMNRL",), "n-tuple", ()),
        LossInfo("MSELoss", ("MSE",), "labeled-pair", ("score", "label"), "MSELoss"),
        LossInfo("MarginMSELoss", ("MarginMSE",), "n-tuple", ("scores",), "MSELoss"),
        LossInfo("ListNetLoss", ("ListNet",), "labeled-list", _LISTWISE_LABELS),
        LossInfo("ListMLELoss", ("ListMLE",), "labeled-list", _LISTWISE_LABELS),
        LossInfo("PListMLELoss", ("PListMLE",), "labeled-list", _LISTWISE_LABELS),
        LossInfo("LambdaLoss", ("Lambda",), "labeled-list", _LISTWISE_LABELS),
        LossInfo("RankNetLoss", ("RankNet",), "labeled-list", _LISTWISE_LABELS),
        LossInfo("ADRMSELoss", ("ADRMSE",), "labeled-list", _LISTWISE_LABELS),
    )
}

_BI = "bi-encoder"
BI_ENCODER_LOSSES: dict[str, LossInfo] = {
    info.name: info
    for info in (
        LossInfo("MultipleNegativesRankingLoss", ("MNRL",), "n-tuple", (), kind=_BI),
        LossInfo("CachedMultipleNegativesRankingLoss", ("CMNRL",), "n-tuple", (), kind=_BI),
        LossInfo("GISTEmbedLoss", ("GIST",), "triplet", (), kind=_BI, guide="guide"),
        LossInfo("CachedGISTEmbedLoss", ("CGIST",), "triplet", (), kind=_BI, guide="guide"),
        LossInfo("TripletLoss", ("Triplet",), "triplet", (), kind=_BI),
        LossInfo("CoSENTLoss", ("CoSENT",), "labeled-pair", ("score", "label"), kind=_BI),
        LossInfo("MatryoshkaLoss", ("Matryoshka",), "", (), kind=_BI, wrapper=True),
    )
}

_SPARSE = "sparse-encoder"
_IN_SPLADE = {"kind": _SPARSE, "wrapped": True}  # a sparse ranking loss: SpladeLoss's or CSRLoss's loss.inner
SPARSE_ENCODER_LOSSES: dict[str, LossInfo] = {
    info.name: info
    for info in (
        LossInfo("SpladeLoss", ("Splade",), "", (), kind=_SPARSE, wrapper=True),
        LossInfo("CachedSpladeLoss", ("CachedSplade",), "", (), kind=_SPARSE, wrapper=True),
        LossInfo("CSRLoss", ("CSR",), "", (), kind=_SPARSE, wrapper=True),
        LossInfo("SparseMultipleNegativesRankingLoss", ("SparseMNRL",), "n-tuple", (), **_IN_SPLADE),
        LossInfo("SparseMarginMSELoss", ("SparseMarginMSE",), "n-tuple", ("scores",), **_IN_SPLADE),
        LossInfo("SparseDistillKLDivLoss", ("SparseDistillKLDiv",), "n-tuple", ("scores",), **_IN_SPLADE),
        LossInfo("SparseTripletLoss", ("SparseTriplet",), "triplet", (), **_IN_SPLADE),
        LossInfo("SparseCoSENTLoss", ("SparseCoSENT",), "labeled-pair", ("score", "label"), **_IN_SPLADE),
    )
}
_MV = "multi-vector"
MULTI_VECTOR_LOSSES: dict[str, LossInfo] = {
    name: LossInfo(name, (alias,), "n-tuple", labels, kind=_MV)
    for name, alias, labels in (
        ("MultiVectorMultipleNegativesRankingLoss", "MultiVectorMNRL", ()),
        ("CachedMultiVectorMultipleNegativesRankingLoss", "CachedMultiVectorMNRL", ()),
        ("MultiVectorMarginMSELoss", "MultiVectorMarginMSE", ("scores",)),
        ("MultiVectorDistillKLDivLoss", "MultiVectorDistillKLDiv", ("scores",)),
    )
}
LOSSES_BY_KIND: dict[str, dict[str, LossInfo]] = {
    DEFAULT_KIND: LOSSES,
    _BI: BI_ENCODER_LOSSES,
    _SPARSE: SPARSE_ENCODER_LOSSES,
    _MV: MULTI_VECTOR_LOSSES,
}

# Loss parameters whose values are lists of numbers (MatryoshkaLoss's dimensions and their weights).
NUMBER_LIST_PARAMS = frozenset({"matryoshka_dims", "matryoshka_weights"})
# Loss parameters whose values are objects: the recipe names one of these, never an import path.
OBJECT_PARAMS: dict[str, tuple[str, ...]] = {
    "activation_fn": ("Identity", "Sigmoid", "Tanh"),  # torch.nn
    "weighting_scheme": (  # sentence_transformers.cross_encoder.losses, for LambdaLoss
        "NoWeightingScheme",
        "NDCGLoss1Scheme",
        "NDCGLoss2Scheme",
        "LambdaRankScheme",
        "NDCGLoss2PPScheme",
    ),
    "lambda_weight": ("PListMLELambdaWeight",),  # for PListMLELoss
}
TENSOR_PARAMS = frozenset({"pos_weight"})
_TORCH_LOSS_KWARGS_EXCLUDED = frozenset({"weight", "pos_weight", "size_average", "reduce"})


def find_loss(
    name: str, source: str = "recipe", kind: str = DEFAULT_KIND, key: str = "loss.name"
) -> LossInfo:
    """The ``kind`` loss called ``name`` (class name or alias, any case); ``key`` names it in errors."""
    losses = LOSSES_BY_KIND[kind]
    by_name = {key.lower(): info for info in losses.values() for key in (info.name, *info.aliases)}
    if name.lower() in by_name:
        return by_name[name.lower()]
    stripped = by_name.get(name.lower().removesuffix("loss"))
    hint = f"; did you mean {stripped.name}?" if stripped else did_you_mean(name, losses) or "."
    aliases = ", ".join(alias for info in losses.values() for alias in info.aliases[:1])
    raise RecipeError(
        f"{source}: {key} {name!r} is not a {kind} loss{hint} Use one of {', '.join(losses)} (or {aliases})"
    )


def loss_parameters(info: LossInfo) -> dict[str, inspect.Parameter]:
    """The keyword parameters a recipe may give ``info``'s loss: its signature (without model) and kwargs."""
    import importlib

    losses = importlib.import_module(get_kind(info.kind).losses_module)

    signature = inspect.signature(getattr(losses, info.name).__init__)
    parameters = {
        name: parameter
        for name, parameter in signature.parameters.items()
        if name not in ("self", "model", "loss", info.guide)
        and parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)
    }
    if info.torch_loss and any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values()):
        import torch

        torch_signature = inspect.signature(getattr(torch.nn, info.torch_loss).__init__)
        for name, parameter in torch_signature.parameters.items():
            if name != "self" and name not in _TORCH_LOSS_KWARGS_EXCLUDED and name not in parameters:
                parameters[name] = parameter
    return parameters
