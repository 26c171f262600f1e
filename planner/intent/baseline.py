"""The regex/keyword baseline: a request in English, Italian or German -> a planning intent.

It reads, clause by clause (split at punctuation and before a negation or "only"):

- money: ``40k``, ``40 k€``, ``EUR 40,000``, ``40.000 €``, ``40 mila euro``, ``40 tausend``,
  ``1.2 Mio``; a bare number only after a budget word ("budget 40000");
- the target: ``70%``, ``70 per cento``, ``70 Prozent``, ``0.7`` or ``70`` after a load word;
- the most actions: ``at most 3 changes``, ``massimo tre modifiche``, ``höchstens 3
  Änderungen``;
- hours: ``18-22``, ``18:00-22:00``, ``from 6pm to 10pm``, ``dalle 18 alle 22``, ``von 18 bis 22
  Uhr``, ``after 18``; parts of the day ("Sunday evening" -> Sunday, 18-22); busy hour; all day;
- action kinds: named after a negation ("no new masts/small cells", "niente tilt", "keine
  Kleinzellen") -> forbidden; after "only" -> allowed;
- protected sites or cells: a clause with "don't touch", "leave ... alone", "non toccare",
  "nicht anfassen" ... and the ids or site names in it ("the hospital sites" -> every site
  whose name holds hospital/ospedale/Krankenhaus/Klinik...);
- the area: the other ids and site names ("relieve cells S01-1, S02-1", "around cell S01-1
  within 500 m", "the stadium cells").

Whatever a protect or area clause names that the network lacks (an id or a landmark no site
is named after) is reported in ``unmatched``; nothing is guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pydantic

from actions.models import ACTION_KINDS
from planner.intent import lexicon as lx
from planner.intent.model import Area, Hours, PlanningIntent, Unmatched
from planner.intent.text_guard import check_request_text, fold
from twin.errors import ValidationError
from twin.network import Network

PARSER = "baseline"
MAX_BUDGET_EUR = 1e9

_NUM = r"(\d{1,3}(?:[.,' ]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?)"
_MULT = {"k": 1e3, "keur": 1e3, "kEUR": 1e3, "mila": 1e3, "mille": 1e3, "tausend": 1e3,
         "thousand": 1e3, "tsd": 1e3, "mio": 1e6, "mln": 1e6, "million": 1e6, "millions": 1e6,
         "milioni": 1e6, "milione": 1e6, "millionen": 1e6, "grand": 1e3}
_MONEY_RE = re.compile(
    r"(?<![\w.,-])(€|eur|euro)?\s*" + _NUM
    + r"\s*(keur|k|mila|mille|tausend|thousand|tsd|mio|mln|millions?|milion[ie]|millionen|grand)?"
    r"(?![a-z0-9])\s*(€|eur\b|euros?\b)?")
_ID_RE = re.compile(r"(?<![\w-])([a-z]{1,8}\d{1,8}(?:-\d{1,3})?)(?![\w])")
_SPLIT_RE = re.compile(
    r"(?:[;!?\n]|[.](?!\d)|,(?!\d{3}\b)|\s(?:but|however|ma|pero|aber|jedoch)\s"
    r"|\s(?:and|e|ed|und|also|anche|auch|plus)\s(?=(?:no|not|don't|dont|do not|without|never|"
    r"only|just|keep|leave|solo|non|nessun\w*|niente|senza|nur|kein\w*|ohne|nicht|lass\w*)\b))")
_NOT_IDS = frozenset({"h24", "mp3", "x2", "4x4", "covid19"})
_SITE_NOUNS = re.compile(r"\b(site|sites|cell|cells|sector|sectors|mast|masts|tower|towers|"
                         r"sito|siti|cella|celle|settore|settori|impianto|impianti|standort\w*|"
                         r"zelle|zellen|sektor\w*|masten|antenna|antenne|antennen)\b")
_RADIUS_RE = re.compile(r"(\d+(?:[.,]\d+)?)\s*(km|kilometers?|kilometres?|chilometri|"
                        r"kilometer|m|meters?|metres?|metri|meter)\b")


def _words_re(words: tuple[str, ...]) -> re.Pattern[str]:
    alts = sorted({re.escape(w) for w in words}, key=len, reverse=True)
    return re.compile(r"(?<![a-z])(" + "|".join(alts) + r")")


_NEG_RE = _words_re(lx.NEGATIONS)
_ONLY_RE = _words_re(lx.ONLY)
_PROTECT_RE = _words_re(lx.PROTECT_VERBS)
_AREA_RE = _words_re(lx.AREA_VERBS)
_AROUND_RE = _words_re(lx.AROUND)
_BUDGET_RE = _words_re(lx.BUDGET_WORDS)
_TARGET_RE = _words_re(lx.TARGET_WORDS)
_KIND_RES = {k: _words_re(v) for k, v in lx.KIND_WORDS.items()}
_GROUP_RES = {g: _words_re(v) for g, v in lx.GROUP_WORDS.items()}
_NUMWORD = "|".join(sorted((re.escape(w) for w in lx.NUMBER_WORDS), key=len, reverse=True))
_ACTWORD = "|".join(sorted((re.escape(w) for w in lx.ACTION_WORDS), key=len, reverse=True))
_MAXACT_RE = re.compile(r"(?<![\w.,-])(\d{1,2}|" + _NUMWORD + r")\s+(?:\w+\s+)?(?:" + _ACTWORD
                        + r")\b")
_DAYPART_RES = [(span, _words_re(w)) for span, w in lx.DAY_PARTS.items()]
_DAY_RES = {d: _words_re(w) for d, w in lx.DAY_WORDS.items()}
_BUSY_RE = _words_re(lx.BUSY_HOUR)
_ALLDAY_RE = _words_re(lx.ALL_DAY)
_T = r"(\d{1,2})(?:[:.]([0-5]\d))?\s*(am|pm|h|uhr|hrs|ore)?"
_WINDOW_RES = [
    re.compile(r"(?<![\w-])" + _T + r"\s*(?:-|–|—|to|till|until|through|alle|all'|bis)\s*"
               + _T + r"(?![\w-])"),
    re.compile(r"\b(?:between|from|dalle|dalle ore|tra le|fra le|von|zwischen|ab)\s+" + _T
               + r"\s*(?:and|to|e|e le|alle|bis|und)\s+" + _T + r"(?![\w-])"),
]
_AFTER_RE = re.compile(r"\b(?:after|from|dopo le|dalle|dalle ore|ab|nach)\s+" + _T
                       + r"(?![\w-])")


@dataclass
class _Clause:
    text: str
    start: int
    role: str = ""  # protect | area | ""
    ids: list[tuple[int, str]] = field(default_factory=list)  # (position, folded token)


def _amount(num: str) -> float | None:
    s = num.replace("'", "").replace(" ", "")
    if re.fullmatch(r"\d{1,3}([.,]\d{3})+", s):
        s = re.sub(r"[.,]", "", s)
    elif re.fullmatch(r"\d{1,3}([.,]\d{3})+[.,]\d{1,2}", s):
        s = re.sub(r"[.,](?=\d{3})", "", s).replace(",", ".")
    else:
        s = s.replace(",", ".")
    try:
        return float(s)
    except ValueError:
        return None


def _hour(h: str, mer: str | None) -> int:
    v = int(h)
    if mer == "pm" and v < 12:
        v += 12
    if mer == "am" and v == 12:
        v = 0
    return v


class _Index:
    """The network's ids and site names, folded, for matching."""

    def __init__(self, network: Network) -> None:
        c, s = network.cells, network.sites
        self.cells = {fold(str(i)): str(i) for i in c["cell_id"]}
        self.sites = {fold(str(i)): str(i) for i in s["site_id"]}
        self.cands = {fold(str(i)): str(i) for i in network.candidates["candidate_id"]}
        self.site_of = dict(zip(c["cell_id"].astype(str), c["site_id"].astype(str), strict=True))
        names: dict[str, set[str]] = {}
        if "name" in s.columns:
            for sid, name in zip(s["site_id"].astype(str), s["name"], strict=True):
                for tok in re.findall(r"[a-z]{3,}", fold(str(name))):
                    if tok not in lx.STOPWORDS:
                        names.setdefault(tok, set()).add(sid)
        cap = max(3, int(0.3 * max(1, len(s))))  # a word on most sites names none of them
        self.name_words = {w: ids for w, ids in names.items() if len(ids) <= cap}

    def match_names(self, text: str) -> tuple[list[str], list[str]]:
        """Sites whose names the words of ``text`` name (best-scoring per sub-phrase), and
        the landmark words that name no site."""
        found: list[str] = []
        missing: list[str] = []
        for part in re.split(r"\b(?:and|or|e|o|und|oder|plus)\b|&|/", text):
            scores: dict[str, int] = {}
            for tok in re.findall(r"[a-z]{3,}", part):
                if tok in lx.STOPWORDS:
                    continue
                group = lx.LANDMARK_INDEX.get(tok) or next(
                    (g for w, g in lx.LANDMARK_INDEX.items() if len(w) >= 5
                     and tok.startswith(w)), None)
                landmark = group is not None
                hit: set[str] = set()
                for w in group or (tok,):
                    hit |= self.name_words.get(w, set())
                for sid in hit:
                    scores[sid] = scores.get(sid, 0) + 1
                if not hit and landmark:
                    missing.append(tok)
            if scores:
                best = max(scores.values())
                found += sorted(s for s, v in scores.items() if v == best)
        return found, missing


def _clauses(f: str) -> list[_Clause]:
    out: list[_Clause] = []
    pos = 0
    for m in [*list(_SPLIT_RE.finditer(f)), None]:
        end = m.start() if m else len(f)
        if f[pos:end].strip():
            out.append(_Clause(f[pos:end], pos))
        if m:
            pos = m.end()
    prev = ""
    for c in out:
        if _PROTECT_RE.search(c.text):
            c.role = "protect"
        elif _AREA_RE.search(c.text):
            c.role = "area"
        else:
            # a bare list item ("..., S02-1 and S03-2") continues the clause before it
            c.role = prev if _ID_RE.search(c.text) or not _SITE_NOUNS.search(c.text) else ""
        c.ids = [(c.start + m.start(), m.group(1)) for m in _ID_RE.finditer(c.text)
                 if m.group(1) not in _NOT_IDS]
        prev = c.role
    return out


def _budget(f: str) -> float | None:
    for m in _MONEY_RE.finditer(f):
        cur1, num, mult, cur2 = m.groups()
        after = f[m.end():m.end() + 12]
        if re.match(r"\s*(%|percent|per cento|prozent|h\b|uhr|m\b|km|meter|metri|db|dbm|"
                    r"degree|grad|°)", after):
            continue
        before = f[max(0, m.start() - 30):m.start()]
        if not (cur1 or cur2 or mult) and not re.search(
                r"(budget|spend|spesa|spendere|kosten|ausgeben|cost|costo|eur|euro)\W*"
                r"(\w+\W+){0,3}$", before):
            continue
        v = _amount(num)
        if v is None:
            continue
        return v * _MULT.get(mult or "", 1.0)
    return None


def _target(f: str) -> float | None:
    m = re.search(r"(?<![\w.,])(\d{1,3}(?:[.,]\d+)?)\s*(%|percent|per cent|pct|per ?cento|"
                  r"prozent)", f)
    if m:
        v = _amount(m.group(1))
        if v is not None and 1 <= v <= 100:
            return v / 100.0
    for m in re.finditer(r"(?<![\w.,])(0[.,]\d{1,3})(?![\d%])", f):
        if _TARGET_RE.search(f[max(0, m.start() - 45):m.start()]):
            return _amount(m.group(1))
    for m in re.finditer(r"(?<![\w.,-])(\d{2})(?![\w.,%-])(?!\s*(?:k|mila|tausend|€|eur))", f):
        if _TARGET_RE.search(f[max(0, m.start() - 35):m.start()]):
            v = int(m.group(1))
            if 10 <= v <= 100:
                return v / 100.0
    return None


def _max_actions(f: str) -> int | None:
    for m in _MAXACT_RE.finditer(f):
        w = m.group(1)
        v = int(w) if w.isdigit() else lx.NUMBER_WORDS[w]
        if 0 <= v <= 50:
            return v
    return None


def _hours(f: str) -> Hours | None:
    day = next((d for d, rx in _DAY_RES.items() if rx.search(f)), None)
    for rx in _WINDOW_RES:
        for m in rx.finditer(f):
            h1, _m1, mer1, h2, _m2, mer2 = m.groups()
            if mer1 is None and mer2 == "pm":
                mer1 = "pm" if int(h1) < 12 and int(h1) < int(h2) + 12 else None
            a, b = _hour(h1, mer1), _hour(h2, mer2)
            if b == 0:
                b = 24
            if 0 <= a < b <= 24 and not re.match(r"\s*(k|€|eur|mila|%|m\b|db)", f[m.end():]):
                return Hours(kind="window", start_hour=a, end_hour=b, day=day)
    m = _AFTER_RE.search(f)
    if m and (m.group(3) or re.search(r"\b(uhr|ore|h)\b", f[m.end():m.end() + 4])
              or 12 <= int(m.group(1)) <= 23):
        a = _hour(m.group(1), m.group(3))
        if 0 <= a <= 23:
            return Hours(kind="window", start_hour=a, end_hour=24, day=day)
    for (a, b), rx in _DAYPART_RES:
        if rx.search(f):
            return Hours(kind="window", start_hour=a, end_hour=b, day=day)
    if _ALLDAY_RE.search(f):
        return Hours(kind="all_day", day=day)
    if _BUSY_RE.search(f) or day:
        return Hours(kind="busy_hour", day=day)
    return None


def _kinds(clauses: list[_Clause]) -> tuple[set[str] | None, set[str]]:
    allowed: set[str] | None = None
    forbidden: set[str] = set()
    for c in clauses:
        if c.role == "protect" and not _NEG_RE.search(c.text.split("touch")[-1]):
            continue
        hits: list[tuple[int, tuple[str, ...]]] = []
        for k, rx in _KIND_RES.items():
            hits += [(m.start(), (k,)) for m in rx.finditer(c.text)]
        for g, rx in _GROUP_RES.items():
            hits += [(m.start(), lx.KIND_GROUPS[g]) for m in rx.finditer(c.text)]
        if not hits:
            continue
        neg = [m.start() for m in _NEG_RE.finditer(c.text)]
        only = [m.start() for m in _ONLY_RE.finditer(c.text)]
        for pos, kinds in hits:
            n = max((p for p in neg if p < pos), default=-1)
            o = max((p for p in only if p < pos), default=-1)
            if c.role == "protect" and n < 0:
                continue
            if o > n:
                allowed = (allowed or set()) | set(kinds)
            elif n >= 0:
                forbidden |= set(kinds)
    return allowed, forbidden


def parse_baseline(text: str, network: Network,
                   defaults: PlanningIntent | None = None) -> PlanningIntent:
    """The intent the words of ``text`` state on ``network`` (others: ``defaults``)."""
    t = check_request_text(text)
    f = fold(t)
    base = defaults or PlanningIntent()
    data = base.model_dump()
    src = dict.fromkeys(data["source"], "default")
    unmatched: list[Unmatched] = []
    idx = _Index(network)
    clauses = _clauses(f)

    if (v := _budget(f)) is not None:
        if v <= MAX_BUDGET_EUR:
            data["budget_eur"], src["budget_eur"] = v, "sentence"
        else:
            unmatched.append(Unmatched(field="budget_eur", text=f"{v:.0f}", reason=(
                f"a budget above {MAX_BUDGET_EUR:,.0f} is not a planning budget")))
    if (v := _target(f)) is not None and 0 < v <= 1:
        data["target"], src["target"] = v, "sentence"
    if (n := _max_actions(f)) is not None:
        data["max_actions"], src["max_actions"] = n, "sentence"
    if (h := _hours(f)) is not None:
        data["hours"], src["hours"] = h.model_dump(), "sentence"
    allowed, forbidden = _kinds(clauses)
    if allowed:
        data["allowed_kinds"], src["allowed_kinds"] = sorted(allowed), "sentence"
    if forbidden:
        data["forbidden_kinds"], src["forbidden_kinds"] = sorted(forbidden), "sentence"

    prot_cells: set[str] = set()
    prot_sites: set[str] = set()
    area_cells: list[str] = []
    area_sites: list[str] = []
    around: str | None = None
    radius: float | None = None
    for c in clauses:
        role = c.role or "area"
        field_name = "protected_cells" if role == "protect" else "area"
        named_cells, named_sites = [], []
        for _pos, tok in c.ids:
            if tok in idx.cells:
                named_cells.append(idx.cells[tok])
            elif tok in idx.sites:
                named_sites.append(idx.sites[tok])
            elif tok in idx.cands:
                continue  # a candidate site: not a cell to protect or relieve
            elif re.fullmatch(r"[a-z]{1,8}\d{1,8}(-\d{1,3})?", tok) and re.search(r"\d{2}|-", tok):
                m = re.search(re.escape(tok), t, re.IGNORECASE)
                orig = m.group(0) if m else tok
                unmatched.append(Unmatched(field=field_name, text=orig,
                                           reason=f"no cell or site {orig!r} in network "
                                           f"{network.name!r}"))
        text_wo_ids = _ID_RE.sub(" ", c.text)
        if c.role:
            sites, missing = idx.match_names(text_wo_ids)
            named_sites += [s for s in sites if s not in named_sites]
            for w in missing:
                if not sites:
                    unmatched.append(Unmatched(field=(
                        "protected_sites" if role == "protect" else "area"), text=w, reason=(
                        f"no site in network {network.name!r} is named after {w!r}")))
            if (role == "protect" and not named_cells and not named_sites and not missing
                    and _SITE_NOUNS.search(text_wo_ids)
                    and not any(k.search(text_wo_ids) for k in _KIND_RES.values())):
                unmatched.append(Unmatched(field=field_name, text=c.text.strip()[:200], reason=(
                    "names no cell or site of the network (give an id or a site name)")))
        if role == "protect":
            prot_cells |= set(named_cells)
            prot_sites |= set(named_sites)
            continue
        area_cells += [x for x in named_cells if x not in area_cells]
        area_sites += [x for x in named_sites if x not in area_sites]
        if _AROUND_RE.search(c.text):
            rm = _RADIUS_RE.search(c.text)
            if rm:
                r = _amount(rm.group(1)) or 0.0
                radius = r * (1000.0 if rm.group(2).startswith(("k", "chilo")) else 1.0)
            if len(named_cells) == 1 and around is None:
                around = named_cells[0]
    if prot_cells:
        data["protected_cells"], src["protected_cells"] = sorted(prot_cells), "sentence"
    if prot_sites:
        data["protected_sites"], src["protected_sites"] = sorted(prot_sites), "sentence"
    radius = radius if radius is None or 0 < radius <= 20_000 else None
    area: Area | None = None
    if around is not None and not area_sites and len(area_cells) == 1:
        area = Area(kind="around_cell", center_cell_id=around, radius_m=radius)
    elif area_cells:
        extra = [c for c in network.cells["cell_id"].astype(str)
                 if idx.site_of.get(c) in set(area_sites)]
        area = Area(kind="cells", cell_ids=area_cells + [c for c in extra if c not in area_cells],
                    radius_m=radius)
    elif area_sites:
        area = Area(kind="sites", site_ids=area_sites, radius_m=radius)
    if area is not None:
        data["area"], src["area"] = area.model_dump(), "sentence"
    data.update(source=src, unmatched=[u.model_dump() for u in _dedup(unmatched)], text=t,
                parser=PARSER)
    try:
        return PlanningIntent.model_validate(data)
    except pydantic.ValidationError as exc:  # a value the words gave is out of bounds
        raise ValidationError("ask", f"the request gives a value out of bounds: "
                              f"{str(exc)[:300]}") from None


def _dedup(items: list[Unmatched]) -> list[Unmatched]:
    seen: set[tuple[str, str]] = set()
    out = []
    for u in items:
        if (u.field, u.text) not in seen:
            seen.add((u.field, u.text))
            out.append(u)
    return out


__all__ = ["ACTION_KINDS", "PARSER", "parse_baseline"]
