"""Infrastructure shared by every package: settings, database, errors, security, mail, i18n.

No business rules live here.
"""
