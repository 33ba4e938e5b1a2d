"""The inputs of the sale services: validated value objects built by the API, the admin, the CSV import.

Each caller resolves references (codes, ids) to objects and hands the service one value;
the service decides what the sale becomes.
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from customers.models import Customer
from inventory.models import Product, ProductGroup, Variant, Warehouse
from payments.services import NewPayment
from sales.models import (
    CREATE_STATUSES,
    Carrier,
    Channel,
    DeliveryMode,
    DiscountType,
    PriceList,
    SaleItem,
    SaleStatus,
    Store,
    TaxCalculation,
    TaxRate,
)
from salesproject.errors import ValidationError
from salesproject.metadata import metadata_merge
from salesproject.money import ZERO


@dataclass
class ItemData:
    """One requested sale line, with its references already resolved to objects."""

    quantity: int
    product: Product | None = None
    variant: Variant | None = None
    unit_price: Decimal | None = None
    discount: Decimal = ZERO
    discount_type: str = DiscountType.FIXED
    warehouse: Warehouse | None = None
    carrier: Carrier | None = None
    tracking_code: str = ""
    tracking_url: str = ""
    product_group: ProductGroup | None = None
    tax: TaxRate | None = None  # None: the sale's tax
    tax_included: bool | None = None  # None: the sale's prices_include_tax


@dataclass(frozen=True)
class ItemQuantity:
    """Some units of one line of a sale (`item`: the line or its id), as returns, fulfilments, cancels and
    splits name them."""

    item: SaleItem | int
    quantity: int

    @property
    def item_id(self) -> int:
        return self.item.pk if isinstance(self.item, SaleItem) else self.item


@dataclass(frozen=True, kw_only=True)
class NewSale:
    """A sale to create (`sale_create`): its lines, payments, the status to take it to and its own fields.

    Built from any sequence of lines, payments and tags (kept as tuples); a blank value
    (`None`, `""`) of a field with a default takes the default, and a status a sale
    cannot be created in is refused here (400 `invalid_choice` on `status`).
    """

    items: tuple[ItemData, ...]
    status: str = SaleStatus.PENDING
    customer: Customer | None = None
    channel: Channel | None = None
    warehouse: Warehouse | None = None  # None: the default warehouse
    currency: str | None = None  # None: `SALES_DEFAULT_CURRENCY`
    exchange_rate: Decimal | None = None  # None: the rate valid at `sold_at` (1 in the base currency)
    reference: str | None = None  # None: numbered `S-000123`
    external_id: str = ""
    sold_at: datetime | None = None  # None: now
    discount: Decimal = ZERO
    discount_type: str = DiscountType.FIXED
    tax: TaxRate | None = None
    prices_include_tax: bool = False
    shipping_cost: Decimal = ZERO
    tax_shipping: bool = False
    tax_calculation: str = TaxCalculation.DEFAULT  # "custom": the tax is `tax_amount`
    tax_amount: Decimal | None = None
    price_list: PriceList | None = None  # None: the customer's, else the channel's (lines without unit_price)
    discount_code: str = ""  # a promotion's code
    billing_address: dict | None = None  # None: the customer's default billing address
    shipping_address: dict | None = None  # None: the customer's default shipping address
    delivery_mode: str = DeliveryMode.DISPATCH
    payment_mode: str | None = None  # None: not stated
    delivery_note: str = ""
    payments: tuple[NewPayment, ...] = ()
    note: str = ""
    staff_note: str = ""
    admin_note: str = ""  # staff only (the API refuses it from sellers)
    tags: tuple[str, ...] = ()
    due_date: date | None = None
    customer_reference: str = ""  # the buyer's PO number
    metadata: dict | None = None  # an integrator's flat string → string pairs (salesproject.metadata)
    store: Store | None = None  # None: the seller's only store, else none
    device: str = ""  # the POS terminal id
    source: str = ""  # the API that created it ("v1", "compat-cart", …), kept on the sale's "created" activity
    items_later: bool = False  # a draft may come without items, added by an edit before it is submitted

    def __post_init__(self) -> None:
        if self.status not in CREATE_STATUSES:
            raise ValidationError(
                f"A sale can be created as {', '.join(CREATE_STATUSES)}; not {self.status!r}.",
                code="invalid_choice",
                attr="status",
            )
        normal = {
            "items": tuple(self.items),
            "payments": tuple(self.payments or ()),
            "tags": tuple(self.tags or ()),
            "external_id": self.external_id or "",
            "discount": self.discount if self.discount is not None else ZERO,
            "discount_type": self.discount_type or DiscountType.FIXED,
            "shipping_cost": self.shipping_cost if self.shipping_cost is not None else ZERO,
            "note": self.note or "",
            "staff_note": self.staff_note or "",
            "admin_note": self.admin_note or "",
            "customer_reference": self.customer_reference or "",
            "metadata": metadata_merge({}, self.metadata),
            "delivery_mode": self.delivery_mode or DeliveryMode.DISPATCH,
            "payment_mode": self.payment_mode or None,
            "delivery_note": self.delivery_note or "",
            "discount_code": (self.discount_code or "").strip(),
            "tax_calculation": self.tax_calculation or TaxCalculation.DEFAULT,
            "device": self.device or "",
        }
        for name, value in normal.items():
            object.__setattr__(self, name, value)
