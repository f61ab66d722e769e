# Reads through psycopg2 the way an application would, and prints what it
# got in a stable text form, so that a direct connection and a connection
# through airlock can be compared. Usage: probe.py DSN [NOTIFY_DSN]
import select
import sys

import psycopg2
import psycopg2.extensions

dsn = sys.argv[1]
conn = psycopg2.connect(dsn)
cur = conn.cursor()
cur.execute("SELECT id, name, price, tags, created, note FROM items ORDER BY id")
for row in cur.fetchall():
    print("row", repr(row))
cur.execute("SELECT name FROM items WHERE id = %s AND price > %s", (3, 1))
print("param", cur.fetchall())
cur.copy_expert("COPY (SELECT id, name FROM items ORDER BY id) TO STDOUT", sys.stdout)
named = conn.cursor(name="server_side")
named.itersize = 2
named.execute("SELECT id FROM items ORDER BY id")
print("cursor", [r[0] for r in named])
named.close()
conn.commit()
try:
    cur.execute("DELETE FROM items WHERE id = 1")
    print("delete allowed")
except psycopg2.Error as e:
    print("delete", e.pgcode)
    conn.rollback()
cur.execute("SELECT count(*) FROM items")
print("after", cur.fetchone())
if len(sys.argv) > 2:
    conn.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT)
    cur.execute("LISTEN probe_channel")
    other = psycopg2.connect(sys.argv[2])
    other.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT)
    other.cursor().execute("NOTIFY probe_channel, 'hello'")
    if select.select([conn], [], [], 5) == ([], [], []):
        print("notify timeout")
    else:
        conn.poll()
        for n in conn.notifies:
            print("notify", n.channel, n.payload)
print("done")
