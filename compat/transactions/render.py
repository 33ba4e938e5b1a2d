"""Seed 004's `data`: a sale and the transaction just assigned to it, in the document's words.

Keys are the document's sample's; what the product has no data for (tenants, agents, wallets, geolocation,
uuids) is `null` (`[]` for lists, `{}` for the seller's wallet, as the sample shows an object).
"""

from datetime import datetime
from decimal import Decimal

from payments.models import Payment
from sales.models import DeliveryMode, DeliveryStatus, DiscountType, PaymentMode, Sale, SaleEventType, SaleItem
from sales.selectors import delayed_fulfillments

# The document's enum words for the product's values.
PAYMENT_MODES = {mode: mode.upper() for mode in PaymentMode.values}  # PREPAID, ON_DELIVERY, IN_STORE
DELIVERY_MODES = {DeliveryMode.DISPATCH: "DISPATCH", DeliveryMode.PICKUP: "PICK_UP"}
DELIVERY_STATUSES = {status: status.upper() for status in DeliveryStatus.values if status != DeliveryStatus.NONE}
DISCOUNT_TYPES = {DiscountType.PERCENT: "PERCENTAGE", DiscountType.FIXED: "FIXED"}
# The sample product's keys the product keeps no data for on a sale line: null.
PRODUCT_UNKNOWN = (
    "uuid", "tenantId", "merchantId", "businessId", "description", "subCategories",
    "brand", "countryCode", "productPublicId", "minimumOrderQuantity", "promotion", "quantityOnHand",
    "reorderLevel", "stockLevel", "visibility",
)
# The sample's pagination block: one sale, no list, so no data.
META = dict.fromkeys(("currentPage", "from", "to", "perPage", "total", "lastPage"))
ADDRESS_PARTS = ("line1", "line2", "city", "state", "postal_code", "country")


def money(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def moment(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def words(value: str | None) -> str | None:
    """A payment method or status as the document writes it: `bank_transfer` → `BANK_TRANSFER`."""
    return value.upper() if value else None


def reference(pk: int | None) -> dict | None:
    """Another sale where the document shows a (circular) sale object: `{"id"}`, or null."""
    return {"id": str(pk)} if pk else None


def one_line(address: dict) -> str | None:
    parts = [str(address[part]) for part in ADDRESS_PARTS if address.get(part)]
    return ", ".join(parts) or None


def split_name(name: str) -> tuple[str | None, str | None]:
    first, _, last = (name or "").strip().partition(" ")
    return first or None, last.strip() or None


def customer(sale: Sale) -> dict | None:
    if sale.customer is None:
        return None
    person, address = sale.customer, sale.billing_address or {}
    first, last = split_name(person.name)
    return {
        "country": {"code": address.get("country") or None, "name": None, "currency": None},
        "firstName": first,
        "lastName": last,
        "wallet": {"virtualBankCode": None},
        "city": {"code": None, "name": address.get("city") or None},
        "phone": person.phone or None,
        "profileTenant": None,
        "photo": None,
        "get_id": str(person.pk),
        "state": {"code": None, "name": address.get("state") or None},
        "username": None,
        "status": None,
        "profileOwners": [],
        "address": one_line(address),
        "fullName": person.name or None,
    }


def seller(sale: Sale) -> dict:
    """The selling business: the sale's store when it has one; its owner is the user who sold."""
    user, store = sale.seller, sale.store
    full_name = user.get_full_name() or None
    place = (store.address or {}) if store else {}
    return {
        "get_id": str(user.pk),
        "name": store.name if store else (full_name or user.username),
        "photo": None,
        "wallet": {},
        "address": {
            "country": place.get("country") or None, "latitude": None, "lga": None,
            "name": one_line(place), "state": place.get("state") or None, "longitude": None,
        } if place else None,
        "location": None,
        "user": user.username,
        "owner": {
            "profileTenant": None,
            "city": {"code": None, "name": None},
            "country": {"code": None, "name": None, "currency": None},
            "firstName": user.first_name or None,
            "lastName": user.last_name or None,
            "phone": None,
            "photo": None,
            "state": {"code": None, "name": None},
            "username": user.username,
            "wallet": {"virtualBankCode": None},
            "id": str(user.pk),
            "fullName": full_name,
        },
        "businessHandle": store.code if store else None,
        "shippingFee": money(sale.shipping_cost),
        "phone": None,
        "category": None,
        "active": user.is_active,
        "acceptingOrder": None,
        "isDistributor": None,
        "isManufacturer": None,
    }


def price(value: Decimal) -> dict:
    return {"price": money(value), "unitQuantity": 1, "unitPrice": money(value)}


def detail(sale: Sale, item: SaleItem) -> dict:
    """One line (`saleDetails`): the product as sold (price and cost at sale time), its money and profit."""
    images = [item.image_url] if item.image_url else []
    return {
        "id": item.pk,
        "uuid": None,
        "createdAt": moment(sale.created_at),
        "updatedAt": moment(sale.updated_at),
        "tenantId": None,
        "merchantId": str(sale.seller_id),
        "businessId": sale.store.code if sale.store else None,
        "countryCode": sale.shipping_country or None,
        "product": {
            **dict.fromkeys(PRODUCT_UNKNOWN),
            "id": item.product_id,
            "createdAt": moment(item.product.created_at),  # the catalogue product's
            "updatedAt": moment(item.product.updated_at),
            "name": item.name,
            "sku": item.sku,
            "category": item.product_group.name if item.product_group else None,
            "costPrice": price(item.cost_price),
            "sellingPrice": price(item.unit_price),
            "unit": item.unit or None,
            "weight": item.weight,
            "images": images,
            "clusters": [],
        },
        "quantity": item.quantity,
        "unitPrice": money(item.unit_price),
        "amount": money(item.total),
        "promotionDiscount": 0.0,  # the product keeps promotions per sale, not per line
        "costPrice": money(item.cost_price),
        "totalCostPrice": money(item.cost_total),
        "profit": money(item.profit),
        "sellingPrice": price(item.unit_price),
        "quantityRemaining": item.quantity_unfulfilled,
        "sale": reference(sale.pk),  # the document's circular references: the sale by id
        "parentSale": reference(sale.parent_id),
    }


def tracking(sale: Sale) -> list[dict]:
    """`salesTracking`: the status steps of the sale's parcels, oldest first."""
    delayed = set(delayed_fulfillments().filter(sale=sale).values_list("pk", flat=True))
    return [
        {
            "id": event.pk,
            "uuid": None,
            "createdAt": moment(event.created_at),
            "updatedAt": moment(event.created_at),
            "deliveryStatus": words(event.status),
            "isDelayed": event.fulfillment_id in delayed,
            "merchantId": str(sale.seller_id),
            "businessId": sale.store.code if sale.store else None,
            "tenantId": None,
            "sale": reference(sale.pk),
        }
        for fulfillment in sale.fulfillments.order_by("pk").prefetch_related("tracking")
        for event in fulfillment.tracking.all()
    ]


def transaction(payment: Payment, sale: Sale, sales: list[Sale]) -> dict:
    return {
        "id": str(payment.pk),
        "createdAt": moment(payment.created_at),
        "updatedAt": moment(payment.created_at),
        "amount": money(payment.amount),
        "totalShippingFee": money(sum((s.shipping_cost for s in sales), Decimal(0))),
        "totalOrderAmount": money(sum((s.grand_total for s in sales), Decimal(0))),
        "sales": [reference(s.pk) for s in sales],
        "tenantId": None,
        "countryCode": sale.shipping_country or None,
        "paymentStatus": words(payment.status),
        "paymentMethod": words(payment.method),
        "paymentMode": PAYMENT_MODES.get(sale.payment_mode),
        "transactionReference": payment.reference,
        "globalOrderNumber": payment.reference,
    }


def render(sale: Sale, payment: Payment) -> dict:
    """The document's `data` for `sale` (loaded by `sale_with_related`) after `payment` was assigned to it."""
    items = list(sale.items.all())
    sales = list(payment.sales.order_by("pk"))
    common = {
        "paymentMethod": words(payment.method),
        "paymentMode": PAYMENT_MODES.get(sale.payment_mode),
        "paymentStatus": words(payment.status),
        "deliveryMode": DELIVERY_MODES.get(sale.delivery_mode),
        "deliveryStatus": DELIVERY_STATUSES.get(sale.delivery_status),
        "orderNumber": sale.reference,
        "totalQuantity": sale.total_quantity,
        "deliveryAddress": one_line(sale.shipping_address or {}),
    }
    money_fields = {
        "shippingFee": money(sale.shipping_cost),
        "orderAmount": money(sale.subtotal),
        "totalAmount": money(sale.grand_total),
        "discount": money(sale.discount_total),
    }
    return {
        "id": str(sale.pk),
        **money_fields,
        "requestId": None,
        "merchantId": str(sale.seller_id),
        **common,
        "customer": customer(sale),
        "agent": None,
        "seller": seller(sale),
        "products": [
            {"productId": str(item.product_id), "productName": item.name,
             "images": [item.image_url] if item.image_url else [], "quantity": item.quantity}
            for item in items
        ],
        "sale": {
            "id": str(sale.pk),
            "createdAt": moment(sale.created_at),
            "updatedAt": moment(sale.updated_at),
            "tenantId": None,
            "agentId": None,
            "merchantId": str(sale.seller_id),
            "businessId": sale.store.code if sale.store else None,
            "customerId": str(sale.customer_id) if sale.customer_id else None,
            "requestId": None,
            "transactionReference": payment.reference,
            "paymentReference": str(payment.pk),
            "countryCode": sale.shipping_country or None,
            "deliveryNote": sale.delivery_note,
            "globalOrderNumber": payment.reference,
            "isPartialParent": bool(sale.children_ids),
            "isPartial": sale.is_partial,
            "isUpdated": sale.events.filter(type=SaleEventType.EDITED).exists(),
            **money_fields,
            "totalPromotionDiscount": money(sum((p.amount for p in sale.applied_promotions.all()), Decimal(0))),
            "discountType": DISCOUNT_TYPES.get(sale.discount_type),
            "amountPaid": money(sale.paid_total),
            **common,
            "saleDetails": [detail(sale, item) for item in items],
            "saleTransaction": transaction(payment, sale, sales),
            "parentSale": reference(sale.parent_id),
            "salesTracking": tracking(sale),
        },
    }
