"""Who may call what: every operation of the OpenAPI schema, for every role, and what seller B can ever read.

Roles: anonymous, the owner (seller A, whose sale the route names), another seller (B, not staff) and staff.
The list of operations comes from the generated schema, so a new route without an entry in MATRIX fails
`test_every_schema_operation_has_a_matrix_entry` instead of slipping through unchecked.

The second half sweeps every GET operation of the schema, with each of its declared query parameters set to
seller A's values (reference, search, customer, seller, sale, …), as seller B, and looks in each answer for
anything of A's: references, notes, tags, addresses, tracking codes, payment references, invoice numbers,
usernames, and the ids of A's sales, items, payments and events wherever a sale, item, payment or event shows.
"""

import base64
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from customers.tests.factories import CustomerFactory
from inventory.models import StockLevel
from inventory.tests.factories import (
    ProductFactory,
    ProductGroupFactory,
    VariantFactory,
    WarehouseFactory,
    default_warehouse,
    stocked_variant,
)
from payments import services as payment_services
from sales import services
from sales.models import ExchangeRate, PriceList, Promotion, Sale, Store, StoreMembership, StoreRole
from sales.services import ItemData, sale_record_payment
from sales.services.documents import sale_issue_invoice
from sales.tests.factories import CarrierFactory, ChannelFactory, StaffFactory, TaxRateFactory, UserFactory
from webhooks import services as webhook_services

pytestmark = pytest.mark.django_db

API = "/api/v1"
PASSWORD = "pass-w0rd!"  # the user factory's
PDF = b"%PDF-1.4\n%%EOF\n"
ROLES = ("anonymous", "owner", "other", "staff")

# The seed-native APIs under /compat/ answer in their own envelopes; compat/tests sweep them.
V1 = "/api/v1/"


@functools.cache
def schema_operations() -> dict[tuple[str, str], dict]:
    """(METHOD, path template) → the operation object, for every operation of the generated schema."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        (method.upper(), path): operation
        for path, item in schema["paths"].items()
        if path.startswith(V1)
        for method, operation in item.items()
    }


def may_refund(user) -> None:
    user.user_permissions.add(Permission.objects.get(codename="refund_sale", content_type__app_label="sales"))


def bearer(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {Token.objects.get_or_create(user=user)[0].key}")
    return client


class World:
    """The users and, made on first use, the objects a route names."""

    def __init__(self) -> None:
        default_warehouse()
        self.users = {
            "anonymous": None,
            "owner": UserFactory(username="alice-owner"),
            "other": UserFactory(username="bob-other"),
            "staff": StaffFactory(username="staff-member"),
        }
        for user in self.users.values():
            if user is not None:
                may_refund(user)
        self._sales: dict[str, Sale] = {}

    @functools.cached_property
    def variant(self):
        return stocked_variant(100)

    def sale(self, state: str = "pending", *, history: bool = True) -> Sale:
        """The owner's sale of 2 units in `state`, made through the services.

        With `history` it has an invoice and, once confirmed, is paid in full (returns and refunds
        have money to give back); without, it is a sale that may still be deleted.
        """
        key = state if history else f"{state} without history"
        if key not in self._sales:
            owner = self.users["owner"]
            sale = services.sale_create(
                seller=owner,
                data=services.NewSale(
                    items=[ItemData(variant=self.variant, quantity=2)],
                    status={"in_delivery": "confirmed"}.get(state, state),
                ),
            )
            if state == "in_delivery":
                services.sale_ship(sale=sale, user=owner)
            if history:
                services.sale_attach_invoice(sale=sale, user=owner, content=PDF, filename="a.pdf")
                if sale.stock_committed and sale.grand_total:
                    sale_record_payment(sale=sale, amount=sale.grand_total, user=owner)
            self._sales[key] = Sale.objects.get(pk=sale.pk)
        return self._sales[key]

    @functools.cached_property
    def payment(self):
        return sale_record_payment(
            sale=self.sale(), amount=Decimal("1.00"), user=self.users["owner"], reference="ALICE-PAY-1"
        )

    @functools.cached_property
    def level(self):
        return StockLevel.objects.get(variant=self.variant)


# --- the matrix ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """What each role gets, and how to build the request: `target` gives the path parameters,
    `body` the request body (a dict, or a function of the world and the role)."""

    expect: tuple[int, int, int, int]  # anonymous, owner, other seller, staff
    target: Callable[[World], dict] | None = None
    body: object = None


def own(code: int) -> tuple[int, int, int, int]:
    """A route under one of the owner's sales: another seller gets 404, as if it did not exist."""
    return (401, code, 404, code)


EVERYONE = (200, 200, 200, 200)
SIGNED_IN = (401, 200, 200, 200)
SIGNED_IN_CREATE = (401, 201, 201, 201)
STAFF_CREATE = (401, 403, 403, 201)
STAFF_WRITE = (401, 403, 403, 200)
STAFF_DELETE = (401, 403, 403, 204)


def on_sale(state: str, *, history: bool = True) -> Callable[[World], dict]:
    def target(world: World) -> dict:
        sale = world.sale(state, history=history)
        return {"id": sale.pk, "item_id": sale.items.get().pk}

    return target


def on(factory: Callable[[World], object]) -> Callable[[World], dict]:
    return lambda world: {"id": factory(world).pk}


def as_it_is(path: str, **changes) -> Callable[[World, str, dict], dict]:
    """A PUT body: the object as staff read it, with some fields changed."""

    def body(world: World, role: str, params: dict) -> dict:
        current = bearer(world.users["staff"]).get(path.format(**params)).json()
        current.pop("id", None)
        return {**current, **changes}

    return body


def catalogue_routes(
    collection: str,
    create: dict,
    factory: Callable[[World], object],
    *,
    read=SIGNED_IN,
    write=STAFF_WRITE,
    create_expect=STAFF_CREATE,
    delete=STAFF_DELETE,
    change: dict | None = None,
) -> dict:
    """The five or six routes of a catalogue or reference-data collection (`change`: what PUT and PATCH alter)."""
    item = f"{API}/{collection}/{{id}}/"
    change = change or {"name": "Renamed"}
    return {
        ("GET", f"{API}/{collection}/"): Route(read),
        ("POST", f"{API}/{collection}/"): Route(create_expect, body=create),
        ("GET", item): Route(read, on(factory)),
        ("PUT", item): Route(write, on(factory), body=as_it_is(item, **change)),
        ("PATCH", item): Route(write, on(factory), body=change),
        ("DELETE", item): Route(delete, on(factory)),
    }


def _pending_payment(world: World):
    """A pending payment of the owner's sale, for the status move."""
    return sale_record_payment(
        sale=world.sale(), amount=Decimal("1.00"), user=world.users["owner"], reference="ALICE-PENDING",
        status="pending",
    )


def _owners_store(world: World) -> Store:
    """A store the owner sells in (no sales in it: staff may delete it)."""
    store, _ = Store.objects.get_or_create(
        code="owners", defaults={"name": "Owner's", "warehouse": default_warehouse()}
    )
    StoreMembership.objects.get_or_create(store=store, user=world.users["owner"])
    return store


def _issued_invoice(world: World) -> dict:
    """The owner's confirmed sale and an invoice issued for it (records.md, "Invoices and credit notes")."""
    sale = world.sale("confirmed")
    document = sale_issue_invoice(sale=sale, user=world.users["owner"])
    return {"id": sale.pk, "invoice_id": document.pk}


SALE = f"{API}/sales/{{id}}/"
MATRIX: dict[tuple[str, str], Route] = {
    ("GET", f"{API}/"): Route(EVERYONE),
    ("POST", f"{API}/auth/token/"): Route(
        EVERYONE,
        body=lambda world, role, params: {
            "username": (world.users[role] or world.users["owner"]).username,
            "password": PASSWORD,
        },
    ),
    # Sales: a seller works on their own sales only.
    ("GET", f"{API}/sales/"): Route(SIGNED_IN),
    ("POST", f"{API}/sales/"): Route(
        SIGNED_IN_CREATE, body=lambda world, role, params: {"items": [{"variant": world.variant.pk, "quantity": 1}]}
    ),
    ("GET", f"{API}/sales/summary/"): Route(SIGNED_IN),
    ("GET", f"{API}/reports/sales/"): Route(SIGNED_IN),  # a seller's report covers their own sales only
    ("GET", SALE): Route(own(200), on_sale("pending")),
    ("PATCH", SALE): Route(own(200), on_sale("pending"), body={"note": "changed"}),
    ("DELETE", SALE): Route(own(204), on_sale("pending", history=False)),  # with history: 409 sale_has_history
    ("GET", f"{SALE}transitions/"): Route(own(200), on_sale("pending")),
    ("POST", f"{SALE}status/"): Route(own(200), on_sale("pending"), body={"status": "confirmed"}),
    ("POST", f"{SALE}submit/"): Route(own(200), on_sale("draft")),
    ("POST", f"{SALE}confirm/"): Route(own(200), on_sale("pending")),
    ("POST", f"{SALE}ship/"): Route(own(200), on_sale("confirmed"), body={"tracking_code": "T1"}),
    ("POST", f"{SALE}complete/"): Route(own(200), on_sale("in_delivery")),
    ("POST", f"{SALE}cancel/"): Route(own(200), on_sale("pending"), body={"reason": "fraud"}),
    ("POST", f"{SALE}reject/"): Route(own(200), on_sale("pending"), body={"reason": "no"}),
    ("POST", f"{SALE}refund/"): Route(own(200), on_sale("completed"), body={"restock": True}),
    ("GET", f"{SALE}activity/"): Route(own(200), on_sale("pending")),
    ("PATCH", f"{SALE}items/{{item_id}}/"): Route(own(200), on_sale("pending"), body={"tracking_code": "T1"}),
    ("GET", f"{SALE}payments/"): Route(own(200), on_sale("pending")),
    ("POST", f"{SALE}payments/"): Route(own(201), on_sale("pending"), body={"amount": "1.00", "method": "cash"}),
    ("POST", f"{SALE}returns/"): Route(
        own(201),
        on_sale("confirmed"),
        body=lambda world, role, params: {"items": [{"item": params["item_id"], "quantity": 1}], "refund": True},
    ),
    # Fulfilment and structure (fulfilment.md): the owner's like any sale route; locking is staff's.
    ("GET", f"{SALE}fulfillments/"): Route(own(200), on_sale("in_delivery")),
    ("POST", f"{SALE}fulfillments/"): Route(
        own(201), on_sale("confirmed"),
        body=lambda world, role, params: {"items": [{"item": params["item_id"], "quantity": 1}]},
    ),
    ("POST", f"{SALE}fulfillments/{{fulfillment_id}}/tracking/"): Route(
        own(201),
        lambda world: {
            "id": world.sale("in_delivery").pk,
            "fulfillment_id": world.sale("in_delivery").fulfillments.get().pk,
        },
        body={"status": "in_transit"},
    ),
    ("POST", f"{SALE}lock/"): Route((401, 403, 404, 200), on_sale("pending"), body={"reason": "review"}),
    ("POST", f"{SALE}unlock/"): Route((401, 403, 404, 200), on_sale("pending")),
    ("POST", f"{SALE}cancel-items/"): Route(
        own(200), on_sale("pending"),
        body=lambda world, role, params: {"items": [{"item": params["item_id"], "quantity": 1}]},
    ),
    ("POST", f"{SALE}split/"): Route(
        own(201), on_sale("pending"),
        body=lambda world, role, params: {"items": [{"item": params["item_id"], "quantity": 1}]},
    ),
    ("POST", f"{SALE}clone/"): Route(own(201), on_sale("completed"), body={"reason": "exchange"}),
    ("GET", f"{SALE}invoice/"): Route(own(200), on_sale("pending")),
    ("POST", f"{SALE}invoice/"): Route(
        own(201), on_sale("pending"), body={"invoice": base64.b64encode(PDF).decode(), "filename": "b.pdf"}
    ),
    # Payments: sellers record and read those of their own sales; unassigned transactions and assigning are staff's.
    ("GET", f"{API}/payments/"): Route(SIGNED_IN),
    ("POST", f"{API}/payments/"): Route(
        # Another seller naming A's sale hears "no such sale", exactly as for an id that does not exist.
        (401, 201, 400, 201),
        body=lambda world, role, params: {"sale": world.sale().pk, "amount": "1.00", "method": "cash"},
    ),
    ("GET", f"{API}/payments/{{id}}/"): Route(own(200), lambda world: {"id": world.payment.pk}),
    ("POST", f"{API}/payments/assign/"): Route(
        STAFF_WRITE,
        body=lambda world, role, params: {
            "sale": world.sale().pk,
            "transaction_reference": "TX-NEW",
            "amount": "1.00",
            "method": "bank_transfer",
        },
    ),
    # Stock: everyone signed in reads levels and the ledger; only staff book stock.
    ("GET", f"{API}/stock/"): Route(SIGNED_IN),
    ("GET", f"{API}/stock/{{id}}/"): Route(SIGNED_IN, lambda world: {"id": world.level.pk}),
    ("GET", f"{API}/stock/movements/"): Route(SIGNED_IN),
    # Events: everyone signed in reads the feed, scoped to the events of the sales they may see.
    ("GET", f"{API}/events/"): Route(SIGNED_IN),
    ("POST", f"{API}/stock/receive/"): Route(
        STAFF_WRITE, body=lambda world, role, params: {"variant": world.variant.pk, "warehouse": "MAIN", "quantity": 1}
    ),
    ("POST", f"{API}/stock/adjust/"): Route(
        STAFF_WRITE,
        body=lambda world, role, params: {
            "variant": world.variant.pk,
            "warehouse": "MAIN",
            "quantity_change": 1,
            "reason": "count",
        },
    ),
    # Catalogue and reference data: everyone signed in reads, staff write.
    **catalogue_routes("products", {"sku": "NEW-1", "name": "New", "price": "5.00"}, lambda world: ProductFactory()),
    **catalogue_routes(
        "variants",
        {},
        lambda world: VariantFactory(product=ProductFactory()),
    ),
    **catalogue_routes(
        "warehouses", {"code": "EU", "name": "Europe", "country": "DE"}, lambda world: WarehouseFactory()
    ),
    **catalogue_routes("product-groups", {"code": "shoes", "name": "Shoes"}, lambda world: ProductGroupFactory()),
    **catalogue_routes("channels", {"code": "web2", "name": "Web", "kind": "web"}, lambda world: ChannelFactory()),
    **catalogue_routes(
        "carriers", {"code": "dhl", "name": "DHL", "tracking_url_template": ""}, lambda world: CarrierFactory()
    ),
    **catalogue_routes(
        "taxes",
        {"code": "vat22", "name": "VAT 22%", "rate": "22.00"},
        lambda world: TaxRateFactory(code="vat9", name="VAT 9%", rate=Decimal("9.00")),
    ),
    # Money round 2: exchange rates and price lists are read by everyone, written by staff; promotions are staff's.
    **catalogue_routes(
        "exchange-rates",
        {"currency": "EUR", "rate": "1.08000000", "valid_from": "2026-01-01T00:00:00Z"},
        lambda world: ExchangeRate.objects.create(currency="GBP", rate=Decimal("1.27"), valid_from=timezone.now()),
        change={"rate": "1.30000000"},
    ),
    **catalogue_routes(
        "price-lists",
        {"code": "vip", "name": "VIP", "currency": "USD", "prices": []},
        lambda world: PriceList.objects.create(code="retail", name="Retail", currency="USD"),
    ),
    **catalogue_routes(
        "promotions",
        {"name": "Winter", "code": "WINTER10", "kind": "percent", "value": "10.00", "applies_to": "order"},
        lambda world: Promotion.objects.create(name="Spring", code="SPRING5", kind="percent", value=Decimal("5")),
        read=(401, 403, 403, 200),
    ),
    ("POST", f"{API}/payments/{{id}}/status/"): Route(
        own(200), lambda world: {"id": _pending_payment(world).pk}, body={"status": "successful"}
    ),
    # Customers: shared by every seller; anyone signed in reads, creates and edits them; staff delete.
    **catalogue_routes(
        "customers",
        {"name": "New Customer"},
        lambda world: CustomerFactory(),
        write=SIGNED_IN,
        create_expect=SIGNED_IN_CREATE,
    ),
}
# Stores (records.md): staff write; a member reads their own store and its members, anyone else hears 404.
STORE = f"{API}/stores/{{id}}/"
MATRIX |= {
    ("GET", f"{API}/stores/"): Route(SIGNED_IN),
    ("POST", f"{API}/stores/"): Route(STAFF_CREATE, body={"code": "rome", "name": "Rome", "warehouse": "MAIN"}),
    ("GET", STORE): Route((401, 200, 404, 200), on(_owners_store)),
    ("PUT", STORE): Route(STAFF_WRITE, on(_owners_store), body=as_it_is(STORE, name="Renamed")),
    ("PATCH", STORE): Route(STAFF_WRITE, on(_owners_store), body={"name": "Renamed"}),
    ("DELETE", STORE): Route(STAFF_DELETE, on(_owners_store)),
    ("GET", f"{STORE}members/"): Route((401, 200, 404, 200), on(_owners_store)),
    ("POST", f"{STORE}members/"): Route(
        (401, 403, 403, 201), on(_owners_store),
        body=lambda world, role, params: {"user": world.users["other"].pk, "role": "seller"},
    ),
    ("DELETE", f"{STORE}members/{{user_id}}/"): Route(
        (401, 403, 403, 204), lambda world: {"id": _owners_store(world).pk, "user_id": world.users["owner"].pk}
    ),
}
# Generated invoices and credit notes (records.md): the owner's like any sale route.
MATRIX |= {
    ("GET", f"{SALE}invoices/"): Route(own(200), on_sale("confirmed")),
    ("POST", f"{SALE}invoices/"): Route(own(201), on_sale("confirmed"), body={}),
    ("GET", f"{SALE}invoices/{{invoice_id}}/pdf/"): Route(own(200), _issued_invoice),
}
# A variant is created under a product, named in the body.
MATRIX[("POST", f"{API}/variants/")] = Route(
    STAFF_CREATE, body=lambda world, role, params: {"product": world.variant.product_id, "sku": "NEW-RED"}
)

# Webhooks (events.md): staff only, reads included.
STAFF_ONLY = (401, 403, 403, 200)
STAFF_ACCEPTED = (401, 403, 403, 202)


def _webhook(world: World):
    return webhook_services.webhook_create(url="http://127.0.0.1:9/in", events=["*"])


def _webhook_delivery(world: World) -> dict:
    webhook = _webhook(world)
    return {"id": webhook.pk, "delivery_id": webhook_services.webhook_ping(webhook=webhook).pk}


WEBHOOK = f"{API}/webhooks/{{id}}/"
MATRIX |= {
    **catalogue_routes(
        "webhooks", {"url": "http://127.0.0.1:9/new", "events": ["sale.created"]}, _webhook,
        read=STAFF_ONLY, change={"description": "Renamed"},
    ),
    ("GET", f"{WEBHOOK}deliveries/"): Route(STAFF_ONLY, on(_webhook)),
    ("POST", f"{WEBHOOK}deliveries/{{delivery_id}}/redeliver/"): Route(STAFF_ACCEPTED, _webhook_delivery),
    ("POST", f"{WEBHOOK}ping/"): Route(STAFF_ACCEPTED, on(_webhook)),
    ("POST", f"{WEBHOOK}rotate-secret/"): Route(STAFF_ONLY, on(_webhook)),
}

ERROR_CODES = {401: "not_authenticated", 403: "permission_denied", 404: "not_found"}


def test_every_schema_operation_has_a_matrix_entry():
    operations = set(schema_operations())

    assert sorted(operations - set(MATRIX)) == [], "operations without an entry in the access matrix"
    assert sorted(set(MATRIX) - operations) == [], "entries for operations the schema no longer has"


def call(world: World, operation: tuple[str, str], role: str):
    method, template = operation
    route = MATRIX[operation]
    params = route.target(world) if route.target else {}
    body = route.body(world, role, params) if callable(route.body) else route.body
    client = bearer(world.users[role])
    path = template.format(**params)
    if method in ("GET", "DELETE") or body is None:
        return getattr(client, method.lower())(path)
    return getattr(client, method.lower())(path, body, format="json")


@pytest.mark.slow
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("operation", sorted(MATRIX), ids=lambda op: f"{op[0]} {op[1].removeprefix(API)}")
def test_the_access_matrix(operation, role):
    world = World()
    expected = MATRIX[operation].expect[ROLES.index(role)]

    response = call(world, operation, role)

    body = response.json() if response.get("Content-Type", "").startswith("application/json") else None
    assert response.status_code == expected, body
    if expected in ERROR_CODES:
        assert body["type"] == "client_error"
        assert [error["code"] for error in body["errors"]] == [ERROR_CODES[expected]]
    if expected == 404:  # nothing of the sale in the answer
        assert not [sale.reference for sale in world._sales.values() if sale.reference in json.dumps(body)]


def test_another_sellers_payment_on_a_sale_is_refused_like_a_missing_sale():
    world = World()
    missing = Sale.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    client = bearer(world.users["other"])

    same_id = {"HTTP_X_REQUEST_ID": "probe"}  # so the bodies' request_id match too
    theirs = client.post(
        f"{API}/payments/", {"sale": world.sale().pk, "amount": "1", "method": "cash"}, format="json", **same_id
    )
    nobodys = client.post(
        f"{API}/payments/", {"sale": missing + 1000, "amount": "1", "method": "cash"}, format="json", **same_id
    )

    assert theirs.status_code == nobodys.status_code == 400
    assert theirs.json() == nobodys.json()
    assert not world.sale().payments.exists()


# --- what seller B can read: every GET of the schema, every filter set to A's values ---------------------------


class Shop:
    """Seller A's and seller B's sales, side by side, each with payments, an invoice and activity.

    A's data carries MARKERS: strings that must never reach B.
    """

    MARKERS = (
        "ALICE-SALE-REF",
        "ALICE-PENDING-REF",
        "ALICE-EXT-ID",
        "alice-secret-note",
        "alice-staff-note",
        "alice-tag",
        "ALICE-PAY-REF",
        "ALICE-TRACK",
        "ALICE-ADDRESS",
        "UNASSIGNED-TX-REF",
        "alice-owner",
    )

    def __init__(self) -> None:
        self.world = world = World()
        alice, bob, staff = world.users["owner"], world.users["other"], world.users["staff"]
        self.customer = CustomerFactory(name="Carla Shared", email="carla@example.com", external_ref="CARLA-1")
        self.channel = ChannelFactory(code="web")
        self.group = ProductGroupFactory(code="shirts")
        self.variant = world.variant
        address = {
            "name": "ALICE-ADDRESS",
            "line1": "1 Via Roma",
            "city": "Roma",
            "postal_code": "00100",
            "country": "IT",
        }
        alice_sale = services.sale_create(
            seller=alice,
            data=services.NewSale(
                items=[ItemData(variant=self.variant, quantity=2)],
                status="confirmed",
                customer=self.customer,
                channel=self.channel,
                reference="ALICE-SALE-REF",
                external_id="ALICE-EXT-ID",
                note="alice-secret-note",
                staff_note="alice-staff-note",
                tags=["alice-tag"],
                shipping_address=address,
                billing_address=address,
            ),
        )
        services.sale_ship(sale=alice_sale, user=alice, tracking_code="ALICE-TRACK")
        sale_record_payment(sale=alice_sale, amount=Decimal("5.00"), user=alice, reference="ALICE-PAY-REF")
        invoice = services.sale_attach_invoice(sale=alice_sale, user=alice, content=PDF, filename="a.pdf")
        pending = services.sale_create(
            seller=alice,
            data=services.NewSale(
                items=[ItemData(variant=self.variant, quantity=1)],
                reference="ALICE-PENDING-REF",
                customer=self.customer,
            ),
        )
        bob_sale = services.sale_create(
            seller=bob,
            data=services.NewSale(
                items=[ItemData(variant=self.variant, quantity=1)],
                status="confirmed",
                customer=self.customer,
                channel=self.channel,
                reference="BOB-SALE-REF",
                shipping_address={**address, "name": "Bob Address"},
            ),
        )
        sale_record_payment(sale=bob_sale, amount=Decimal("2.00"), user=bob, reference="BOB-PAY-REF")
        services.sale_attach_invoice(sale=bob_sale, user=bob, content=PDF, filename="b.pdf")
        # Generated invoices (records.md): A's number is a marker, each document is named by its sale's routes.
        self.documents = {
            "owner": sale_issue_invoice(sale=alice_sale, user=alice),
            "other": sale_issue_invoice(sale=bob_sale, user=bob),
        }
        payment_services.payment_record(
            amount=Decimal("9.00"), user=staff, reference="UNASSIGNED-TX-REF", method="bank_transfer"
        )
        self.alice_sales = [Sale.objects.get(pk=alice_sale.pk), Sale.objects.get(pk=pending.pk)]
        self.bob_sale = Sale.objects.get(pk=bob_sale.pk)
        self.markers = (*self.MARKERS, invoice.number, self.documents["owner"].number)
        self.secret_ids = {
            "sale": {sale.pk for sale in self.alice_sales},
            "item": {item.pk for sale in self.alice_sales for item in sale.items.all()},
            "payment": set(self.alice_sales[0].payments.values_list("pk", flat=True))
            | {p.pk for p in payment_services.Payment.objects.filter(sale=None)},
            "event": {event.pk for sale in self.alice_sales for event in sale.events.all()},
        }

    def query_values(self) -> dict[str, str]:
        """A value for each filter name the schema declares, chosen to match seller A's sales."""
        alice_sale = self.alice_sales[0]
        return {
            "reference": "ALICE-SALE-REF",
            "external_id": "ALICE-EXT-ID",
            "search": "ALICE",
            "customer": str(self.customer.pk),
            "seller": str(self.world.users["owner"].pk),
            "product": str(self.variant.product_id),
            "variant": str(self.variant.pk),
            "sale": str(alice_sale.pk),
            "status": alice_sale.status,
            "payment_status": alice_sale.payment_status,
            "channel": "web",
            "warehouse": "MAIN",
            "country": "IT",
            "created_after": "2000-01-01",
            "created_before": "2100-01-01",
            "start_date": "2000-01-01",
            "end_date": "2100-01-01",
            "received_after": "2000-01-01",
            "received_before": "2100-01-01",
            "total_min": "0",
            "total_max": "1000000",
            "ordering": "-created_at",
            "assigned": "true",
            "kind": "payment",
            "method": "cash",
            "email": "carla@example.com",
            "external_ref": "CARLA-1",
            "active": "true",
            "sku": self.variant.sku,
            "product_group": "shirts",
            "low_stock": "false",
            "low_stock_threshold": "1",
        }

    def path_params(self, path: str, whose: str) -> dict:
        """Path parameters naming A's objects (whose="owner") or B's own ones (whose="other")."""
        sale = self.alice_sales[0] if whose == "owner" else self.bob_sale
        resource = path.removeprefix(f"{API}/").split("/")[0]
        ids = {
            "sales": sale.pk,
            "payments": sale.payments.first().pk,
            "stock": StockLevel.objects.get(variant=self.variant).pk,
            "customers": self.customer.pk,
            "products": self.variant.product_id,
            "variants": self.variant.pk,
            "warehouses": default_warehouse().pk,
            "channels": self.channel.pk,
            "product-groups": self.group.pk,
            "carriers": CarrierFactory().pk,
            "taxes": TaxRateFactory().pk,
        }
        return {"id": ids.get(resource, 0), "item_id": sale.items.first().pk, "invoice_id": self.documents[whose].pk}

    def requests(self, operation: tuple[str, str], whose: str) -> list[str]:
        """The URL of the operation alone, then once with each declared query parameter set to A's value."""
        _, template = operation
        declared = [p["name"] for p in schema_operations()[operation].get("parameters", []) if p["in"] == "query"]
        path = template.format(**self.path_params(template, whose))
        paging = "page_size=500&" if "page_size" in declared else ""
        values = self.query_values()
        # The same name filters something else here.
        values |= {
            f"{API}/payments/": {"status": "successful"},
            f"{API}/stock/movements/": {"kind": "shipment"},
            f"{API}/stock/": {"ordering": "-on_hand"},  # stock levels have no created_at
            f"{API}/events/": {"object_id": str(self.alice_sales[0].pk), "type": "sale.created"},
        }.get(template, {})
        return [f"{path}?{paging}"] + [f"{path}?{paging}{name}={values[name]}" for name in declared if name in values]

    def leaks(self, body) -> list[str]:
        """Everything of A's in an answer: marker strings, and ids of A's sales, items, payments and events."""
        found = [marker for marker in self.markers if marker in json.dumps(body)]

        def walk(node) -> None:
            if isinstance(node, list):
                for child in node:
                    walk(child)
            elif isinstance(node, dict):
                shapes = {
                    "sale": "grand_total" in node and "reference" in node,
                    "item": "quantity_returned" in node,
                    "payment": "method" in node and "kind" in node,
                    "event": "from_status" in node and "to_status" in node,
                }
                for kind, matches in shapes.items():
                    if matches and node.get("id") in self.secret_ids[kind]:
                        found.append(f"{kind} {node['id']}")
                if node.get("sale") in self.secret_ids["sale"]:
                    found.append(f"sale {node['sale']} named in {sorted(node)}")
                for child in node.values():
                    walk(child)

        walk(body)
        return found


def get_operations() -> list:
    known_leaks: dict[tuple[str, str], str] = {}  # a route listed here is a leak not fixed yet
    return [
        pytest.param(
            op,
            id=op[1].removeprefix(API),
            marks=[pytest.mark.xfail(strict=True, reason=known_leaks[op])] if op in known_leaks else [],
        )
        for op in sorted(schema_operations())
        if op[0] == "GET"
    ]


@pytest.fixture
def shop():
    return Shop()


def body_of(response):
    if response.get("Content-Type", "").startswith("application/json"):
        return response.json()
    # latin-1 reads any bytes: a binary answer (a PDF) is searched for the markers as it is.
    return (b"".join(response.streaming_content) if response.streaming else response.content).decode("latin-1")


@pytest.mark.slow
@pytest.mark.parametrize("operation", get_operations())
def test_another_seller_never_reads_the_owners_data(operation, shop):
    client = bearer(shop.world.users["other"])
    leaks = {}
    # A route only staff may read (promotions) refuses another seller outright, which leaks nothing either.
    allowed = (200, 404, 403) if MATRIX[operation].expect[2] == 403 else (200, 404)

    for whose in ("owner", "other"):
        for url in shop.requests(operation, whose):
            response = client.get(url)
            assert response.status_code in allowed, (url, response.status_code, body_of(response))
            if found := shop.leaks(body_of(response)):
                leaks[url] = found

    assert leaks == {}


def test_the_leak_detector_sees_the_owners_data(shop):
    """The control for the sweep: the owner's own list and detail do show what the sweep looks for."""
    client = bearer(shop.world.users["owner"])
    sale = shop.alice_sales[0]

    listed = shop.leaks(client.get(f"{API}/sales/?page_size=500").json())
    detail = shop.leaks(client.get(f"{API}/sales/{sale.pk}/").json())
    activity = shop.leaks(client.get(f"{API}/sales/{sale.pk}/activity/").json())

    assert {"ALICE-SALE-REF", "ALICE-PENDING-REF", "alice-tag", f"sale {sale.pk}"} <= set(listed)
    assert {"ALICE-PAY-REF", "ALICE-TRACK", "ALICE-ADDRESS", f"payment {sale.payments.get().pk}"} <= set(detail)
    assert any(leak.startswith("event ") for leak in activity)


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


SALE_FILTERS = [
    "reference",
    "external_id",
    "search",
    "customer",
    "product",
    "variant",
    "status",
    "payment_status",
    "channel",
    "warehouse",
    "country",
    "created_after",
    "created_before",
    "start_date",
    "end_date",
    "total_min",
    "total_max",
    "ordering",
]


@pytest.mark.parametrize("name", SALE_FILTERS)
def test_a_sellers_list_and_summary_are_staffs_narrowed_to_that_seller(name, shop):
    """Whatever the filter, B gets exactly what staff get for the same filter plus seller=B: totals included."""
    value = shop.query_values()[name]
    other, staff = bearer(shop.world.users["other"]), bearer(shop.world.users["staff"])
    bob = shop.world.users["other"].pk

    for path in (f"{API}/sales/", f"{API}/sales/summary/", f"{API}/reports/sales/"):
        mine = other.get(f"{path}?page_size=500&{name}={value}")
        narrowed = staff.get(f"{path}?page_size=500&seller={bob}&{name}={value}")
        everyone = staff.get(f"{path}?page_size=500&{name}={value}")

        assert mine.status_code == 200, mine.json()
        # Cost and profit are staff-only (null for B): the rest is the same.
        assert without_staff_only(mine.json()) == without_staff_only(narrowed.json()), (path, name)
        if "reports" not in path:  # the report counts revenue-making sales only, which A's may not be
            assert mine.json() != everyone.json(), (path, name)  # the filter did match some of A's sales


# `admin_note`: a sale's staff-only note (records.md, "Sale fields").
STAFF_ONLY_KEYS = frozenset({"cost_price", "cost_total", "profit", "margin", "cost", "admin_note"})


def without_staff_only(body):
    """`body` with the staff-only keys (line and sale cost and profit, the report's cost columns) nulled."""
    if isinstance(body, dict):
        return {key: None if key in STAFF_ONLY_KEYS else without_staff_only(value) for key, value in body.items()}
    if isinstance(body, list):
        return [without_staff_only(value) for value in body]
    return body


def test_a_seller_asking_for_another_sellers_sales_gets_nothing(shop):
    other = bearer(shop.world.users["other"])
    alice = shop.world.users["owner"].pk

    assert other.get(f"{API}/sales/?seller={alice}").json()["results"] == []
    summary = other.get(f"{API}/sales/summary/?seller={alice}").json()
    assert (summary["total_sales"], Decimal(summary["total_revenue"]), Decimal(summary["total_paid"])) == (0, 0, 0)


def test_the_schema_declares_the_filters_of_the_summary():
    """The sweep only tries what the schema declares: the summary must declare the list's filters."""
    params = {p["name"] for p in schema_operations()[("GET", f"{API}/sales/summary/")]["parameters"]}

    assert {"reference", "search", "customer", "seller", "status", "created_after"} <= params


def test_a_sellers_summary_figures_are_their_own(shop):
    other = bearer(shop.world.users["other"])
    bob_sale = shop.bob_sale

    body = other.get(f"{API}/sales/summary/").json()

    assert body["total_sales"] == 1
    assert Decimal(body["total_revenue"]) == bob_sale.grand_total
    assert Decimal(body["total_paid"]) == Decimal("2.00")
    assert {status: figures["count"] for status, figures in body["by_status"].items() if figures["count"]} == {
        "confirmed": 1
    }


def test_a_seller_sees_only_the_payments_of_their_own_sales(shop):
    other = bearer(shop.world.users["other"])

    rows = other.get(f"{API}/payments/?page_size=500").json()["results"]

    assert [(row["sale"], row["reference"]) for row in rows] == [(shop.bob_sale.pk, "BOB-PAY-REF")]
    assert other.get(f"{API}/payments/?reference=ALICE-PAY-REF").json()["results"] == []
    assert other.get(f"{API}/payments/?assigned=false").json()["results"] == []
    assert other.get(f"{API}/payments/?sale={shop.alice_sales[0].pk}").json()["results"] == []


# --- store managers (records.md, "Stores, teams and devices"): a store's sales, as their seller would ------------


class Stores:
    """Two stores: alice sells in A, bob in B; `manager_a` manages A, `manager_b` B (neither may refund);
    `staff_manager` manages A and is staff."""

    def __init__(self) -> None:
        self.world = world = World()
        alice, bob = world.users["owner"], world.users["other"]
        self.a = Store.objects.create(code="store-a", name="A", warehouse=default_warehouse())
        self.b = Store.objects.create(code="store-b", name="B", warehouse=default_warehouse())
        self.manager_a = UserFactory(username="manager-a")
        self.manager_b = UserFactory(username="manager-b")
        self.staff_manager = StaffFactory(username="staff-manager")
        for store, user, role in (
            (self.a, alice, StoreRole.SELLER),
            (self.b, bob, StoreRole.SELLER),
            (self.a, self.manager_a, StoreRole.MANAGER),
            (self.b, self.manager_b, StoreRole.MANAGER),
            (self.a, self.staff_manager, StoreRole.MANAGER),
        ):
            StoreMembership.objects.create(store=store, user=user, role=role)

    def sale(self, seller, status: str = "pending") -> Sale:
        sale = services.sale_create(
            seller=seller,
            data=services.NewSale(items=[ItemData(variant=self.world.variant, quantity=2)], status=status),
        )
        if status == "completed":
            sale_record_payment(sale=sale, amount=sale.grand_total, user=seller)
        return Sale.objects.get(pk=sale.pk)


@pytest.fixture
def stores():
    return Stores()


MANAGER_ACTIONS = [
    ("get", "", None, 200),
    ("patch", "", {"note": "seen by the manager"}, 200),
    ("get", "transitions/", None, 200),
    ("get", "activity/", None, 200),
    ("get", "payments/", None, 200),
    ("post", "payments/", {"amount": "1.00", "method": "cash"}, 201),
    ("post", "confirm/", None, 200),
]


@pytest.mark.parametrize(("method", "suffix", "body", "code"), MANAGER_ACTIONS)
def test_a_store_manager_acts_on_another_sellers_sale_of_their_store(stores, method, suffix, body, code):
    sale = stores.sale(stores.world.users["owner"])  # alice's, in store A

    response = getattr(bearer(stores.manager_a), method)(f"{API}/sales/{sale.pk}/{suffix}", body, format="json")

    assert response.status_code == code, response.json()
    assert Sale.objects.get(pk=sale.pk).store == stores.a


@pytest.mark.parametrize(("method", "suffix", "body", "code"), MANAGER_ACTIONS)
def test_a_store_manager_hears_404_for_another_stores_sale(stores, method, suffix, body, code):
    sale = stores.sale(stores.world.users["other"])  # bob's, in store B

    response = getattr(bearer(stores.manager_a), method)(f"{API}/sales/{sale.pk}/{suffix}", body, format="json")

    assert response.status_code == 404, response.json()
    assert [error["code"] for error in response.json()["errors"]] == ["not_found"]
    assert sale.reference not in json.dumps(response.json())


def test_a_store_manager_lists_and_sums_their_stores_sales_only(stores):
    alices, bobs = stores.sale(stores.world.users["owner"]), stores.sale(stores.world.users["other"])
    client = bearer(stores.manager_a)

    listed = [row["id"] for row in client.get(f"{API}/sales/?page_size=500").json()["results"]]
    summary = client.get(f"{API}/sales/summary/").json()
    report = client.get(f"{API}/reports/sales/", {"group_by": "store"}).json()

    assert listed == [alices.pk]
    assert summary["total_sales"] == 1
    assert {row["key"] for row in report["rows"]} <= {"store-a"}
    assert bearer(stores.manager_b).get(f"{API}/sales/{bobs.pk}/").status_code == 200
    assert bearer(stores.manager_b).get(f"{API}/sales/{alices.pk}/").status_code == 404


def test_a_store_manager_sees_and_moves_the_payments_of_their_stores_sales(stores):
    alices, bobs = stores.sale(stores.world.users["owner"]), stores.sale(stores.world.users["other"])
    pending = sale_record_payment(sale=alices, amount=Decimal("1.00"), user=stores.world.users["owner"],
                                  status="pending")
    sale_record_payment(sale=bobs, amount=Decimal("1.00"), user=stores.world.users["other"])
    client = bearer(stores.manager_a)

    rows = client.get(f"{API}/payments/?page_size=500").json()["results"]
    moved = client.post(f"{API}/payments/{pending.pk}/status/", {"status": "successful"}, format="json")

    assert [row["id"] for row in rows] == [pending.pk]
    assert moved.status_code == 200, moved.json()


def test_a_store_manager_without_the_refund_permission_gets_403_on_a_refund(stores):
    sale = stores.sale(stores.world.users["owner"], "completed")
    client = bearer(stores.manager_a)

    refused = client.post(f"{API}/sales/{sale.pk}/refund/", {"restock": True}, format="json")
    may_refund(stores.manager_a)
    allowed = bearer(stores.manager_a).post(f"{API}/sales/{sale.pk}/refund/", {"restock": True}, format="json")

    assert refused.status_code == 403, refused.json()
    assert [error["code"] for error in refused.json()["errors"]] == ["permission_denied"]
    assert allowed.status_code == 200, allowed.json()


def test_a_store_manager_who_is_staff_sees_everything(stores):
    alices, bobs = stores.sale(stores.world.users["owner"]), stores.sale(stores.world.users["other"])
    client = bearer(stores.staff_manager)

    listed = {row["id"] for row in client.get(f"{API}/sales/?page_size=500").json()["results"]}

    assert {alices.pk, bobs.pk} <= listed
    assert client.get(f"{API}/sales/{bobs.pk}/").status_code == 200
    assert client.get(f"{API}/sales/summary/").json()["total_sales"] == Sale.objects.count()
