"""Exit 0 when the PostgreSQL server in argv[1] answers; otherwise explain and exit 0 (skip
the pass) or 1 (when GUANXI_REQUIRE_PG=1)."""

from __future__ import annotations

import os
import sys

import dj_database_url
import psycopg


def main(url: str) -> int:
    cfg = dj_database_url.parse(url)
    try:
        psycopg.connect(host=cfg["HOST"], port=cfg["PORT"] or 5432, user=cfg["USER"],
                        password=cfg["PASSWORD"] or None, dbname="postgres",
                        connect_timeout=5).close()
    except psycopg.Error as exc:
        required = os.environ.get("GUANXI_REQUIRE_PG") == "1"
        print(f"PostgreSQL at {cfg['HOST']}:{cfg['PORT']} is not reachable: {exc}".strip(),
              file=sys.stderr)
        if required:
            print("GUANXI_REQUIRE_PG=1: failing.", file=sys.stderr)
            return 1
        print("Skipping the PostgreSQL pass (set GUANXI_REQUIRE_PG=1 to fail instead).",
              file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    code = main(sys.argv[1])
    sys.exit(0 if code == 0 else (1 if code == 1 else 3))
