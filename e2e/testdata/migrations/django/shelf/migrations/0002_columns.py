from django.db import migrations, models


def add_author(apps, schema_editor):
    apps.get_model("shelf", "Author").objects.create(id=1, name="Ann")


def remove_author(apps, schema_editor):
    apps.get_model("shelf", "Author").objects.filter(id=1).delete()


class Migration(migrations.Migration):
    dependencies = [("shelf", "0001_initial")]
    # The data change comes first, so that undoing it comes last: on
    # PostgreSQL, deleting a row referenced through Django's deferred
    # foreign keys leaves trigger events that forbid a later ALTER TABLE
    # in the same transaction.
    operations = [
        migrations.RunPython(add_author, remove_author),
        migrations.AddField(model_name="book", name="year", field=models.IntegerField(null=True)),
        migrations.AddField(model_name="book", name="isbn", field=models.CharField(max_length=20, null=True, unique=True)),
        migrations.AlterField(model_name="book", name="title", field=models.CharField(max_length=300)),
        migrations.AlterField(model_name="author", name="name", field=models.CharField(max_length=100, null=True)),
        migrations.AddIndex(model_name="book", index=models.Index(fields=["year", "title"], name="ix_book_year_title")),
        migrations.AddConstraint(model_name="book", constraint=models.CheckConstraint(check=models.Q(year__gt=0), name="ck_book_year")),
        migrations.AddConstraint(model_name="book", constraint=models.UniqueConstraint(fields=["title", "author"], name="uq_book_title_author")),
    ]
