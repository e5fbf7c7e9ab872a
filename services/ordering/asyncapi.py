"""The AsyncAPI document of ordering (`make asyncapi`): built without I/O."""

from __future__ import annotations

from faststream.specification import AsyncAPI

from services.ordering.bootstrap import build_app
from services.ordering.settings import OrderingSettings
from shared.messaging.asyncapi import asyncapi_document


def asyncapi() -> AsyncAPI:
    return asyncapi_document(build_app(OrderingSettings()))
