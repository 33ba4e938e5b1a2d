"""Catalogue, warehouses and stock in the admin: a thin skin over `inventory.services`.

Products (with their variants inline), variants, warehouses and product groups
are created, changed and deleted by the catalogue services, so the admin keeps
the same rules as the API (model validation, one default variant per product,
one default warehouse, no deleting what sales or the ledger name). Stock
levels are read-only here: the only way to change one is the "Adjust stock"
action, which calls `stock_adjust` and so writes a ledger row. The ledger
itself is append-only, hence view-only.
"""

from django import forms
from django.contrib import admin
from django.db import models
from django.db.models import Count, F
from django.forms.models import BaseInlineFormSet

from inventory import services
from inventory.models import LOW_STOCK_THRESHOLD, Product, ProductGroup, StockLevel, StockMovement, Variant, Warehouse
from inventory.services.catalogue import PRODUCT_FIELDS, VARIANT_FIELDS
from salesproject.admin_views import ServiceAdmin, action_form_page, adopt, describe, report
from salesproject.errors import DomainError

# --- products and variants -------------------------------------------------------


def image_url_field(**kwargs) -> forms.URLField:
    """An image URL input assuming https, as Django 6 will (no RemovedInDjango60Warning)."""
    return forms.URLField(max_length=500, required=False, assume_scheme="https", label="Image URL", **kwargs)


class VariantInlineForm(forms.ModelForm):
    # Not a model field of the form: the service moves the default flag (one per
    # product), so the per-row database constraint must not be checked row by row.
    default = forms.BooleanField(required=False, label="Default", help_text="The variant sold when none is named.")
    image_url = image_url_field(widget=forms.URLInput(attrs={"size": 20}))

    class Meta:
        model = Variant
        fields = VARIANT_FIELDS
        # Narrow inputs, so the whole row fits beside the admin's navigation sidebar.
        widgets = {
            "sku": forms.TextInput(attrs={"size": 14}),
            "name": forms.TextInput(attrs={"size": 20}),
            "attributes": forms.Textarea(attrs={"rows": 1, "cols": 20}),
            "weight": forms.NumberInput(attrs={"style": "width: 6em"}),
            "price": forms.NumberInput(attrs={"style": "width: 7em"}),
            "cost_price": forms.NumberInput(attrs={"style": "width: 7em"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["default"].initial = self.instance.is_default


class VariantInlineFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        if any(self.errors):
            return
        defaults = [form for form in self.kept_forms() if form.cleaned_data.get("default")]
        if len(defaults) > 1:
            raise forms.ValidationError("Mark one variant as the default, not several.")

    def kept_forms(self) -> list[forms.ModelForm]:
        """The rows the product keeps: existing ones not marked for deletion, and filled-in new ones."""
        kept = []
        for form in self.forms:
            if form.instance.pk is None and not form.has_changed():
                continue
            if self.can_delete and self._should_delete_form(form):
                continue
            kept.append(form)
        return kept

    def service_rows(self) -> list[dict]:
        """The variant list `product_update` takes: default first, existing rows with their id."""
        rows = []
        for form in self.kept_forms():
            row = {name: form.cleaned_data[name] for name in VARIANT_FIELDS}
            if form.instance.pk is not None:
                row["id"] = form.instance.pk
            rows.append((form, row))
        chosen = [row for form, row in rows if form.cleaned_data.get("default")]
        current = [row for form, row in rows if form.instance.pk is not None and form.instance.is_default]
        first = (chosen or current or [row for _, row in rows[:1]] or [None])[0]
        return [first, *(row for _, row in rows if row is not first)] if first is not None else []


class VariantInline(admin.TabularInline):
    model = Variant
    form = VariantInlineForm
    formset = VariantInlineFormSet
    fields = ("sku", "name", "attributes", "image_url", "weight", "price", "cost_price", "default")
    extra = 0
    min_num = 0

    def get_extra(self, request, obj=None, **kwargs):
        return 1 if obj is None else 0


@admin.register(Product)
class ProductAdmin(ServiceAdmin):
    list_display = ("sku", "name", "kind", "product_group", "unit", "price", "cost_price", "variant_count", "active")
    list_filter = ("active", "kind", "product_group")
    list_select_related = ("product_group",)
    search_fields = ("sku", "name", "variants__sku")
    fields = PRODUCT_FIELDS
    inlines = (VariantInline,)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}  # as Django 6 will

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(variants_count=Count("variants"))

    @admin.display(description="Variants", ordering="variants_count")
    def variant_count(self, obj: Product) -> int:
        return obj.variants_count

    def save_model(self, request, obj, form, change):
        """Written with its variants in `save_related`, where the inline rows are known."""

    def save_related(self, request, form, formsets, change):
        # Absent for a user who may not see variants: the product's own fields are saved alone.
        variants = next((f for f in formsets if isinstance(f, VariantInlineFormSet)), None)
        rows = variants.service_rows() if variants is not None and variants.has_changed() else None
        data = {name: form.cleaned_data[name] for name in PRODUCT_FIELDS}
        before = {v.pk for v in form.instance.variants.all()} if change else set()
        if change:
            product = services.product_update(product=form.instance, data=data, variants=rows)
        else:
            new_variants = [
                services.VariantData(
                    sku=row["sku"],
                    name=row["name"],
                    attributes=row["attributes"],
                    price=row["price"],
                    cost_price=row["cost_price"],
                    image_url=row["image_url"],
                    weight=row["weight"],
                )
                for row in rows or ()
            ]
            product = services.product_create(**data, variants=new_variants)
        adopt(form.instance, product)
        if variants is None:
            return
        # What Django's change message reads from a saved formset.
        variants.new_objects = list(product.variants.exclude(pk__in=before))
        variants.changed_objects = [
            (row.instance, row.changed_data)
            for row in variants.kept_forms()
            if row.instance.pk is not None and row.has_changed()
        ]
        variants.deleted_objects = [row.instance for row in variants.deleted_forms if row.instance.pk]

    def delete_model(self, request, obj):
        services.product_delete(product=obj)


class VariantAdminForm(forms.ModelForm):
    default = forms.BooleanField(
        required=False, label="Default", help_text="Make this the product's default variant (the product keeps one)."
    )
    image_url = image_url_field(help_text="Wins over the product's image.")

    class Meta:
        model = Variant
        fields = ("product", *VARIANT_FIELDS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["default"].initial = self.instance.is_default


@admin.register(Variant)
class VariantAdmin(ServiceAdmin):
    form = VariantAdminForm
    list_display = ("sku", "name", "product", "price", "cost_price", "is_default")
    list_filter = ("is_default", "product__active")
    list_select_related = ("product",)
    search_fields = ("sku", "name", "product__sku", "product__name")
    raw_id_fields = ("product",)
    fields = ("product", *VARIANT_FIELDS, "default")

    def get_readonly_fields(self, request, obj=None):
        # The services never move a variant to another product.
        return ("product",) if obj is not None else ()

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in VARIANT_FIELDS}
        if change:
            if form.cleaned_data["default"] != obj.is_default:
                data["is_default"] = form.cleaned_data["default"]
            adopt(obj, services.variant_update(variant=obj, data=data))
        else:
            product = form.cleaned_data["product"]
            adopt(obj, services.variant_create(product=product, is_default=form.cleaned_data["default"], **data))

    def delete_model(self, request, obj):
        services.variant_delete(variant=obj)


# --- warehouses and product groups ---------------------------------------------------


class WarehouseAdminForm(forms.ModelForm):
    default = forms.BooleanField(
        required=False, label="Default", help_text="The warehouse sales use unless they name one (only one is)."
    )

    class Meta:
        model = Warehouse
        fields = ("code", "name", "country")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["default"].initial = self.instance.is_default


@admin.register(Warehouse)
class WarehouseAdmin(ServiceAdmin):
    form = WarehouseAdminForm
    list_display = ("code", "name", "country", "is_default")
    list_filter = ("is_default", "country")
    search_fields = ("code", "name")
    fields = ("code", "name", "country", "default")

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in ("code", "name", "country")}
        data["is_default"] = form.cleaned_data["default"]
        if change:
            adopt(obj, services.warehouse_update(warehouse=obj, data=data))
        else:
            adopt(obj, services.warehouse_create(**data))

    def delete_model(self, request, obj):
        services.warehouse_delete(warehouse=obj)


@admin.register(ProductGroup)
class ProductGroupAdmin(ServiceAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name")
    fields = ("code", "name")

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in ("code", "name")}
        if change:
            adopt(obj, services.product_group_update(product_group=obj, data=data))
        else:
            adopt(obj, services.product_group_create(**data))

    def delete_model(self, request, obj):
        services.product_group_delete(product_group=obj)


# --- stock levels and the ledger ---------------------------------------------------------


class LowStockFilter(admin.SimpleListFilter):
    """The API's `low_stock` rule: available (on hand − reserved) at or below the threshold."""

    title = "stock"
    parameter_name = "low_stock"

    def lookups(self, request, model_admin):
        return (
            ("yes", f"Low (≤ {LOW_STOCK_THRESHOLD} available)"),
            ("no", f"Above {LOW_STOCK_THRESHOLD} available"),
        )

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.low(low=self.value() == "yes")
        return queryset


class StockAdjustForm(forms.Form):
    quantity_change = forms.IntegerField(
        label="Quantity change",
        min_value=-2_147_483_647,
        max_value=2_147_483_647,
        help_text="Units to add (positive) or remove (negative) from on hand, e.g. after a count.",
    )
    reason = forms.CharField(max_length=255, help_text="Why: written to the stock ledger with your name.")

    def clean_quantity_change(self):
        value = self.cleaned_data["quantity_change"]
        if value == 0:
            raise forms.ValidationError("The change must not be zero.")
        return value

    def clean_reason(self):
        value = self.cleaned_data["reason"].strip()
        if not value:
            raise forms.ValidationError("A reason is required.")
        return value


@admin.register(StockLevel)
class StockLevelAdmin(admin.ModelAdmin):
    list_display = ("sku", "product", "warehouse", "on_hand", "reserved", "available", "updated_at")
    list_filter = (LowStockFilter, "warehouse")
    list_select_related = ("variant__product", "warehouse")
    search_fields = ("variant__sku", "variant__name", "variant__product__sku", "variant__product__name")
    ordering = ("variant__sku", "warehouse__code")
    actions = ("adjust_stock",)
    readonly_fields = ("variant", "warehouse", "on_hand", "reserved", "available", "updated_at")
    fields = readonly_fields

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(available_units=F("on_hand") - F("reserved"))

    @admin.display(description="SKU", ordering="variant__sku")
    def sku(self, obj: StockLevel) -> str:
        return obj.variant.sku

    @admin.display(description="Product", ordering="variant__product__name")
    def product(self, obj: StockLevel) -> str:
        return obj.variant.display_name

    @admin.display(description="Available", ordering="available_units")
    def available(self, obj: StockLevel) -> int:
        return obj.available

    # Quantities change only through the stock services (and their ledger).
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_adjust_permission(self, request) -> bool:
        return request.user.has_perm("inventory.change_stocklevel")

    @admin.action(description="Adjust stock of the selected levels…", permissions=["adjust"])
    def adjust_stock(self, request, queryset):
        """Ask for a change and a reason, then call `stock_adjust` once per selected level."""
        levels = list(queryset.select_related("variant__product", "warehouse").order_by("pk"))
        form = StockAdjustForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return action_form_page(
                modeladmin=self,
                request=request,
                action="adjust_stock",
                title="Adjust stock",
                form=form,
                objects=levels,
                submit_label="Adjust stock",
                columns=[
                    ("variant", "SKU"),
                    ("warehouse", "Warehouse"),
                    ("on_hand", "On hand"),
                    ("reserved", "Reserved"),
                    ("available", "Available"),
                ],
            )
        done, failed = 0, []
        for level in levels:
            try:
                services.stock_adjust(
                    variant=level.variant,
                    warehouse=level.warehouse,
                    user=request.user,
                    quantity_change=form.cleaned_data["quantity_change"],
                    reason=form.cleaned_data["reason"],
                )
            except DomainError as error:
                failed.append(f"{level.variant.sku} @ {level.warehouse.code}: {describe(error)}")
            else:
                done += 1
        report(request, f"Stock adjusted by {form.cleaned_data['quantity_change']:+}", done, failed)
        return None


@admin.register(StockMovement)
class StockMovementAdmin(admin.ModelAdmin):
    """The ledger: every stock change, append-only, so nobody adds, edits or deletes a row here."""

    list_display = (
        "created_at",
        "sku",
        "warehouse",
        "kind",
        "on_hand_change",
        "reserved_change",
        "sale",
        "user",
        "reason",
    )
    list_filter = ("kind", "warehouse")
    list_select_related = ("variant", "warehouse", "sale", "user")
    search_fields = ("variant__sku", "reason")
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-pk")

    @admin.display(description="SKU", ordering="variant__sku")
    def sku(self, obj: StockMovement) -> str:
        return obj.variant.sku

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
