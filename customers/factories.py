"""Customer factories (tests and `seed_demo`)."""

import factory

from customers.models import Address, AddressKind, Customer


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    phone = factory.Faker("phone_number")


class AddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Address

    customer = factory.SubFactory(CustomerFactory)
    kind = AddressKind.SHIPPING
    is_default = True
    name = factory.LazyAttribute(lambda o: o.customer.name)
    line1 = factory.Faker("street_address")
    city = factory.Faker("city")
    postal_code = factory.Faker("postcode")
    country = "IT"
