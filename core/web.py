"""Flask extension objects shared by the app factory and the packages (wired in `create_app`)."""

from __future__ import annotations

from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
login_manager = LoginManager()
