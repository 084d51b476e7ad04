"""The three roles as groups: reviewer reads, ops decides, profile-admin publishes."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

V1_MODELS = [
    "session",
    "turn",
    "workflowrun",
    "workflowstep",
    "taskevent",
    "skill",
    "behaviorprofile",
    "personalityprofile",
    "proposal",
    "validationresult",
    "approval",
    "deployoutcome",
]
READ = [f"view_{model}" for model in V1_MODELS]
ROLES = {
    "reviewer": READ,
    "ops": [*READ, "add_approval"],
    "profile-admin": [*READ, "add_behaviorprofile", "add_personalityprofile"],
}


def create_groups(apps, schema_editor):
    # The database being migrated, which need not be the default one (copy_database).
    using = schema_editor.connection.alias
    # Permissions are normally made after migrate; make them now so groups can hold them.
    for app_config in apps.get_app_configs():
        # Migration-state app configs have no models module; the real ones keep theirs.
        models_module = getattr(app_config, "models_module", None)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0, using=using)
        app_config.models_module = models_module
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in ROLES.items():
        group, _ = Group.objects.using(using).get_or_create(name=name)
        perms = Permission.objects.using(using).filter(
            content_type__app_label="memory_app", codename__in=codenames
        )
        group.permissions.add(*perms)


def remove_groups(apps, schema_editor):
    using = schema_editor.connection.alias
    apps.get_model("auth", "Group").objects.using(using).filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("memory_app", "0003_append_only_triggers"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
