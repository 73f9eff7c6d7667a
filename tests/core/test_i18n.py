"""French first, English selectable per user; money and numbers formatted per locale."""

from __future__ import annotations

from flask_babel import force_locale

from accounts.models import Role
from core.i18n import major_to_minor, money, number
from tests.conftest import make_territory, make_user


def test_money_is_formatted_the_french_way(app) -> None:  # noqa: ANN001
    """123456 cents read `1 234,56 €` in French and `€1,234.56` in English."""
    with app.test_request_context(), force_locale("fr"):
        assert money(123456) == "1\u202f234,56\xa0€"
        assert number(12345) == "12\u202f345"
        assert money(None) == "—"
    with app.test_request_context(), force_locale("en"):
        assert money(123456) == "€1,234.56"


def test_typed_amounts_become_exact_cents() -> None:
    """Amounts typed the French way or read from Facebook become exact cents."""
    assert major_to_minor("1 234,50") == 123450
    assert major_to_minor("42.17") == 4217


def test_interface_is_french_by_default_and_english_on_request(client, auth, session) -> None:  # noqa: ANN001
    """A user's language choice switches the whole interface."""
    territory = make_territory(session, "valrive")
    make_user(session, "ed@valrive.test", territory, Role.EDITOR)
    auth.login("ed@valrive.test")
    page = client.get("/t/valrive/").get_data(as_text=True)
    assert "Tableau de bord" in page and 'lang="fr"' in page
    response = auth.post("/preferences/locale", {"locale": "en", "next": "/t/valrive/"})
    assert response.status_code == 302, response.get_data(as_text=True)
    page = client.get("/t/valrive/").get_data(as_text=True)
    assert "Dashboard" in page and 'lang="en"' in page and "Tableau de bord" not in page


def test_amounts_are_read_as_each_language_types_them() -> None:
    """A thousands comma in English is not a decimal comma: "1,500" is 1 500 € there, 1,50 € in French."""
    assert major_to_minor("1,500", locale="en") == 150000
    assert major_to_minor("1,50", locale="fr") == 150
    assert major_to_minor("1.234,5", locale="fr") == 123450
    for bad in ("douze", "1,234,5.6.7"):
        try:
            major_to_minor(bad, locale="fr")
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} must be refused")


def test_percent_follows_the_locale(app) -> None:  # noqa: ANN001
    """Percentages use each language's own pattern: `22,7 %` and `22.7%`."""
    from core.i18n import percent

    with app.test_request_context(), force_locale("fr"):
        assert percent(0.227) == "22,7\xa0%"
    with app.test_request_context(), force_locale("en"):
        assert percent(0.227) == "22.7%"


def test_english_catalog_is_complete_and_consistent() -> None:
    """Every entry of the English catalog is translated, none is fuzzy, and each keeps its msgid's placeholders."""
    from pathlib import Path

    from babel.messages.pofile import read_po

    po_path = Path(__file__).resolve().parents[2] / "translations" / "en" / "LC_MESSAGES" / "messages.po"
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file)
    entries = [m for m in catalog if m.id]
    assert len(entries) > 1000
    untranslated = [m.id for m in entries if not all(m.string if isinstance(m.string, tuple) else (m.string,))]
    fuzzy = [m.id for m in entries if m.fuzzy]
    inconsistent = [(m.id, [str(e) for e in errors]) for m, errors in catalog.check()]
    assert (untranslated, fuzzy, inconsistent) == ([], [], [])
