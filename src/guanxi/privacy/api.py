from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from guanxi.core.apitypes import Id
from guanxi.privacy import services

router = Router(tags=["privacy"])


class SectionOut(Schema):
    name: str
    label: str
    rows: list[dict[str, Any]]


class PersonalDataOut(Schema):
    title: str
    customer_id: int
    language: str
    generated_at: str
    sections: list[SectionOut]


class ErasureIn(Schema):
    reason: str = ""


class ErasureOut(Schema):
    customer_id: int
    erased: dict[str, int]


@router.get("/customers/{customer_id}/personal-data", response=PersonalDataOut,
            summary="Everything held about a person (PIPL access request), in their language")
def personal_data(request: HttpRequest, customer_id: Id) -> Any:
    return services.personal_data_export(actor=request.user, customer_id=customer_id)


@router.post("/customers/{customer_id}/erasure", response=ErasureOut,
             summary="Erase a person's data everywhere (PIPL deletion request)")
def erasure(request: HttpRequest, customer_id: Id, payload: ErasureIn) -> Any:
    counts = services.person_erase(actor=request.user, customer_id=customer_id,
                                   reason=payload.reason)
    return {"customer_id": customer_id, "erased": counts}
