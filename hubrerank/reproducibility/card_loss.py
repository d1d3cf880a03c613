"""The loss of a card sentence-transformers' trainer wrote, rebuilt as a recipe's ``loss`` section: the
class the card names, its parameters where they differ from the signature's defaults, the loss a wrapper
trains (MatryoshkaLoss's by name, SpladeLoss's as its printed repr), a guide model (GISTEmbedLoss), and
what ``CrossEncoder.fit()`` trained with. Everything a card leaves out is a gap in ``unknown``.
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
from typing import TYPE_CHECKING, Any

from hubrerank.kinds.spec import get_kind
from hubrerank.refs import ResolvedRef
from hubrerank.reproducibility.st_card import StCard, printed_call

if TYPE_CHECKING:
    from hubrerank.training.losses import LossInfo

REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")
# the loss CrossEncoder.fit() trains with (it records FitMixinLoss): by its wrapped torch loss, else by the
# number of labels as fit() chose it (BCEWithLogitsLoss for one label, CrossEntropyLoss for more)
_FIT_LOSSES = {"BCEWithLogitsLoss": "BinaryCrossEntropyLoss", "CrossEntropyLoss": "CrossEntropyLoss",
               "MSELoss": "MSELoss"}  # fmt: skip
# function-valued loss parameters whose default None means "the model's own" (multi-vector losses' MaxSim)
_MODEL_FUNCTIONS = frozenset({"similarity_fct"})
# how a card prints a guide model given by repo id: SentenceTransformer('ORG/NAME')
_GUIDE_REPO = re.compile(r"^SentenceTransformer\('([^']+)'\)$")


def loss_from_card(card: StCard, source: ResolvedRef, unknown: dict[str, str]) -> dict[str, Any]:
    """The recipe's ``loss`` section from the loss the card names for its training data (one loss for all
    of it), with the parameters that differ from their defaults; what the card leaves out goes to
    ``unknown``."""
    from hubrerank.training.losses import find_loss

    losses = {(d.loss, json.dumps(d.loss_params, sort_keys=True)) for d in card.train_datasets if d.loss}
    if len(losses) != 1:
        unknown["loss"] = "the card names no loss" if not losses else "the card uses one loss per dataset"
        return {"name": None}
    name, _ = losses.pop()
    card_params = next(d.loss_params for d in card.train_datasets if d.loss)
    if name == "FitMixinLoss":
        return _fit_loss(card, card_params, unknown)
    info = find_loss(name, f"the card of {source}", card.kind)
    card_params = dict(card_params)
    loss: dict[str, Any] = {"name": info.name}
    if info.wrapper and (inner := _inner_loss(card_params.pop("loss", None), info.name, card.kind, unknown)):
        loss["inner"] = inner
    if info.guide:
        loss |= _guide(card_params.pop(info.guide, None), info.name, unknown)
    params = _loss_params(info, card_params, card.kind, unknown)
    return {"name": info.name, "params": params, **loss} if params else loss


def _loss_params(
    info: LossInfo, card_params: dict[str, Any], kind: str, unknown: dict[str, str]
) -> dict[str, Any]:
    """The parameters a card printed for ``info``'s loss that differ from its defaults, as a recipe
    gives them; a function-valued one is a gap in ``unknown``."""
    from hubrerank.training.losses import OBJECT_PARAMS, loss_parameters

    parameters = loss_parameters(info)
    losses_module = importlib.import_module(get_kind(kind).losses_module)
    params = {}
    for key, value in card_params.items():
        if isinstance(value, str) and key in OBJECT_PARAMS:
            value = value.rsplit(".", 1)[-1]
        default = parameters[key].default if key in parameters else inspect.Parameter.empty
        if default is not inspect.Parameter.empty and _same_object(value, default, losses_module):
            continue
        if key == "matryoshka_weights" and value == [1] * len(card_params.get("matryoshka_dims") or []):
            continue  # MatryoshkaLoss's default: every dimension weighs 1
        if inspect.isroutine(default):
            unknown[f"loss.params.{key}"] = (
                f"the card's {info.name} ran with {key}={value!r}, a function a recipe cannot set; the "
                f"recipe would train with the default {getattr(default, '__name__', default)!r}"
            )
            continue
        if key in _MODEL_FUNCTIONS and default is None:
            # None: the loss takes the model's own scoring function, which the card prints by name
            unknown[f"loss.params.{key}"] = (
                f"the card's {info.name} ran with {key}={value!r}, a function a recipe cannot set; the "
                "recipe leaves it unset, so the loss takes the model's own, as it does by default"
            )
            continue
        params[key] = value
    return params


def _inner_loss(printed: Any, wrapper: str, kind: str, unknown: dict[str, str]) -> dict[str, Any] | None:
    """The loss a wrapper trains, as the card prints it (:func:`printed_call`): MatryoshkaLoss's by class
    name alone, so the recipe takes its parameters' defaults (listed in ``unknown``); SpladeLoss's with
    its parameters, those that differ from their defaults kept."""
    from hubrerank.errors import RecipeError
    from hubrerank.training.losses import find_loss

    name, card_params = printed_call(str(printed))
    try:
        inner = find_loss(name, f"the card's {wrapper}", kind, "loss.inner.name")
    except RecipeError as error:
        unknown["loss.inner"] = f"{error}; give the loss {wrapper} wraps"
        return None
    if card_params is None:
        unknown["inner_loss_params"] = (
            f"the card names the loss {wrapper} wraps ({inner.name}) but not its parameters; the recipe "
            "takes its defaults"
        )
        return {"name": inner.name}
    params = _loss_params(inner, card_params, kind, unknown)
    return {"name": inner.name, "params": params} if params else {"name": inner.name}


def _guide(printed: Any, loss: str, unknown: dict[str, str]) -> dict[str, Any]:
    """A guide model (GISTEmbedLoss) as ``{"guide": {repo, revision}}`` when the card prints its repo id (at
    main, a guess: the card never prints a revision), else nothing and a gap in ``unknown``."""
    match = _GUIDE_REPO.match(str(printed or ""))
    if match is None or not REPO_ID.match(match.group(1)):
        unknown["loss.guide"] = (
            f"the card's {loss} had a guide model the card does not name by repo id (it prints "
            f"{str(printed)[:60]!r}); give it as {{repo: ORG/NAME, revision: SHA}}"
        )
        return {}
    unknown["guessed loss.guide.revision"] = (
        f"the card names the guide model {match.group(1)} without a revision; the recipe reads main, which "
        "may have changed since: pin the revision the model was trained with"
    )
    return {"guide": {"repo": match.group(1), "revision": "main"}}


def _fit_loss(card: StCard, params: dict[str, Any], unknown: dict[str, str]) -> dict[str, Any]:
    """The loss a ``CrossEncoder.fit()`` run trained with: fit() wraps a torch loss in FitMixinLoss."""
    wrapped = str(params.get("loss_fct") or "").rsplit(".", 1)[-1].split("(")[0]
    default = "BCEWithLogitsLoss" if (card.num_labels or 1) == 1 else "CrossEntropyLoss"
    name = _FIT_LOSSES.get(wrapped or default)
    if name is None:
        unknown["loss"] = (
            f"the card's CrossEncoder.fit() run trained with {wrapped}, which has no hubrerank loss"
        )
        return {"name": None}
    activation = str(params.get("activation_fct") or "Identity").rsplit(".", 1)[-1].split("(")[0]
    unknown["fit_loss"] = (
        f"the card was written by CrossEncoder.fit(), which trains with torch's {wrapped or default} "
        f"(activation {activation}) wrapped as FitMixinLoss; the recipe uses {name}, the same objective"
    )
    return {"name": name}


def _same_object(value: Any, default: Any, module: Any) -> bool:
    """True when a card value equals a signature default: sequences as lists, objects by class name,
    functions by name or as the attribute of ``module`` the card names
    (``TripletDistanceMetric.EUCLIDEAN``)."""
    if isinstance(default, bool | int | float | str | type(None)):
        return value == default
    if isinstance(default, tuple | list):  # JSON prints a tuple default as a list, a repr as a tuple
        return isinstance(value, list | tuple) and list(value) == list(default)
    if inspect.isroutine(default) and isinstance(value, str):
        owner, _, member = value.rpartition(".")
        holder = getattr(module, owner, None) if owner else None
        named = getattr(holder, member, None) if holder is not None else None
        return value == getattr(default, "__name__", None) or (named is not None and named == default)
    return value == type(default).__name__
