"""Admins invite people, change roles, read the audit trail; other roles cannot."""

from __future__ import annotations

import email
import email.policy
import re

from sqlmodel import select

from accounts.models import AuditEvent, Membership, Role, User
from core.mail import MailMessage
from tests.conftest import make_territory, make_user


def test_invitation_is_mailed_and_accepted(client, auth, session) -> None:  # noqa: ANN001
    """An invitation goes to the outbox with a link; following it creates the account with its role."""
    territory = make_territory(session, "valrive", "Valrive")
    make_user(session, "admin@valrive.test", territory, Role.ADMIN)
    auth.login("admin@valrive.test")
    response = auth.post("/t/valrive/admin/members/invite", {"email": "New.Person@Valrive.test", "role": "manager"})
    assert response.status_code == 302
    mail = session.exec(select(MailMessage)).one()
    assert mail.to_addr == "new.person@valrive.test" and mail.status == "outbox"
    link = re.search(rb"http://rayonne\.test(/invitation/\S+)", mail.raw.replace(b"=\n", b"")).group(1).decode()
    auth.logout()
    page = client.post(link, data={"name": "Nouvelle Personne", "password": "a long password",
                                   "csrf_token": _token(client, link)})
    assert page.status_code == 302
    user = session.exec(select(User).where(User.email == "new.person@valrive.test")).one()
    membership = session.exec(select(Membership).where(Membership.user_id == user.id)).one()
    assert membership.role == Role.MANAGER
    # Single use: the same link no longer works.
    assert client.get(link).status_code == 404


def test_invitation_is_written_in_the_territory_language(client, auth, session) -> None:  # noqa: ANN001
    """An English territory's invitation is in English, even when a French-speaking admin sends it."""
    territory = make_territory(session, "brightwater", "Brightwater", locale="en")
    admin = make_user(session, "admin@brightwater.test", territory, Role.ADMIN)
    admin.locale = "fr"
    session.add(admin)
    session.commit()
    auth.login("admin@brightwater.test")
    auth.post("/t/brightwater/admin/members/invite", {"email": "newcomer@brightwater.test", "role": "editor"})
    mail = session.exec(select(MailMessage)).one()
    assert mail.subject == "Invitation to join Brightwater on Rayonne"
    body = email.message_from_bytes(mail.raw, policy=email.policy.default).get_body(("plain",)).get_content()
    assert "has invited you to join Brightwater" in body and "Bonjour" not in body


def _token(client, path):  # noqa: ANN001, ANN202
    from tests.conftest import csrf_token

    return csrf_token(client, path)


def test_invalid_invitation_input_is_explained(client, auth, session) -> None:  # noqa: ANN001
    """A malformed address is refused beside the field, and nothing is sent."""
    territory = make_territory(session, "valrive")
    make_user(session, "admin@valrive.test", territory, Role.ADMIN)
    auth.login("admin@valrive.test")
    response = auth.post("/t/valrive/admin/members/invite", {"email": "not-an-address", "role": "editor"})
    assert response.status_code == 422
    assert "Adresse e-mail invalide." in response.get_data(as_text=True)
    assert session.exec(select(MailMessage)).first() is None


def test_role_change_is_audited(client, auth, session) -> None:  # noqa: ANN001
    """Changing a role records who did it, before and after, visible on the audit page."""
    territory = make_territory(session, "valrive")
    make_user(session, "admin@valrive.test", territory, Role.ADMIN)
    editor = make_user(session, "ed@valrive.test", territory, Role.EDITOR)
    membership = session.exec(select(Membership).where(Membership.user_id == editor.id)).one()
    auth.login("admin@valrive.test")
    auth.post(f"/t/valrive/admin/members/{membership.id}/role", {"role": "manager"})
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "membership.set")).one()
    assert event.actor_label == "admin@valrive.test"
    assert event.before == {"role": "editor"} and event.after["role"] == "manager"
    page = client.get("/t/valrive/admin/audit").get_data(as_text=True)
    assert "membership.set" in page and "admin@valrive.test" in page


def test_last_admin_cannot_be_demoted(client, auth, session) -> None:  # noqa: ANN001
    """A territory always keeps an admin: demoting the only one is refused with a message."""
    territory = make_territory(session, "valrive")
    admin = make_user(session, "admin@valrive.test", territory, Role.ADMIN)
    membership = session.exec(select(Membership).where(Membership.user_id == admin.id)).one()
    auth.login("admin@valrive.test")
    response = auth.post(f"/t/valrive/admin/members/{membership.id}/role", {"role": "analyst"},
                         follow_redirects=True)
    assert "au moins un administrateur" in response.get_data(as_text=True)
    session.refresh(membership)
    assert membership.role == Role.ADMIN


def test_settings_validation_explains_refusal(client, auth, session) -> None:  # noqa: ANN001
    """A bad colour or threshold is refused beside its field; good values are saved and audited."""
    territory = make_territory(session, "valrive", "Valrive")
    make_user(session, "admin@valrive.test", territory, Role.ADMIN)
    auth.login("admin@valrive.test")
    bad = auth.post("/t/valrive/admin/settings", {"name": "Valrive", "brand_color": "rouge",
                                                  "boost_approval_threshold_minor": "-5"})
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "Format invalide." in text and "supérieur ou égal à 0" in text
    good = auth.post("/t/valrive/admin/settings", {"name": "Valrive Agglo", "brand_color": "#aa3300",
                                                   "boost_approval_threshold_minor": "5000",
                                                   "election_date": "2032-03-14"})
    assert good.status_code == 302
    session.refresh(territory)
    assert territory.name == "Valrive Agglo" and str(territory.election_date) == "2032-03-14"
