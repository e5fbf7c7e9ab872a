"""The AsyncAPI document of billing (`make asyncapi`): built without I/O."""

from __future__ import annotations

from faststream.specification import AsyncAPI

from services.billing.bootstrap import build_app
from services.billing.settings import BillingSettings
from shared.messaging.asyncapi import asyncapi_document


def asyncapi() -> AsyncAPI:
    return asyncapi_document(build_app(BillingSettings()))
