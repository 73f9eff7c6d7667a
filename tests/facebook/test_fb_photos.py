"""Photo posts through the SDK: a multipart upload to /{page}/photos, checked and stored by the sandbox."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from PIL import Image

from facebook import FacebookPermissionError, InvalidRequestError, OutcomeUnknownError
from facebook.sandbox import DEMO_PAGE_ID, DEMO_PAGE_TOKEN

MESSAGE = "Les plages de Valrive vous attendent\n\nhttps://valrive.example/ete?utm_source=facebook&utm_medium=organic"


def png(width: int = 800, height: int = 420) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (20, 110, 180)).save(buffer, "PNG")
    return buffer.getvalue()


def stored(control, post_id: str) -> dict:  # noqa: ANN001
    [post] = [p for p in control.state()["objects"]["posts"] if p["id"] == post_id]
    return post


def test_publish_photo_uploads_the_image_and_returns_the_post_id(fb_client, control, tmp_path: Path):
    """A PNG file becomes a published photo post with the message as written; the post id is returned."""
    image = tmp_path / "plage.png"
    image.write_bytes(png())
    post_id = fb_client.publish_photo(message=MESSAGE, image=image)
    page, _, post = post_id.partition("_")
    assert page == DEMO_PAGE_ID and post.isdigit()
    on_page = stored(control, post_id)
    assert on_page["message"] == MESSAGE and on_page["is_published"] and on_page["link"] is None
    photo = on_page["photo"]
    assert (photo["format"], photo["width"], photo["height"]) == ("PNG", 800, 420)
    assert photo["sha256"] == hashlib.sha256(image.read_bytes()).hexdigest() and photo["id"] != post
    [listed] = fb_client.list_posts()
    assert listed["id"] == post_id and listed["photo"] is True and listed["link"] is None


def test_photo_post_renders_a_photo_attachment_and_full_picture(fb_client):
    """Read back, a photo post has a 'photo' attachment with its image size, a full_picture and added_photos."""
    post_id = fb_client.publish_photo(message=MESSAGE, image=png(1200, 630), filename="plage.png")
    node = fb_client.page_api.call(
        "GET", (post_id,), params={"fields": "status_type,full_picture,attachments{url,unshimmed_url,type,media}"}
    ).json()
    [attachment] = node["attachments"]["data"]
    assert attachment["type"] == "photo" and "photo.php" in attachment["url"]
    assert attachment["media"]["image"]["width"] == 1200 and attachment["media"]["image"]["height"] == 630
    assert node["full_picture"] == attachment["media"]["image"]["src"]
    assert node["status_type"] == "added_photos"


def test_non_image_is_refused_with_a_clear_invalid_request(fb_client, control):
    """A file that is not an image (whatever its name) is refused with Graph's #324; nothing is created."""
    with pytest.raises(InvalidRequestError) as caught:
        fb_client.publish_photo(message="Pas une image", image=b"%PDF-1.7 not an image", filename="plage.png")
    assert caught.value.code == 324 and "Missing or invalid image file" in str(caught.value)
    with pytest.raises(InvalidRequestError, match="Requires upload file"):
        fb_client.publish_photo(message="Fichier vide", image=b"", filename="vide.png")
    assert control.state()["objects"]["posts"] == []


def test_photo_needs_a_page_token(make_client, control):
    """Publishing a photo with the ads token instead of the Page token is refused like a feed post (#200)."""
    client = make_client(page_token=None)
    with pytest.raises(FacebookPermissionError):
        client.publish_photo(message="Sans jeton de Page", image=png(), filename="plage.png")
    assert control.state()["objects"]["posts"] == []


def test_scheduled_photo_post_goes_live_when_the_clock_passes(fb_client, control, sandbox_clock):
    """A scheduled photo post is listed as scheduled with its photo, then published at its time."""
    when = (sandbox_clock.now() + timedelta(hours=2)).replace(microsecond=0)
    post_id = fb_client.publish_photo(message="Marché de Noël", image=png(), filename="noel.png", scheduled_at=when)
    [scheduled] = fb_client.list_posts(scheduled=True)
    assert scheduled["id"] == post_id and scheduled["scheduled_publish_time"] == when and scheduled["photo"]
    assert fb_client.list_posts() == []
    control.advance(hours=3)
    assert [p["id"] for p in fb_client.list_posts()] == [post_id]


def test_photo_schedule_follows_the_feed_rule(fb_client, sandbox_clock):
    """A photo scheduled less than 10 minutes ahead is refused with the feed's message."""
    with pytest.raises(InvalidRequestError) as caught:
        fb_client.publish_photo(message="Trop tôt", image=png(), filename="a.png",
                                scheduled_at=sandbox_clock.now() + timedelta(minutes=2))
    assert caught.value.user_title == "Invalid scheduled publish time"


def test_lost_answer_is_reconciled_not_uploaded_twice(fb_client, control, sandbox_clock):
    """A photo post created but answered with a 500 is found again by its message: one post, not two."""
    since = sandbox_clock.now() - timedelta(seconds=1)
    control.add_fault("crash_after_create", count=1)
    post_id = fb_client.publish_photo(message=MESSAGE, image=png(), filename="a.png", reconcile_since=since)
    assert [p["id"] for p in control.state()["objects"]["posts"]] == [post_id]
    assert control.requests()["by_endpoint"]["POST /{Page}/photos"] == 1


def test_lost_answer_without_reconciliation_raises_outcome_unknown(fb_client, control):
    """Without reconcile_since a lost photo upload raises OutcomeUnknownError and is not sent again."""
    control.add_fault("crash_after_create", count=1)
    with pytest.raises(OutcomeUnknownError):
        fb_client.publish_photo(message="Une seule fois", image=png(), filename="a.png")
    assert len(control.state()["objects"]["posts"]) == 1


def test_a_retried_upload_sends_the_whole_image_again(make_client, control, sleeps):
    """A throttled upload (Facebook did nothing) is retried with the complete file, not an exhausted stream."""
    from facebook import RetryPolicy

    client = make_client(policy=RetryPolicy(max_delay=120, sleep=sleeps))
    data = png()
    control.add_fault("throttle", target=DEMO_PAGE_ID, count=1, minutes=1, methods=["POST"])
    post_id = client.publish_photo(message="Deuxième essai", image=data, filename="a.png")
    assert sleeps == [60]
    assert stored(control, post_id)["photo"]["sha256"] == hashlib.sha256(data).hexdigest()


def test_boost_creative_from_a_photo_post(fb_client):
    """A photo post can be boosted like any post: the creative takes it as object_story_id."""
    post_id = fb_client.publish_photo(message=MESSAGE, image=png(), filename="a.png")
    creative_id = fb_client.create_creative(name="rayonne:boost:photo:adcreative", object_story_id=post_id)
    node = fb_client.ads_api.call("GET", (creative_id,), params={"fields": "object_story_id,object_type"}).json()
    assert node == {"id": creative_id, "object_story_id": post_id, "object_type": "PHOTO"}


def test_batch_with_attached_files_is_refused(sandbox):
    """Files attached to a batch request are not simulated: the sandbox answers a clear #100."""
    answer = requests.post(
        f"{sandbox.url}/v26.0/",
        params={"access_token": DEMO_PAGE_TOKEN},
        data={"batch": f'[{{"method": "POST", "relative_url": "{DEMO_PAGE_ID}/photos", "attached_files": "f"}}]'},
        files={"f": ("a.png", png(), "image/png")},
        timeout=5,
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == 100 and "batch" in answer.json()["error"]["message"]
