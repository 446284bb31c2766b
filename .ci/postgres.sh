# Sourced by .ci/run: makes a PostgreSQL server reachable on 127.0.0.1:5432 with a
# database and user for the tests, and exports ROTABOT_TEST_DATABASE_URL. It uses
# the server already running there if there is one, else Debian's packages
# (installed when missing) and the distribution's cluster tools.

pg_user=rotabot_test
pg_password=rotabot_test
pg_db=rotabot_test

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }
as_postgres() { (cd / && as_root runuser -u postgres -- "$@"); }

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

if ! command -v pg_isready >/dev/null || ! pg_up; then
  if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    echo "PostgreSQL: installing Debian's postgresql package"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  pg_version=$(ls /usr/lib/postgresql | sort -V | tail -n1)
  if ! pg_lsclusters -h 2>/dev/null | awk -v v="$pg_version" '$1 == v && $2 == "main"' | grep -q .; then
    as_root pg_createcluster "$pg_version" main >/dev/null
  fi
  echo "PostgreSQL: starting cluster $pg_version/main"
  as_root pg_ctlcluster "$pg_version" main start || true
  for _ in $(seq 1 60); do pg_up && break; sleep 0.5; done
  if ! pg_up; then
    echo "PostgreSQL did not start on 127.0.0.1:5432:"
    as_root tail -n 20 "/var/log/postgresql/postgresql-$pg_version-main.log" || true
    exit 1
  fi
fi

# The test user owns the test database; each test makes its own schema in it.
as_postgres psql -q -v ON_ERROR_STOP=1 -d postgres >/dev/null <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$pg_user') THEN
    CREATE ROLE $pg_user LOGIN PASSWORD '$pg_password';
  ELSE
    ALTER ROLE $pg_user LOGIN PASSWORD '$pg_password';
  END IF;
END \$\$;
SQL
if ! as_postgres psql -tA -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$pg_db'" | grep -q 1; then
  as_postgres createdb -O "$pg_user" "$pg_db"
fi

export ROTABOT_TEST_DATABASE_URL="postgres://$pg_user:$pg_password@127.0.0.1:5432/$pg_db?sslmode=disable"
echo "PostgreSQL: ROTABOT_TEST_DATABASE_URL points at $pg_db on 127.0.0.1:5432"
