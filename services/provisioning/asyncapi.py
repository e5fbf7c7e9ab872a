"""The AsyncAPI document of provisioning (`make asyncapi`): built without I/O."""

from __future__ import annotations

from faststream.specification import AsyncAPI

from services.provisioning.bootstrap import build_app
from services.provisioning.settings import ProvisioningSettings
from shared.messaging.asyncapi import asyncapi_document


def asyncapi() -> AsyncAPI:
    return asyncapi_document(build_app(ProvisioningSettings()))
