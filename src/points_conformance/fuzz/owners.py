"""The ledgers the target file promises, as the fuzzer asks for them.

An `Owner` is a customer or group of the target file with what it is known to hold; the tables
say by which names each operation identifies a customer, and which `Customer` field holds it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from points_conformance.target import Customer, Group


@dataclass(frozen=True)
class Owner:
    """A ledger the target file promises: a customer or a group, and what it is known to hold."""

    role: str
    identifiers: dict[str, str]
    group_type: str | None = None
    events: int | None = None
    program_ids: tuple[int, ...] = ()
    till_ids: tuple[int, ...] = ()
    store_ids: tuple[int, ...] = ()
    store_codes: tuple[str, ...] = ()
    currencies: tuple[str, ...] = ()

    @property
    def is_group(self) -> bool:
        return self.group_type is not None


# identifierName of getCustomerLedgerInfo -> Customer field.
LEDGER_NAMES = {
    "id": "id",
    "mobile": "mobile",
    "email": "email",
    "externalId": "external_id",
    "cardnumber": "cardnumber",
    "cardExternalId": "card_external_id",
}
CONNECTED_NAMES = ("id", "mobile", "email", "externalId")
BALANCE_NAMES = ("mobile", "email", "externalId", "cardnumber", "cardExternalId")
HISTORY_NAMES = ("mobile", "email", "externalId", "cardnumber")
# isTransferrable / transfer identifier type -> Customer field.
TRANSFER_TYPES = {"ID": "id", "MOBILE": "mobile", "EXTERNAL_ID": "external_id", "EMAIL": "email"}
# userGroup2 identifierType of a customer -> Customer field.
GROUP_CUSTOMER_TYPES = {"mobile": "mobile", "email": "email", "externalId": "external_id"}


def customer_owner(customer: Customer, names: Mapping[str, str]) -> Owner:
    identifiers = {
        name: str(getattr(customer, fld))
        for name, fld in names.items()
        if getattr(customer, fld, None)
    }
    return Owner(
        role=customer.role,
        identifiers=identifiers,
        events=customer.events,
        program_ids=customer.program_ids,
        till_ids=customer.till_ids,
        store_ids=customer.store_ids,
        store_codes=customer.store_codes,
        currencies=customer.alternate_currencies,
    )


def group_owner(group: Group) -> Owner:
    identifiers = {
        name: str(value)
        for name, value in (
            ("groupId", group.id),
            ("externalId", group.external_id),
            ("primaryUserId", group.primary_user_id),
        )
        if value
    }
    return Owner(role=group.role, identifiers=identifiers, group_type=group.type)


def has_events(customer: Customer) -> bool:
    # Without a count, programs its ledger touches are the target file's word that it has one.
    return bool(customer.events) if customer.events is not None else bool(customer.program_ids)
