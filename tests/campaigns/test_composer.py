"""The composer: a story written once, one draft per track with its own text, tagged link and checked image."""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from accounts.models import Role
from campaigns.composer import ImageRefused, check_image
from campaigns.models import Post, PostStatus, Story, StorySource
from tests.campaigns.builders import image_bytes, make_campaign, make_post, make_story, text_of
from tests.conftest import make_territory, make_user


def _setup(session):  # noqa: ANN001, ANN202
    territory = make_territory(session, "valrive", "Valrive")
    make_user(session, "editor@valrive.test", territory, Role.EDITOR)
    campaign, tracks = make_campaign(session, territory, slug="tram-2030")
    return territory, campaign, tracks


def _variants(tracks, **extra: object) -> dict[str, object]:  # noqa: ANN001
    form: dict[str, object] = {"action": "save", "story_title": "Le tramway arrive",
                               "story_body": "La ligne T2 relie la gare, le campus et le parc d'activités.",
                               "story_link": "https://www.valrive.fr/tram"}
    texts = {"investors": "12 hectares viabilisés à 18 minutes de la gare TGV.",
             "tourists": "Tout Valrive se visite désormais en tramway.",
             "residents": "Une famille gagne 40 minutes par jour avec la T2."}
    for key, track in tracks.items():
        form[f"message_{track.id}"] = texts[key]
        form[f"link_{track.id}"] = "https://www.valrive.fr/tram?from=fb"
    form.update(extra)
    return form


def test_story_and_its_variants_are_saved_as_drafts(client, auth, session, uploads, clock) -> None:  # noqa: ANN001
    """Three variants become three drafts of one story, each link tagged for its audience, each time in UTC."""
    clock.freeze(datetime(2030, 2, 1, 9, 0, tzinfo=UTC))
    _territory, campaign, tracks = _setup(session)
    auth.login("editor@valrive.test")
    form = _variants(tracks, **{f"date_{tracks['tourists'].id}": "2030-03-02",
                                f"time_{tracks['tourists'].id}": "10:30"})
    form[f"image_{tracks['tourists'].id}"] = (io.BytesIO(image_bytes()), "tram.png")
    response = auth.post(f"/t/valrive/campaigns/{campaign.id}/compose", form)
    assert response.status_code == 302, text_of(response)[:2000]
    story = session.exec(select(Story)).one()
    posts = {p.track_id: p for p in session.exec(select(Post))}
    assert len(posts) == 3 and {p.status for p in posts.values()} == {PostStatus.DRAFT}
    assert {p.story_id for p in posts.values()} == {story.id} and story.campaign_id == campaign.id
    tourists = posts[tracks["tourists"].id]
    assert tourists.link == ("https://www.valrive.fr/tram?from=fb&utm_source=facebook&utm_medium=organic"
                             "&utm_campaign=tram-2030&utm_content=tourists")
    assert "utm_content=investors" in posts[tracks["investors"].id].link
    assert tourists.planned_at == datetime(2030, 3, 2, 9, 30, tzinfo=UTC)  # 10:30 in Paris, winter time
    assert tourists.image_path.startswith("valrive/") and tourists.image_path.endswith(".png")
    assert (uploads / tourists.image_path).read_bytes()[:4] == b"\x89PNG"
    assert posts[tracks["investors"].id].image_path is None
    assert all(not p.copied_from_website for p in posts.values())


def test_images_are_served_only_inside_their_territory(client, auth, session, uploads) -> None:  # noqa: ANN001
    """The media route serves a territory's image to its members; another territory's members get 404."""
    territory, campaign, tracks = _setup(session)
    other = make_territory(session, "autreville")
    make_user(session, "editor@valrive.test", other, Role.EDITOR)
    auth.login("editor@valrive.test")
    form = _variants(tracks)
    form[f"image_{tracks['investors'].id}"] = (io.BytesIO(image_bytes(kind="JPEG")), "photo.jpg")
    auth.post(f"/t/valrive/campaigns/{campaign.id}/compose", form)
    post = session.exec(select(Post).where(Post.track_id == tracks["investors"].id)).one()
    name = post.image_path.split("/")[1]
    image = client.get(f"/t/valrive/campaigns/media/{name}")
    assert image.status_code == 200 and image.mimetype == "image/jpeg"
    image.close()
    assert client.get(f"/t/autreville/campaigns/media/{name}").status_code == 404
    assert client.get("/t/valrive/campaigns/media/..%2Fsecret.jpg").status_code == 404


@pytest.mark.parametrize(("data", "message"), [
    (image_bytes(300, 200), "il faut au moins 600 × 315 px"),
    (image_bytes(8001, 400), "8000 px au plus"),
    (image_bytes(kind="GIF"), "Format GIF refusé"),
    (b"%PDF-1.7 not an image", "n'est pas une image"),
    (image_bytes()[:200], "abîmée ou incomplète"),
    (b"", "vide"),
])
def test_image_refusals_say_why(app_ctx, data: bytes, message: str) -> None:  # noqa: ANN001
    """Each refused image gets its own French reason: size, dimensions, type by content, damage."""
    with pytest.raises(ImageRefused, match=message):
        check_image(data)


def test_heavy_image_is_refused(app_ctx) -> None:  # noqa: ANN001
    """More than 8 MB is refused before the image is even opened."""
    with pytest.raises(ImageRefused, match="8 Mo au plus"):
        check_image(b"\x89PNG" + b"0" * (8 * 1024 * 1024))


def test_refusals_are_shown_beside_the_variant(client, auth, session, uploads) -> None:  # noqa: ANN001
    """A bad image, a too-long text and a bad link are explained beside their variant; nothing is saved."""
    _territory, campaign, tracks = _setup(session)
    auth.login("editor@valrive.test")
    form = _variants(tracks, **{f"message_{tracks['residents'].id}": "x" * 5001,
                                f"link_{tracks['investors'].id}": "valrive.fr/tram"})
    form[f"image_{tracks['tourists'].id}"] = (io.BytesIO(b"GIF89a not really"), "photo.jpg")
    response = auth.post(f"/t/valrive/campaigns/{campaign.id}/compose", form)
    assert response.status_code == 422
    text = text_of(response)
    assert f'id="e-image_{tracks["tourists"].id}"' in text and "n'est pas une image JPEG, PNG ou WebP" in text
    form.pop(f"image_{tracks['tourists'].id}")
    response = auth.post(f"/t/valrive/campaigns/{campaign.id}/compose", form)
    text = text_of(response)
    assert f'id="e-message_{tracks["residents"].id}"' in text and "Au plus 5000 caractères." in text
    assert f'id="e-link_{tracks["investors"].id}"' in text and "Adresse web complète attendue" in text
    assert session.exec(select(Post)).first() is None and session.exec(select(Story)).first() is None


def test_kept_image_survives_a_refused_submission(client, auth, session, uploads) -> None:  # noqa: ANN001
    """An image accepted on a refused submission is kept (hidden field) and used when the form is fixed."""
    _territory, campaign, tracks = _setup(session)
    auth.login("editor@valrive.test")
    track = tracks["tourists"]
    form = _variants(tracks, story_title="")
    form[f"image_{track.id}"] = (io.BytesIO(image_bytes()), "tram.png")
    refused = auth.post(f"/t/valrive/campaigns/{campaign.id}/compose", form)
    assert refused.status_code == 422 and 'id="e-story_title"' in text_of(refused)
    kept = text_of(refused).split(f'name="image_path_{track.id}" value="')[1].split('"')[0]
    form = _variants(tracks, **{f"image_path_{track.id}": kept})
    assert auth.post(f"/t/valrive/campaigns/{campaign.id}/compose", form).status_code == 302
    assert session.exec(select(Post).where(Post.track_id == track.id)).one().image_path == kept
    forged = _variants(tracks, **{f"image_path_{track.id}": "autreville/" + kept.split("/")[1]})
    auth.post(f"/t/valrive/campaigns/{campaign.id}/compose", forged)
    newest = session.exec(select(Post).where(Post.track_id == track.id).order_by(Post.id.desc())).first()
    assert newest.image_path is None


def test_derive_copies_the_story_into_empty_variants(client, auth, session) -> None:  # noqa: ANN001
    """Without JavaScript, "prepare the variants" fills each empty variant (not the written one) with the story."""
    _territory, campaign, tracks = _setup(session)
    auth.login("editor@valrive.test")
    form = {"action": "derive", "story_title": "T2", "story_body": "La T2 arrive.",
            "story_link": "https://valrive.fr/t2", f"message_{tracks['investors'].id}": "Déjà écrit."}
    text = text_of(auth.post(f"/t/valrive/campaigns/{campaign.id}/compose", form))
    assert text.count(">La T2 arrive.</textarea>") == 3 and ">Déjà écrit.</textarea>" in text
    assert session.exec(select(Post)).first() is None


def test_website_story_copied_word_for_word_is_flagged(client, auth, session) -> None:  # noqa: ANN001
    """A variant left identical to an imported article counts as copied; an adapted one does not."""
    territory, campaign, tracks = _setup(session)
    story = make_story(session, territory, title="Fête du tram", body="Samedi, inauguration de la T2.",
                       source=StorySource.WEBSITE, link="https://valrive.fr/fete", source_guid="g1")
    auth.login("editor@valrive.test")
    page = text_of(client.get(f"/t/valrive/campaigns/{campaign.id}/compose?story={story.id}"))
    assert "jamais publié tel quel" in page and ">Fête du tram\n\nSamedi, inauguration de la T2.</textarea>" in page
    form = {"action": "save", "story": str(story.id),
            f"message_{tracks['investors'].id}": "Fête du tram\n\nSamedi,  inauguration de la T2. ",
            f"message_{tracks['tourists'].id}": "Samedi, venez fêter la T2 en famille !"}
    assert auth.post(f"/t/valrive/campaigns/{campaign.id}/compose", form).status_code == 302
    flags = {p.track_id: p.copied_from_website for p in session.exec(select(Post))}
    assert flags == {tracks["investors"].id: True, tracks["tourists"].id: False}
    post = session.exec(select(Post).where(Post.track_id == tracks["investors"].id)).one()
    auth.post(f"/t/valrive/campaigns/posts/{post.id}/edit", {"message": "Investisseurs : la T2 dessert le parc.",
                                                            "link": "https://valrive.fr/fete"})
    session.refresh(post)
    assert post.copied_from_website is False and "utm_content=investors" in post.link


def test_unused_images_are_deleted_after_two_days(app, session, uploads, clock) -> None:  # noqa: ANN001
    """The cleaning job deletes images no post uses once two days old; used, recent and foreign files stay."""
    from campaigns import jobs
    from campaigns.composer import save_image

    territory = make_territory(session, "valrive", "Valrive")
    _campaign, tracks = make_campaign(session, territory)
    names = {kind: save_image(data=image_bytes(), upload_dir=uploads, territory=territory)
             for kind in ("used", "orphan", "recent")}
    make_post(session, tracks["tourists"], image_path=names["used"])
    (uploads / "valrive" / "notes.txt").write_text("pas une image de Rayonne")
    three_days_ago = (clock.now() - timedelta(days=3)).timestamp()
    for kind in ("used", "orphan"):
        os.utime(uploads / names[kind], (three_days_ago, three_days_ago))
    with app.app_context():
        assert jobs.purge_unused_images(session=session) == "1 unused image(s) deleted"
    left = {p.name for p in (uploads / "valrive").iterdir()}
    assert left == {names["used"].split("/")[1], names["recent"].split("/")[1], "notes.txt"}
