#!/usr/bin/env bash
# Starts airlock on its embedded store in front of the local PostgreSQL (and
# MariaDB, when it runs) and prints how to connect.
#
#   examples/quickstart.sh          start (again) and print how to connect
#   examples/quickstart.sh tour     start, then walk the whole story without
#                                   asking anything: read, denial, request,
#                                   approval, the write in the same session,
#                                   its undo, audit verify; exits non-zero
#                                   when a step does not behave as described
#   examples/quickstart.sh stop     stop the background server
#
# Settings (environment):
#   QUICKSTART_PG_PORT     airlock's PostgreSQL listener   (default 15432)
#   QUICKSTART_MYSQL_PORT  airlock's MySQL listener        (default 13306)
#   QUICKSTART_HTTP_PORT   API and web console             (default 8080)
#   QUICKSTART_DIR         config, store, tokens and log   (default examples/.quickstart)
set -euo pipefail
umask 077 # tokens and passwords are written here: private to their owner
cd "$(dirname "$0")/.."
root=$(pwd)
pg_port=${QUICKSTART_PG_PORT:-15432}
my_port=${QUICKSTART_MYSQL_PORT:-13306}
http_port=${QUICKSTART_HTTP_PORT:-8080}
state=${QUICKSTART_DIR:-examples/.quickstart}
mkdir -p "$state"
state=$(cd "$state" && pwd)
pidfile=$state/airlock.pid
server=http://127.0.0.1:$http_port
airlock=$root/bin/airlock

stop() {
  if [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null; then
    for _ in $(seq 100); do kill -0 "$(cat "$pidfile")" 2>/dev/null || break; sleep 0.1; done
    echo "airlock stopped"
  fi
  rm -f "$pidfile"
}
case "${1:-start}" in
  stop) stop; exit 0 ;;
  start|tour) ;;
  *) echo "usage: examples/quickstart.sh [start|tour|stop]" >&2; exit 2 ;;
esac

# The local PostgreSQL, running.
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start
  for _ in $(seq 60); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
fi

# Upstream passwords (the credentials airlock holds; nobody else needs them).
for f in ro rw owner; do
  [ -s "$state/$f.pw" ] || head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$state/$f.pw"
  chmod 600 "$state/$f.pw"
done
export AIRLOCK_DEMO_RO_PASSWORD=$(cat "$state/ro.pw") AIRLOCK_DEMO_RW_PASSWORD=$(cat "$state/rw.pw") \
  AIRLOCK_DEMO_OWNER_PASSWORD=$(cat "$state/owner.pw")

# PostgreSQL: three roles and a demo database owned by the owner role.
psql -X -q -h 127.0.0.1 -U postgres -d postgres -v ON_ERROR_STOP=1 \
  -v ro="$AIRLOCK_DEMO_RO_PASSWORD" -v rw="$AIRLOCK_DEMO_RW_PASSWORD" -v owner="$AIRLOCK_DEMO_OWNER_PASSWORD" <<'SQL' >/dev/null
SELECT format('CREATE ROLE %I LOGIN', r) FROM unnest(ARRAY['airlock_demo_ro', 'airlock_demo_rw', 'airlock_demo_owner']) r
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) \gexec
SELECT format('ALTER ROLE airlock_demo_ro PASSWORD %L', :'ro') \gexec
SELECT format('ALTER ROLE airlock_demo_rw PASSWORD %L', :'rw') \gexec
SELECT format('ALTER ROLE airlock_demo_owner PASSWORD %L', :'owner') \gexec
SELECT 'CREATE DATABASE airlock_demo OWNER airlock_demo_owner' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'airlock_demo') \gexec
SQL
psql -X -q -h 127.0.0.1 -U postgres -d airlock_demo -v ON_ERROR_STOP=1 <<'SQL' >/dev/null
SET client_min_messages = warning;
SET ROLE airlock_demo_owner;
CREATE TABLE IF NOT EXISTS customers (id serial PRIMARY KEY, name text NOT NULL, email text, created timestamptz DEFAULT now());
CREATE TABLE IF NOT EXISTS ledger (id serial PRIMARY KEY, customer int REFERENCES customers, amount numeric(12,2));
INSERT INTO customers (id, name, email) SELECT g, 'customer ' || g, 'c' || g || '@example.com' FROM generate_series(1, 100) g
  ON CONFLICT (id) DO NOTHING;
GRANT CONNECT ON DATABASE airlock_demo TO airlock_demo_ro, airlock_demo_rw;
GRANT USAGE ON SCHEMA public TO airlock_demo_ro, airlock_demo_rw;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO airlock_demo_ro;
GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO airlock_demo_ro;
GRANT SELECT, INSERT, UPDATE, DELETE ON customers TO airlock_demo_rw;
GRANT USAGE ON SEQUENCE customers_id_seq TO airlock_demo_rw;
SQL

# MariaDB, when it runs: the same three accounts and a demo schema.
mysql=no
if command -v mariadb >/dev/null && mariadb -uroot -h 127.0.0.1 -P 3306 -e 'SELECT 1' >/dev/null 2>&1; then
  mysql=yes
  mariadb -uroot -h 127.0.0.1 -P 3306 <<SQL
CREATE DATABASE IF NOT EXISTS airlock_demo;
USE airlock_demo;
CREATE USER IF NOT EXISTS 'airlock_demo_ro'@'%';
CREATE USER IF NOT EXISTS 'airlock_demo_rw'@'%';
CREATE USER IF NOT EXISTS 'airlock_demo_owner'@'%';
ALTER USER 'airlock_demo_ro'@'%' IDENTIFIED BY '$AIRLOCK_DEMO_RO_PASSWORD';
ALTER USER 'airlock_demo_rw'@'%' IDENTIFIED BY '$AIRLOCK_DEMO_RW_PASSWORD';
ALTER USER 'airlock_demo_owner'@'%' IDENTIFIED BY '$AIRLOCK_DEMO_OWNER_PASSWORD';
CREATE TABLE IF NOT EXISTS airlock_demo.customers (id int AUTO_INCREMENT PRIMARY KEY, name varchar(100) NOT NULL, email varchar(100)) ENGINE=InnoDB;
CREATE TABLE IF NOT EXISTS airlock_demo.ledger (id int AUTO_INCREMENT PRIMARY KEY, customer int, amount decimal(12,2)) ENGINE=InnoDB;
INSERT IGNORE INTO airlock_demo.customers (id, name, email) SELECT seq, CONCAT('customer ', seq), CONCAT('c', seq, '@example.com') FROM seq_1_to_100;
GRANT SELECT, SHOW VIEW ON airlock_demo.* TO 'airlock_demo_ro'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON airlock_demo.customers TO 'airlock_demo_rw'@'%';
-- The owner installs the undo capture (databases prepare): it creates the
-- capture table and triggers, and grants the write account its use.
GRANT ALL PRIVILEGES ON airlock_demo.* TO 'airlock_demo_owner'@'%' WITH GRANT OPTION;
GRANT SELECT ON mysql.user TO 'airlock_demo_owner'@'%';
SQL
fi

# The config, with the ports asked for (and without MariaDB when it is not running).
sed -e "s/127.0.0.1:15432/127.0.0.1:$pg_port/; s/127.0.0.1:13306/127.0.0.1:$my_port/; s/127.0.0.1:8080/127.0.0.1:$http_port/" \
  examples/quickstart.yaml > "$state/airlock.yaml.new"
if [ $mysql = no ]; then
  sed -i -e '/quickstart-mysql-begin/,/quickstart-mysql-end/d' -e '/quickstart: removed when MariaDB/d' \
    -e 's/databases: \[demo, demo_my\]/databases: [demo]/' "$state/airlock.yaml.new"
fi
mv "$state/airlock.yaml.new" "$state/airlock.yaml"

# Build and start airlock.
mkdir -p bin
go build -o bin/airlock ./cmd/airlock
[ -s "$state/admin.token" ] || echo "alk_$(head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 43)" > "$state/admin.token"
admin=$(cat "$state/admin.token")
stop >/dev/null
AIRLOCK_BOOTSTRAP_TOKEN=$admin AIRLOCK_PPROF=${AIRLOCK_PPROF:-} nohup "$airlock" serve --config "$state/airlock.yaml" >"$state/airlock.log" 2>&1 &
echo $! > "$pidfile"
for _ in $(seq 300); do
  curl -fsS "$server/healthz" >/dev/null 2>&1 && break
  kill -0 "$(cat "$pidfile")" 2>/dev/null || { cat "$state/airlock.log"; exit 1; }
  sleep 0.1
done
curl -fsS "$server/healthz" >/dev/null || { echo "airlock did not come up; see $state/airlock.log" >&2; exit 1; }

# Undo needs the capture installed (with the owner credential).
"$airlock" databases prepare demo --server "$server" --token "$admin" >/dev/null
[ $mysql = no ] || "$airlock" databases prepare demo_my --server "$server" --token "$admin" >/dev/null

# Tokens: alice (an engineer, read-only by default) and bob (her approver).
"$airlock" tokens issue --server "$server" --token "$admin" --user alice --ttl 1h > "$state/alice.token"
"$airlock" tokens issue --server "$server" --token "$admin" --user bob --ttl 1h > "$state/bob.token"
alice=$(cat "$state/alice.token")

if [ "${1:-start}" = start ]; then
  cat <<MSG

airlock is running (pid $(cat "$pidfile"), log $state/airlock.log).

Connect as alice (read-only; the token is her password, valid 1 hour):

  PGPASSWORD=$alice psql "host=127.0.0.1 port=$pg_port user=alice dbname=demo sslmode=disable"
MSG
  [ $mysql = no ] || cat <<MSG
  mariadb -h 127.0.0.1 -P $my_port -u alice -p"\$(cat $state/alice.token)" --ssl=0 demo_my
MSG
  cat <<MSG

Then try:  SELECT count(*) FROM customers;   DELETE FROM customers WHERE id = 1;

The DELETE is denied. Ask for write access as alice, in another terminal:

  export AIRLOCK_SERVER=$server
  AIRLOCK_TOKEN=\$(cat $state/alice.token) $airlock requests create demo --level write --duration 30m --reason "remove customer 1"

and approve it as bob (the approver; his token is in $state/bob.token):

  AIRLOCK_TOKEN=\$(cat $state/bob.token) $airlock requests approve ID

The same psql session can now run the DELETE. Take it back:

  AIRLOCK_TOKEN=\$(cat $state/alice.token) $airlock undo show SESSION_ID      (airlock sessions list)
  AIRLOCK_TOKEN=\$(cat $state/alice.token) $airlock undo apply SESSION_ID

Admin (token in $state/admin.token): audit list, audit verify, sessions list...
  AIRLOCK_TOKEN=\$(cat $state/admin.token) $airlock audit verify
Web console: $server/ (sign in with any of these tokens)

The whole story without typing: examples/quickstart.sh tour
Stop it with: examples/quickstart.sh stop
MSG
  exit 0
fi

# --- The tour ---------------------------------------------------------------
# Every step runs to the end; each check says ok or FAILED, and any FAILED
# makes the exit status 1.
set +e
export AIRLOCK_SERVER=$server
failed=0
step() { printf '\n== %s\n' "$*"; }
ok() { printf '   ok: %s\n' "$*"; }
fail() { printf '   FAILED: %s\n' "$*"; failed=1; }
expect() { # expect WHAT PATTERN TEXT
  if grep -qE -- "$2" <<<"$3"; then ok "$1"; else fail "$1 (expected /$2/)"; fi
}

# The story starts from alice's standing level: grants left by an earlier
# tour end now.
for g in $("$airlock" grants list --active --token "$admin" | awk 'NR > 1 && $2 == "alice" {print $1}'); do
  "$airlock" grants revoke "$g" --token "$admin" >/dev/null
done

# One psql session for the whole story, fed statement by statement.
in=$state/tour.in out=$state/tour.out
rm -f "$in" "$out"; mkfifo "$in"; : > "$out"
PGPASSWORD=$alice psql -X -v ON_ERROR_STOP=0 -v VERBOSITY=default \
  "host=127.0.0.1 port=$pg_port user=alice dbname=demo sslmode=disable application_name=quickstart-tour" <"$in" >"$out" 2>&1 &
psql_pid=$!
exec 3>"$in"
trap 'exec 3>&-; kill $psql_pid 2>/dev/null || true; rm -f "$in"' EXIT
sql() { # sql STATEMENT: runs it in the session and prints its output
  local mark="-- end of statement $(date +%s%N) --" start
  start=$(wc -l <"$out")
  printf '%s\n\\echo %s\n' "$1" "$mark" >&3
  for _ in $(seq 300); do grep -qF -- "$mark" "$out" && break; sleep 0.1; done
  tail -n +"$((start + 1))" "$out" | grep -vF -- "$mark" | sed 's/^/   | /'
}

step "1. alice reads (her standing level is read)"
echo "   psql> SELECT count(*) FROM customers;"
r=$(sql "SELECT count(*) AS customers FROM customers;"); echo "$r"
expect "the read is answered" '^\s+\|\s+100$' "$r"

step "2. alice tries a write: denied before it reaches the database"
echo "   psql> DELETE FROM customers WHERE id = 1;"
r=$(sql "DELETE FROM customers WHERE id = 1;"); echo "$r"
expect "denied with airlock's rule and a hint" 'ERROR:  airlock: denied: level: .*HINT:  to request access|airlock: denied: level' "$r"

step "3. alice asks for write access"
echo "   \$ airlock requests create demo --level write --duration 30m --reason \"remove customer 1\""
req=$(AIRLOCK_TOKEN=$alice "$airlock" requests create demo --level write --duration 30m --reason "remove customer 1" 2>&1) || true
echo "   $req"
expect "a request id" '^req_' "$req"

step "4. bob, her approver, approves it"
echo "   \$ AIRLOCK_TOKEN=\$(cat $state/bob.token) airlock requests approve $req"
r=$(AIRLOCK_TOKEN=$(cat "$state/bob.token") "$airlock" requests approve "$req" 2>&1) || true
echo "   $r"
r=$(AIRLOCK_TOKEN=$alice "$airlock" requests list 2>&1 | grep -F -- "$req")
expect "the request is approved" 'approved' "$r"

step "5. the same psql session now writes"
echo "   psql> DELETE FROM customers WHERE id = 1;"
r=$(sql "DELETE FROM customers WHERE id = 1;"); echo "$r"
expect "the write ran in the session that was denied before" '^\s+\|\s+DELETE 1$' "$r"
r=$(sql "SELECT count(*) AS customers FROM customers;")
expect "customer 1 is gone" '^\s+\|\s+99$' "$r"

step "6. the write is undone"
sid=$(AIRLOCK_TOKEN=$alice "$airlock" sessions list --active 2>&1 | awk 'NR > 1 && $2 == "alice" && $3 == "demo" {print $1; exit}')
echo "   \$ airlock undo show $sid"
r=$(AIRLOCK_TOKEN=$alice "$airlock" undo show "$sid" 2>&1) || true
echo "$r" | sed 's/^/   /'
expect "the reversing SQL puts customer 1 back" 'INSERT INTO .*customers' "$r"
echo "   \$ airlock undo apply $sid"
r=$(AIRLOCK_TOKEN=$alice "$airlock" undo apply "$sid" 2>&1) || true
echo "$r" | sed 's/^/   /'
r=$(sql "SELECT name FROM customers WHERE id = 1;"); echo "$r"
expect "customer 1 is back" 'customer 1$' "$r"

if [ $mysql = yes ]; then
  step "7. the same rules on MariaDB"
  r=$(MYSQL_PWD=$alice mariadb -h 127.0.0.1 -P "$my_port" -u alice --ssl=0 demo_my -e "SELECT count(*) FROM customers; DELETE FROM customers WHERE id = 1" 2>&1) || true
  echo "$r" | sed 's/^/   | /'
  expect "a read, then a denied write" 'ERROR 1227 \(42000\).*airlock: denied: level' "$r"
fi

step "8. the audit log is intact"
r=$(AIRLOCK_TOKEN=$admin "$airlock" audit verify 2>&1) || fail "audit verify exited non-zero"
echo "   $r"
expect "audit verify" '^ok' "$r"
r=$(AIRLOCK_TOKEN=$admin "$airlock" audit list --user alice --limit 8 2>&1) || true
echo "$r" | sed 's/^/   /'

step "9. store-only commands need only the store (no database passwords)"
r=$(env -u AIRLOCK_DEMO_RO_PASSWORD -u AIRLOCK_DEMO_RW_PASSWORD -u AIRLOCK_DEMO_OWNER_PASSWORD \
  "$airlock" audit verify --config "$state/airlock.yaml" 2>&1) || fail "audit verify --config exited non-zero"
echo "   $r"
expect "audit verify --config" '^ok' "$r"

step "10. secrets on disk are private"
loose=$(find "$state" -maxdepth 1 -type f \( -name '*.token' -o -name '*.pw' -o -name 'bootstrap-token' \) -perm /077)
if [ -z "$loose" ]; then ok "tokens and passwords are mode 0600"; else fail "readable by others: $loose"; fi

exec 3>&-
wait $psql_pid 2>/dev/null || true
if [ $failed = 0 ]; then
  printf '\nThe tour passed. airlock is still running; stop it with: examples/quickstart.sh stop\n'
else
  printf '\nThe tour FAILED (see above; the server log is %s).\n' "$state/airlock.log"
fi
exit $failed
