"""Seed 003 (order management, `/v1/sales.json`) served at /compat/orders/: the document's sample, the flows a
client of that API runs, the effects seen through /api/v1/, scoping and bad input in this API's envelope."""

import json
from decimal import Decimal

import pytest

from customers.tests.factories import CustomerFactory
from inventory.models import StockLevel
from inventory.tests.factories import WarehouseFactory, stocked_variant
from payments.services import NewPayment
from sales import services
from sales.models import PriceList, Promotion, Sale, SaleEvent, TaxComponent
from sales.services import ItemData, NewSale
from sales.tests.factories import ChannelFactory, StaffFactory, TaxRateFactory, UserFactory

pytestmark = pytest.mark.django_db

D = Decimal
SALES = "/compat/orders/v1/sales.json"


def one(sale_id) -> str:
    return f"/compat/orders/v1/sales/{sale_id}.json"


# The document's request body, as its curl line sends it.
SAMPLE = json.loads(
    '{"adjustmentReasonId":42,"adminNotes":"string","billingAddressLineOne":"string","billingAddressLineTwo":"string",'
    '"billingAddressMessage":"string","billingCity":"string","billingCountry":"string","billingFirstName":"string",'
    '"billingFullName":{},"billingLastName":"string","billingName":"string","billingState":"string",'
    '"billingZip":"string","cancelReason":"customer","cancellationStatus":"none","cancelled":false,'
    '"cancelledAt":"2024-05-04T09:42:00+00:00","channelCancelledAt":"2024-05-04T09:42:00+00:00","channelId":42,'
    '"cityTaxLocation":"string","cityTaxRate":42.0,"cloneReason":"exchange","combinedTaxRate":42.0,'
    '"countyTaxLocation":"string","countyTaxRate":42.0,"currencyId":42,"customerId":42,"customerReference":"string",'
    '"dateOrdered":{},"discounts":0,"districtTaxRate":42.0,"dropshipProblems":{},"exchangeRate":42.0,'
    '"externalChannelSiteId":"string","externalId":"string","finalized":true,"intercomMessageId":"string",'
    '"internalNotes":"string","invalidBillingAddress":"string","invalidShippingAddress":false,'
    '"inventoryStatus":"notFulfilled","invoiceStatus":"notInvoiced","iso":"string","lastFulfillmentReference":0,'
    '"lastPurchaseReference":0,"lastSaleReturnReference":0,"locked":false,"muteError":false,"notes":"string",'
    '"paid":42.0,"paymentProviderIds":[],"paymentStatus":"notPaid","priceListId":42,"quantity":0,'
    '"receiverAddressLineOne":"string","receiverAddressLineTwo":"string","receiverCity":"string",'
    '"receiverCountry":"string","receiverName":"string","receiverState":"string","receiverZip":"string",'
    '"reference":"string","resellerId":42,"resellerPayee":"reseller","resellerStripeChargeId":"string",'
    '"returnStatus":"notReturned","saleDiscountCodeId":42,"saleId":42,"saleReturnProblems":{},'
    '"shippingAddressLineOne":"string","shippingAddressLineTwo":"string","shippingAddressMessage":false,'
    '"shippingCity":"string","shippingCountry":"string","shippingFirstName":"string","shippingFullName":{},'
    '"shippingLastName":"string","shippingName":"string","shippingState":"string","shippingZip":"string",'
    '"shipstationId":"string","stateTaxLocation":"string","stateTaxRate":42.0,"status":"pending","subtotal":0,'
    '"tags":["string"],"tax":0,"taxCalculation":"default","taxIncluded":false,"taxShipping":true,"total":0,'
    '"userId":42,"warehouseId":42,"weight":0}'
)
# The document's answer adds these three to the body's keys.
ANSWER_KEYS = set(SAMPLE) | {"id", "createdAt", "updatedAt"}


def level(variant, warehouse=None) -> tuple[int, int]:
    levels = StockLevel.objects.filter(variant=variant)
    if warehouse is not None:
        levels = levels.filter(warehouse=warehouse)
    return levels.values_list("on_hand", "reserved").get()


@pytest.fixture
def variant(warehouse):
    return stocked_variant(10, price=D("25.00"))


@pytest.fixture
def as_seller(api_client, seller):
    return api_client(seller)


def create(client, variant, **fields):
    body = {"items": [{"variantId": variant.pk, "quantity": 2, "price": 25}], **fields}
    response = client.post(SALES, body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


# --- the document's sample -----------------------------------------------------------------------------


@pytest.fixture
def sample_world(warehouse):
    """Rows with the sample's ids (42), so its body is sent as written but for the values the product must
    understand: a currency (978 EUR for the placeholder 42) and countries (US for "string")."""
    staff = StaffFactory()
    UserFactory(pk=42, username="seller42")
    CustomerFactory(pk=42)
    ChannelFactory(pk=42, code="web42")
    store = WarehouseFactory(pk=42, code="WH42")
    PriceList.objects.create(pk=42, code="eur42", name="EUR list", currency="EUR")
    Promotion.objects.create(pk=42, name="Sample", code="SAMPLE42", kind="percent", value=D("10"))
    variant = stocked_variant(5, warehouse=store)
    return staff, variant, store


def sample_body(variant) -> dict:
    countries = {f"{p}Country": "US" for p in ("billing", "shipping", "receiver")}
    return {**SAMPLE, "currencyId": 978, **countries, "items": [{"variantId": variant.pk, "quantity": 2, "price": 50}]}


def test_the_documents_sample_is_created_and_answered_with_its_fields(api_client, sample_world):
    staff, variant, store = sample_world

    response = api_client(staff).post(SALES, sample_body(variant), format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == ANSWER_KEYS
    sale = Sale.objects.get(pk=body["id"])
    # What the body set, read back as the document writes it.
    echoed = {
        "adminNotes": "string", "channelId": 42, "currencyId": 978, "customerId": 42, "customerReference": "string",
        "exchangeRate": 42.0, "externalId": "string", "internalNotes": "string", "notes": "string",
        "priceListId": 42, "reference": "string", "saleDiscountCodeId": 42, "status": "pending", "tags": ["string"],
        "taxCalculation": "default", "taxIncluded": False, "taxShipping": True, "userId": 42, "warehouseId": 42,
        "discounts": 0.0, "billingAddressLineOne": "string", "billingAddressLineTwo": "string",
        "billingCity": "string", "billingCountry": "US", "billingName": "string", "billingFullName": "string",
        "billingState": "string", "billingZip": "string", "shippingAddressLineOne": "string",
        "shippingCity": "string", "shippingName": "string", "shippingZip": "string", "receiverCity": "string",
    }
    assert {name: body[name] for name in echoed} == echoed
    # What the product derives: 2 × 50 EUR, 10 % off by the promotion, nothing paid yet, stock reserved.
    assert (body["subtotal"], body["total"], body["tax"], body["paid"]) == (100.0, 90.0, 0.0, 0.0)
    assert (body["quantity"], body["weight"]) == (2, 0)
    assert (body["paymentStatus"], body["inventoryStatus"], body["invoiceStatus"], body["returnStatus"]) == (
        "notPaid", "notFulfilled", "notInvoiced", "notReturned",
    )
    assert (body["finalized"], body["cancelled"], body["cancelledAt"], body["cancellationStatus"]) == (
        False, False, None, "none",
    )
    assert (body["locked"], body["saleId"], body["cloneReason"], body["cancelReason"]) == (False, None, None, None)
    assert body["combinedTaxRate"] is None and body["stateTaxRate"] is None
    # The fields the product does not keep: the document's defaults.
    assert {name: body[name] for name in ("adjustmentReasonId", "resellerId", "shipstationId", "iso")} == dict.fromkeys(
        ("adjustmentReasonId", "resellerId", "shipstationId", "iso")
    )
    assert (body["resellerPayee"], body["paymentProviderIds"], body["muteError"], body["lastPurchaseReference"]) == (
        "reseller", [], False, 0,
    )
    assert body["createdAt"].endswith("+00:00") and body["dateOrdered"] == body["createdAt"]
    assert (sale.seller_id, sale.currency, sale.warehouse_id, sale.discount_code) == (42, "EUR", 42, "SAMPLE42")
    assert level(variant, store) == (5, 2)
    assert SaleEvent.objects.get(sale=sale, type="created").data["source"] == "compat-orders"


def test_the_sample_read_back_is_the_same_object(api_client, sample_world):
    staff, variant, _ = sample_world
    client = api_client(staff)
    created = client.post(SALES, sample_body(variant), format="json").json()

    read = client.get(one(created["id"]))

    assert read.status_code == 200 and read.json() == created
    assert list(read.json()) == sorted(read.json())  # the document's (alphabetical) order


# --- flows ---------------------------------------------------------------------------------------------


def test_a_draft_without_items_then_lines_then_pending_then_finalized(as_seller, api_client, seller, variant):
    draft = as_seller.post(SALES, {"status": "draft", "customerReference": "PO-1"}, format="json")
    assert draft.status_code == 201, draft.content
    sale_id = draft.json()["id"]
    assert (draft.json()["status"], draft.json()["quantity"], draft.json()["total"]) == ("draft", 0, 0.0)

    lines = as_seller.put(one(sale_id), {"items": [{"variantId": variant.pk, "quantity": 3}]}, format="json")
    assert lines.status_code == 200, lines.content
    assert (lines.json()["quantity"], lines.json()["subtotal"]) == (3, 75.0)
    assert level(variant) == (10, 0)

    pending = as_seller.put(one(sale_id), {"status": "pending"}, format="json")
    assert pending.json()["status"] == "pending"
    assert level(variant) == (10, 3)

    final = as_seller.put(one(sale_id), {"status": "finalized"}, format="json")
    assert (final.json()["status"], final.json()["finalized"]) == ("finalized", True)
    assert level(variant) == (7, 0)
    v1 = api_client(seller).get(f"/api/v1/sales/{sale_id}/").json()
    assert (v1["status"], v1["customer_reference"]) == ("confirmed", "PO-1")


def test_a_draft_goes_to_finalized_in_one_put(as_seller, variant):
    sale = create(as_seller, variant, status="draft")

    response = as_seller.put(one(sale["id"]), {"status": "finalized"}, format="json")

    assert response.json()["status"] == "finalized"
    assert Sale.objects.get(pk=sale["id"]).status == "confirmed"
    assert level(variant) == (8, 0)


def test_created_finalized_commits_the_stock(as_seller, variant):
    sale = create(as_seller, variant, status="finalized")

    assert (sale["status"], sale["finalized"], sale["total"]) == ("finalized", True, 50.0)
    assert level(variant) == (8, 0)


def test_a_sale_without_items_is_a_draft_only(as_seller, variant):
    response = as_seller.post(SALES, {"status": "pending"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"status": 400, "error": "empty", "message": "items: A sale needs at least one item."}

    draft = as_seller.post(SALES, {"status": "draft"}, format="json").json()
    submit = as_seller.put(one(draft["id"]), {"status": "pending"}, format="json")
    assert submit.status_code == 400 and submit.json()["error"] == "empty"


def test_put_changes_only_the_fields_it_carries(as_seller, variant):
    sale = create(as_seller, variant, notes="first", billingFirstName="Ada", billingLastName="Lovelace",
                  billingCity="London", billingCountry="gb", tags=["a"])

    response = as_seller.put(one(sale["id"]), {"billingCity": "Paris", "discounts": 10}, format="json")

    body = response.json()
    assert response.status_code == 200, response.content
    assert (body["billingCity"], body["billingCountry"], body["billingName"]) == ("Paris", "GB", "Ada Lovelace")
    assert (body["billingFirstName"], body["billingLastName"]) == ("Ada", "Lovelace")
    assert (body["notes"], body["tags"], body["discounts"], body["total"]) == ("first", ["a"], 10.0, 40.0)


def test_receiver_fields_fill_the_shipping_address(as_seller, variant):
    sale = create(as_seller, variant, receiverName="Bob", receiverCity="Rome", receiverCountry="IT",
                  shippingCity="Milan")

    assert (sale["shippingName"], sale["shippingCity"], sale["shippingCountry"]) == ("Bob", "Milan", "IT")
    assert Sale.objects.get(pk=sale["id"]).shipping_address == {"name": "Bob", "city": "Milan", "country": "IT"}


def test_a_finalized_sale_refuses_what_its_status_no_longer_allows(as_seller, variant):
    sale = create(as_seller, variant, status="finalized")

    locked = as_seller.put(one(sale["id"]), {"discounts": 5}, format="json")
    notes = as_seller.put(one(sale["id"]), {"notes": "call first", "customerReference": "PO-9"}, format="json")
    back = as_seller.put(one(sale["id"]), {**notes.json(), "notes": "call twice"}, format="json")

    assert locked.status_code == 409 and locked.json()["error"] == "sale_locked"
    assert notes.status_code == 200 and (notes.json()["notes"], notes.json()["customerReference"]) == (
        "call first", "PO-9",
    )
    # The whole object sent back: only what differs is a change.
    assert back.status_code == 200, back.content
    assert back.json()["notes"] == "call twice"
    back_to_pending = as_seller.put(one(sale["id"]), {"status": "pending"}, format="json")
    assert back_to_pending.status_code == 409 and back_to_pending.json()["error"] == "invalid_transition"


def test_cancelled_true_cancels_with_its_reason_and_gives_the_stock_back(as_seller, variant):
    sale = create(as_seller, variant)
    assert level(variant) == (10, 2)

    response = as_seller.put(one(sale["id"]), {"cancelled": True, "cancelReason": "fraud"}, format="json")

    body = response.json()
    assert (body["cancelled"], body["cancelReason"], body["status"], body["cancellationStatus"]) == (
        True, "fraud", "finalized", "full",
    )
    assert body["cancelledAt"] is not None
    assert level(variant) == (10, 0)
    reopen = as_seller.put(one(sale["id"]), {"cancelled": False}, format="json")
    assert reopen.status_code == 409 and reopen.json()["error"] == "invalid_transition"


def test_delete_gives_the_stock_back_and_the_sale_is_gone(as_seller, variant):
    sale = create(as_seller, variant)

    response = as_seller.delete(one(sale["id"]))

    assert response.status_code == 204
    assert level(variant) == (10, 0)
    missing = as_seller.get(one(sale["id"]))
    assert missing.status_code == 404
    assert missing.json() == {"status": 404, "error": "not_found", "message": f"Sale {sale['id']} not found."}


def test_a_finalized_sale_is_not_deleted(as_seller, variant):
    sale = create(as_seller, variant, status="finalized")

    response = as_seller.delete(one(sale["id"]))

    assert response.status_code == 409 and response.json()["error"] == "sale_locked"


def test_payment_status_follows_the_paid_amount(as_seller, seller, variant):
    sale = create(as_seller, variant, status="finalized")
    record = Sale.objects.get(pk=sale["id"])

    services.sale_record_payment(sale=record, user=seller, amount=D("20.00"))
    partly = as_seller.get(one(sale["id"])).json()
    services.sale_record_payment(sale=record, user=seller, amount=D("30.00"))
    paid = as_seller.get(one(sale["id"])).json()

    assert (partly["paymentStatus"], partly["paid"]) == ("partiallyPaid", 20.0)
    assert (paid["paymentStatus"], paid["paid"]) == ("paid", 50.0)


def test_tax_rates_come_from_the_taxs_components(as_seller, seller, variant):
    tax = TaxRateFactory(code="ny", rate=D("8.25"))
    TaxComponent.objects.create(tax=tax, name="NY state", jurisdiction="state", location="NY", rate=D("4.00"))
    TaxComponent.objects.create(tax=tax, name="NYC", jurisdiction="city", location="New York", rate=D("4.25"))
    sale = services.sale_create(
        seller=seller, data=NewSale(items=[ItemData(variant=variant, quantity=1)], tax=tax), user=seller
    )

    body = as_seller.get(one(sale.pk)).json()

    assert (body["stateTaxRate"], body["cityTaxRate"], body["countyTaxRate"], body["combinedTaxRate"]) == (
        4.0, 4.25, None, 8.25,
    )
    assert (body["stateTaxLocation"], body["cityTaxLocation"], body["countyTaxLocation"]) == ("NY", "New York", None)
    assert body["tax"] == 2.06 and body["total"] == 27.06


def test_custom_tax_and_currency_by_iso_number(as_seller, variant):
    sale = create(as_seller, variant, taxCalculation="custom", tax=3.5, currencyId=978, exchangeRate=1.1)

    assert (sale["taxCalculation"], sale["tax"], sale["total"]) == ("custom", 3.5, 53.5)
    assert (sale["currencyId"], sale["exchangeRate"]) == (978, 1.1)
    assert Sale.objects.get(pk=sale["id"]).currency == "EUR"


def test_references_by_id_or_code(as_seller, variant):
    channel = ChannelFactory(code="shop")

    by_code = create(as_seller, variant, channelId="shop")
    by_id = create(as_seller, variant, channelId=str(channel.pk))
    unknown = as_seller.post(SALES, {"channelId": "nope", "status": "draft"}, format="json")

    assert by_code["channelId"] == by_id["channelId"] == channel.pk
    assert unknown.status_code == 400 and unknown.json()["message"] == 'channelId: Unknown channel "nope".'


def test_a_promotion_by_id_or_by_its_code(as_seller, variant):
    promotion = Promotion.objects.create(name="Ten off", code="TEN", kind="percent", value=D("10"))

    by_code = create(as_seller, variant, saleDiscountCodeId="TEN")
    by_id = create(as_seller, variant, saleDiscountCodeId=promotion.pk)

    assert by_code["saleDiscountCodeId"] == by_id["saleDiscountCodeId"] == promotion.pk
    assert by_code["total"] == by_id["total"] == 45.0


# --- lists ---------------------------------------------------------------------------------------------


def test_the_list_is_the_callers_newest_first_with_filters_and_pages(as_seller, api_client, variant):
    channel = ChannelFactory(code="web")
    customer = CustomerFactory()
    first = create(as_seller, variant, externalId="EXT-1", customerId=customer.pk)
    second = create(as_seller, variant, status="draft", channelId=channel.pk)
    third = create(as_seller, variant, status="finalized")
    create(api_client(UserFactory()), variant)  # another seller's

    everything = as_seller.get(SALES)
    page = as_seller.get(SALES, {"page": 2, "limit": 2})

    assert [s["id"] for s in everything.json()] == [third["id"], second["id"], first["id"]]
    assert everything["X-Total-Count"] == "3"
    assert [s["id"] for s in page.json()] == [first["id"]]
    assert [s["id"] for s in as_seller.get(SALES, {"status": "finalized"}).json()] == [third["id"]]
    assert [s["id"] for s in as_seller.get(SALES, {"status": "draft"}).json()] == [second["id"]]
    assert [s["id"] for s in as_seller.get(SALES, {"channelId": "web"}).json()] == [second["id"]]
    assert [s["id"] for s in as_seller.get(SALES, {"customerId": customer.pk}).json()] == [first["id"]]
    assert [s["id"] for s in as_seller.get(SALES, {"externalId": "EXT-1"}).json()] == [first["id"]]
    bad = as_seller.get(SALES, {"limit": 0})
    assert bad.status_code == 400 and bad.json()["error"] == "min_value"
    capped = as_seller.get(SALES, {"limit": 1000})  # as v1: a page size above the maximum is capped, not refused
    assert capped.status_code == 200 and len(capped.json()) == 3


# --- scoping, permissions, bad input -------------------------------------------------------------------


def test_another_sellers_sale_is_not_found(api_client, variant):
    other = create(api_client(UserFactory()), variant)
    client = api_client(UserFactory())

    for response in (
        client.get(one(other["id"])),
        client.put(one(other["id"]), {"notes": "x"}, format="json"),
        client.delete(one(other["id"])),
    ):
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"
    assert level(variant) == (10, 2)


def test_staff_see_every_sale(api_client, as_seller, variant):
    sale = create(as_seller, variant)

    assert api_client(StaffFactory()).get(one(sale["id"])).status_code == 200


def test_naming_another_seller_needs_staff(api_client, as_seller, seller, variant):
    other = UserFactory()

    refused = as_seller.post(SALES, {"userId": other.pk, "status": "draft"}, format="json")
    itself = as_seller.post(SALES, {"userId": seller.pk, "status": "draft"}, format="json")
    by_staff = api_client(StaffFactory()).post(SALES, {"userId": other.pk, "status": "draft"}, format="json")

    assert refused.status_code == 403 and refused.json()["error"] == "permission_denied"
    assert itself.status_code == 201
    assert by_staff.status_code == 201 and by_staff.json()["userId"] == other.pk


def test_admin_notes_are_staffs(as_seller, api_client, variant):
    refused = as_seller.post(SALES, {"status": "draft", "adminNotes": "vip"}, format="json")
    sale = create(api_client(StaffFactory()), variant, adminNotes="vip", userId=UserFactory().pk)

    assert refused.status_code == 403
    assert sale["adminNotes"] == "vip"


def test_short_stock_is_a_409(as_seller, variant):
    response = as_seller.post(SALES, {"items": [{"variantId": variant.pk, "quantity": 11}]}, format="json")

    assert response.status_code == 409
    assert response.json()["error"] == "insufficient_stock"
    assert level(variant) == (10, 0)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"currencyId": 42}, "invalid"),
        ({"status": "shipped"}, "invalid_choice"),
        ({"colour": "red"}, "unknown_field"),
        ({"customerId": 999999}, "does_not_exist"),
        ({"billingCountry": "Italy"}, "max_length"),
        ({"billingCountry": "I1"}, "invalid"),
        ({"items": [{"variantId": "x", "quantity": 1}]}, "incorrect_type"),
        ({"dateOrdered": 5}, "invalid"),
    ],
)
def test_bad_bodies_are_400_in_this_apis_envelope(as_seller, body, error):
    response = as_seller.post(SALES, {"status": "draft", **body}, format="json")

    assert response.status_code == 400, response.content
    assert set(response.json()) == {"status", "error", "message"}
    assert response.json()["error"] == error


def test_malformed_json_bad_ids_methods_and_no_token(as_seller, api_client, variant):
    malformed = as_seller.generic("POST", SALES, "{nope", content_type="application/json")
    bad_id = as_seller.get(one("abc"))
    patch = as_seller.patch(one(1), {}, format="json")
    anonymous = api_client().get(SALES)

    assert malformed.status_code == 400 and malformed.json()["error"] == "parse_error"
    assert bad_id.status_code == 404 and bad_id.json()["error"] == "not_found"
    assert patch.status_code == 405 and patch.json()["error"] == "method_not_allowed"
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "not_authenticated"


def test_json_sent_as_a_form_is_read_as_json(as_seller, variant):
    body = json.dumps({"items": [{"variantId": variant.pk, "quantity": 1}], "notes": "curl -d"})

    response = as_seller.generic("POST", SALES, body, content_type="application/x-www-form-urlencoded")

    assert response.status_code == 201, response.content
    assert response.json()["notes"] == "curl -d"


def test_idempotency_key_replays_the_creation(as_seller, variant):
    body = {"items": [{"variantId": variant.pk, "quantity": 1}]}

    first = as_seller.post(SALES, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = as_seller.post(SALES, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"] and Sale.objects.count() == 1


def test_payments_sent_through_v1_show_in_paid(as_seller, seller, variant):
    sale = services.sale_create(
        seller=seller,
        data=NewSale(items=[ItemData(variant=variant, quantity=1)], payments=[NewPayment(amount=D("25.00"))]),
        user=seller,
    )

    body = as_seller.get(one(sale.pk)).json()

    assert (body["paid"], body["paymentStatus"]) == (25.0, "paid")


def test_a_put_line_without_its_variant_is_a_400(as_seller, variant):
    sale = create(as_seller, variant, status="draft")

    response = as_seller.put(one(sale["id"]), {"items": [{"price": "", "quantity": 1}]}, format="json")

    assert response.status_code == 400
    assert response.json()["error"] == "required"


def test_the_documents_heading_path_without_v1_works_too(as_seller, variant):
    sale = create(as_seller, variant)

    listed = as_seller.get("/compat/orders/sales.json")
    read = as_seller.get(f"/compat/orders/sales/{sale['id']}.json")

    assert [s["id"] for s in listed.json()] == [sale["id"]]
    assert read.json() == as_seller.get(one(sale["id"])).json()


def test_a_v1_sale_read_and_sent_back_whole_changes_nothing(as_seller, api_client, seller, variant):
    """A v1 sale keeps its address's empty parts (`line2: ""`) and may have a percent discount: the object read
    here and PUT back is no change, so it is no 409 on a confirmed sale and no new discount on a pending one."""
    address = {"name": "Ada Lovelace", "line1": "1 Main St", "line2": "", "city": "London", "state": "",
               "postal_code": "N1", "country": "GB", "phone": ""}
    sales = [
        services.sale_create(seller=seller, user=seller, data=NewSale(
            items=[ItemData(variant=variant, quantity=2)], status=status, discount=D("10"), discount_type="percent",
            billing_address=address, shipping_address=address,
        ))
        for status in ("pending", "confirmed")
    ]
    for sale in sales:
        read = as_seller.get(one(sale.pk)).json()

        back = as_seller.put(one(sale.pk), read, format="json")

        assert back.status_code == 200, back.content
        assert {k: v for k, v in back.json().items() if read[k] != v} == {}
        sale.refresh_from_db()
        assert (sale.discount, sale.discount_type, sale.billing_address) == (D("10.00"), "percent", address)


def test_service_errors_name_this_documents_fields(as_seller, variant):
    sale = create(as_seller, variant, status="finalized")

    response = as_seller.put(one(sale["id"]), {"dateOrdered": "2024-05-04T09:42:00+00:00", "taxShipping": False},
                             format="json")

    assert response.status_code == 409
    assert response.json() == {"status": 409, "error": "sale_locked", "message": (
        "dateOrdered: A confirmed sale's dateOrdered, taxShipping can no longer change; only notes and tags can."
    )}
    not_a_list = as_seller.post(SALES, {"status": "draft", "items": "x"}, format="json")
    assert not_a_list.json()["message"] == 'items: Expected a list of items but got type "str".'


def test_no_token_is_a_401_with_its_challenge(api_client):
    response = api_client().get(SALES)

    assert response.status_code == 401 and response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("path", ["/compat/orders/v1/sales.json/", "/compat/orders/v1/sales/1", "/compat/orders/x"])
def test_other_paths_are_a_404_in_this_apis_envelope(as_seller, path):
    response = as_seller.get(path)

    assert response.status_code == 404
    assert response.json()["error"] == "not_found" and set(response.json()) == {"status", "error", "message"}


def test_a_sale_is_not_created_cancelled(as_seller, variant):
    response = as_seller.post(SALES, {"status": "draft", "cancelled": True}, format="json")

    assert response.status_code == 400 and response.json()["error"] == "invalid"
    assert response.json()["message"].startswith("cancelled: ") and not Sale.objects.exists()


def test_a_full_name_text_is_the_addresss_name(as_seller, variant):
    sale = create(as_seller, variant, billingFullName="Grace Hopper", shippingFullName={})

    assert (sale["billingName"], sale["billingFirstName"], sale["billingLastName"]) == ("Grace Hopper", "Grace",
                                                                                      "Hopper")
    assert (sale["billingFullName"], sale["shippingFullName"]) == ("Grace Hopper", None)
