"""Django admin for the twelve v1 tables.

The audit trail (validations, approvals, deploy outcomes, task events) is read-only here;
profile versions change only by publishing a new version through RuntimeMemoryStore.
List pages stay fast on a million turns: no full count, raw-id widgets for foreign keys.
"""

from memory_app.ingest import admin as ingest_admin
from memory_app.notify import admin as notify_admin
from memory_app.profiles import admin as profiles_admin
from memory_app.promotion import admin as promotion_admin
from memory_app.review import admin as review_admin
from memory_app.runtime import admin as runtime_admin

# Django's admin finds memory_app.admin; each wing registers its own tables.
WINGS = (runtime_admin, profiles_admin, promotion_admin, notify_admin, review_admin, ingest_admin)
