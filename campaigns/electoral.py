"""Pre-electoral period: posts that name an elected official or use electoral wording are flagged.

French law (Code électoral, art. L52-1) forbids, from the first day of the sixth month before the month
of a general election, any advertising campaign promoting a local authority's achievements or
management, and the authority's communication must not turn into campaigning. A territory declares
its next election date (`Territory.election_date`, in the admin settings); from that first day through
the election day, a post is flagged when its text names someone on the territory's list of elected
officials (`ElectedOfficial`) or uses electoral wording (the territory's own list of terms, French and
English; while it has none, :data:`DEFAULT_TERMS` applies). A flagged post needs a manager's explicit
confirmation to be approved (see `campaigns.workflow`), and boosts reuse :func:`check_text` and
:func:`in_pre_electoral_period` to warn and to block.

Matching ignores case and accents and keeps to whole words: "élection" matches "Élection" and
"ELECTION" but not "élections", which is why the lists spell out each inflection.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlmodel import Session, select

from accounts.models import Territory
from accounts.services import Actor, audit
from campaigns.models import ElectedOfficial, ElectedOfficialCreate, ElectoralTerm, Post, PostStatus
from core.db import utc_now
from core.errors import NotFound, ValidationFailed

#: Built-in electoral wording, French then English (each inflection listed: matching is whole-word).
DEFAULT_TERMS: tuple[str, ...] = (
    # français
    "élection", "élections", "électoral", "électorale", "électoraux", "électorales", "scrutin",
    "vote", "votes", "voter", "votez", "votons", "aux urnes", "bulletin de vote", "candidat", "candidate",
    "candidats", "candidature", "campagne électorale", "programme électoral", "réélection", "réélu",
    "réélue", "bilan de mandat", "mandat", "liste municipale", "tract", "meeting",
    # English
    "election", "elections", "electoral", "ballot", "voting", "candidate", "candidates",
    "re-election", "reelection", "re-elect", "polls", "campaign rally",
)  # fmt: skip

#: Titles that, before a surname alone, still name the person ("Mme Dumont", "le maire Verdier").
TITLES = (
    "m", "m.", "mme", "mme.", "monsieur", "madame", "mr", "mr.", "mrs", "mrs.", "ms", "ms.", "maire",
    "president", "presidente", "depute", "deputee", "senateur", "senatrice", "conseiller", "conseillere",
    "mayor",
)  # fmt: skip

FLAG_MAX = 500
#: Posts whose flag still matters (published, failed or missed posts keep theirs as it was).
OPEN_STATUSES = (PostStatus.DRAFT, PostStatus.IN_REVIEW, PostStatus.APPROVED, PostStatus.SCHEDULED)


# ------------------------------------------------------------------------------------ the period


def period_of(territory: Territory) -> tuple[date, date] | None:
    """The territory's pre-electoral period (first day, election day), or ``None`` without a date."""
    election = territory.election_date
    if election is None:
        return None
    month, year = election.month - 6, election.year
    if month <= 0:
        month, year = month + 12, year - 1
    return date(year, month, 1), election


def in_pre_electoral_period(territory: Territory, at: datetime) -> bool:
    """True when ``at`` (aware) falls, in the territory's time zone, within its pre-electoral period."""
    period = period_of(territory)
    if period is None:
        return False
    if at.tzinfo is None:
        raise ValueError("in_pre_electoral_period needs a timezone-aware datetime")
    day = at.astimezone(ZoneInfo(territory.timezone)).date()
    return period[0] <= day <= period[1]


# ---------------------------------------------------------------------------------- text checks


def fold(text: str) -> str:
    """Lower case, no accents, typographic apostrophes and spaces made plain (for matching)."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    plain = plain.replace("\u2019", "'").replace("\u02bc", "'")
    return re.sub(r"\s+", " ", plain.casefold())


def _phrase(text: str) -> str:
    """A regex for a folded phrase, as whole words, any run of spaces between words."""
    words = [re.escape(w) for w in fold(text).strip().split(" ") if w]
    return r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)"


def terms(*, session: Session, territory: Territory) -> list[str]:
    """The territory's electoral wording: its own list, or the built-in one while it has none."""
    stored = session.exec(
        select(ElectoralTerm.term).where(ElectoralTerm.territory_id == territory.id).order_by(ElectoralTerm.term)
    ).all()
    return list(stored) if stored else list(DEFAULT_TERMS)


def officials(*, session: Session, territory: Territory) -> list[ElectedOfficial]:
    return list(session.exec(
        select(ElectedOfficial).where(ElectedOfficial.territory_id == territory.id).order_by(ElectedOfficial.name)
    ).all())


def _names(official: ElectedOfficial) -> str:
    pattern = _phrase(official.name)
    parts = fold(official.name).split()
    if len(parts) > 1 and len(parts[-1]) >= 2:
        titles = "|".join(re.escape(t) for t in TITLES)
        pattern += r"|(?<!\w)(?:" + titles + r")\s+(?:le |la )?" + re.escape(parts[-1]) + r"(?!\w)"
    return pattern


def find_reasons(*, session: Session, territory: Territory, text: str) -> list[str]:
    """Why ``text`` reads as electoral (names and wording found), whatever the date. Calls Facebook: no."""
    folded = fold(text or "")
    reasons: list[str] = []
    for official in officials(session=session, territory=territory):
        if re.search(_names(official), folded):
            who = f"{official.name} ({official.office})" if official.office else official.name
            reasons.append(_("nomme un élu : %(who)s", who=who))
    found = [term for term in terms(session=session, territory=territory) if re.search(_phrase(term), folded)]
    if found:
        reasons.append(_("vocabulaire électoral : %(terms)s", terms=", ".join(f"« {t} »" for t in found[:5])))
    return reasons


def check_text(session: Session, territory: Territory, text: str, at: datetime) -> list[str]:
    """Reasons to flag ``text`` published at ``at``: empty outside the pre-electoral period.

    Used for posts (here) and before boosts (the sponsored module). Calls Facebook: no. Writes: no.
    """
    if not in_pre_electoral_period(territory, at):
        return []
    return find_reasons(session=session, territory=territory, text=text)


def flag_reasons(*, session: Session, territory: Territory, post: Post, at: datetime | None = None) -> list[str]:
    """The reasons that flag ``post`` now, judged at its planned time (or ``at``, or now)."""
    moment = at or post.planned_at or utc_now()
    return check_text(session, territory, post.message, moment)


def flag_post(*, session: Session, territory: Territory, post: Post, at: datetime | None = None) -> list[str]:
    """Recompute and store ``post.electoral_flag``; returns the reasons. Commits: no."""
    reasons = flag_reasons(session=session, territory=territory, post=post, at=at)
    post.electoral_flag = flag_text(territory, reasons)
    session.add(post)
    return reasons


def flag_text(territory: Territory, reasons: list[str]) -> str | None:
    """The stored flag: the period, then the reasons (``None`` when nothing is found)."""
    if not reasons:
        return None
    election = territory.election_date.strftime("%d/%m/%Y") if territory.election_date else "?"
    text = _("Période pré-électorale (élection du %(day)s) : %(reasons)s", day=election, reasons="; ".join(reasons))
    return text[:FLAG_MAX]


def refresh_flags(*, session: Session, territory: Territory) -> int:
    """Recompute the flag of every open post (after a change of date, officials or wording). Commits: no.

    Returns how many flags changed.
    """
    changed = 0
    posts = session.exec(
        select(Post).where(Post.territory_id == territory.id, Post.status.in_(OPEN_STATUSES))
    ).all()
    for post in posts:
        before = post.electoral_flag
        flag_post(session=session, territory=territory, post=post)
        changed += post.electoral_flag != before
    session.flush()
    return changed


# ------------------------------------------------------------------ the lists (admin page)


def add_official(
    *, session: Session, territory: Territory, data: ElectedOfficialCreate, actor: Actor
) -> ElectedOfficial:
    """Add a name to watch, audited; open posts are re-flagged. Commits: no."""
    existing = [fold(o.name) for o in officials(session=session, territory=territory)]
    if fold(data.name) in existing:
        raise ValidationFailed({"name": _("Cet élu est déjà dans la liste.")})
    official = ElectedOfficial(territory_id=territory.id, name=data.name.strip(), office=data.office.strip())
    session.add(official)
    session.flush()
    audit(session=session, territory_id=territory.id, actor=actor, action="electoral.official_add", obj=official,
          after={"name": official.name, "office": official.office})
    refresh_flags(session=session, territory=territory)
    return official


def remove_official(*, session: Session, territory: Territory, official_id: int, actor: Actor) -> None:
    """Remove a name from the list, audited; open posts are re-flagged. Commits: no."""
    official = session.get(ElectedOfficial, official_id)
    if official is None or official.territory_id != territory.id:
        raise NotFound(_("Élu introuvable."))
    audit(session=session, territory_id=territory.id, actor=actor, action="electoral.official_remove",
          obj=official, before={"name": official.name, "office": official.office})
    session.delete(official)
    session.flush()
    refresh_flags(session=session, territory=territory)


def set_terms(*, session: Session, territory: Territory, text: str, actor: Actor) -> list[str]:
    """Replace the territory's wording with one term per line (empty: back to the built-in list).

    Audited; open posts are re-flagged. Commits: no. :raise ValidationFailed: a term too short or long.
    """
    wanted: list[str] = []
    for line in (text or "").splitlines():
        term = re.sub(r"\s+", " ", line).strip()
        if not term:
            continue
        if len(term) < 2 or len(term) > 80:
            raise ValidationFailed({"terms": _("Chaque terme fait de 2 à 80 caractères : « %(t)s ».", t=term[:40])})
        if fold(term) not in {fold(w) for w in wanted}:
            wanted.append(term)
    if {fold(w) for w in wanted} == {fold(t) for t in DEFAULT_TERMS}:
        wanted = []  # the built-in list as is: keep following it
    before = terms(session=session, territory=territory)
    for row in session.exec(select(ElectoralTerm).where(ElectoralTerm.territory_id == territory.id)).all():
        session.delete(row)
    session.flush()
    for term in wanted:
        session.add(ElectoralTerm(territory_id=territory.id, term=term))
    session.flush()
    after = terms(session=session, territory=territory)
    audit(session=session, territory_id=territory.id, actor=actor, action="electoral.terms_set",
          object_type="ElectoralTerm", before={"terms": ", ".join(before)}, after={"terms": ", ".join(after)})
    refresh_flags(session=session, territory=territory)
    return after
