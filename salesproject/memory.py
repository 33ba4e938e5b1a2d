"""A served process collects its garbage after every request, against a heap frozen once it is warm.

A request leaves reference cycles behind (querysets and their compilers, request and response objects). CPython
frees them only in a full collection, which it runs rarely once a process holds the ~160,000 objects Django and
the apps load at start: between two, the cycles of a few hundred list pages pile up and a worker's memory grew
from 108 MB to 160 MB and on. Here the heap as it stands after the first request (apps, URLs, views, serializers
imported) is frozen (`gc.freeze()`: never scanned again), and a collection after each response finds only that
request's leftovers: it costs well under a millisecond, after the answer has been sent, and the worker stays at its
size after warm-up. `salesproject.wsgi` turns it on; the test client and management commands do not use it.
"""

import gc

from django.core.signals import request_finished


def collect_after_request(**kwargs) -> None:
    gc.collect()
    if not gc.get_freeze_count():  # the first request: the heap is warm now
        gc.freeze()


def collect_after_each_request() -> None:
    request_finished.connect(collect_after_request, dispatch_uid="salesproject.memory")
