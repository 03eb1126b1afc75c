"""sqlite_queries: sqlite3 inserts, indexes and queries in an in-memory
database (whole-program benchmark, bench/whole/whole.py).

Shape of the workload: two tables (N = 80000 x SCALE rows of "events",
N / 20 "users"), filled with executemany in batches of 1000 inside
transactions; two indexes; then the queries a small reporting job runs:
point lookups by key (one Python tuple per row), range scans, GROUP BY
with aggregates, a JOIN, an ORDER BY that sorts in SQLite's temporary
b-tree, LIKE filters, UPDATE and DELETE of a tenth of the rows, and a final
VACUUM.  Two allocators share the work: SQLite's own pages, sorter and
statement objects come from sqlite3_malloc, which by default is the C
library's malloc (apart from a small per-connection lookaside buffer), and
every row becomes Python tuples, ints, floats and strs.  In-memory, so no disk I/O enters the timing.

Deterministic: fixed seed, every query has an ORDER BY or an aggregate.
Prints one line, "sqlite_queries DIGEST".

usage: python3 sqlite_queries.py [SCALE]   (SCALE 1: about 1 s under glibc)
"""
import hashlib
import random
import sqlite3

from program_args import scale_arg

KINDS = ("alloc", "free", "realloc", "collect", "promote", "compact", "trim", "grow")


def main():
    scale = scale_arg()
    rng = random.Random(0x53514C33)
    n = max(100, int(80000 * scale))
    n_users = max(5, n // 20)
    h = hashlib.sha256()

    def digest(rows):
        h.update(repr(rows).encode())
        return rows

    db = sqlite3.connect(":memory:")
    db.execute("create table users (uid integer primary key, name text, team text)")
    db.execute("create table events (eid integer primary key, uid integer, kind text, "
               "size integer, cost real, note text)")
    with db:
        db.executemany("insert into users values (?, ?, ?)",
                       [(u, "user%05d" % u, rng.choice(("arena", "pool", "block")))
                        for u in range(n_users)])
    for start in range(0, n, 1000):
        batch = [(e, rng.randrange(n_users), rng.choice(KINDS), rng.randrange(1, 1 << 16),
                  round(rng.random() * 100, 3),
                  "note %d %s" % (rng.randrange(1000), rng.choice(KINDS) * rng.randint(1, 4)))
                 for e in range(start, min(n, start + 1000))]
        with db:
            db.executemany("insert into events values (?, ?, ?, ?, ?, ?)", batch)
    db.execute("create index events_uid on events (uid)")
    db.execute("create index events_kind_size on events (kind, size)")

    for _ in range(n // 10):
        digest(db.execute("select eid, kind, size from events where eid = ?",
                          (rng.randrange(n),)).fetchall())
    for _ in range(n // 400 + 1):
        lo = rng.randrange(1 << 16)
        digest(db.execute("select kind, count(*), sum(size) from events "
                          "where size between ? and ? group by kind order by kind",
                          (lo, lo + 2000)).fetchall())
    digest(db.execute("select u.team, e.kind, count(*), round(avg(e.cost), 4) "
                      "from events e join users u on u.uid = e.uid "
                      "group by u.team, e.kind order by 1, 2").fetchall())
    rows = digest(db.execute("select eid, uid, note from events order by note, eid").fetchall())
    digest(db.execute("select count(*) from events where note like '%trimtrim%'").fetchall())
    with db:
        db.execute("update events set cost = cost * 2, note = note || '!' where eid % 10 = 3")
        db.execute("delete from events where eid % 10 = 7")
    digest(db.execute("select kind, count(*), round(sum(cost), 3) from events "
                      "group by kind order by kind").fetchall())
    db.execute("vacuum")
    digest(db.execute("select count(*), max(eid) from events").fetchall())
    db.close()
    print("sqlite_queries", h.hexdigest()[:16], "rows=%d" % len(rows))


if __name__ == "__main__":
    main()
