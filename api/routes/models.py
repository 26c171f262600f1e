"""``GET /models``: the LLM models a plan may name (see :mod:`api.llm_models`)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import SettingsDep, ViewerDep
from api.llm_models import EMBEDDED, offered_models
from api.schemas.common import ERRORS, ModelPublic, ModelsPublic

router = APIRouter(tags=["models"], responses=ERRORS)


@router.get("/models", response_model=ModelsPublic)
def list_models(_user: ViewerDep, settings: SettingsDep) -> ModelsPublic:
    """The embedded model, the GGUF files of the server's model directory and
    ``CELLTWIN_MODEL``; a plan names one by ``id`` (``proposer: "llm"``, ``llm_model``)."""
    items = [ModelPublic(id=m.id, embedded=m.id == EMBEDDED, size_mb=m.size_mb,
                         usable=m.usable, problem=m.problem)
             for m in offered_models(settings.model_dir, settings.default_model)]
    return ModelsPublic(items=items, count=len(items))
