"""The demo territory (`flask demo seed`) and the one-command demo server (`python app.py`, `make run`).

Comes last in the dependency order: it uses every package's services to build realistic screens.
"""
