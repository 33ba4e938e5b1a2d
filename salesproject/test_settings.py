"""Settings for the test suite: the real settings with test-only speed-ups."""

import os

# The API-wide rate limits stay on, far above what any test sends; set in the environment, so servers the tests
# start (gunicorn in the fault tests) get them too. Tests of the limits lower them themselves.
os.environ.setdefault("API_RATE_LIMIT_USER", "10000/s")
os.environ.setdefault("API_RATE_LIMIT_ANON", "10000/s")

from salesproject.settings import *  # noqa: F403

# key=value lines, not JSON, in a failing test's captured output.
LOGGING["handlers"]["console"]["formatter"] = "console"  # noqa: F405

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = True  # no collected static files in tests
