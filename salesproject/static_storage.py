"""Static files storage: hashed, compressed files once `collectstatic` has run, the plain files before it."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    """Whitenoise's manifest storage, made safe to run before `collectstatic`.

    After `collectstatic` (the production path) every `{% static %}` URL names
    a hashed, compressed copy in STATIC_ROOT that whitenoise serves with a
    one-year cache header. Without it (a developer machine, CI's gunicorn)
    Django's manifest storage raises on every `{% static %}`, so every admin
    page would answer 500; here the URL falls back to the file's plain name,
    which whitenoise serves from the app's own static folder
    (`WHITENOISE_USE_FINDERS`). The same fallback turns a file missing from a
    stale manifest into that file's plain URL instead of a broken page.
    """

    def stored_name(self, name):
        try:
            return super().stored_name(name)
        except ValueError:
            return name
