"""Store on each path row the time since the dossier's previous step (``since_previous``), so
that the slowest-steps statistics sum a column instead of running a window function over the
paths of every dossier resolved in the period.

Existing rows are backfilled here with one UPDATE computing LAG(at) in path order (at, id). The
path is append-only (migration 0002): the triggers are lifted for this UPDATE only and put back
in the same transaction."""

from django.db import migrations, models

from ansinh.core import appendonly

TABLE = "onestop_dossiertransition"

# The previous step of each row, in the order the reports read the path.
_PREVIOUS = f"""
    SELECT id, LAG(at) OVER (PARTITION BY dossier_id ORDER BY at, id) AS previous
    FROM {TABLE}
"""  # noqa: S608 - constant table name

# PostgreSQL: timestamp difference is an interval, the column's type.
_POSTGRES = f"""
    UPDATE {TABLE} AS t SET since_previous = t.at - p.previous
    FROM ({_PREVIOUS}) AS p
    WHERE p.id = t.id AND p.previous IS NOT NULL
"""  # noqa: S608

# SQLite: Django keeps datetimes as UTC text 'YYYY-MM-DD HH:MM:SS[.ffffff]' and durations as
# integer microseconds; whole seconds from strftime('%s'), the fraction from the text, exactly.
_MICROS = (
    "(CASE WHEN length({0}) > 19 THEN CAST(substr({0} || '000000', 21, 6) AS INTEGER) ELSE 0 END)"
)
_SQLITE = f"""
    UPDATE {TABLE} AS t SET since_previous =
        (CAST(strftime('%s', t.at) AS INTEGER) - CAST(strftime('%s', p.previous) AS INTEGER))
        * 1000000 + {_MICROS.format("t.at")} - {_MICROS.format("p.previous")}
    FROM ({_PREVIOUS}) AS p
    WHERE p.id = t.id AND p.previous IS NOT NULL
"""  # noqa: S608


def backfill(apps, schema_editor):
    connection = schema_editor.connection
    appendonly.unprotect(schema_editor, TABLE)
    with connection.cursor() as cursor:  # no parameters: '%s' is strftime's, not a placeholder
        cursor.execute(_POSTGRES if connection.vendor == "postgresql" else _SQLITE)
    appendonly.protect(schema_editor, TABLE)


def reprotect(apps, schema_editor):
    """Backwards: dropping the column may rebuild the table on SQLite, losing its triggers."""
    appendonly.protect(schema_editor, TABLE)


class Migration(migrations.Migration):
    dependencies = [("onestop", "0004_report_indexes")]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, reprotect),
        migrations.AddField(
            model_name="dossiertransition",
            name="since_previous",
            field=models.DurationField(
                blank=True,
                null=True,
                help_text="Time since the dossier's previous step (empty on its first): how long "
                "it stayed in from_state at from_department. Written with the row, as the path "
                "is append-only; the statistics of the slowest steps sum it.",
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
