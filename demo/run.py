"""The one-command demo: migrate, seed, start the Graph API sandbox and the scheduler, serve the UI."""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
from pathlib import Path

from alembic import command
from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def _spawn(*args: str) -> subprocess.Popen:
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=env)
    atexit.register(lambda: proc.poll() is None and proc.terminate())
    return proc


def run_demo(app: Flask) -> None:
    from app import alembic_config
    from core.db import session_scope
    from demo.seed import DEMO_PASSWORD, DEMO_USERS, seed_demo

    settings = app.config["RAYONNE_SETTINGS"]
    if settings.is_production:
        sys.exit("The demo never runs in production mode.")
    with app.app_context():
        if settings.DATABASE_URL.startswith("sqlite:///"):
            Path(settings.DATABASE_URL.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        command.upgrade(alembic_config(settings.DATABASE_URL), "head")
        with session_scope() as session:
            seed_demo(session)
        with session_scope() as session:
            # A year of insights through an in-process sandbox, before the sandbox subprocess starts
            # on the same state file (demo/history.py says why); idempotent.
            from demo.history import history_for_demo

            print(f"Demo history: {history_for_demo(session)}")
    children = [_spawn("sandbox", "run", "--port", str(settings.SANDBOX_PORT)), _spawn("scheduler", "run")]
    print(f"\n  Rayonne demo: http://127.0.0.1:{settings.PORT}/")
    print(f"  Password for every demo account: {DEMO_PASSWORD}")
    for role, (email, _name) in DEMO_USERS.items():
        print(f"    {role.value:8} {email}")
    print()
    # Ctrl-C or a SIGTERM stops the web server and, through `finally`, the sandbox and the scheduler.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        app.run(host="127.0.0.1", port=settings.PORT, threaded=True, use_reloader=False)
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
