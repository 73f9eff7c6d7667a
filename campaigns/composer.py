"""The composer: one story written once, one variant post per track, and the images they carry.

Images are checked by their content (never by the file name or the browser's word): JPEG, PNG or
WebP, at most 8 MB, at least 600 x 315 px (Facebook's smallest link image) and at most 8000 px a
side. They are stored under `<upload dir>/<territory slug>/` with a random name, and served only
through a route of that territory.
"""

from __future__ import annotations

import io
import re
import secrets
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, UnidentifiedImageError
from sqlmodel import Session, select

from accounts.models import Territory
from accounts.services import Actor
from campaigns import services
from campaigns.models import Campaign, Post, PostCreate, Story, StoryCreate
from core.errors import ValidationFailed
from core.forms import validate

MAX_IMAGE_BYTES = 8 * 1024 * 1024
MIN_WIDTH, MIN_HEIGHT = 600, 315
MAX_SIDE = 8000
FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
MIMETYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
IMAGE_NAME = re.compile(r"^[0-9a-f]{32}\.(jpg|png|webp)$")


class ImageRefused(ValueError):
    """The file is not an image Rayonne accepts; the message says why, in French."""


def upload_dir() -> Path:
    """Where images are stored: RAYONNE_UPLOAD_DIR in the app config, else instance/uploads.

    Read by the composer's pages and by the publishing job (which sends the image to Facebook).
    """
    return Path(current_app.config.get("RAYONNE_UPLOAD_DIR") or Path(current_app.instance_path) / "uploads")


def check_image(data: bytes) -> str:
    """The extension for an acceptable image's content. :raise ImageRefused: with the reason."""
    if not data:
        raise ImageRefused(_("Le fichier est vide."))
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageRefused(_("L'image pèse %(size)s Mo : 8 Mo au plus.", size=f"{len(data) / 1048576:.1f}"))
    try:
        with warnings.catch_warnings():
            # A decompression-bomb warning is a refusal like any other, not a crash.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                kind, (width, height) = image.format, image.size
                if kind not in FORMATS:
                    raise ImageRefused(_("Format %(kind)s refusé : JPEG, PNG ou WebP seulement.", kind=kind))
                if width > MAX_SIDE or height > MAX_SIDE:
                    raise ImageRefused(_("L'image mesure %(w)s × %(h)s px : 8000 px au plus de chaque côté.",
                                         w=width, h=height))
                image.verify()
    except ImageRefused:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRefused(_("Ce fichier n'est pas une image JPEG, PNG ou WebP lisible.")) from None
    except (OSError, SyntaxError, ValueError):
        raise ImageRefused(_("L'image est abîmée ou incomplète ; enregistrez-la de nouveau puis réessayez.")) from None
    if width < MIN_WIDTH or height < MIN_HEIGHT:
        raise ImageRefused(_("L'image mesure %(w)s × %(h)s px : il faut au moins 600 × 315 px pour qu'elle "
                             "reste nette sur Facebook.", w=width, h=height))
    return FORMATS[kind]


def save_image(*, data: bytes, upload_dir: Path, territory: Territory) -> str:
    """Check and store an image; returns its path relative to `upload_dir` ("<slug>/<random>.jpg").

    :raise ImageRefused: with the reason, in French.
    """
    extension = check_image(data)
    folder = upload_dir / territory.slug
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_hex(16)}.{extension}"
    (folder / name).write_bytes(data)
    return f"{territory.slug}/{name}"


def image_file(*, upload_dir: Path, territory: Territory, name: str) -> Path | None:
    """The stored image `name` of this territory, or None (unknown, or not a name Rayonne gives)."""
    if not IMAGE_NAME.match(name):
        return None
    path = upload_dir / territory.slug / name
    return path if path.is_file() else None


#: An image no post uses is kept this long: the composer stores an upload before the post exists (a form
#: sent back with an error keeps it), and a team may come back to a draft form the next day.
UNUSED_IMAGE_GRACE = timedelta(days=2)


def purge_unused_images(*, session: Session, upload_dir: Path, now: datetime) -> int:
    """Delete the stored images no post refers to, once older than :data:`UNUSED_IMAGE_GRACE`; returns
    how many. Only names Rayonne gives are touched; everything else in the folder is left alone.
    The session must see every territory (scope ``ALL``). Calls Facebook: no. Writes: files only."""
    if not upload_dir.is_dir():
        return 0
    used = set(session.exec(select(Post.image_path).where(Post.image_path.is_not(None))).all())
    cutoff = (now - UNUSED_IMAGE_GRACE).timestamp()
    removed = 0
    for folder in sorted(p for p in upload_dir.iterdir() if p.is_dir()):
        for path in sorted(folder.iterdir()):
            if not IMAGE_NAME.match(path.name) or f"{folder.name}/{path.name}" in used:
                continue
            if path.stat().st_mtime > cutoff:
                continue
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def owned_image_path(*, upload_dir: Path, territory: Territory, value: str | None) -> str | None:
    """A relative image path sent back by a form, if it is one of this territory's images."""
    if not value:
        return None
    slug, _sep, name = value.partition("/")
    if slug != territory.slug or image_file(upload_dir=upload_dir, territory=territory, name=name) is None:
        return None
    return value


@dataclass
class Variant:
    """What the composer holds for one track."""

    track_id: int
    message: str
    link: str | None = None
    image_path: str | None = None
    planned_at: datetime | None = None


def compose(
    *, session: Session, territory: Territory, campaign: Campaign, story: Story | None,
    story_data: dict[str, Any] | None, variants: list[Variant], actor: Actor,
) -> tuple[Story, list[Post]]:
    """Save a story (new, or an imported one being adapted) and one draft post per variant with text.

    `story_data` (title, body, link) is used only when `story` is None (a new story).
    Errors are keyed `story.<field>` and `variant-<track_id>-<field>`, all reported at once.
    Commits: no. :raise ValidationFailed:
    """
    errors: dict[str, str] = {}
    tracks = {t.id: a for t, a in services.tracks_of(session=session, campaign_id=campaign.id)}
    written = [v for v in variants if v.message.strip()]
    if not written:
        errors["variants"] = _("Écrivez au moins une variante : une publication par public que vous voulez toucher.")
    if story is None:
        try:
            data = validate(StoryCreate, {**(story_data or {}), "campaign_id": campaign.id})
            story = services.create_story(session=session, territory=territory, data=data, actor=actor)
        except ValidationFailed as exc:
            errors.update({f"story.{k}": v for k, v in exc.errors.items()})
    elif story.campaign_id is None:
        story.campaign_id = campaign.id
        session.add(story)
    posts: list[Post] = []
    for variant in written:
        if variant.track_id not in tracks:
            errors[f"variant-{variant.track_id}-message"] = _("Cette piste n'appartient pas à la campagne.")
            continue
        if story is None:
            continue
        try:
            data = validate(PostCreate, {"track_id": variant.track_id, "story_id": story.id, "message": variant.message,
                                         "link": variant.link or None, "planned_at": variant.planned_at})
            posts.append(services.create_post(session=session, territory=territory, actor=actor, data=data,
                                              image_path=variant.image_path))
        except ValidationFailed as exc:
            errors.update({f"variant-{variant.track_id}-{k}": v for k, v in exc.errors.items()})
    if errors:
        raise ValidationFailed(errors, _("Certains champs sont à corriger."))
    assert story is not None
    return story, posts
