"""Customers and their addresses."""

from django.db import models
from django.db.models import Q

from salesproject.models import TimeStampedModel


class Customer(TimeStampedModel):
    name = models.CharField(max_length=255)
    email = models.EmailField(blank=True, db_index=True)
    # No e-mails about their sales (confirmed, shipped, refunded: the notifications app) when set.
    email_opt_out = models.BooleanField(default=False, help_text="Send this customer no e-mails about their sales.")
    phone = models.CharField(max_length=50, blank=True)
    company = models.CharField(max_length=255, blank=True)
    notes = models.TextField(blank=True)
    external_ref = models.CharField(max_length=100, blank=True, db_index=True)
    metadata = models.JSONField(default=dict, blank=True)  # an integrator's flat string → string object
    # The prices this customer buys at (money.md "Price lists"); the list lives with the sales.
    price_list = models.ForeignKey(
        "sales.PriceList", null=True, blank=True, on_delete=models.SET_NULL, related_name="customers"
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name

    def default_address(self, kind: str) -> "Address | None":
        """The default address of a kind, else the first one of that kind."""
        addresses = [a for a in self.addresses.all() if a.kind == kind]
        for address in addresses:
            if address.is_default:
                return address
        return addresses[0] if addresses else None


class AddressKind(models.TextChoices):
    BILLING = "billing", "Billing"
    SHIPPING = "shipping", "Shipping"


class Address(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="addresses")
    kind = models.CharField(max_length=10, choices=AddressKind.choices)
    is_default = models.BooleanField(default=False)
    name = models.CharField(max_length=255, blank=True)
    line1 = models.CharField(max_length=255, blank=True)
    line2 = models.CharField(max_length=255, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True)
    phone = models.CharField(max_length=50, blank=True)

    SNAPSHOT_FIELDS = ("name", "line1", "line2", "city", "state", "postal_code", "country", "phone")

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "addresses"
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "kind"], condition=Q(is_default=True), name="one_default_address_per_kind"
            ),
        ]

    def __str__(self) -> str:
        return ", ".join(part for part in (self.name, self.line1, self.city, self.country) if part)

    def snapshot(self) -> dict[str, str]:
        """The copy a sale keeps, so later edits never rewrite past sales."""
        return {field: getattr(self, field) for field in self.SNAPSHOT_FIELDS}
