"""Customers belong to the partner that created them; to anyone else they do not exist."""

from __future__ import annotations

import uuid
from datetime import datetime

from services.ordering.adapters.repositories import CustomerRepository
from services.ordering.domain.errors import InvalidInput, NotFound
from services.ordering.domain.model import Customer
from shared.store.port import UnitOfWork


async def owned_customer(uow: UnitOfWork, csp_partner_id: str, customer_id: str) -> Customer:
    """The customer if this partner owns it; NotFound otherwise (no existence leak)."""
    customer = await CustomerRepository(uow).get(customer_id)
    if customer is None or customer.csp_partner_id != csp_partner_id:
        raise NotFound(f"customer {customer_id} not found")
    return customer


async def create_customer(
    uow: UnitOfWork,
    *,
    csp_partner_id: str,
    company_name: str,
    domain: str | None,
    now: datetime,
) -> Customer:
    if not company_name.strip():
        raise InvalidInput("companyName must not be empty", "companyName")
    customer = Customer(
        id=str(uuid.uuid4()),
        csp_partner_id=csp_partner_id,
        company_name=company_name.strip(),
        domain=domain.strip() if domain and domain.strip() else None,
        creation_date=now,
    )
    await CustomerRepository(uow).add(customer)
    await uow.commit()
    return customer


async def list_customers(uow: UnitOfWork, csp_partner_id: str) -> list[Customer]:
    return await CustomerRepository(uow).list_for_partner(csp_partner_id)
