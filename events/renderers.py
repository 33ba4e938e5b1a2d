"""What an event's `data.object` is made of: the apps that own the objects register their v1 renderer here.

`events` sits below every app whose objects it carries, and the services of those apps must not import
their own API modules; so each app registers, in its `AppConfig.ready()`, a function turning one of its
instances into the representation its v1 endpoint answers, and the services ask for it by object type.
"""

from collections.abc import Callable
from typing import Any

_RENDERERS: dict[str, Callable[[Any], dict]] = {}


def register_renderer(object_type: str, render: Callable[[Any], dict]) -> None:
    _RENDERERS[object_type] = render


def render_object(object_type: str, instance: Any) -> dict:
    """`instance` as its v1 endpoint shows it to a reader who is not staff."""
    return _RENDERERS[object_type](instance)
