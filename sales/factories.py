"""Sale factories (tests and `seed_demo`). Sales are made through `sales.services.sale_create`, never by hand."""

from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from inventory.factories import stocked_variant
from sales import services
from sales.models import Carrier, Channel, ChannelKind, Sale, SaleStatus, TaxRate


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"seller{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "pass-w0rd!")
    is_staff = False

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class StaffFactory(UserFactory):
    username = factory.Sequence(lambda n: f"staff{n}")
    is_staff = True


class ChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Channel
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"channel-{n}")
    name = factory.LazyAttribute(lambda o: o.code.title())
    kind = ChannelKind.WEB


class CarrierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Carrier
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"carrier-{n}")
    name = factory.LazyAttribute(lambda o: o.code.title())
    tracking_url_template = "https://track.example.com/{tracking_code}"


class TaxRateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TaxRate
        django_get_or_create = ("code",)

    code = "vat5"
    name = "VAT 5%"
    rate = Decimal("5.00")


class SaleFactory(factory.django.DjangoModelFactory):
    """A sale made by the service; `items` defaults to one unit of a freshly stocked variant."""

    class Meta:
        model = Sale

    seller = factory.SubFactory(UserFactory)
    status = SaleStatus.PENDING
    items = factory.LazyFunction(lambda: [services.ItemData(variant=stocked_variant(10), quantity=1)])

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        seller, user = kwargs.pop("seller"), kwargs.pop("user", None)
        return services.sale_create(seller=seller, data=services.NewSale(**kwargs), user=user)
