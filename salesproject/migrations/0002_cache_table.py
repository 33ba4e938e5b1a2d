"""Create the database cache table (settings.CACHES), so `migrate` is the only set-up step.

The throttle counters of every worker process live in it. `createcachetable` skips a
table that exists, so running it here is safe on databases where it was made by hand.
"""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


def drop_cache_table(apps, schema_editor):
    from django.conf import settings

    for cache in settings.CACHES.values():
        if cache["BACKEND"] == "django.core.cache.backends.db.DatabaseCache":
            schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(cache['LOCATION'])}")


class Migration(migrations.Migration):
    dependencies = [("salesproject", "0001_initial")]

    operations = [migrations.RunPython(create_cache_table, drop_cache_table)]
