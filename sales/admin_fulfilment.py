"""The sale page's fulfilments and structure: parcels and their tracking, cancel items, split, clone, lock.

Like the rest of the sales admin this is a skin over `sales.services`: each page asks its
questions with a form from `sales.admin_forms`, calls one service with the staff user, and
shows a refused call (`DomainError`) as an error message above the same form (never a 500).
Which buttons the sale page offers follows the sale's status; the service still decides.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from sales import selectors, services
from sales.admin_forms import (
    CancelItemsForm,
    CloneForm,
    FulfilForm,
    ItemQuantitiesForm,
    LockForm,
    SplitForm,
    TrackingForm,
    UnlockForm,
)
from sales.models import FINAL_TRACKING_STATUSES, Fulfillment, FulfillmentLine, FulfillmentStatus, Sale, SaleItem
from sales.services.fulfilment import FULFILLABLE_STATUSES
from sales.services.structure import CANCELLABLE_STATUSES, SPLITTABLE_STATUSES, cancellable_units
from salesproject.admin_views import describe
from salesproject.errors import DomainError

OPERATION_TEMPLATE = "admin/sales/sale/operation_form.html"


def sale_change_url(sale: Sale | int) -> str:
    return reverse("admin:sales_sale_change", args=[sale.pk if isinstance(sale, Sale) else sale])


def units(lines) -> str:
    """ "2 × MUG-01, 1 × TEA-01" from fulfilment lines, `ItemQuantity`s or {sku, quantity} dicts (events)."""
    parts = []
    for line in lines:
        if isinstance(line, dict):
            parts.append(f"{line.get('quantity')} × {line.get('sku') or line.get('item')}")
        else:
            parts.append(f"{line.quantity} × {line.item.sku}")
    return ", ".join(parts)


# --- the fulfilments inline ------------------------------------------------------------------


class FulfillmentInlineMixin:
    """Read-only table of a sale's fulfilments; each open one links to its tracking page."""

    model = Fulfillment
    fields = ("number", "status", "items", "carrier", "tracking", "expected_at", "delayed", "created_at", "update")
    verbose_name_plural = "fulfilments (create them with the button below)"
    empty_text = "No fulfilments yet."

    @admin.display(description="Items")
    def items(self, obj: Fulfillment):
        return units(obj.lines.all())

    @admin.display(description="Tracking code")
    def tracking(self, obj: Fulfillment):
        if obj.tracking_code and obj.tracking_url:
            return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', obj.tracking_url,
                               obj.tracking_code)
        return obj.tracking_code or "-"

    @admin.display(description="Delayed")
    def delayed(self, obj: Fulfillment):
        # A chip, not the boolean icons: a green tick for "late" would read as good news.
        return format_html('<span class="chip chip-late">{}</span>', "late") if obj.is_delayed else "-"

    @admin.display(description="")
    def update(self, obj: Fulfillment):
        if obj.status in FINAL_TRACKING_STATUSES:
            return ""
        url = reverse("admin:sales_sale_track", args=[obj.sale_id, obj.pk])
        return format_html('<a class="button" href="{}">Update tracking</a>', url)

    def get_queryset(self, request):
        lines = FulfillmentLine.objects.select_related("item").order_by("pk")
        return (
            super().get_queryset(request)
            .select_related("carrier")
            .prefetch_related(Prefetch("lines", queryset=lines))
            .order_by("pk")
        )


# --- the "delayed" list filter ----------------------------------------------------------------


def late_fulfilments_of_sale() -> Exists:
    """Whether the sale has a fulfilment the operators' report calls delayed (one definition of "late")."""
    return Exists(selectors.delayed_fulfillments().filter(sale=OuterRef("pk")))


class DelayedFilter(admin.SimpleListFilter):
    title = "delayed"
    parameter_name = "delayed"

    def lookups(self, request, model_admin):
        return (("yes", "Delayed"), ("no", "Not delayed"))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(late_fulfilments_of_sale())
        if self.value() == "no":
            return queryset.exclude(late_fulfilments_of_sale())
        return queryset


# --- the pages ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """A button of the sale page and the page it opens."""

    name: str  # URL segment and url name suffix
    label: str
    help: str
    offered: Callable[[Sale, object], bool]  # (sale, user): whether the sale page shows the button


OPERATIONS = (
    Operation(
        "fulfil", "Create fulfilment", "Send or hand over some units: one parcel or one pick-up.",
        lambda sale, user: not sale.locked and sale.status in FULFILLABLE_STATUSES
        and sale.fulfillment_status != FulfillmentStatus.FULFILLED,
    ),
    Operation(
        "cancel-items", "Cancel items", "Cancel some units not sent yet; the rest stays sold.",
        lambda sale, user: not sale.locked and sale.status in CANCELLABLE_STATUSES,
    ),
    Operation(
        "split", "Split", "Move some units to a new sale (a partial sale).",
        lambda sale, user: not sale.locked and sale.status in SPLITTABLE_STATUSES,
    ),
    Operation("clone", "Clone", "A new sale from these lines: an exchange or a re-order.", lambda sale, user: True),
    Operation(
        "lock", "Lock", "Freeze the sale for a review: nobody can change it until it is unlocked.",
        lambda sale, user: not sale.locked and user.is_staff,
    ),
    Operation("unlock", "Unlock", "Let the sale be changed again.", lambda sale, user: sale.locked and user.is_staff),
)
OPERATION_BY_NAME = {operation.name: operation for operation in OPERATIONS}


class SaleOperationsMixin:
    """Model admin mixin of `SaleAdmin`: the URLs, buttons and pages of fulfilments and structure changes."""

    def get_urls(self):
        view = self.admin_site.admin_view
        urls = [
            path("<path:object_id>/fulfil/", view(self.fulfil_view), name="sales_sale_fulfil"),
            path("<path:object_id>/fulfilments/<int:fulfillment_id>/track/", view(self.track_view),
                 name="sales_sale_track"),
            path("<path:object_id>/cancel-items/", view(self.cancel_items_view), name="sales_sale_cancel_items"),
            path("<path:object_id>/split/", view(self.split_view), name="sales_sale_split"),
            path("<path:object_id>/clone/", view(self.clone_view), name="sales_sale_clone"),
            path("<path:object_id>/lock/", view(self.lock_view), name="sales_sale_lock"),
            path("<path:object_id>/unlock/", view(self.unlock_view), name="sales_sale_unlock"),
        ]
        return urls + super().get_urls()

    def sale_operations(self, request: HttpRequest, sale: Sale) -> list[dict]:
        """The buttons the sale page shows this user now."""
        if sale is None or sale.pk is None or not self.has_view_permission(request, sale):
            return []
        may_change = self.has_change_permission(request, sale)
        may_add = self.has_add_permission(request)
        shown = []
        for operation in OPERATIONS:
            allowed = may_add if operation.name == "clone" else may_change
            if allowed and operation.offered(sale, request.user):
                shown.append({
                    "label": operation.label,
                    "help": operation.help,
                    "url": reverse(f"admin:sales_sale_{operation.name.replace('-', '_')}", args=[sale.pk]),
                })
        return shown

    # --- shared plumbing ------------------------------------------------------------------------

    def _sale(self, request: HttpRequest, object_id: str, operation: str, *, permission: str = "change") -> Sale:
        sale = self.get_object(request, object_id)
        if sale is None:
            raise Http404("No such sale.")
        allowed = self.has_add_permission(request) if permission == "add" else self.has_change_permission(
            request, sale)
        if not allowed:
            raise PermissionDenied
        return sale

    def _refuse_unless_offered(self, request: HttpRequest, sale: Sale, name: str) -> HttpResponse | None:
        """On GET, a page whose button the sale does not offer now sends back to the sale with the reason."""
        operation = OPERATION_BY_NAME[name]
        if request.method == "POST" or operation.offered(sale, request.user):
            return None
        if sale.locked and name != "lock":
            why = "it is locked"
        elif name == "fulfil" and sale.fulfillment_status == FulfillmentStatus.FULFILLED:
            why = "every unit is sent already"
        else:
            why = f"it is {sale.get_status_display().lower()}"
        messages.error(request, f"{operation.label} is not available for sale {sale.reference}: {why}.")
        return redirect(sale_change_url(sale))

    def _page(
        self, request: HttpRequest, sale: Sale, *, title: str, form: forms.Form, submit_label: str,
        intro: str = "", available: tuple[str, Callable[[SaleItem], int]] | None = None,
        fulfillment: Fulfillment | None = None,
    ) -> TemplateResponse:
        quantities = []
        if isinstance(form, ItemQuantitiesForm):
            quantities = [
                {"item": item, "box": box, "available": available[1](item) if available else None}
                for item, box in form.quantity_boxes()
            ]
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "subtitle": None,
            "opts": self.model._meta,
            "original": sale,
            "form": form,
            "quantities": quantities,
            "available_heading": available[0] if available else "",
            "other_fields": form.other_fields() if isinstance(form, ItemQuantitiesForm) else list(form),
            "submit_label": submit_label,
            "intro": intro,
            "fulfillment": fulfillment,
            "tracking": list(fulfillment.tracking.select_related("user").order_by("pk")) if fulfillment else [],
            "media": self.media + form.media,
        }
        return TemplateResponse(request, OPERATION_TEMPLATE, context)

    def _run(
        self, request: HttpRequest, sale: Sale, verb: str, call: Callable[[], HttpResponse]
    ) -> HttpResponse | None:
        """Call the service; a refusal becomes an error message and None (the caller shows the form again)."""
        try:
            return call()
        except DomainError as error:
            messages.error(request, f"{verb} {sale.reference} failed: {describe(error)}")
            return None

    @staticmethod
    def _items(sale: Sale) -> QuerySet[SaleItem]:
        return sale.items.order_by("pk")

    # --- fulfilments ------------------------------------------------------------------------------

    def fulfil_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        sale = self._sale(request, object_id, "fulfil")
        if refused := self._refuse_unless_offered(request, sale, "fulfil"):
            return refused
        form = FulfilForm(request.POST or None, items=self._items(sale),
                          initial_quantity=lambda item: item.quantity_unfulfilled)
        if request.method == "POST" and form.is_valid():

            def call():
                fulfillment = services.sale_fulfil(sale=sale, user=request.user, lines=form.lines(), **form.options())
                sent = units(fulfillment.lines.select_related("item"))
                messages.success(request, f"Fulfilment {fulfillment.number} created: {sent}.")
                return redirect(sale_change_url(sale))

            if done := self._run(request, sale, "Fulfil", call):
                return done
        return self._page(
            request, sale, title=f"Create a fulfilment of sale {sale.reference}", form=form,
            submit_label="Create the fulfilment", available=("Left to send", lambda item: item.quantity_unfulfilled),
            intro="One parcel or one pick-up. Every unit not sent yet is filled in; lower what does not go now. "
            "The first fulfilment of a confirmed sale ships it.",
        )

    def track_view(self, request: HttpRequest, object_id: str, fulfillment_id: int) -> HttpResponse:
        sale = self._sale(request, object_id, "track")
        fulfillment = Fulfillment.objects.filter(pk=fulfillment_id, sale=sale).select_related("carrier").first()
        if fulfillment is None:
            raise Http404("No such fulfilment on this sale.")
        form = TrackingForm(request.POST or None, fulfillment=fulfillment)
        if request.method == "POST" and form.is_valid():

            def call():
                tracked = services.fulfillment_track(fulfillment=fulfillment, user=request.user, **form.options())
                messages.success(request, f"Fulfilment {tracked.number} is now {tracked.get_status_display().lower()}.")
                return redirect(sale_change_url(sale))

            if done := self._run(request, sale, f"Tracking of {fulfillment.number} on", call):
                return done
        return self._page(
            request, sale, title=f"Update the tracking of {fulfillment.number}", form=form,
            submit_label="Add the tracking event", fulfillment=fulfillment,
        )

    # --- structure ------------------------------------------------------------------------------

    def cancel_items_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        sale = self._sale(request, object_id, "cancel-items")
        if refused := self._refuse_unless_offered(request, sale, "cancel-items"):
            return refused
        form = CancelItemsForm(request.POST or None, items=self._items(sale), initial_quantity=lambda item: 0)
        if request.method == "POST" and form.is_valid():

            def call():
                changed = services.sale_cancel_items(sale=sale, user=request.user, lines=form.lines(), **form.options())
                messages.success(
                    request, f"Cancelled {units(form.lines())} of sale {changed.reference}; its total is now "
                    f"{changed.grand_total} {changed.currency} ({changed.get_status_display().lower()}).",
                )
                return redirect(sale_change_url(sale))

            if done := self._run(request, sale, "Cancel items of", call):
                return done
        return self._page(
            request, sale, title=f"Cancel items of sale {sale.reference}", form=form, submit_label="Cancel these units",
            available=("Can be cancelled", cancellable_units),
            intro="The units go back to stock (or their reservation is released) and the sale is priced again. "
            "Cancelling every unit left cancels the sale.",
        )

    def split_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        sale = self._sale(request, object_id, "split")
        if refused := self._refuse_unless_offered(request, sale, "split"):
            return refused
        form = SplitForm(request.POST or None, items=self._items(sale), initial_quantity=lambda item: 0)
        if request.method == "POST" and form.is_valid():

            def call():
                new_sale = services.sale_split(sale=sale, user=request.user, lines=form.lines())
                moved = units(new_sale.items.order_by("pk").values("sku", "quantity"))
                messages.success(request, format_html(
                    'Split {} off sale {} into the new sale <a href="{}">{}</a>.',
                    moved, sale.reference, sale_change_url(new_sale), new_sale.reference,
                ))
                return redirect(sale_change_url(sale))

            if done := self._run(request, sale, "Split", call):
                return done
        return self._page(
            request, sale, title=f"Split sale {sale.reference}", form=form, submit_label="Move to a new sale",
            available=("Sold", lambda item: item.quantity_active),
            intro="The units you enter move to a new sale with the same customer, addresses and status; "
            "their reservation moves with them. At least one unit must stay here.",
        )

    def clone_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        sale = self._sale(request, object_id, "clone", permission="add")
        form = CloneForm(request.POST or None, items=self._items(sale),
                         initial_quantity=lambda item: item.quantity_active)
        if request.method == "POST" and form.is_valid():

            def call():
                clone = services.sale_clone(sale=sale, user=request.user, lines=form.lines(), **form.options())
                messages.success(request, f"Sale {clone.reference} created from {sale.reference} "
                                          f"({clone.get_clone_reason_display().lower()}).")
                return redirect(sale_change_url(clone))

            if done := self._run(request, sale, "Clone", call):
                return done
        return self._page(
            request, sale, title=f"Clone sale {sale.reference}", form=form, submit_label="Create the new sale",
            available=("Sold", lambda item: item.quantity),
            intro="A new sale with these lines (no payments, fulfilments or invoices). "
            "Set a line to 0 to leave it out.",
        )

    def lock_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        sale = self._sale(request, object_id, "lock")
        if refused := self._refuse_unless_offered(request, sale, "lock"):
            return refused
        form = LockForm(request.POST or None)
        if request.method == "POST" and form.is_valid():

            def call():
                services.sale_lock_for_review(sale=sale, user=request.user, reason=form.cleaned_data["reason"])
                messages.success(request, f"Sale {sale.reference} is locked: nothing changes it until it is unlocked.")
                return redirect(sale_change_url(sale))

            if done := self._run(request, sale, "Lock", call):
                return done
        return self._page(request, sale, title=f"Lock sale {sale.reference}", form=form, submit_label="Lock the sale",
                          intro=OPERATION_BY_NAME["lock"].help)

    def unlock_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        sale = self._sale(request, object_id, "unlock")
        if refused := self._refuse_unless_offered(request, sale, "unlock"):
            return refused
        form = UnlockForm(request.POST or None)
        if request.method == "POST" and form.is_valid():

            def call():
                services.sale_unlock(sale=sale, user=request.user, note=form.cleaned_data["note"])
                messages.success(request, f"Sale {sale.reference} is unlocked.")
                return redirect(sale_change_url(sale))

            if done := self._run(request, sale, "Unlock", call):
                return done
        intro = f"Locked by {sale.locked_by or 'the system'}"
        intro += f": {sale.locked_reason}" if sale.locked_reason else "."
        return self._page(request, sale, title=f"Unlock sale {sale.reference}", form=form,
                          submit_label="Unlock the sale", intro=intro)


def structure_links(sale: Sale) -> str:
    """ "Split from S-1 · split into S-7, S-8 · cloned from S-3 (exchange)" with links, or "-"."""
    parts = []
    if sale.parent_id:
        parts.append(format_html('split from <a href="{}">{}</a>', sale_change_url(sale.parent_id),
                                 sale.parent.reference))
    children = list(sale.children.order_by("pk").only("pk", "reference"))
    if children:
        parts.append(format_html("split into {}", format_html_join(
            ", ", '<a href="{}">{}</a>', ((sale_change_url(child), child.reference) for child in children))))
    if sale.cloned_from_id:
        parts.append(format_html('cloned from <a href="{}">{}</a> ({})', sale_change_url(sale.cloned_from_id),
                                 sale.cloned_from.reference, sale.get_clone_reason_display().lower()))
    clones = list(sale.clones.order_by("pk").only("pk", "reference"))
    if clones:
        parts.append(format_html("cloned to {}", format_html_join(
            ", ", '<a href="{}">{}</a>', ((sale_change_url(clone), clone.reference) for clone in clones))))
    if not parts:
        return "-"
    return format_html_join(" · ", "{}", ((part,) for part in parts))
