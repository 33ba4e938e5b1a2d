"""Plumbing shared by the catalogue, stock, customer and payment admins.

Every save, delete and action of those admins goes through a service; this
module turns a refused service call into an admin message (never a 500) and
renders the intermediate form of an action that needs input (adjust stock,
assign to sale).
"""

from collections.abc import Iterable

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model
from django.forms import Form
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse

from salesproject.errors import DomainError


def describe(error: DomainError | DjangoValidationError) -> str:
    """The admin message for a refused service call: its text, then its code or the fields it is about."""
    if isinstance(error, DomainError):
        return f"{error.detail} ({error.code})"
    if hasattr(error, "error_dict"):
        return "; ".join(f"{field}: {' '.join(texts)}" for field, texts in error.message_dict.items())
    return " ".join(error.messages)


def adopt(target: Model, source: Model) -> None:
    """Make the instance the admin built from its form the one a service wrote.

    The admin keeps its own instance for the log entry and the redirect after
    "add"; copying the state gives it the primary key and whatever the service
    normalised (an upper-cased country, a moved default flag), and sidesteps a
    protected FSM status field's setter.
    """
    target.__dict__.update(source.__dict__)


def report(request: HttpRequest, verb: str, done: int, failed: list[str]) -> None:
    """One message for an action over several rows: "N done, M failed: <row>: <why>; …"."""
    if failed:
        level = messages.WARNING if done else messages.ERROR
        messages.add_message(request, level, f"{verb}: {done} done, {len(failed)} failed: {'; '.join(failed)}")
    else:
        messages.success(request, f"{verb}: {done} done.")


class ServiceErrorsAsMessages:
    """Model admin mixin: a service error raised while saving or deleting becomes a message.

    Django runs the add, change and delete views in one transaction: the error
    leaves it (so nothing of the failed write stays) and comes back as a
    message on the same page, never a 500.
    """

    refused_errors: tuple[type[Exception], ...] = (DomainError,)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except self.refused_errors as error:
            if request.method != "POST":
                raise
            messages.error(request, f"Nothing was saved: {describe(error)}")
            return HttpResponseRedirect(request.get_full_path())

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except self.refused_errors as error:
            if request.method != "POST":
                raise
            messages.error(request, f"Nothing was deleted: {describe(error)}")
            return HttpResponseRedirect(request.get_full_path())


class ServiceAdmin(ServiceErrorsAsMessages, admin.ModelAdmin):
    """A model admin whose writes are service calls.

    Subclasses implement `save_model` / `save_related` / `delete_model` with
    services; refused writes (domain errors and the model validation the
    catalogue services run) come back as messages. The bulk "delete selected"
    action is withdrawn because its success message counts rows it never asked
    a service about; objects are deleted one at a time, through the service.
    """

    refused_errors = (DomainError, DjangoValidationError)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


def action_form_page(
    *,
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    action: str,
    title: str,
    form: Form,
    objects: Iterable[Model],
    columns: Iterable[tuple[str, str]],
    submit_label: str,
    intro: str = "",
) -> TemplateResponse:
    """The intermediate page of an action that needs input: the selected rows, the form, a submit button.

    It posts back to the change list with the action and the selected ids, as
    Django's own "delete selected" confirmation does, plus `apply` to say the
    form was filled in. `columns` are (attribute, heading) pairs of each row (a
    method, such as `get_status_display`, is called); `intro` is shown above them.
    """
    objects = list(objects)
    columns = list(columns)
    rows = [[_cell(obj, attribute) for attribute, _ in columns] for obj in objects]
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "subtitle": None,
        "opts": modeladmin.model._meta,
        "form": form,
        "objects": objects,
        "headings": [heading for _, heading in columns],
        "rows": zip(objects, rows, strict=True),
        "action": action,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "submit_label": submit_label,
        "intro": intro,
        "media": modeladmin.media + form.media,
    }
    return TemplateResponse(request, "admin/action_form.html", context)


def _cell(obj: Model, attribute: str):
    value = getattr(obj, attribute)
    return value() if callable(value) else value
