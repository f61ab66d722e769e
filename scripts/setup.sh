#!/usr/bin/env bash
# Makes this machine ready to build and test airlock: the local PostgreSQL
# and MariaDB running, the Debian packages the tests drive (real clients,
# pgbouncer, a browser), and the Go modules. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "setup: $*" >&2; }

SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO=sudo; fi

# Debian packages the tests use, each checked by what it provides.
missing=()
need() { # need PACKAGE TEST-COMMAND...
  local pkg=$1; shift
  "$@" >/dev/null 2>&1 || missing+=("$pkg")
}
need postgresql-client       command -v psql
need pgbouncer               command -v pgbouncer
need mariadb-client          command -v mariadb
need sysbench                command -v sysbench
need default-jdk-headless    command -v javac
need libpostgresql-jdbc-java test -f /usr/share/java/postgresql.jar
need libmariadb-java         test -f /usr/share/java/mariadb-java-client.jar
need python3-psycopg2        /usr/bin/python3 -c 'import psycopg2'
need python3-pymysql         /usr/bin/python3 -c 'import pymysql'
need python3-mysqldb         /usr/bin/python3 -c 'import MySQLdb'
need python3-sqlalchemy      /usr/bin/python3 -c 'import sqlalchemy'
need python3-alembic         /usr/bin/python3 -c 'import alembic'
need python3-django          /usr/bin/python3 -c 'import django'
need chromium                command -v chromium
need systemd                 command -v systemd-analyze
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q "${missing[@]}" >/dev/null 2>&1 || {
    $SUDO apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null
    $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q "${missing[@]}" >/dev/null
  }
fi

# PostgreSQL on 127.0.0.1:5432.
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  log "starting PostgreSQL"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start
  for _ in $(seq 60); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
fi
pg_isready -h 127.0.0.1 -p 5432 >/dev/null || { log "PostgreSQL is not reachable on 127.0.0.1:5432"; exit 1; }

# MariaDB on 127.0.0.1:3306.
if ! mariadb -h 127.0.0.1 -P 3306 -uroot -e 'SELECT 1' >/dev/null 2>&1; then
  log "starting MariaDB"
  $SUDO start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  for _ in $(seq 60); do mariadb -h 127.0.0.1 -P 3306 -uroot -e 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.5; done
fi
mariadb -h 127.0.0.1 -P 3306 -uroot -e 'SELECT 1' >/dev/null || { log "MariaDB is not reachable on 127.0.0.1:3306"; exit 1; }

go mod download
