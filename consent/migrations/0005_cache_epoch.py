from django.db import migrations, models


def create_the_row(apps, schema_editor):
    apps.get_model("consent", "CacheEpoch").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("consent", "0004_erased_record_cascades_with_its_site")]

    operations = [
        migrations.CreateModel(
            name="CacheEpoch",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("value", models.BigIntegerField(default=0)),
            ],
            options={"verbose_name": "cache epoch"},
        ),
        migrations.RunPython(create_the_row, migrations.RunPython.noop),
    ]
