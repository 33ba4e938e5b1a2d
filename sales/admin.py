"""The sales back office: sales with transition buttons and bulk actions, invoices, channels, carriers, taxes.

The admin is a thin skin over `sales.services`, like the API: no form,
button or action here writes a sale, an item, a status, stock or a total by
itself. Saving a sale's change form calls `sale_update` / `sale_update_item`,
the add form calls `sale_create`, a transition button calls the transition's
service with the staff user, and a `DomainError` becomes an admin message
(never a 500). Bulk actions run one service call, hence one transaction, per sale.
"""

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import RelatedFieldWidgetWrapper
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Model, QuerySet
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django_fsm.admin import FSMAdminMixin, FSMObjectTransition, FSMTransitionContext

from payments.models import Payment
from sales import reference_services, selectors, services
from sales.admin_documents import SaleDocumentsAdminMixin
from sales.admin_forms import (
    SALE_ALWAYS_EDITABLE_FIELDS,
    SALE_OPEN_FIELDS,
    SaleAdminForm,
    SaleCancelForm,
    SaleItemAdminForm,
    SaleRefundForm,
    SaleRejectForm,
    SaleShipForm,
)
from sales.admin_fulfilment import (
    DelayedFilter,
    FulfillmentInlineMixin,
    SaleOperationsMixin,
    late_fulfilments_of_sale,
    structure_links,
    units,
)
from sales.admin_payments import SalePaymentAdmin  # noqa: F401 (registers the admin of payments.Payment)
from sales.csv_io import write_sales_csv
from sales.models import (
    TRANSITION_FOR_STATUS,
    CancellationStatus,
    Carrier,
    Channel,
    DeliveryMode,
    DeliveryStatus,
    ExchangeRate,
    Invoice,
    PriceList,
    PriceListEntry,
    Promotion,
    Sale,
    SaleEvent,
    SaleEventType,
    SaleItem,
    SaleStatus,
    Store,
    StoreMembership,
    TaxComponent,
    TaxRate,
    TrackingStatus,
)
from sales.services import exchange_rates as exchange_rate_services
from sales.services import prices as price_list_services
from sales.services import promotions as promotion_services
from salesproject.admin_views import ServiceErrorsAsMessages, action_form_page, adopt, describe
from salesproject.errors import DomainError

TRANSITION_HELP = {
    "submit": "Reserve the stock of every line.",
    "confirm": "Take the reserved units out of stock.",
    "ship": "Hand the goods to a carrier (optionally with a tracking code).",
    "complete": "Close the sale as delivered.",
    "cancel": "Release or put back the stock; asks for a reason.",
    "reject": "Refuse the order and release its reservation.",
    "refund": "Give the money back; asks whether the goods come back into stock.",
}

COMPUTED_FIELDS = (
    "number",
    "reference",
    "payment_status",
    "fulfillment_status",
    "return_status",
    "delivery_status",
    "cancellation_status",
    "structure",
    "tax_rate",
    "subtotal",
    "discount_total",
    "shipping_tax",
    "tax_total",
    "grand_total",
    "paid_total",
    "returned_total",
    "net_total",
    "balance_due",
    "cost_total",
    "profit",
    "margin",
    "exchange_rate",
    "tax_lines_display",
    "shipping_country",
    "cancel_reason",
    "reject_reason",
    "confirmed_at",
    "shipped_at",
    "completed_at",
    "cancelled_at",
    "refunded_at",
    "created_at",
    "updated_at",
)

# Line fields whose change re-prices the sale: the service then replaces the lines whole.
REPRICING_LINE_FIELDS = frozenset({"variant", "quantity", "unit_price", "discount", "discount_type"})
# Line fields `sale_update_item` changes in place (moving a pending line's reservation with it).
IN_PLACE_LINE_FIELDS = ("warehouse", "carrier", "tracking_code")


def report(request: HttpRequest, verb: str, done: int, failed: list[str]) -> None:
    """One message for a bulk action: "N done, M failed: <ref>: <message>; …"."""
    if failed:
        messages.error(request, f"{verb}: {done} done, {len(failed)} failed: {'; '.join(failed)}")
    else:
        messages.success(request, f"{verb}: {done} done, 0 failed.")


# The back office is used at 1366 px: the app list on the index page is enough, so the left sidebar's 300 px go
# to the tables (a sale's lines, with tracking and totals, then fit the screen).
admin.site.enable_nav_sidebar = False

# --- how things read ------------------------------------------------------------------


def money(amount, currency: str) -> str:
    """`1,302.00 USD`, right-aligned in its cell."""
    if amount is None:
        return "-"
    return format_html('<span class="money">{} {}</span>', f"{amount:,}", currency)


def tag_chips(tags) -> str:
    if not tags:
        return "-"
    return format_html_join("", '<span class="chip">{}</span>', ((tag,) for tag in tags))


# What an event of each type reads as; status changes read as the status reached.
# A str.format template is filled with the event's data (a missing key leaves the plain verb).
EVENT_VERBS = {
    SaleEventType.CREATED: "Created",
    SaleEventType.EDITED: "Edited",
    SaleEventType.ITEM_UPDATED: "Line updated",
    SaleEventType.PAYMENT_RECORDED: "Payment recorded",
    SaleEventType.PAYMENT_ASSIGNED: "Payment assigned",
    SaleEventType.REFUND_RECORDED: "Refund recorded",
    SaleEventType.RETURNED: "Items returned",
    SaleEventType.INVOICE_ATTACHED: "Invoice attached",
    SaleEventType.NOTE_CHANGED: "Note changed",
    SaleEventType.FULFILLMENT_CREATED: "Fulfilment {number} created",
    SaleEventType.TRACKING_UPDATED: "Fulfilment {number} marked {status_label}",
    SaleEventType.ITEMS_CANCELLED: "Items cancelled",
    SaleEventType.SPLIT: "Split into {new_reference}",
    SaleEventType.CLONED: "Cloned to {new_reference}",
    SaleEventType.LOCKED: "Locked for review",
    SaleEventType.UNLOCKED: "Unlocked",
}
# Data shown after the sentence, in this order ("amount 12.00; reason wrong size"), when it is a plain value.
EVENT_DETAILS = ("amount", "method", "reference", "reason", "note", "location", "carrier", "tracking_code", "restock")
STATUS_VERBS = {
    SaleStatus.PENDING: "Submitted",
    SaleStatus.CONFIRMED: "Confirmed",
    SaleStatus.IN_DELIVERY: "Shipped",
    SaleStatus.COMPLETED: "Completed",
    SaleStatus.CANCELLED: "Cancelled",
    SaleStatus.REJECTED: "Rejected",
    SaleStatus.REFUNDED: "Refunded",
}


def event_sentence(event: SaleEvent) -> str:
    """ "Confirmed by alice, 5 Dec 14:02", then the few details that matter (amount, reason, note)."""
    data = event.data if isinstance(event.data, dict) else {}
    if event.type == SaleEventType.STATUS_CHANGED:
        verb = STATUS_VERBS.get(event.to_status, f"Moved to {event.to_status}")
    else:
        verb = EVENT_VERBS.get(event.type, str(event.get_type_display()))
        status = data.get("status")
        label = TrackingStatus(status).label.lower() if status in TrackingStatus.values else status
        fill = {**data, "status_label": label}
        try:
            verb = verb.format(**fill)
        except (KeyError, IndexError, ValueError):
            verb = str(event.get_type_display())
    who = event.user.get_username() if event.user_id else "the system"
    when = date_format(timezone.localtime(event.created_at), "j M H:i")
    details = []
    if event.type == SaleEventType.CREATED and data.get("grand_total"):
        details.append(f"total {data['grand_total']}")
    if event.type == SaleEventType.CREATED and data.get("source"):
        details.append(f"through {data['source']}")
    if isinstance(data.get("items"), list) and data["items"]:  # fulfilled, cancelled, split off
        details.append(units(line for line in data["items"] if isinstance(line, dict)))
    for key in EVENT_DETAILS:
        value = data.get(key)
        if value not in (None, "", [], {}) and not isinstance(value, dict | list):
            details.append(f"{key.replace('_', ' ')} {value}")
    return format_html(
        '<span class="activity-entry">{} by <strong>{}</strong>, {}{}</span>',
        verb,
        who,
        when,
        format_html(' <span class="activity-detail">· {}</span>', "; ".join(details)) if details else "",
    )


# --- sale inlines -------------------------------------------------------------------


class SalePartInline(admin.TabularInline):
    """An inline whose rows belong to the sale: it follows the sale's permissions, not its own model's."""

    extra = 0

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("sales.view_sale") or request.user.has_perm("sales.change_sale")


class ReadOnlyInline(SalePartInline):
    can_delete = False
    template = "admin/sales/readonly_tabular.html"
    empty_text = "Nothing yet."  # shown instead of an empty table

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return self.fields


class SaleItemInline(SalePartInline):
    """The lines: editable while the sale is draft or pending; saved by `SaleAdmin.save_related` via services."""

    model = SaleItem
    form = SaleItemAdminForm
    raw_id_fields = ("variant",)
    fields = (
        "variant",
        "sku",
        "name",
        "item_type",
        "unit",
        "variant_name",
        "image_url",
        "weight",
        "quantity",
        "cancelled",
        "sent",
        "returned",
        "unit_price",
        "discount",
        "discount_type",
        "warehouse",
        "carrier",
        "tracking_code",
        "subtotal",
        "discount_total",
        "tax_total",
        "total",
    )
    result_fields = (
        "sku", "name", "item_type", "unit", "variant_name", "image_url", "weight",  # snapshots: set by the services
        "cancelled", "sent", "returned", "subtotal", "discount_total", "tax_total", "total",
    )

    @staticmethod
    def _editable(request, obj) -> bool:
        if obj is None:
            return request.user.has_perm("sales.add_sale")
        return obj.is_editable and request.user.has_perm("sales.change_sale")

    def has_add_permission(self, request, obj=None):
        return self._editable(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._editable(request, obj)

    def has_delete_permission(self, request, obj=None):
        return obj is not None and self._editable(request, obj)

    def get_extra(self, request, obj=None, **kwargs):
        if obj is None:
            return 3
        return 1 if obj.is_editable else 0

    def get_readonly_fields(self, request, obj=None):
        return self.result_fields if obj is None or obj.is_editable else self.fields

    def get_fields(self, request, obj=None):
        """Only the columns that say something in this state, so tracking and totals fit a 1366 px screen."""
        if obj is None:
            return self.fields
        if obj.is_editable:  # the variant box names the sku; nothing is returned or sent before confirm
            hidden = {"sku", "returned", "discount_total", "sent"}
        else:  # read-only: sku and name say which variant; the discount total says what the discount did
            hidden = {"variant", "discount", "discount_type"}
        if obj.cancellation_status == CancellationStatus.NONE:  # a column of zeros: left out
            hidden.add("cancelled")
        return tuple(name for name in self.fields if name not in hidden)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("variant", "warehouse", "carrier")

    @admin.display(description="Cancelled")
    def cancelled(self, obj: SaleItem):
        return obj.quantity_cancelled if obj.pk else "-"

    @admin.display(description="Returned")
    def returned(self, obj: SaleItem):
        return obj.quantity_returned if obj.pk else "-"

    @admin.display(description="Sent")
    def sent(self, obj: SaleItem):
        """Units in live fulfilments (the rest is still to send)."""
        return obj.quantity_fulfilled if obj.pk else "-"

    formfield_overrides = {
        models.DecimalField: {"widget": forms.NumberInput(attrs={"style": "width: 7em", "step": "0.01"})},
        models.PositiveIntegerField: {"widget": forms.NumberInput(attrs={"style": "width: 5em"})},
    }

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        """Read the warehouse and carrier choices once, not once per line (each row renders its own select)."""
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name in ("warehouse", "carrier"):
            field.choices = list(iter(field.choices))  # iter(): no COUNT(*) first
        return field

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        # A line is no place to create or edit warehouses and carriers: drop the four icons from each row.
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if field is not None and isinstance(field.widget, RelatedFieldWidgetWrapper) and db_field.name != "variant":
            field.widget.can_add_related = field.widget.can_change_related = False
            field.widget.can_delete_related = field.widget.can_view_related = False
        return field


class FulfillmentInline(FulfillmentInlineMixin, ReadOnlyInline):
    """The parcels and pick-ups of the sale, oldest first, each with a link to update its tracking."""


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = ("kind", "amount_with_currency", "method", "status", "reference", "received_at", "user", "note")
    verbose_name_plural = "payments and refunds (record them under Payments)"
    empty_text = "No payments yet."

    @admin.display(description="Amount")
    def amount_with_currency(self, obj: Payment):
        return money(obj.amount, obj.currency)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")


class SaleEventInline(ReadOnlyInline):
    model = SaleEvent
    fields = ("entry",)
    verbose_name_plural = "activity log"
    empty_text = "No activity yet."

    @admin.display(description="What happened")
    def entry(self, obj: SaleEvent):
        return event_sentence(obj)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")


class InvoiceInline(ReadOnlyInline):
    model = Invoice
    fields = ("number", "file", "content_type", "size", "generated", "created_at")
    verbose_name_plural = "invoices (attach them under Invoices)"
    empty_text = "No invoices yet."


# --- the sale ---------------------------------------------------------------------


@admin.register(Sale)
class SaleAdmin(
    SaleDocumentsAdminMixin, SaleOperationsMixin, ServiceErrorsAsMessages, FSMAdminMixin, admin.ModelAdmin
):
    form = SaleAdminForm
    change_form_template = "admin/sales/sale/change_form.html"
    fsm_fields = ["status"]
    fsm_forms = {"cancel": SaleCancelForm, "reject": SaleRejectForm, "refund": SaleRefundForm, "ship": SaleShipForm}
    fsm_transition_form_template = "admin/sales/sale/transition_form.html"
    fsm_transition_not_allowed_msg = "You may not {transition_name} this sale."

    formfield_overrides = {models.TextField: {"widget": forms.Textarea(attrs={"rows": 3, "cols": 80})}}
    list_display = (
        "number",
        "reference",
        "customer",
        "seller",
        "channel",
        "status_display",
        "payment_status",
        "delivery_display",
        "grand_total_display",
        "tags_display",
        "created_at",
    )
    list_display_links = ("number", "reference")
    list_select_related = ("customer", "seller", "channel")
    show_full_result_count = False  # one COUNT(*) less per page on a large table
    list_filter = (
        "status",
        "payment_status",
        "fulfillment_status",
        "delivery_status",
        DelayedFilter,
        "delivery_mode",
        "locked",
        "channel",
        "warehouse",
    )
    date_hierarchy = "created_at"
    # The box searches like the API's ?search= (sales.selectors.sale_search, trigram-indexed on
    # PostgreSQL): reference, customer name or e-mail, a line's sku or name.
    search_fields = ("reference",)  # shows the box; get_search_results does the searching
    search_help_text = "Reference, customer name or e-mail, or a line's SKU or name."
    raw_id_fields = ("seller", "customer")
    inlines = (SaleItemInline, FulfillmentInline, PaymentInline, InvoiceInline, SaleEventInline)
    actions = ("confirm_selected", "cancel_selected", "mark_shipped", "export_csv")

    add_fieldsets = (
        (None, {"fields": ("seller", "customer", "channel", "warehouse", "currency", "external_id", "sold_at")}),
        (
            "Money",
            {"fields": ("discount", "discount_type", "tax", "prices_include_tax", "shipping_cost", "tax_shipping")},
        ),
        ("Delivery", {"fields": (("delivery_mode", "payment_mode"), "delivery_note")}),
        ("Addresses", {"fields": ("billing_address", "shipping_address"), "classes": ("collapse",)}),
        ("Notes", {"fields": ("note", "staff_note", "tags")}),
    )
    change_fieldsets = (
        (
            None,
            {
                "fields": (
                    ("number", "reference"),
                    "status",
                    ("payment_status", "fulfillment_status", "return_status"),
                    "seller",
                    "customer",
                    "channel",
                    "warehouse",
                    "currency",
                    "external_id",
                    "sold_at",
                )
            },
        ),
        (
            "Money",
            {
                "fields": (
                    ("discount", "discount_type"),
                    ("tax", "tax_rate", "prices_include_tax"),
                    ("shipping_cost", "tax_shipping"),
                    "subtotal",
                    "discount_total",
                    "shipping_tax",
                    "tax_total",
                    "grand_total",
                    "returned_total",
                    "net_total",
                    "paid_total",
                    "balance_due",
                    "tax_lines_display",
                    "exchange_rate",
                    ("cost_total", "profit", "margin"),
                )
            },
        ),
        (
            "Delivery and structure",
            {
                "fields": (
                    ("delivery_mode", "payment_mode"),
                    "delivery_note",
                    ("delivery_status", "cancellation_status"),
                    "structure",
                )
            },
        ),
        (
            "Addresses",
            {"fields": ("billing_address", "shipping_address", "shipping_country"), "classes": ("collapse",)},
        ),
        ("Notes", {"fields": ("note", "staff_note", "tags")}),
        ("Invoices and credit notes", {"fields": ("invoice_status", "documents")}),  # admin_documents
        (
            "Lifecycle",
            {
                "fields": (
                    ("cancel_reason", "reject_reason"),
                    ("confirmed_at", "shipped_at", "completed_at"),
                    ("cancelled_at", "refunded_at"),
                    ("created_at", "updated_at"),
                ),
                "classes": ("collapse",),
            },
        ),
    )

    # --- what the pages show -------------------------------------------------------

    def get_fieldsets(self, request, obj=None):
        return self.add_fieldsets if obj is None else self.change_fieldsets

    def get_readonly_fields(self, request, obj=None):
        """Totals and derived statuses always; the seller once created; the rest once the sale is no longer open."""
        fields = [*super().get_readonly_fields(request, obj), *COMPUTED_FIELDS]
        if obj is not None:
            fields.append("seller")
            if not obj.is_editable:
                fields.extend(SALE_OPEN_FIELDS)
        return tuple(dict.fromkeys(fields))

    def get_search_results(self, request, queryset, search_term):
        return selectors.sale_search(queryset, search_term), False

    def get_queryset(self, request):
        return (
            super().get_queryset(request)
            .select_related("seller", "customer", "channel", "warehouse", "tax", "locked_by")
            .annotate(is_late=late_fulfilments_of_sale())
        )

    @admin.display(description="Status", ordering="status")
    def status_display(self, obj: Sale):
        if obj.locked:
            return format_html('{} <span class="chip chip-locked" title="Locked: {}">locked</span>',
                               obj.get_status_display(), obj.locked_reason or "no reason given")
        return obj.get_status_display()

    @admin.display(description="Delivery", ordering="delivery_status")
    def delivery_display(self, obj: Sale):
        """ "In transit", "Pick-up: ready", with a "late" chip when a fulfilment is overdue."""
        text = obj.get_delivery_status_display() if obj.delivery_status != DeliveryStatus.NONE else "-"
        if obj.delivery_mode == DeliveryMode.PICKUP:
            text = f"Pick-up · {text}" if text != "-" else "Pick-up"
        if getattr(obj, "is_late", False):
            return format_html('{} <span class="chip chip-late">late</span>', text)
        return text

    @admin.display(description="Split and clones")
    def structure(self, obj: Sale):
        return structure_links(obj)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["sale_operations"] = self.sale_operations(request, obj) if obj is not None else []
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    @admin.display(description="Grand total", ordering="grand_total")
    def grand_total_display(self, obj: Sale):
        return money(obj.grand_total, obj.currency)

    @admin.display(description="Tags")
    def tags_display(self, obj: Sale):
        return tag_chips(obj.tags)

    @admin.display(description="Net total")
    def net_total(self, obj: Sale):
        return obj.net_total

    @admin.display(description="Balance due")
    def balance_due(self, obj: Sale):
        return obj.balance_due

    # Cost and profit (money.md: staff see them; every admin user is staff).
    @admin.display(description="Cost")
    def cost_total(self, obj: Sale):
        return obj.cost_total

    @admin.display(description="Profit")
    def profit(self, obj: Sale):
        return obj.profit

    @admin.display(description="Margin %")
    def margin(self, obj: Sale):
        return "-" if obj.margin is None else obj.margin

    @admin.display(description="Tax breakdown")
    def tax_lines_display(self, obj: Sale):
        if not obj.tax_lines:
            return "-"
        return "; ".join(
            f"{line['name'] or line['code'] or 'Tax'}"
            f"{' (' + line['jurisdiction'] + ')' if line.get('jurisdiction') else ''} {line['rate']}%: {line['amount']}"
            for line in obj.tax_lines
        )

    def has_delete_permission(self, request, obj=None):
        """Only sales `sale_delete` accepts (draft, pending, cancelled, rejected, without history) offer Delete."""
        return super().has_delete_permission(request, obj) and (
            obj is None or (obj.is_deletable and not obj.has_history)
        )

    def get_actions(self, request):
        # Bulk delete would bypass `sale_delete`'s checks per sale; delete one sale at a time from its page.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    # --- saving through the services -------------------------------------------------

    def save_model(self, request, obj, form, change):
        """Save nothing yet: the lines arrive with the formsets, so `save_related` calls the service once."""

    def save_related(self, request, form, formsets, change):
        for formset in formsets:  # read by the admin's change message; the services did the writing
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        items = next((formset for formset in formsets if formset.model is SaleItem), None)
        if not change:
            self._create(request, form, items)
        else:
            self._update(request, form, items)

    def _create(self, request, form: ModelForm, items: BaseInlineFormSet | None) -> None:
        data = form.cleaned_data
        fields = {name: data[name] for name in (*SALE_OPEN_FIELDS, *SALE_ALWAYS_EDITABLE_FIELDS) if name in data}
        for name in ("billing_address", "shipping_address"):
            if not fields.get(name):
                fields[name] = None  # take the customer's default address
        if not fields.get("warehouse"):
            fields.pop("warehouse", None)
        lines = list(self._lines(items)) if items is not None else []
        command = services.NewSale(status=SaleStatus.DRAFT, items=lines, **fields)
        sale = services.sale_create(seller=data.get("seller") or request.user, data=command, user=request.user)
        adopt(form.instance, sale)

    def _update(self, request, form: ModelForm, items: BaseInlineFormSet | None) -> None:
        sale: Sale = form.instance
        data = {
            name: form.cleaned_data[name]
            for name in form.changed_data
            if name in (*SALE_OPEN_FIELDS, *SALE_ALWAYS_EDITABLE_FIELDS)
        }
        in_place: list[tuple[SaleItem, dict[str, Any]]] = []
        # A closed sale's lines are shown read-only, so their formset carries nothing to save.
        if items is not None and sale.is_editable:
            if self._lines_replaced(items):
                data["items"] = list(self._lines(items))
            else:
                for line in items.initial_forms:
                    changes = {
                        name: line.cleaned_data[name] for name in line.changed_data if name in IN_PLACE_LINE_FIELDS
                    }
                    if changes:
                        in_place.append((line.instance, changes))
        if data:
            services.sale_update(sale=sale, user=request.user, data=data)
        for item, changes in in_place:
            services.sale_update_item(item=item, user=request.user, data=changes)

    @staticmethod
    def _lines_replaced(items: BaseInlineFormSet) -> bool:
        """Whether the lines must be replaced whole: one added, removed, or re-priced."""
        if items.deleted_forms or any(line.has_changed() for line in items.extra_forms):
            return True
        return any(REPRICING_LINE_FIELDS & set(line.changed_data) for line in items.initial_forms)

    @staticmethod
    def _lines(items: BaseInlineFormSet) -> Iterator[services.ItemData]:
        """The lines the formset asks for, as the service's input; kept lines keep their price snapshot."""
        deleted = set(map(id, items.deleted_forms))
        for line in items.forms:
            if id(line) in deleted or (line.instance.pk is None and not line.has_changed()):
                continue
            data, changed, existing = line.cleaned_data, set(line.changed_data), line.instance.pk is not None
            unit_price = data.get("unit_price")
            if "variant" in changed and "unit_price" not in changed:
                unit_price = None  # another product: its own catalogue price
            retracked = bool({"carrier", "tracking_code"} & changed)
            yield services.ItemData(
                variant=data["variant"],
                quantity=data["quantity"],
                unit_price=unit_price,
                discount=data["discount"],
                discount_type=data["discount_type"],
                warehouse=data.get("warehouse"),
                carrier=data.get("carrier"),
                tracking_code=data.get("tracking_code") or "",
                tracking_url="" if retracked or not existing else line.instance.tracking_url,
                product_group=line.instance.product_group if existing and "variant" not in changed else None,
            )

    def delete_model(self, request, obj):
        services.sale_delete(sale=obj, user=request.user)

    def get_deleted_objects(self, objs, request):
        """Lines, activity and invoices are parts of the sale: the right to delete it covers them."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        parts = {str(model._meta.verbose_name) for model in (SaleItem, SaleEvent, Invoice)}
        return deleted, counts, {name for name in perms_needed if str(name) not in parts}, protected

    # --- transition buttons (django-fsm-2's admin mixin, wired to the services) ---------

    def get_fsm_label(self, transition) -> str:
        return transition.name.capitalize()

    def get_help_text(self, transition) -> str | None:
        return TRANSITION_HELP.get(transition.name)

    def _get_fsm_extra_context(self, *, request, obj) -> Iterator[FSMObjectTransition]:
        """The buttons: exactly the transitions `available_transitions_for` lists for this user, in lifecycle order."""
        if obj is None or not self.has_change_permission(request, obj):
            return
        names = [TRANSITION_FOR_STATUS[status] for status in obj.available_transitions_for(request.user)]
        if names:
            yield FSMObjectTransition(
                fsm_field="status",
                block_label="Move the sale",
                available_transitions=[
                    FSMTransitionContext(name=name, label=name.capitalize(), help_text=TRANSITION_HELP.get(name))
                    for name in names
                ],
            )

    def response_change(self, request, obj):
        name = request.POST.get(self.fsm_post_param)
        if name and name not in services.TRANSITION_SERVICES:
            messages.error(request, f"There is no transition called {name!r}.")
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    def fsm_transition_view(self, request, object_id, transition_name, **kwargs):
        """The page of a transition that asks something first (cancel, reject, refund, ship)."""
        sale = self.get_object(request, object_id)
        if sale is not None:
            if not self.has_change_permission(request, sale):
                raise PermissionDenied
            allowed = [TRANSITION_FOR_STATUS[status] for status in sale.available_transitions_for(request.user)]
            if transition_name not in services.TRANSITION_SERVICES or (
                request.method != "POST" and transition_name not in allowed
            ):
                messages.error(
                    request,
                    f"{transition_name.capitalize()} is not available for sale {sale.reference} "
                    f"({sale.get_status_display().lower()}).",
                )
                return redirect("admin:sales_sale_change", object_id=sale.pk)
        return super().fsm_transition_view(request, object_id, transition_name, **kwargs)

    def _apply_fsm_transition(self, *, obj, transition_name, request, kwargs=None) -> bool:
        """Run the transition's service as the staff user; a refusal becomes an error message."""
        # The transition's service; the admin never calls the model's transition method itself.
        service = services.TRANSITION_SERVICES.get(transition_name)
        if service is None:
            messages.error(request, f"There is no transition called {transition_name!r}.")
            return False
        try:
            sale = service(sale=obj, user=request.user, **(kwargs or {}))
        except DomainError as error:
            messages.error(request, f"{transition_name.capitalize()} {obj.reference} failed: {describe(error)}")
            return False
        messages.success(request, f"Sale {sale.reference} is now {sale.get_status_display().lower()}.")
        return True

    # --- bulk actions -------------------------------------------------------------------

    def _each(self, request, queryset: QuerySet[Sale], verb: str, run: Callable[[Sale], Any]) -> None:
        """Run `run` on each sale on its own (one transaction each); report what was done and what failed."""
        done, failed = 0, []
        for sale in queryset.order_by("pk"):
            try:
                run(sale)
            except DomainError as error:
                failed.append(f"{sale.reference}: {describe(error)}")
            else:
                done += 1
        report(request, verb, done, failed)

    @admin.action(description="Confirm selected sales", permissions=["change"])
    def confirm_selected(self, request, queryset):
        self._each(request, queryset, "Confirm", lambda sale: services.sale_confirm(sale=sale, user=request.user))

    @admin.action(description="Mark selected sales shipped", permissions=["change"])
    def mark_shipped(self, request, queryset):
        self._each(request, queryset, "Mark shipped", lambda sale: services.sale_ship(sale=sale, user=request.user))

    @admin.action(description="Cancel selected sales…", permissions=["change"])
    def cancel_selected(self, request, queryset):
        """Ask for the reason on an intermediate page, then cancel each sale with it."""
        form = SaleCancelForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            self._each(
                request,
                queryset,
                "Cancel",
                lambda sale: services.sale_cancel(sale=sale, user=request.user, **form.cleaned_data),
            )
            return None
        return action_form_page(
            modeladmin=self,
            request=request,
            action="cancel_selected",
            title="Cancel sales",
            form=form,
            objects=queryset.order_by("pk"),
            columns=[
                ("reference", "Reference"),
                ("get_status_display", "Status"),
                ("grand_total", "Grand total"),
                ("currency", "Currency"),
            ],
            submit_label="Cancel the sales",
            intro="Each sale is cancelled on its own: a pending sale's reservation is released, a confirmed "
            "sale's units go back on hand. Sales that can no longer be cancelled are reported and left as they are.",
        )

    @admin.action(description="Export selected sales to CSV (one row per item)", permissions=["view"])
    def export_csv(self, request, queryset):
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="sales-{timezone.now():%Y%m%d-%H%M%S}.csv"'
        write_sales_csv(queryset.order_by("pk"), response)
        return response


# --- invoices --------------------------------------------------------------------------


class InvoiceAdminForm(ModelForm):
    class Meta:
        model = Invoice
        fields = ("sale", "file")


@admin.register(Invoice)
class InvoiceAdmin(ServiceErrorsAsMessages, admin.ModelAdmin):
    """Invoices are attached through `sale_attach_invoice` (checked by content) and never edited or deleted."""

    form = InvoiceAdminForm
    list_display = ("number", "sale", "original_filename", "content_type", "size", "generated", "created_at")
    list_select_related = ("sale",)
    list_filter = ("content_type", "generated")
    search_fields = ("number", "sale__reference", "original_filename")
    raw_id_fields = ("sale",)
    view_fields = (
        "number",
        "sale",
        "file",
        "original_filename",
        "content_type",
        "size",
        "generated",
        "user",
        "created_at",
    )

    def get_fields(self, request, obj=None):
        return ("sale", "file") if obj is None else self.view_fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.view_fields

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        upload = form.cleaned_data["file"]
        # One byte past the limit is enough for the service to refuse an oversized file.
        content = upload.read(services.INVOICE_MAX_BYTES + 1)
        invoice = services.sale_attach_invoice(
            sale=form.cleaned_data["sale"], user=request.user, content=content, filename=upload.name
        )
        adopt(obj, invoice)


# --- reference data ----------------------------------------------------------------------


class ReferenceDataAdmin(ServiceErrorsAsMessages, admin.ModelAdmin):
    """Channels, carriers and tax rates, written through `sales.reference_services`."""

    keyword: str  # the services' name for the object: channel=, carrier=, tax_rate=

    @staticmethod
    def create_service(**fields: Any) -> Model:
        raise NotImplementedError

    @staticmethod
    def update_service(**kwargs: Any) -> Model:
        raise NotImplementedError

    @staticmethod
    def delete_service(**kwargs: Any) -> None:
        raise NotImplementedError

    def save_model(self, request, obj, form, change):
        if change:
            data = {name: form.cleaned_data[name] for name in form.changed_data}
            self.update_service(**{self.keyword: obj, "data": data})
        else:
            adopt(obj, self.create_service(**form.cleaned_data))

    def delete_model(self, request, obj):
        self.delete_service(**{self.keyword: obj})

    def delete_queryset(self, request, queryset: Iterable[Model]):
        failed = []
        for obj in queryset:
            try:
                self.delete_service(**{self.keyword: obj})
            except DomainError as error:
                failed.append(f"{obj}: {describe(error)}")
        if failed:
            messages.error(request, f"Not deleted: {'; '.join(failed)}")


@admin.register(Channel)
class ChannelAdmin(ReferenceDataAdmin):
    keyword = "channel"
    create_service = staticmethod(reference_services.channel_create)
    update_service = staticmethod(reference_services.channel_update)
    delete_service = staticmethod(reference_services.channel_delete)
    list_display = ("code", "name", "kind")
    list_filter = ("kind",)
    search_fields = ("code", "name")


@admin.register(Carrier)
class CarrierAdmin(ReferenceDataAdmin):
    keyword = "carrier"
    create_service = staticmethod(reference_services.carrier_create)
    update_service = staticmethod(reference_services.carrier_update)
    delete_service = staticmethod(reference_services.carrier_delete)
    list_display = ("code", "name", "tracking_url_template")
    search_fields = ("code", "name")


class TaxComponentInline(admin.TabularInline):
    model = TaxComponent
    extra = 0
    fields = ("name", "jurisdiction", "location", "rate")


@admin.register(TaxRate)
class TaxRateAdmin(ReferenceDataAdmin):
    """Taxes with their components; the components are written by the service with the tax, so the rate stays
    their sum (a rate that differs is refused, and nothing is saved)."""

    keyword = "tax_rate"
    create_service = staticmethod(reference_services.tax_rate_create)
    update_service = staticmethod(reference_services.tax_rate_update)
    delete_service = staticmethod(reference_services.tax_rate_delete)
    list_display = ("code", "name", "kind", "rate")
    list_filter = ("kind",)
    search_fields = ("code", "name")
    inlines = [TaxComponentInline]

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
        # A change is written in save_related, together with the components the inline sends.

    def save_related(self, request, form, formsets, change):
        components = None
        for formset in formsets:
            if formset.model is TaxComponent and formset.has_changed():
                components = [
                    {name: row.cleaned_data.get(name) for name in ("name", "jurisdiction", "location", "rate")}
                    for row in formset.forms
                    if row.cleaned_data and not row.cleaned_data.get("DELETE")
                ]
        for formset in formsets:  # written by the service: nothing for the change message to list
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        data = {name: form.cleaned_data[name] for name in form.changed_data} if change else {}
        if components is not None:
            data["components"] = components
            if "rate" in form.changed_data:
                data["rate"] = form.cleaned_data["rate"]  # checked against the components' sum
            else:
                data.pop("rate", None)  # follows the components
        elif not change:
            return
        if data:
            self.update_service(tax_rate=form.instance, data=data)


# --- exchange rates to the base currency (money.md), written through their services -----------------------------


@admin.register(ExchangeRate)
class ExchangeRateAdmin(ReferenceDataAdmin):
    keyword = "exchange_rate"
    create_service = staticmethod(exchange_rate_services.exchange_rate_create)
    update_service = staticmethod(exchange_rate_services.exchange_rate_update)
    delete_service = staticmethod(exchange_rate_services.exchange_rate_delete)
    fields = ("currency", "rate", "valid_from")
    list_display = ("currency", "rate", "valid_from", "created_at")
    list_filter = ("currency",)
    search_fields = ("currency",)
    date_hierarchy = "valid_from"
    ordering = ("currency", "-valid_from")


# --- price lists and promotions (money.md), written through their services ---------------------------------------


class PriceListEntryInline(admin.TabularInline):
    model = PriceListEntry
    extra = 0
    fields = ("variant", "min_quantity", "price")
    raw_id_fields = ("variant",)


@admin.register(PriceList)
class PriceListAdmin(ReferenceDataAdmin):
    """Price lists with their entries; the entries are written by the service with the list (checked together:
    one price per variant and minimum quantity, in the list's currency's decimals)."""

    keyword = "price_list"
    create_service = staticmethod(price_list_services.price_list_create)
    update_service = staticmethod(price_list_services.price_list_update)
    delete_service = staticmethod(price_list_services.price_list_delete)
    fields = ("code", "name", "currency", "channel", "valid_from", "valid_to", "active")
    list_display = ("code", "name", "currency", "channel", "valid_from", "valid_to", "active")
    list_filter = ("active", "currency", "channel")
    search_fields = ("code", "name")
    inlines = [PriceListEntryInline]

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
        # A change is written in save_related, together with the entries the inline sends.

    def save_related(self, request, form, formsets, change):
        prices = None
        for formset in formsets:
            if formset.model is PriceListEntry and formset.has_changed():
                prices = [
                    {name: row.cleaned_data.get(name) for name in ("variant", "min_quantity", "price")}
                    for row in formset.forms
                    if row.cleaned_data and not row.cleaned_data.get("DELETE")
                ]
        for formset in formsets:  # written by the service: nothing for the change message to list
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        data = {name: form.cleaned_data[name] for name in form.changed_data} if change else {}
        if prices is not None:
            data["prices"] = [{**entry, "min_quantity": entry["min_quantity"] or 1} for entry in prices]
        if data:
            self.update_service(price_list=form.instance, data=data)


@admin.register(Promotion)
class PromotionAdmin(ReferenceDataAdmin):
    """Promotions and discount codes; `usage_count` moves only with confirmed and cancelled sales."""

    keyword = "promotion"
    create_service = staticmethod(promotion_services.promotion_create)
    update_service = staticmethod(promotion_services.promotion_update)
    delete_service = staticmethod(promotion_services.promotion_delete)
    fields = (
        "name", "code", "automatic", "active", "kind", "value", "currency", "applies_to", "products",
        "product_groups", "min_subtotal", "starts_at", "ends_at", "usage_limit", "usage_count",
    )
    readonly_fields = ("usage_count",)
    filter_horizontal = ("products", "product_groups")
    list_display = ("name", "code", "automatic", "kind", "value", "currency", "applies_to", "usage_count",
                    "usage_limit", "active")
    list_filter = ("active", "automatic", "kind", "applies_to")
    search_fields = ("name", "code")

    def save_related(self, request, form, formsets, change):
        pass  # products and product groups are written by the service, checked against the scope


# --- stores (records.md, "Stores, teams and devices") --------------------------------------------------------------


class StoreMembershipInline(admin.TabularInline):
    model = StoreMembership
    extra = 1
    fields = ("user", "role")
    autocomplete_fields = ("user",)


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    """A store with its members: sellers file sales under it, managers see and act on all of its sales."""

    list_display = ("code", "name", "warehouse", "channel")
    list_select_related = ("warehouse", "channel")
    search_fields = ("code", "name")
    fields = ("code", "name", "warehouse", "channel", "address")
    inlines = [StoreMembershipInline]
