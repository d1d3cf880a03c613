"""Card metadata checks of ``POST /api/validate-yaml``, answered the way huggingface.co answers them.

The Hub refuses a README whose ``model-index`` is not a list of objects with ``name`` and ``results``
(400, Joi-style messages such as ``"model-index" must be an array``) and warns about a card without
metadata. Clients read ``{"errors": [{"message"}], "warnings": [{"message"}]}``, or with
``Accept: text/plain`` (``RepoCard.validate``) lines like ``- Error: "model-index" must be an array``.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, PlainTextResponse, Response

EMPTY_METADATA = "empty or missing yaml metadata in repo card"


def model_index_errors(value: Any) -> list[str]:
    """What is wrong with a card's ``model-index`` (nothing deeper than each entry's name and results)."""
    if not isinstance(value, list):
        return ['"model-index" must be an array']
    errors = []
    for i, item in enumerate(value):
        where = f'"model-index[{i}]'
        if not isinstance(item, dict):
            errors.append(f'{where}" must be of type object')
            continue
        for key in ("name", "results"):
            if key not in item:
                errors.append(f'{where}.{key}" is required')
        if "results" in item and not isinstance(item["results"], list):
            errors.append(f'{where}.results" must be an array')
    return errors


def validation_answer(metadata: dict | None, accept: str) -> Response:
    """The validate-yaml answer for a card whose front matter parsed to ``metadata``."""
    errors = model_index_errors(metadata["model-index"]) if metadata and "model-index" in metadata else []
    warnings = [] if metadata else [EMPTY_METADATA]
    status = 400 if errors else 200
    if "text/plain" in accept:
        lines = [f"- Error: {e}" for e in errors] + [f"- Warning: {w}" for w in warnings]
        return PlainTextResponse("\n".join(lines), status_code=status)
    body: dict[str, Any] = {
        "errors": [{"message": e} for e in errors],
        "warnings": [{"message": w} for w in warnings],
    }
    headers = {"X-Error-Message": "; ".join(errors)} if errors else {}
    if errors:
        body["error"] = "; ".join(errors)
    return JSONResponse(body, status_code=status, headers=headers)
