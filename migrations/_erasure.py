"""What the erasure guard of revision ``0012_erasures`` is made of, for the revisions that create or change it: the
tables that hold a user's data (by the column that names the user), the trigger's name, and the transaction-local
setting in which the trigger remembers the user it last found not erased."""

from __future__ import annotations

from sahha_sync.adapters.sql.tables import ERASURE_GUARDED, LIBRARY_TABLES

TABLE = "user_erasures"
GUARDED = ERASURE_GUARDED  # every table that holds a user's data, by the column that names the user
TRIGGER = "sahha_sync_skip_erased"
CHECKED = "sahha_sync.user_not_erased"  # the user this transaction already found not erased


def guarded_table(table: str, schema: str) -> str:
    """``table`` as SQL reaches it: the library's own tables live in ``schema``, the others where the host put them."""
    return f'"{schema}"."{table}"' if table in {t.name for t in LIBRARY_TABLES} else f'"{table}"'


def create_trigger(table: str, column: str, schema: str, *, when_user_changes: bool) -> str:
    """The statement creating the guard's trigger on ``table``. With ``when_user_changes`` the trigger's function
    runs only for a row whose user is not the one the transaction last found not erased: the database compares
    the setting itself, so rows of a user already checked cost no call of the function."""
    when = f"WHEN (current_setting('{CHECKED}', true) IS DISTINCT FROM NEW.{column}) " if when_user_changes else ""
    return (
        f"CREATE TRIGGER {TRIGGER} BEFORE INSERT OR UPDATE ON {guarded_table(table, schema)} "
        f'FOR EACH ROW {when}EXECUTE FUNCTION "{schema}".{TRIGGER}_{column}()'
    )
