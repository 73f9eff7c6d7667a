"""External approval: a signed, expiring, single-use e-mailed link, usable without an account."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlmodel import select

from accounts.models import AuditEvent, Role
from accounts.services import Actor
from campaigns import approvals
from campaigns.models import Campaign, ContentTrack, ExternalApproval, Post, PostReview, PostStatus
from core import clock as rayonne_clock
from core.db import scoped
from core.mail import MailMessage
from tests.conftest import csrf_token, make_territory, make_user


def make_post(session, territory, *, status: PostStatus = PostStatus.IN_REVIEW,  # noqa: ANN001
              message: str = "Nouvelle piste cyclable le long de la Rive : 12 km pour les familles.") -> Post:
    from targets.models import Audience

    audience = session.exec(select(Audience).where(Audience.territory_id == territory.id,
                                                   Audience.key == "residents")).one()
    campaign = Campaign(territory_id=territory.id, name="Vivre à Valrive", starts_on=date(2027, 3, 1),
                        ends_on=date(2027, 5, 31))
    session.add(campaign)
    session.flush()
    track = ContentTrack(territory_id=territory.id, campaign_id=campaign.id, audience_id=audience.id)
    session.add(track)
    session.flush()
    post = Post(territory_id=territory.id, track_id=track.id, message=message, status=status,
                link="https://valrive.example/velo")
    session.add(post)
    session.commit()
    return post


@pytest.fixture
def valrive(session):  # noqa: ANN001, ANN201
    territory = make_territory(session, "valrive", "Valrive")
    make_user(session, "manager@valrive.test", territory, Role.MANAGER)
    make_user(session, "editor@valrive.test", territory, Role.EDITOR)
    return territory


def send(auth, post: Post, name: str = "Claire Dumont", email: str = "claire.dumont@valrive.test"):  # noqa: ANN001, ANN201
    return auth.post(f"/t/valrive/campaigns/posts/{post.id}/approval-link",
                     {"recipient_name": name, "recipient_email": email})


def mailed_link(session) -> str:  # noqa: ANN001
    mail = session.exec(select(MailMessage).where(MailMessage.kind == "approval")).one()
    raw = mail.raw.replace(b"=\n", b"").decode()
    return re.search(r"http://rayonne\.test(/approval/\S+)", raw).group(1)


def decide(client, link: str, decision: str, comment: str = ""):  # noqa: ANN001, ANN201
    return client.post(link, data={"decision": decision, "comment": comment,
                                   "csrf_token": csrf_token(client, "/login")})


def test_manager_sends_a_link_stored_hashed(client, auth, session, valrive) -> None:  # noqa: ANN001
    """The link goes to the outbox; only its digest is stored; it expires after the configured days."""
    post = make_post(session, valrive)
    auth.login("manager@valrive.test")
    page = send(auth, post).get_data(as_text=True)
    assert page == "" or "Redirecting" in page
    link = mailed_link(session)
    token = link.rsplit("/", 1)[1]
    approval = session.exec(select(ExternalApproval)).one()
    assert approval.token_hash != token and token not in approval.token_hash
    assert approval.recipient_email == "claire.dumont@valrive.test"
    assert timedelta(days=6, hours=23) < approval.expires_at - approval.created_at <= timedelta(days=7)
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "approval.link_sent")).one()
    assert event.actor_label == "manager@valrive.test" and event.object_id == str(post.id)
    detail = client.get(f"/t/valrive/campaigns/posts/{post.id}").get_data(as_text=True)
    assert "Claire Dumont" in detail and "en attente" in detail


def test_recipient_approves_without_logging_in(client, auth, session, valrive) -> None:  # noqa: ANN001
    """Without any login the link shows the post and its preview; approving approves the post, audited."""
    post = make_post(session, valrive)
    auth.login("manager@valrive.test")
    send(auth, post)
    auth.logout()
    link = mailed_link(session)
    page = client.get(link)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Nouvelle piste cyclable" in text and "Bonjour Claire Dumont" in text
    assert "Aperçu de la publication" in text
    answer = decide(client, link, "approve", "Très bien")
    assert answer.status_code == 200 and "votre avis est enregistré" in answer.get_data(as_text=True)
    session.expire_all()
    post = session.get(Post, post.id)
    assert post.status == PostStatus.APPROVED and post.approved_by_label == "Claire Dumont"
    review = session.exec(select(PostReview).where(PostReview.decision == "approve")).one()
    assert review.author_label == "Claire Dumont" and review.comment == "Très bien"
    events = session.exec(select(AuditEvent).where(AuditEvent.actor_label == "Claire Dumont")).all()
    assert {e.action for e in events} == {"post.approve", "approval.decision"}


def test_link_serves_once(client, auth, session, valrive) -> None:  # noqa: ANN001
    """A used link is refused with a clear message (410), and a second decision changes nothing."""
    post = make_post(session, valrive)
    auth.login("manager@valrive.test")
    send(auth, post)
    auth.logout()
    link = mailed_link(session)
    decide(client, link, "reject", "Pas avant le conseil municipal")
    again = client.get(link)
    assert again.status_code == 410 and "Ce lien a déjà servi" in again.get_data(as_text=True)
    assert decide(client, link, "approve").status_code == 410
    session.expire_all()
    assert session.get(Post, post.id).status == PostStatus.DRAFT
    assert len(session.exec(select(AuditEvent).where(AuditEvent.action == "approval.decision")).all()) == 1


def test_expired_link_is_refused(client, auth, session, valrive, clock) -> None:  # noqa: ANN001
    """After the configured number of days the link is refused, and says how to get a new one."""
    post = make_post(session, valrive)
    auth.login("manager@valrive.test")
    send(auth, post)
    auth.logout()
    link = mailed_link(session)
    clock.advance(timedelta(days=7, minutes=1))
    page = client.get(link)
    assert page.status_code == 410 and "Ce lien a expiré" in page.get_data(as_text=True)
    assert decide(client, link, "approve").status_code == 410
    session.expire_all()
    assert session.get(Post, post.id).status == PostStatus.IN_REVIEW


def test_altered_or_unknown_link_is_refused(client, session, valrive) -> None:  # noqa: ANN001
    """A token that was not signed by Rayonne, or is unknown, answers 404 without details."""
    for token in ("not-a-token", "WzEsInBvc3QiLDEsIngiXQ.forged-signature"):
        page = client.get(f"/approval/{token}")
        assert page.status_code == 404 and "pas valable" in page.get_data(as_text=True)


def test_rejection_needs_a_comment(client, auth, session, valrive) -> None:  # noqa: ANN001
    """Refusing without a comment is explained on the page; the link stays usable."""
    post = make_post(session, valrive)
    auth.login("manager@valrive.test")
    send(auth, post)
    auth.logout()
    link = mailed_link(session)
    page = decide(client, link, "reject", "")
    assert page.status_code == 422 and "Expliquez votre refus" in page.get_data(as_text=True)
    assert client.get(link).status_code == 200
    decide(client, link, "reject", "Le chiffre de 12 km est faux")
    session.expire_all()
    assert session.get(Post, post.id).status == PostStatus.DRAFT


def test_link_only_for_a_post_in_review(client, auth, session, valrive) -> None:  # noqa: ANN001
    """A draft cannot be sent for approval; an editor cannot send links at all."""
    post = make_post(session, valrive, status=PostStatus.DRAFT)
    auth.login("editor@valrive.test")
    assert send(auth, post).status_code == 403
    auth.logout()
    auth.login("manager@valrive.test")
    page = auth.post(f"/t/valrive/campaigns/posts/{post.id}/approval-link",
                     {"recipient_name": "Claire Dumont", "recipient_email": "claire@valrive.test"},
                     follow_redirects=True).get_data(as_text=True)
    assert "Seule une publication en relecture" in page
    assert session.exec(select(ExternalApproval)).first() is None
    assert session.exec(select(MailMessage)).first() is None


def test_bad_recipient_address_is_explained(client, auth, session, valrive) -> None:  # noqa: ANN001
    """A malformed address is refused and nothing is sent."""
    post = make_post(session, valrive)
    auth.login("manager@valrive.test")
    page = send(auth, post, email="pas-une-adresse").get_data(as_text=True)
    assert page == "" or "Redirecting" in page
    page = client.get(f"/t/valrive/campaigns/posts/{post.id}").get_data(as_text=True)
    assert "Adresse e-mail invalide." in page
    assert session.exec(select(ExternalApproval)).first() is None


def test_decision_when_post_moved_on_is_refused(client, auth, session, valrive) -> None:  # noqa: ANN001
    """If the post left review meanwhile, the link says so and records nothing."""
    post = make_post(session, valrive)
    auth.login("manager@valrive.test")
    send(auth, post)
    auth.post(f"/t/valrive/campaigns/posts/{post.id}/approve")
    auth.logout()
    link = mailed_link(session)
    page = decide(client, link, "approve")
    assert page.status_code == 409 and "plus de validation" in page.get_data(as_text=True)
    session.expire_all()
    assert session.exec(select(ExternalApproval)).one().used_at is None


def test_handlers_are_generic(app_ctx, session, valrive) -> None:  # noqa: ANN001
    """Another module registers its object type; decide() dispatches to it with the recipient as actor."""
    calls: list[tuple[str, str, str, int]] = []

    def decide_thing(*, session, approval, decision, comment, actor) -> None:  # noqa: ANN001
        calls.append((decision, comment, actor.label, approval.object_id))

    approvals.register_handler("thing", decide_thing)
    with scoped(session, valrive.id):
        approval, token = approvals.create_link(
            session=session, territory=valrive, object_type="thing", object_id=42, recipient_name="Marc Directeur",
            recipient_email="dg@valrive.test", actor=Actor(label="manager@valrive.test"), days=2)
    assert approval.expires_at - rayonne_clock.now() <= timedelta(days=2)
    session.commit()
    session.info.pop("rayonne.territory_scope", None)  # the public page starts unscoped
    approvals.decide(session=session, token=token, decision="approve", comment="")
    assert calls == [("approve", "", "Marc Directeur", 42)]
    with pytest.raises(approvals.LinkInvalid) as caught:
        approvals.decide(session=session, token=token, decision="approve", comment="")
    assert caught.value.reason == "used"


def test_external_approval_of_a_flagged_post_waits_for_a_manager(client, auth, session, valrive) -> None:  # noqa: ANN001
    """In a pre-electoral period an official's approval is recorded, but a manager must still confirm."""
    from campaigns.models import ElectedOfficial

    valrive.election_date = (rayonne_clock.now() + timedelta(days=30)).date()
    session.add(valrive)
    session.add(ElectedOfficial(territory_id=valrive.id, name="Claire Dumont", office="Maire"))
    session.commit()
    post = make_post(session, valrive, message="Claire Dumont inaugure la piste cyclable.")
    auth.login("manager@valrive.test")
    send(auth, post)
    auth.logout()
    decide(client, mailed_link(session), "approve", "D'accord")
    session.expire_all()
    post = session.get(Post, post.id)
    assert post.status == PostStatus.IN_REVIEW and "Claire Dumont" in post.electoral_flag
    review = session.exec(select(PostReview).where(PostReview.decision == "approve")).one()
    assert review.author_label == "Claire Dumont"


def test_email_and_public_page_speak_the_territorys_language(client, auth, session, valrive) -> None:  # noqa: ANN001
    """For an English-speaking territory the link's e-mail and public page are in English, even from a French
    manager to a French-preferring browser."""
    import email
    from email import policy

    valrive.locale = "en"
    session.add(valrive)
    session.commit()
    post = make_post(session, valrive)
    auth.login("manager@valrive.test")  # the manager's own interface stays French
    send(auth, post)
    auth.logout()
    mail = session.exec(select(MailMessage).where(MailMessage.kind == "approval")).one()
    message = email.message_from_bytes(mail.raw, policy=policy.default)
    body = message.get_body(("plain",)).get_content()
    assert message["subject"].startswith("Valrive: your opinion is requested on the post “Nouvelle piste")
    assert "Hello Claire Dumont," in body and "would like your opinion on the post" in body
    assert "(no account needed)" in body and "expires on" in body
    assert "Bonjour" not in body and "votre avis" not in body and "expire le" not in body
    link = mailed_link(session)
    french_browser = {"Accept-Language": "fr-FR,fr;q=0.9"}
    page = client.get(link, headers=french_browser).get_data(as_text=True)
    assert 'lang="en"' in page and "Hello Claire Dumont, here is what is submitted to you" in page
    assert ">Approve<" in page and "Bonjour" not in page and "Approuver" not in page
    done = client.post(link, headers=french_browser, data={"decision": "approve", "comment": "",
                                                            "csrf_token": csrf_token(client, "/login")})
    assert "Thank you, your decision has been recorded" in done.get_data(as_text=True)
    used = client.get(link, headers=french_browser).get_data(as_text=True)
    assert "This link has already been used" in used and "Ce lien a déjà servi" not in used
