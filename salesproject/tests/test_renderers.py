"""The API's orjson renderer writes DRF's JSON byte for byte, and hands DRF what only DRF can write."""

import json
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

from django.utils.translation import gettext_lazy
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework.renderers import JSONRenderer as DRFJSONRenderer

from salesproject.api.renderers import JSONRenderer

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.text()
    | st.decimals(allow_nan=False, allow_infinity=False, places=3)
    | st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=2)), None]))
    | st.dates()
    | st.uuids()
)
documents = st.recursive(scalars, lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner), max_leaves=40)


def test_floats_are_the_same_numbers_though_an_exponent_may_be_written_shorter():
    data = [1.1759248924482582e-08, 0.1, 1e300, -2.5, 3.0]
    ours, drf = both(data)
    assert json.loads(ours) == json.loads(drf) == data
    assert ours.replace(b"e-08", b"e-8") == drf.replace(b"e-08", b"e-8")


def both(data, media_type=None) -> tuple[bytes, bytes]:
    return JSONRenderer().render(data, media_type), DRFJSONRenderer().render(data, media_type)


@settings(max_examples=300, deadline=None)
@given(documents)
def test_any_document_is_written_as_drf_writes_it(data):
    ours, drf = both(data)
    assert ours == drf


def test_separators_lazy_strings_and_times_as_drf_writes_them():
    data = {
        "text": "line\u2028break\u2029end – ünïcode",
        "lazy": gettext_lazy("Not found."),
        "when": datetime(2026, 12, 5, 14, 0, 1, 500, tzinfo=UTC),
        "day": date(2026, 12, 5),
        "amount": Decimal("12.50"),
        "id": uuid.UUID(int=7),
    }
    ours, drf = both(data)
    assert ours == drf
    assert b"\\u2028" in ours and b'"2026-12-05T14:00:01.000500Z"' in ours


def test_what_orjson_refuses_and_indented_output_go_through_drf():
    cases = [({1: "int key"}, None), ({"big": 2**70}, None), ({"a": [1, 2]}, "application/json; indent=4")]
    for data, media_type in cases:
        ours, drf = both(data, media_type)
        assert ours == drf
    assert JSONRenderer().render(None) == b""
