"""Catalogue and stock factories (tests and `seed_demo`).

Stock goes in through `inventory.services` so the ledger stays exact.
"""

from decimal import Decimal

import factory

from inventory import services
from inventory.models import Product, ProductGroup, Variant, Warehouse


class ProductGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductGroup
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"group-{n}")
    name = factory.LazyAttribute(lambda o: o.code.replace("-", " ").title())


class WarehouseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Warehouse
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"WH{n}")
    name = factory.LazyAttribute(lambda o: f"Warehouse {o.code}")
    country = "IT"
    is_default = False


class ProductFactory(factory.django.DjangoModelFactory):
    """A product with its default variant (as `product_create` makes it)."""

    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Faker("catch_phrase")
    price = Decimal("10.00")
    cost_price = Decimal("6.00")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.product_create(**kwargs)


class VariantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Variant

    product = factory.SubFactory(ProductFactory)
    sku = factory.Sequence(lambda n: f"VAR-{n:05d}")
    name = factory.Sequence(lambda n: f"Variant {n}")
    attributes = factory.LazyFunction(dict)
    is_default = False


def default_warehouse() -> Warehouse:
    warehouse = Warehouse.objects.filter(is_default=True).first()
    return warehouse or WarehouseFactory(code="MAIN", name="Main warehouse", is_default=True)


def stocked_variant(quantity: int = 10, *, warehouse: Warehouse | None = None, **product_fields) -> Variant:
    """A product's default variant with `quantity` units received into the warehouse."""
    product = ProductFactory(**product_fields)
    variant = product.variants.get(is_default=True)
    if quantity:
        services.stock_receive(
            variant=variant, warehouse=warehouse or default_warehouse(), quantity=quantity, reason="factory"
        )
    return variant
