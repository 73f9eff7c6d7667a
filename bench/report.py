"""How long does one territory's weekly PDF take, and how much of it is the charts?

Builds, in a temporary SQLite database, a territory with a year of activity (three publics, three posts
per public and week, one boost per public and week, their daily facts rolled up by `reports.sync`),
then times, in the same run (medians of warm runs):

* the weekly report, split into its three steps: **data** (`reports.weekly.build_report_data`, the
  metrics module's queries), **charts** (the dashboard's chart functions, as SVG) and **PDF assembly**
  (template + WeasyPrint, tagged PDF/UA);
* the same charts rendered **alone** — the floor any way of making this PDF sits on.

Then 100 territories with the same year of data, each report built in a process pool of 2 workers.
Run from the repository root::

    python bench/report.py [--runs 5] [--territories 100] [--workers 2]

The last line is ``RATIO <report time / charts-alone time> weekly report / charts alone``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MONDAY = date(2026, 11, 16)  # the report's week: 2026-W47
WEEK = "2026-W47"
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)

_worker_app = None


def make_app(database_url: str):  # noqa: ANN201
    from cryptography.fernet import Fernet

    from app import create_app
    from core.settings import Settings

    return create_app(Settings(_env_file=None, RAYONNE_ENV="test", DATABASE_URL=database_url,
                               SECRET_KEY="bench-secret-key-" + "x" * 40,
                               RAYONNE_ENCRYPTION_KEY=Fernet.generate_key().decode(), SMTP_HOST=None))


def populate(app, count: int) -> list[int]:  # noqa: ANN001
    """`count` territories, each with a year (52 weeks) of data. Returns their ids."""
    from sqlmodel import SQLModel

    from accounts.models import TerritoryCreate
    from accounts.services import SYSTEM, create_territory
    from core.db import ALL, get_engine, new_session, scoped
    from targets.services import ensure_builtin_audiences
    from tests.reports.weekly_data import make_sample

    with app.app_context():
        SQLModel.metadata.create_all(get_engine())
        session = new_session(ALL)
        ids = []
        for n in range(count):
            territory = create_territory(session=session, actor=SYSTEM,
                                         data=TerritoryCreate(slug=f"t{n:03d}", name=f"Territoire {n:03d}"))
            with scoped(session, territory.id):
                ensure_builtin_audiences(session=session, territory=territory)
            session.commit()
            make_sample(session, territory, last_monday=MONDAY, weeks=52, posts_per_week=3, seed=n,
                        audiences=("investors", "tourists", "residents"))
            ids.append(territory.id)
        session.close()
    return ids


def timed_build(app, territory_id: int) -> dict[str, float]:  # noqa: ANN001
    """One weekly report, step by step: data, charts, PDF assembly (seconds)."""
    from flask_babel import force_locale

    from accounts.models import Territory
    from core.db import ALL, new_session, scoped
    from reports import pdf, weekly

    with app.app_context():
        session = new_session(ALL)
        territory = session.get(Territory, territory_id)
        with scoped(session, territory_id):
            started = time.perf_counter()
            data = weekly.build_report_data(session=session, territory=territory, iso_week=WEEK)
            t_data = time.perf_counter() - started
            started = time.perf_counter()
            charts = pdf.render_charts(data)
            t_charts = time.perf_counter() - started
            started = time.perf_counter()
            with force_locale(data.locale):
                document = pdf.html_to_pdf(pdf.render_html(data, charts, mode="pdf"))
            t_pdf = time.perf_counter() - started
        session.close()
    assert document.startswith(b"%PDF-")
    return {"data": t_data, "charts": t_charts, "pdf": t_pdf, "total": t_data + t_charts + t_pdf,
            "bytes": len(document), "data_obj": data}


def charts_alone(app, data) -> float:  # noqa: ANN001
    """The same charts, rendered by themselves (no data queries, no PDF)."""
    from reports import pdf

    with app.app_context():
        started = time.perf_counter()
        pdf.render_charts(data)
        return time.perf_counter() - started


def _init_worker(database_url: str) -> None:
    global _worker_app
    warnings.simplefilter("ignore")
    from core import clock

    clock.freeze(NOW)
    _worker_app = make_app(database_url)


def _build_in_worker(territory_id: int) -> float:
    result = timed_build(_worker_app, territory_id)
    return result["total"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--territories", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    import logging

    logging.disable(logging.INFO)
    from core import clock

    clock.freeze(NOW)
    with tempfile.TemporaryDirectory(prefix="rayonne-bench-") as tmp:
        database_url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        app = make_app(database_url)
        started = time.perf_counter()
        ids = populate(app, args.territories)
        print(f"data: {len(ids)} territories x 52 weeks (3 publics, 3 posts/week each, 1 boost/week each) "
              f"built in {time.perf_counter() - started:.1f} s")
        with app.app_context():
            from sqlalchemy import func, select

            from core.db import ALL, new_session
            from reports.models import AdDailyMetric, PostDailyMetric

            session = new_session(ALL)
            rows = (session.exec(select(func.count()).select_from(PostDailyMetric)).one()[0],
                    session.exec(select(func.count()).select_from(AdDailyMetric)).one()[0])
            session.close()
        print(f"facts: {rows[0]} post-day rows, {rows[1]} ad-day rows in all; one territory's year: "
              f"{rows[0] // len(ids)} post-days, {rows[1] // len(ids)} ad-days")

        first = ids[0]
        warm = timed_build(app, first)  # imports, font configuration, caches
        print(f"warm-up build: {warm['total']:.3f} s, PDF {warm['bytes'] / 1024:.0f} KiB")
        builds = [timed_build(app, first) for _ in range(args.runs)]
        alone = [charts_alone(app, warm["data_obj"]) for _ in range(args.runs)]
        med = {k: statistics.median(b[k] for b in builds) for k in ("data", "charts", "pdf", "total")}
        charts_med = statistics.median(alone)
        print(f"one weekly report (median of {args.runs}): total {med['total']:.3f} s = "
              f"data {med['data']:.3f} s + charts {med['charts']:.3f} s + PDF assembly {med['pdf']:.3f} s")
        print(f"the same charts alone (median of {args.runs}): {charts_med:.3f} s")

        cores = os.cpu_count() or 1
        started = time.perf_counter()
        with ProcessPoolExecutor(max_workers=args.workers, initializer=_init_worker,
                                 initargs=(database_url,)) as pool:
            totals = list(pool.map(_build_in_worker, ids))
        wall = time.perf_counter() - started
        print(f"{len(ids)} territories, process pool of {args.workers} workers ({cores} cores here): "
              f"{wall:.1f} s wall clock (pool start-up included), {wall / len(ids):.3f} s per report, "
              f"median build {statistics.median(totals):.3f} s in a worker")
        print(f"RATIO {med['total'] / charts_med:.2f} weekly report / charts alone")


if __name__ == "__main__":
    main()
