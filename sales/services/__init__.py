"""Sale services: the only code that creates or changes a sale.

Each public function is one transaction. Functions that change an existing
sale lock its row first (`SELECT … FOR UPDATE`), then lock stock rows through
`inventory.services` (always in that order, sale before stock), run the
django-fsm transition, save, and write a `SaleEvent`.
"""

from payments.services import NewPayment, check_refund_permission
from sales.models import CREATE_STATUSES
from sales.services._common import sale_lock
from sales.services.commands import ItemData, ItemQuantity, NewSale
from sales.services.editing import sale_create, sale_delete, sale_update, sale_update_item
from sales.services.fulfilment import fulfillment_track, sale_fulfil
from sales.services.invoices import INVOICE_MAX_BYTES, sale_attach_invoice, sniff_invoice_type
from sales.services.locking import sale_lock_for_review, sale_unlock
from sales.services.payments import (
    derive_payment_status,
    sale_assign_payment,
    sale_payment_changed,
    sale_record_payment,
    sale_record_payments,
    sale_refresh_payments,
    sale_refund_money,
)
from sales.services.returns import ReturnLine, charged_for_units, returned_total_of, sale_return
from sales.services.structure import sale_cancel_items, sale_clone, sale_split
from sales.services.transitions import (
    TRANSITION_SERVICES,
    sale_cancel,
    sale_complete,
    sale_confirm,
    sale_refund,
    sale_reject,
    sale_ship,
    sale_submit,
    sale_transition_to,
)

__all__ = [
    "CREATE_STATUSES",
    "INVOICE_MAX_BYTES",
    "TRANSITION_SERVICES",
    "ItemData",
    "ItemQuantity",
    "NewPayment",
    "NewSale",
    "ReturnLine",
    "charged_for_units",
    "check_refund_permission",
    "derive_payment_status",
    "fulfillment_track",
    "returned_total_of",
    "sale_assign_payment",
    "sale_attach_invoice",
    "sale_cancel",
    "sale_cancel_items",
    "sale_clone",
    "sale_complete",
    "sale_confirm",
    "sale_create",
    "sale_delete",
    "sale_fulfil",
    "sale_lock",
    "sale_lock_for_review",
    "sale_payment_changed",
    "sale_record_payment",
    "sale_record_payments",
    "sale_refresh_payments",
    "sale_refund",
    "sale_refund_money",
    "sale_reject",
    "sale_return",
    "sale_ship",
    "sale_split",
    "sale_submit",
    "sale_transition_to",
    "sale_unlock",
    "sale_update",
    "sale_update_item",
    "sniff_invoice_type",
]
