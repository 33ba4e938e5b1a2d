"""A served process frees each request's reference cycles once it has answered (salesproject.memory)."""

import gc
import importlib
import weakref

from django.core.signals import request_finished

from salesproject import memory


class Node:
    pass


def test_after_a_request_its_cycles_are_freed_and_the_warm_heap_is_frozen():
    node = Node()
    node.itself = node  # a cycle: reference counting alone never frees it
    freed = weakref.ref(node)
    del node
    try:
        memory.collect_after_request()

        assert freed() is None
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_the_wsgi_application_turns_it_on():
    try:
        importlib.import_module("salesproject.wsgi")
        assert request_finished.has_listeners()
        assert any(key[0] == "salesproject.memory" for key, *_ in request_finished.receivers)
    finally:
        request_finished.disconnect(dispatch_uid="salesproject.memory")
