# Runs a Python migration tool forward to its last migration and back to
# none, as a deployment would, for the migration test (migrations_test.go).
# Usage: migrate.py TOOL ENGINE HOST PORT USER PASSWORD DATABASE up|down
#   TOOL: alembic | django     ENGINE: postgres | mysql
import os
import sys

tool, engine, host, port, user, password, database, direction = sys.argv[1:9]
here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "migrations")

if tool == "alembic":
    from alembic import command
    from alembic.config import Config

    driver = {"postgres": "postgresql+psycopg2", "mysql": "mysql+pymysql"}[engine]
    url = "%s://%s:%s@%s:%s/%s" % (driver, user, password, host, port, database)
    if engine == "postgres":
        url += "?sslmode=disable"
    cfg = Config()
    cfg.set_main_option("script_location", os.path.join(here, "alembic"))
    cfg.set_main_option("sqlalchemy.url", url)
    if direction == "up":
        command.upgrade(cfg, "head")
    else:
        command.downgrade(cfg, "base")
elif tool == "django":
    import django
    from django.conf import settings
    from django.core.management import call_command

    sys.path.insert(0, os.path.join(here, "django"))
    db = {
        "ENGINE": {"postgres": "django.db.backends.postgresql", "mysql": "django.db.backends.mysql"}[engine],
        "NAME": database, "USER": user, "PASSWORD": password, "HOST": host, "PORT": port,
    }
    if engine == "postgres":
        db["OPTIONS"] = {"sslmode": "disable"}
    settings.configure(DATABASES={"default": db}, INSTALLED_APPS=["shelf"], USE_TZ=True,
                       DEFAULT_AUTO_FIELD="django.db.models.AutoField")
    django.setup()
    call_command("migrate", "shelf", *([] if direction == "up" else ["zero"]), verbosity=0)
else:
    sys.exit("unknown tool " + tool)
print("ok", tool, engine, direction)
