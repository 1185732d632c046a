"""The full-text index of messages (chat.search_index): on PostgreSQL a generated tsvector
column with a GIN index, on SQLite an FTS5 table kept current by triggers. The stored
messages are indexed by the migration itself; reversible."""

from django.db import migrations


def install(apps, schema_editor):
    from chat import search_index

    search_index.install(schema_editor.connection)


def uninstall(apps, schema_editor):
    from chat import search_index

    search_index.uninstall(schema_editor.connection)


class Migration(migrations.Migration):

    dependencies = [
        ("chat", "0004_read_positions"),
    ]

    operations = [
        migrations.RunPython(install, uninstall),
    ]
