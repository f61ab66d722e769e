from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("shelf", "0002_columns")]
    operations = [
        migrations.RenameField(model_name="book", old_name="isbn", new_name="isbn13"),
        migrations.RunSQL(
            "CREATE VIEW shelf_book_titles AS SELECT b.id, b.title, b.year FROM shelf_book b",
            "DROP VIEW shelf_book_titles",
        ),
        migrations.CreateModel(
            name="Review",
            fields=[
                ("id", models.AutoField(primary_key=True, serialize=False)),
                ("stars", models.SmallIntegerField(default=3)),
                ("book", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="shelf.book")),
            ],
        ),
        migrations.AddField(model_name="author", name="born", field=models.DateField(null=True)),
    ]
