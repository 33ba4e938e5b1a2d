"""Seed 004, sale transactions at /compat/transactions/: assigning a transaction to a sale, as v1's assign does."""

import json
from decimal import Decimal

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from customers.tests.factories import CustomerFactory
from inventory.tests.factories import stocked_variant
from payments import services as payment_services
from payments.models import Payment
from sales import services
from sales.models import Sale, SaleEvent
from sales.services import ItemData

pytestmark = pytest.mark.django_db

URL = "/compat/transactions/sales/transactions"

# The keys of the document's sample response, level by level.
DATA_KEYS = {
    "agent", "customer", "deliveryAddress", "deliveryMode", "deliveryStatus", "discount", "id", "merchantId",
    "orderAmount", "orderNumber", "paymentMethod", "paymentMode", "paymentStatus", "products", "requestId", "sale",
    "seller", "shippingFee", "totalAmount", "totalQuantity",
}
SALE_KEYS = {
    "agentId", "amountPaid", "businessId", "countryCode", "createdAt", "customerId", "deliveryAddress",
    "deliveryMode", "deliveryNote", "deliveryStatus", "discount", "discountType", "globalOrderNumber", "id",
    "isPartial", "isPartialParent", "isUpdated", "merchantId", "orderAmount", "orderNumber", "parentSale",
    "paymentMethod", "paymentMode", "paymentReference", "paymentStatus", "requestId", "saleDetails",
    "saleTransaction", "salesTracking", "shippingFee", "tenantId", "totalAmount", "totalPromotionDiscount",
    "totalQuantity", "transactionReference", "updatedAt",
}
DETAIL_KEYS = {
    "amount", "businessId", "costPrice", "countryCode", "createdAt", "id", "merchantId", "parentSale", "product",
    "profit", "promotionDiscount", "quantity", "quantityRemaining", "sale", "sellingPrice", "tenantId",
    "totalCostPrice", "unitPrice", "updatedAt", "uuid",
}
PRODUCT_KEYS = {
    "brand", "businessId", "category", "clusters", "costPrice", "countryCode", "createdAt", "description", "id",
    "images", "merchantId", "minimumOrderQuantity", "name", "productPublicId", "promotion", "quantityOnHand",
    "reorderLevel", "sellingPrice", "sku", "stockLevel", "subCategories", "tenantId", "unit", "updatedAt", "uuid",
    "visibility", "weight",
}
SELLER_KEYS = {
    "acceptingOrder", "active", "address", "businessHandle", "category", "get_id", "isDistributor",
    "isManufacturer", "location", "name", "owner", "phone", "photo", "shippingFee", "user", "wallet",
}
CUSTOMER_KEYS = {
    "address", "city", "country", "firstName", "fullName", "get_id", "lastName", "phone", "photo", "profileOwners",
    "profileTenant", "state", "status", "username", "wallet",
}
TRANSACTION_KEYS = {
    "amount", "countryCode", "createdAt", "globalOrderNumber", "id", "paymentMethod", "paymentMode", "paymentStatus",
    "sales", "tenantId", "totalOrderAmount", "totalShippingFee", "transactionReference", "updatedAt",
}


def client_for(user, *, scheme: str = "bearer") -> APIClient:
    key = Token.objects.get_or_create(user=user)[0].key
    client = APIClient()
    if scheme == "bearer":
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    else:
        client.credentials(HTTP_APIKEY=key)
    return client


@pytest.fixture
def sale(seller):
    """2 × 40.00 of a product with an image, and 1 × 20.00: 100.00, confirmed, for a customer."""
    shirt = stocked_variant(10, name="Linen shirt", cost_price=Decimal("15.00"),
                            image_url="https://cdn.example.com/shirt.jpg")
    cap = stocked_variant(10, name="Cap", cost_price=Decimal("5.00"))
    return services.sale_create(seller=seller, data=services.NewSale(
        items=[ItemData(variant=shirt, quantity=2, unit_price=Decimal("40.00")),
               ItemData(variant=cap, quantity=1, unit_price=Decimal("20.00"))],
        status="confirmed", customer=CustomerFactory(name="Ada Lovelace"), payment_mode="prepaid",
    ))


def body(sale, **fields) -> dict:
    return {"amount": 100.0, "paymentMethod": "BANK_TRANSFER", "saleId": str(sale.pk),
            "transactionReference": "TRX-0001", **fields}


def test_assigning_an_unknown_transaction_records_it_and_answers_201_with_the_documents_data(staff, sale):
    response = client_for(staff).patch(URL, body(sale), format="json")
    assert response.status_code == 201, response.content
    answer = response.json()
    assert set(answer) == {"message", "data", "meta"}
    assert answer["meta"] == dict.fromkeys(("currentPage", "from", "to", "perPage", "total", "lastPage"))
    assert answer["message"] == "Transaction assigned to sale successfully"
    data = answer["data"]
    assert set(data) == DATA_KEYS
    assert set(data["sale"]) == SALE_KEYS
    assert set(data["seller"]) == SELLER_KEYS
    assert set(data["customer"]) == CUSTOMER_KEYS
    assert set(data["sale"]["saleTransaction"]) == TRANSACTION_KEYS
    assert data["id"] == str(sale.pk)
    assert (data["totalAmount"], data["orderAmount"], data["discount"], data["shippingFee"]) == (100.0, 100.0, 0.0, 0.0)
    assert (data["paymentMethod"], data["paymentStatus"], data["paymentMode"]) == ("BANK_TRANSFER", "SUCCESSFUL",
                                                                                     "PREPAID")
    assert (data["deliveryMode"], data["deliveryStatus"]) == ("DISPATCH", None)
    assert (data["orderNumber"], data["totalQuantity"]) == (sale.reference, 3)
    assert data["customer"]["fullName"] == "Ada Lovelace"
    assert (data["customer"]["firstName"], data["customer"]["lastName"]) == ("Ada", "Lovelace")
    assert data["seller"]["get_id"] == str(sale.seller_id)
    assert data["agent"] is None and data["requestId"] is None
    shirt, cap = data["products"]
    assert shirt["productName"] == "Linen shirt" and shirt["quantity"] == 2
    assert shirt["images"] == ["https://cdn.example.com/shirt.jpg"] and cap["images"] == []
    inner = data["sale"]
    assert inner["transactionReference"] == inner["globalOrderNumber"] == "TRX-0001"
    assert (inner["amountPaid"], inner["isPartial"], inner["isPartialParent"]) == (100.0, False, False)
    assert (inner["discountType"], inner["totalPromotionDiscount"], inner["parentSale"]) == ("FIXED", 0.0, None)
    detail = inner["saleDetails"][0]
    assert set(detail) == DETAIL_KEYS and set(detail["product"]) == PRODUCT_KEYS
    assert detail["product"]["costPrice"]["price"] == 15.0 and detail["product"]["sellingPrice"]["price"] == 40.0
    product = sale.items.order_by("pk")[0].product  # the catalogue product's own dates, not null
    assert detail["product"]["createdAt"] == product.created_at.isoformat().replace("+00:00", "Z")
    assert detail["product"]["updatedAt"] == product.updated_at.isoformat().replace("+00:00", "Z")
    assert (detail["quantity"], detail["unitPrice"], detail["amount"]) == (2, 40.0, 80.0)
    assert (detail["costPrice"], detail["totalCostPrice"], detail["profit"]) == (15.0, 30.0, 50.0)
    assert detail["quantityRemaining"] == 2
    assert detail["sale"] == {"id": str(sale.pk)}
    transaction = inner["saleTransaction"]
    assert transaction["amount"] == 100.0 and transaction["sales"] == [{"id": str(sale.pk)}]


def test_the_assignment_is_visible_through_v1(staff, sale):
    client_for(staff).patch(URL, body(sale), format="json")
    v1 = client_for(staff).get(f"/api/v1/sales/{sale.pk}/").json()
    assert (v1["paid_total"], v1["payment_status"]) == ("100.00", "paid")
    payment = Payment.objects.get(reference="TRX-0001")
    assert (payment.method, payment.amount, payment.sale_id) == ("bank_transfer", Decimal("100.00"), sale.pk)
    assert SaleEvent.objects.filter(sale=sale, type="payment_recorded").exists()


def test_a_known_pending_transaction_is_assigned_with_its_status(staff, sale):
    payment_services.payment_record(user=staff, amount=Decimal("100.00"), method="ussd", reference="TRX-P",
                                    status="pending")
    response = client_for(staff).patch(URL, body(sale, transactionReference="TRX-P", paymentMethod="USSD"),
                                       format="json")
    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert (data["paymentStatus"], data["paymentMethod"], data["sale"]["amountPaid"]) == ("PENDING", "USSD", 0.0)
    assert SaleEvent.objects.filter(sale=sale, type="payment_assigned").exists()
    assert Payment.objects.get(reference="TRX-P").sale_id == sale.pk


def test_an_amount_that_is_not_the_transactions_is_refused(staff, sale):
    payment_services.payment_record(user=staff, amount=Decimal("60.00"), method="bank_transfer", reference="TRX-60")
    response = client_for(staff).patch(URL, body(sale, transactionReference="TRX-60", amount="100"), format="json")
    assert response.status_code == 400
    assert response.json()["message"].startswith("amount: ")
    assert Payment.objects.get(reference="TRX-60").sale_id is None


def test_a_reference_already_on_another_sale_is_409(staff, sale, seller):
    other = services.sale_create(seller=seller, data=services.NewSale(
        items=[ItemData(variant=stocked_variant(5), quantity=1, unit_price=Decimal("100.00"))]))
    client = client_for(staff)
    assert client.patch(URL, body(other), format="json").status_code == 201
    response = client.patch(URL, body(sale), format="json")
    assert response.status_code == 409
    assert response.json()["error"] == "already_assigned"
    assert response.json()["message"].startswith("transactionReference: ")
    assert Sale.objects.get(pk=sale.pk).paid_total == 0


def test_apikey_header_authenticates(staff, sale):
    response = client_for(staff, scheme="apikey").patch(URL, body(sale), format="json")
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("headers", [{}, {"HTTP_APIKEY": "nope"}, {"HTTP_AUTHORIZATION": "Bearer nope"}])
def test_no_or_a_wrong_token_is_401(sale, headers):
    response = APIClient().patch(URL, body(sale), format="json", **headers)
    assert response.status_code == 401
    assert set(response.json()) == {"message", "error"}


def test_sellers_are_refused_like_v1_assign(sale):
    response = client_for(sale.seller).patch(URL, body(sale), format="json")
    assert response.status_code == 403
    assert response.json()["error"] == "permission_denied"
    assert not Payment.objects.exists()


def test_the_sale_is_found_by_reference_and_by_numeric_id(staff, sale):
    client = client_for(staff)
    assert client.patch(URL, body(sale, saleId=sale.reference), format="json").status_code == 201
    response = client.patch(URL, body(sale, saleId=sale.pk, transactionReference="TRX-2", amount=1), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["data"]["sale"]["amountPaid"] == 101.0


@pytest.mark.parametrize("sale_id", ["999999", "nope", "0", "-1"])
def test_an_unknown_sale_is_404(staff, sale_id):
    response = client_for(staff).patch(URL, {"amount": 1, "paymentMethod": "USSD", "saleId": sale_id,
                                             "transactionReference": "T"}, format="json")
    assert response.status_code == 404
    assert response.json() == {"message": "Sale not found.", "error": "not_found"}


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"paymentMethod": "CHEQUE"}, "paymentMethod"),
        ({"paymentMethod": None}, "paymentMethod"),
        ({"amount": "lots"}, "amount"),
        ({"amount": -5}, "amount"),
        ({"saleId": None}, "saleId"),
        ({"transactionReference": ""}, "transactionReference"),
    ],
)
def test_bad_bodies_are_400_in_the_documents_envelope(staff, sale, fields, named):
    response = client_for(staff).patch(URL, body(sale, **fields), format="json")
    assert response.status_code == 400, response.content
    assert set(response.json()) == {"message", "error"}
    assert named in response.json()["message"]
    assert not Payment.objects.exists()


def test_json_sent_with_curls_default_form_type_is_read_as_json(staff, sale):
    response = client_for(staff).patch(URL, json.dumps(body(sale)), content_type="application/x-www-form-urlencoded")
    assert response.status_code == 201, response.content


def test_other_methods_are_405(staff):
    response = client_for(staff).get(URL)
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"



def test_the_path_with_a_trailing_slash_assigns_too(staff, sale):
    response = client_for(staff, scheme="apikey").patch(f"{URL}/", body(sale), format="json")
    assert response.status_code == 201, response.content
    assert Payment.objects.get(reference="TRX-0001").sale_id == sale.pk


@pytest.mark.parametrize("path", ["/compat/transactions/sales", "/compat/transactions/nope/x"])
def test_an_unknown_path_under_the_prefix_is_404_in_the_documents_envelope(staff, path):
    response = client_for(staff).patch(path, {}, format="json")
    assert response.status_code == 404
    assert set(response.json()) == {"message", "error"} and response.json()["error"] == "not_found"
