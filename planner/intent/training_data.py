"""Training examples for the intent parser's LoRA adapter: template-generated requests on
generated networks (``celltwin llm dataset --task intent``).

Each example is one request on one training network, drawn from a seed:

* the network: the layout of :func:`planner.llm.cases.draw_case` for a *training* seed (the
  held-out set uses the shipped scenarios and milan), some sites named from
  :data:`TRAIN_SITE_NAMES` (names the held-out networks do not use) and, for some seeds, the
  ids renamed to an eNB-style numbering;
* the gold intent: each field drawn (or left at its default), then written as clauses in
  English, Italian or German from this module's phrase tables (written for training, not
  from the held-out set), in random order, with typos in some words;
* ``prompt``: :func:`planner.intent.llm_parser.compact_prompt` (the network's named sites and
  the request); ``completion``: the answer of the parser's grammar
  (:func:`planner.intent.llm_parser.answer_model`) that the gold intent gives, keys in the
  schema's order, ``json.dumps`` separators (what guidance's JSON grammar writes).

:func:`write_intent_dataset` writes ``examples.jsonl`` and ``data_card.json`` (seeds, counts
per language and field, the phrase-table hash) in the folder ``celltwin llm train`` reads.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from actions.models import ACTION_KINDS
from planner.intent.llm_parser import compact_prompt
from planner.intent.model import DAYS, Area, Hours, PlanningIntent
from planner.llm.cases import EVAL_SEED_START, build_case, check_training_seed, draw_case
from twin.network import Network

LANGS = ("en", "it", "de")
#: site names of the training networks, by landmark group (the first word of a
#: :data:`planner.intent.lexicon.LANDMARKS` group) or ``None`` (a name that is no landmark);
#: none of them is a name of :data:`planner.intent.named_networks.SITE_NAMES`
TRAIN_SITE_NAMES: dict[str | None, tuple[str, ...]] = {
    "hospital": ("Ospedale San Carlo", "Klinikum Harlaching", "St Mary Hospital",
                 "Clinica Humanitas", "Krankenhaus Bogenhausen", "Children's Hospital",
                 "Ospedale Sacco", "Poliklinik Ost", "Fatebenefratelli", "Spital Nord"),
    "stadium": ("Olympiastadion", "Arena Civica", "Riverside Stadium", "Eisarena",
                "Stadio Breda", "Stadion an der Isar"),
    "station": ("Stazione Garibaldi", "Ostbahnhof", "North Station", "Bahnhof Pasing",
                "Stazione Cadorna"),
    "airport": ("Aeroporto Linate", "Flughafen Riem", "City Airport"),
    "university": ("Campus Leonardo", "Universitat Garching", "Universita Statale",
                   "Technical University"),
    "fair": ("Fiera Rho", "Messe Ost", "Exhibition Centre"),
    "cathedral": ("Dom Sankt Peter", "Cattedrale Vecchia", "St Paul Cathedral"),
    "school": ("Scuola Manzoni", "Schule Nord", "Greenfield School"),
    "mall": ("Centro Commerciale Bonola", "Einkaufszentrum Riem", "Westside Mall"),
    "park": ("Parco Sempione", "Riverside Park", "Parco Nord"),
    "harbour": ("Porto Antico", "Hafen Ost", "Old Harbour"),
    None: ("Via Roma 12", "Piazza Duca", "Leopoldstrasse", "Corso Como", "Maximilianeum Hof",
           "Tower Bridge Rd"),
}
#: what a group is called in a request, singular and plural, per language
GROUP_WORDS: dict[str, dict[str, tuple[str, str]]] = {
    "hospital": {"en": ("the hospital", "the hospitals"), "it": ("l'ospedale", "gli ospedali"),
                 "de": ("das Krankenhaus", "die Kliniken")},
    "stadium": {"en": ("the stadium", "the stadiums"), "it": ("lo stadio", "gli stadi"),
                "de": ("das Stadion", "die Stadien")},
    "station": {"en": ("the station", "the stations"), "it": ("la stazione", "le stazioni"),
                "de": ("den Bahnhof", "die Bahnhöfe")},
    "airport": {"en": ("the airport", "the airports"), "it": ("l'aeroporto", "gli aeroporti"),
                "de": ("den Flughafen", "die Flughäfen")},
    "university": {"en": ("the university", "the campus"), "it": ("l'università", "il campus"),
                   "de": ("die Uni", "den Campus")},
    "fair": {"en": ("the fair", "the exhibition"), "it": ("la fiera", "la fiera"),
             "de": ("die Messe", "die Messe")},
    "cathedral": {"en": ("the cathedral", "the cathedral"), "it": ("il duomo", "la cattedrale"),
                  "de": ("den Dom", "den Dom")},
    "school": {"en": ("the school", "the schools"), "it": ("la scuola", "le scuole"),
               "de": ("die Schule", "die Schulen")},
    "mall": {"en": ("the mall", "the shopping mall"), "it": ("il centro commerciale",
                                                              "il centro commerciale"),
             "de": ("das Einkaufszentrum", "das Einkaufszentrum")},
    "park": {"en": ("the park", "the park"), "it": ("il parco", "il parco"),
             "de": ("den Park", "den Park")},
    "harbour": {"en": ("the harbour", "the port"), "it": ("il porto", "il porto"),
                "de": ("den Hafen", "den Hafen")},
}

# --- phrase tables: {lang: (phrases with {x})} ------------------------------------------------
AREA_PHRASES = {
    "en": ("relieve {x}", "take the load off {x}", "{x} is overloaded, sort it out",
           "help {x}", "we need to offload {x}", "congestion at {x}", "focus on {x}",
           "ease the traffic on {x}", "{x} keeps hitting its limit"),
    "it": ("alleggerisci {x}", "scarica {x}", "{x} è congestionato, intervieni",
           "c'è congestione su {x}", "concentrati su {x}", "aiuta {x}",
           "bisogna sgravare {x}", "decongestiona {x}"),
    "de": ("entlaste {x}", "{x} ist überlastet", "kümmere dich um {x}", "hilf {x}",
           "die Last von {x} reduzieren", "Überlast bei {x} beheben", "{x} entlasten"),
}
AROUND_PHRASES = {
    "en": ("everything within {r} of {x}", "the area around {x} ({r})", "around {x}, radius {r}",
           "cells near {x} within {r}"),
    "it": ("entro {r} da {x}", "la zona intorno a {x} (raggio {r})", "attorno a {x} entro {r}"),
    "de": ("im Umkreis von {r} um {x}", "rund um {x}, Radius {r}", "nahe {x} innerhalb {r}"),
}
AROUND_NO_R = {
    "en": ("the area around {x}", "around {x}", "near {x}"),
    "it": ("la zona intorno a {x}", "vicino a {x}", "attorno a {x}"),
    "de": ("rund um {x}", "in der Nähe von {x}", "um {x} herum"),
}
PROTECT_PHRASES = {
    "en": ("don't touch {x}", "leave {x} alone", "{x} is off limits", "keep {x} unchanged",
           "hands off {x}", "do not modify {x}", "spare {x}"),
    "it": ("non toccare {x}", "lascia stare {x}", "{x} non va modificato", "proteggi {x}",
           "lascia {x} invariato", "escludi {x}"),
    "de": ("{x} nicht anfassen", "lass {x} in Ruhe", "{x} bleibt unverändert",
           "Finger weg von {x}", "{x} ist tabu", "{x} nicht verändern"),
}
BUDGET_PHRASES = {
    "en": ("budget {b}", "spend at most {b}", "no more than {b}", "cap the cost at {b}",
           "we have {b}", "keep it under {b}", "max {b}"),
    "it": ("budget di {b}", "spesa massima {b}", "non più di {b}", "al massimo {b}",
           "abbiamo {b}", "restare sotto {b}"),
    "de": ("Budget {b}", "maximal {b} ausgeben", "nicht mehr als {b}", "höchstens {b}",
           "wir haben {b}", "unter {b} bleiben"),
}
TARGET_PHRASES = {
    "en": ("peak load under {p}", "bring the utilisation down to {p}", "target {p}",
           "PRB utilisation at most {p}", "keep the cells below {p} load"),
    "it": ("utilizzo sotto il {p}", "carico massimo {p}", "obiettivo {p}",
           "portare il picco al {p}"),
    "de": ("Auslastung unter {p}", "Ziel {p}", "höchstens {p} Last", "Spitzenlast auf {p}"),
}
MAX_ACTION_PHRASES = {
    "en": ("at most {n} changes", "no more than {n} actions", "{n} interventions max",
           "limit it to {n} steps"),
    "it": ("massimo {n} interventi", "non più di {n} modifiche", "al massimo {n} azioni"),
    "de": ("höchstens {n} Maßnahmen", "maximal {n} Änderungen", "nicht mehr als {n} Eingriffe"),
}
FORBID_PHRASES = {
    "en": ("no {k}", "without {k}", "avoid {k}", "{k} is not allowed", "don't use {k}"),
    "it": ("niente {k}", "senza {k}", "evita {k}", "{k} non ammesso", "nessun {k}"),
    "de": ("keine {k}", "ohne {k}", "{k} vermeiden", "{k} ist verboten", "kein {k}"),
}
ONLY_PHRASES = {
    "en": ("only {k}", "just {k}, nothing else", "stick to {k}", "use {k} only"),
    "it": ("solo {k}", "soltanto {k}", "unicamente {k}", "usa solo {k}"),
    "de": ("nur {k}", "ausschließlich {k}", "lediglich {k}", "bitte nur {k}"),
}
KIND_NAMES: dict[str, dict[str, tuple[str, ...]]] = {
    "add_small_cell": {"en": ("new masts", "small cells", "new sites", "new antennas"),
                       "it": ("nuove antenne", "microcelle", "nuovi siti", "piccole celle"),
                       "de": ("neue Masten", "Kleinzellen", "neue Standorte", "neue Antennen")},
    "split_sector": {"en": ("sector splits", "splitting sectors", "extra sectors"),
                     "it": ("divisione dei settori", "split di settore", "settori aggiuntivi"),
                     "de": ("Sektorteilung", "Sektoren aufteilen", "Sektorsplit")},
    "set_tilt": {"en": ("tilt changes", "downtilt", "tilting"),
                 "it": ("modifiche di tilt", "inclinazione", "tilt"),
                 "de": ("Neigungsänderungen", "Tilt", "Downtilt")},
    "set_azimuth": {"en": ("azimuth changes", "rotating antennas", "azimuth"),
                    "it": ("cambi di azimut", "ruotare le antenne", "azimut"),
                    "de": ("Azimutänderungen", "Antennen drehen", "Ausrichtung")},
    "set_power": {"en": ("power changes", "transmit power", "power tweaks"),
                  "it": ("cambi di potenza", "potenza", "potenza di trasmissione"),
                  "de": ("Leistungsänderungen", "Sendeleistung", "Leistung")},
    "set_cio": {"en": ("CIO", "handover offsets", "CIO tuning"),
                "it": ("CIO", "offset di handover", "bilanciamento CIO"),
                "de": ("CIO", "Handover-Offsets", "CIO-Anpassung")},
    "upgrade_mimo": {"en": ("MIMO upgrades", "more MIMO layers", "MIMO"),
                     "it": ("upgrade MIMO", "più layer MIMO", "MIMO"),
                     "de": ("MIMO-Upgrades", "mehr MIMO-Layer", "MIMO")},
}
AND = {"en": " and ", "it": " e ", "de": " und "}
DAY_NAMES = {"en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
                    "Sunday"),
             "it": ("lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato",
                    "domenica"),
             "de": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag",
                    "Sonntag")}
DAY_PART_NAMES = {(18, 22): {"en": "evening", "it": "sera", "de": "Abend"},
                  (7, 11): {"en": "morning", "it": "mattina", "de": "Vormittag"},
                  (14, 18): {"en": "afternoon", "it": "pomeriggio", "de": "Nachmittag"},
                  (22, 24): {"en": "night", "it": "notte", "de": "Nacht"},
                  (12, 14): {"en": "lunchtime", "it": "pranzo", "de": "Mittag"}}
BUSY = {"en": ("at the busy hour", "in the peak hour", "during the busiest hour"),
        "it": ("nell'ora di punta", "nell'ora di picco"),
        "de": ("zur Hauptverkehrsstunde", "in der Spitzenstunde")}
ALL_DAY_WORDS = {"en": ("all day", "around the clock", "over the whole day"),
                 "it": ("tutto il giorno", "per l'intera giornata", "24 ore su 24"),
                 "de": ("den ganzen Tag", "rund um die Uhr", "über den ganzen Tag")}
OPENERS = {"en": ("", "", "please ", "hi, ", "request: "), "it": ("", "", "per favore ",
                                                                    "ciao, "),
           "de": ("", "", "bitte ", "hallo, ")}
SEPARATORS = (", ", ", ", "; ", ". ", " - ")


@dataclass(frozen=True)
class TrainNetwork:
    """A training network and its landmark groups (site id -> group or None)."""

    seed: int
    network: Network
    groups: dict[str, str | None]


def training_network(seed: int) -> TrainNetwork:
    """The network of training seed ``seed`` with names on some sites (and, for about a third
    of the seeds, eNB-style ids)."""
    check_training_seed(seed)
    rng = random.Random(f"intent-net-{seed}")
    net = build_case(draw_case(seed)).network
    sites, cells = net.sites.copy(), net.cells.copy()
    if rng.random() < 0.35:
        base = rng.randrange(10_000, 90_000)
        new = {str(s): f"eNB{base + 7 * i + rng.randrange(7)}"
               for i, s in enumerate(sites["site_id"].astype(str))}
        sites["site_id"] = [new[str(s)] for s in sites["site_id"]]
        cells["cell_id"] = [new[str(s)] + "-" + str(c).rsplit("-", 1)[-1]
                            for s, c in zip(cells["site_id"], cells["cell_id"], strict=True)]
        cells["site_id"] = [new[str(s)] for s in cells["site_id"]]
    ids = list(sites["site_id"].astype(str))
    n_named = rng.randint(2, min(9, len(ids)))
    named = rng.sample(ids, n_named)
    pool = [(g, n) for g, names in TRAIN_SITE_NAMES.items() for n in names]
    picks = rng.sample(pool, n_named)
    groups: dict[str, str | None] = {}
    names = {}
    for sid, (g, n) in zip(named, picks, strict=True):
        names[sid], groups[sid] = n, g
    sites["name"] = [names.get(str(s), "-") for s in sites["site_id"]]
    return TrainNetwork(seed, Network.from_tables(sites, cells, net.candidates, net.origin,
                                                  name=f"train-{seed}"), groups)


def _typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    op = rng.randrange(3)
    if op == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if op == 1:
        return word[:i] + word[i + 1:]
    return word[:i] + word[i] + word[i:]


def add_typos(text: str, rng: random.Random, protect: set[str]) -> str:
    """One or two typos in words of 5+ letters (not ids, numbers or ``protect``ed words)."""
    words = text.split(" ")
    slots = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()
             and w not in protect]
    for i in rng.sample(slots, min(len(slots), rng.randint(1, 2))):
        words[i] = _typo(words[i], rng)
    return " ".join(words)


def _money(b: int, lang: str, rng: random.Random) -> str:
    k = b // 1000
    forms = [f"{k}k", f"{k}k EUR", f"{k} k€", f"EUR {b:,}", f"€{b:,}"]
    if lang == "en":
        forms += [f"{b:,} euros", f"{b} EUR"]
    if lang == "it":
        forms += [f"{k} mila euro", f"{b:,} €".replace(",", "."), f"{k}.000 euro"]
    if lang == "de":
        forms += [f"{k} tausend Euro", f"{b:,} €".replace(",", "."), f"{k}.000 Euro"]
    return rng.choice(forms)


def _pct(p: int, lang: str, rng: random.Random) -> str:
    word = {"en": "percent", "it": "per cento", "de": "Prozent"}[lang]
    return rng.choice([f"{p}%", f"{p} %", f"{p} {word}"])


def _hours_text(h: Hours, lang: str, rng: random.Random) -> str:
    day = DAY_NAMES[lang][DAYS.index(h.day)] if h.day else None
    if h.kind == "busy_hour":
        text = rng.choice(BUSY[lang]) if rng.random() < 0.6 or day is None else ""
        if day:
            on = {"en": "on ", "it": "", "de": "am "}[lang]
            text = (on + day + (" " + text if text else "")).strip()
        return text
    if h.kind == "all_day":
        text = rng.choice(ALL_DAY_WORDS[lang])
        return text + (f" ({day})" if day else "")
    a, b = int(h.start_hour or 0), int(h.end_hour or 24)
    part = DAY_PART_NAMES.get((a, b))
    if part and rng.random() < 0.5:
        p = part[lang]
        if day:
            return {"en": f"{day} {p}", "it": f"{day} {p}", "de": f"{day}{p.lower()}"
                    if rng.random() < 0.5 else f"am {day} {p}"}[lang]
        return {"en": f"in the {p}", "it": f"di {p}", "de": f"am {p}"}[lang]
    forms = {"en": (f"{a}-{b}", f"from {a}:00 to {b}:00", f"between {a} and {b} h"),
             "it": (f"dalle {a} alle {b}", f"tra le {a} e le {b}", f"fascia {a}-{b}"),
             "de": (f"von {a} bis {b} Uhr", f"zwischen {a} und {b} Uhr", f"{a}-{b} Uhr")}[lang]
    text = rng.choice(forms)
    if day:
        text = {"en": f"{day} {text}", "it": f"{day} {text}", "de": f"am {day} {text}"}[lang]
    return text


def _kinds_text(kinds: list[str], lang: str, rng: random.Random) -> str:
    return AND[lang].join(rng.choice(KIND_NAMES[k][lang]) for k in kinds)


def _site_ref(sids: list[str], tn: TrainNetwork, lang: str, rng: random.Random
              ) -> tuple[str, list[str]]:
    """How a request names sites: by id, by name, or by landmark group (all its sites)."""
    site_word = {"en": "site", "it": "sito", "de": "Standort"}[lang]
    names = dict(zip(tn.network.sites["site_id"].astype(str),
                     tn.network.sites["name"].astype(str), strict=True))
    sid = sids[0]
    g = tn.groups.get(sid)
    r = rng.random()
    if g is not None and r < 0.45:
        members = sorted(s for s, gg in tn.groups.items() if gg == g)
        sing, plur = GROUP_WORDS[g][lang]
        return (plur if len(members) > 1 else sing), members
    if sid in tn.groups and r < 0.8:
        return names[sid], [sid]
    ids = sids[:rng.randint(1, min(2, len(sids)))]
    return AND[lang].join(f"{site_word} {i}" if rng.random() < 0.5 else i for i in ids), ids


def _cell_ref(cells: list[str], lang: str) -> str:
    word = {"en": "cell", "it": "cella", "de": "Zelle"}[lang]
    return AND[lang].join(f"{word} {c}" if i == 0 else c for i, c in enumerate(cells))


def draw_request(tn: TrainNetwork, rng: random.Random, lang: str
                 ) -> tuple[str, PlanningIntent, bool]:
    """(the request, its gold intent, whether it names something the network lacks)."""
    net = tn.network
    cell_ids = list(net.cells["cell_id"].astype(str))
    site_ids = list(net.sites["site_id"].astype(str))
    d: dict[str, Any] = {}
    clauses: list[str] = []
    unknown = False
    used_sites: set[str] = set()
    r = rng.random()
    if r < 0.3:
        cells = sorted(rng.sample(cell_ids, rng.choice((1, 1, 2))))
        radius = rng.choice((None, None, 300, 500, 800, 1500))
        d["area"] = Area(kind="cells", cell_ids=cells, radius_m=radius)
        x = _cell_ref(cells, lang)
        clauses.append(rng.choice(AREA_PHRASES[lang]).format(x=x) + (
            f" ({radius} m)" if radius else ""))
    elif r < 0.55:
        sids = rng.sample(site_ids if rng.random() < 0.4 or not tn.groups else
                          list(tn.groups), 1) + rng.sample(site_ids, 1)
        x, ids = _site_ref(sids, tn, lang, rng)
        used_sites |= set(ids)
        d["area"] = Area(kind="sites", site_ids=ids)
        clauses.append(rng.choice(AREA_PHRASES[lang]).format(x=x))
    elif r < 0.68:
        c = rng.choice(cell_ids)
        word = {"en": "cell", "it": "cella", "de": "Zelle"}[lang]
        if rng.random() < 0.6:
            radius = rng.choice((200, 400, 500, 750, 1000, 2000))
            rtext = f"{radius} m" if radius < 1000 or rng.random() < 0.5 else \
                f"{radius / 1000:g} km"
            d["area"] = Area(kind="around_cell", center_cell_id=c, radius_m=radius)
            clauses.append(rng.choice(AROUND_PHRASES[lang]).format(x=f"{word} {c}", r=rtext))
        else:
            d["area"] = Area(kind="around_cell", center_cell_id=c)
            clauses.append(rng.choice(AROUND_NO_R[lang]).format(x=f"{word} {c}"))
    elif r < 0.75:  # a landmark or id the network does not have: nothing to fill in
        absent = [g for g in GROUP_WORDS if g not in set(tn.groups.values())]
        if absent and rng.random() < 0.6:
            x = GROUP_WORDS[rng.choice(absent)][lang][0]
        else:
            x = _cell_ref([f"X{rng.randrange(100, 999)}-{rng.randrange(1, 4)}"], lang)
        clauses.append(rng.choice(AREA_PHRASES[lang]).format(x=x))
        unknown = True
    if rng.random() < 0.45:
        h = rng.random()
        day = rng.choice(DAYS) if rng.random() < 0.3 else None
        if h < 0.55:
            a, b = rng.choice([*DAY_PART_NAMES, (17, 21), (16, 20), (19, 23), (8, 12), (6, 9),
                               (20, 24), (10, 16)])
            hours = Hours(kind="window", start_hour=a, end_hour=b, day=day)
        elif h < 0.8:
            hours = Hours(kind="busy_hour", day=day)
        else:
            hours = Hours(kind="all_day", day=day)
        d["hours"] = hours
        clauses.append(_hours_text(hours, lang, rng))
    if rng.random() < 0.45:
        b = rng.choice((5, 8, 10, 15, 20, 25, 30, 35, 40, 50, 60, 75, 80, 120, 150, 200,
                        250)) * 1000
        d["budget_eur"] = float(b)
        clauses.append(rng.choice(BUDGET_PHRASES[lang]).format(b=_money(b, lang, rng)))
    if rng.random() < 0.3:
        p = rng.choice((40, 45, 50, 55, 60, 65, 70, 75, 80, 85))
        d["target"] = p / 100
        clauses.append(rng.choice(TARGET_PHRASES[lang]).format(p=_pct(p, lang, rng)))
    if rng.random() < 0.25:
        n = rng.randint(1, 8)
        d["max_actions"] = n
        clauses.append(rng.choice(MAX_ACTION_PHRASES[lang]).format(n=n))
    k = rng.random()
    if k < 0.35:
        kinds = sorted(rng.sample(ACTION_KINDS, rng.choice((1, 1, 2))), key=ACTION_KINDS.index)
        d["forbidden_kinds"] = kinds
        clauses.append(rng.choice(FORBID_PHRASES[lang]).format(k=_kinds_text(kinds, lang, rng)))
    elif k < 0.5:
        kinds = sorted(rng.sample(ACTION_KINDS, rng.choice((1, 2, 2, 3))),
                       key=ACTION_KINDS.index)
        d["allowed_kinds"] = kinds
        clauses.append(rng.choice(ONLY_PHRASES[lang]).format(k=_kinds_text(kinds, lang, rng)))
    if rng.random() < 0.3:
        if rng.random() < 0.4:
            cells = sorted(rng.sample(cell_ids, rng.choice((1, 2))))
            d["protected_cells"] = cells
            x = _cell_ref(cells, lang)
        else:
            free = [s for s in site_ids if s not in used_sites]
            pick = [s for s in tn.groups if s not in used_sites] or free
            x, ids = _site_ref(rng.sample(pick, 1) + rng.sample(free, 1), tn, lang, rng)
            ids = [i for i in ids if i not in used_sites]
            if ids:
                d["protected_sites"] = ids
            else:
                x = ""
        if x:
            clauses.append(rng.choice(PROTECT_PHRASES[lang]).format(x=x))
    if not clauses:
        clauses.append(rng.choice(AREA_PHRASES[lang]).format(
            x={"en": "the busiest cells", "it": "le celle più cariche",
               "de": "die vollsten Zellen"}[lang]))
    rng.shuffle(clauses)
    text = rng.choice(OPENERS[lang]) + rng.choice(SEPARATORS).join(clauses)
    if rng.random() < 0.5:
        text = text[0].upper() + text[1:]
    if rng.random() < 0.25:
        keep = set(cell_ids) | set(site_ids)
        text = add_typos(text, rng, keep)
    fields = {k: v for k, v in d.items()}
    gold = PlanningIntent(**fields, source={k: "sentence" for k in fields}, text=text)
    return text, gold, unknown


def gold_answer(gold: PlanningIntent) -> dict[str, Any]:
    """The grammar's answer (:func:`planner.intent.llm_parser.answer_model`) for ``gold``:
    defaults stay null, empty or unspecified."""
    src = gold.source
    said = {k for k, v in src.items() if v == "sentence"}
    h, a = gold.hours, gold.area
    cells: list[str] = []
    if a.kind == "cells":
        cells = list(a.cell_ids)
    elif a.kind == "around_cell" and a.center_cell_id:
        cells = [a.center_cell_id]
    return {
        "target_percent": round(gold.target * 100) if "target" in said else None,
        "budget_eur": int(gold.budget_eur) if "budget_eur" in said else None,
        "hours": h.kind if "hours" in said else "unspecified",
        "start_hour": h.start_hour if "hours" in said else None,
        "end_hour": h.end_hour if "hours" in said else None,
        "day": (h.day or "unspecified") if "hours" in said else "unspecified",
        "area_cells": cells if "area" in said else [],
        "area_sites": list(a.site_ids) if "area" in said and a.kind == "sites" else [],
        "radius_m": int(a.radius_m) if "area" in said and a.radius_m else None,
        "allowed_kinds": list(gold.allowed_kinds) if "allowed_kinds" in said else [],
        "forbidden_kinds": list(gold.forbidden_kinds) if "forbidden_kinds" in said else [],
        "protected_cells": list(gold.protected_cells) if "protected_cells" in said else [],
        "protected_sites": list(gold.protected_sites) if "protected_sites" in said else [],
        "max_actions": int(gold.max_actions) if "max_actions" in said else None,
    }


def phrase_tables_sha256() -> str:
    tables = [TRAIN_SITE_NAMES, GROUP_WORDS, AREA_PHRASES, AROUND_PHRASES, AROUND_NO_R,
              PROTECT_PHRASES, BUDGET_PHRASES, TARGET_PHRASES, MAX_ACTION_PHRASES,
              FORBID_PHRASES, ONLY_PHRASES, KIND_NAMES, DAY_NAMES, DAY_PART_NAMES, BUSY,
              ALL_DAY_WORDS, OPENERS]
    blob = json.dumps([{str(k): v for k, v in t.items()} for t in tables], sort_keys=True,
                      default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def write_intent_dataset(out: Path, seeds: range, per_network: int,
                         log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Write ``out/examples.jsonl`` and ``out/data_card.json`` for ``seeds`` (training seeds,
    one network each) with ``per_network`` requests per network (languages in turn)."""
    from planner.llm.dataset import DATA_CARD, EXAMPLES

    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    langs: Counter[str] = Counter()
    fields: Counter[str] = Counter()
    n_unknown = 0
    for seed in seeds:
        tn = training_network(seed)
        rng = random.Random(f"intent-req-{seed}")
        for j in range(per_network):
            lang = LANGS[(seed + j) % len(LANGS)]
            text, gold, unknown = draw_request(tn, rng, lang)
            answer = gold_answer(gold)
            rows.append({"seed": seed, "lang": lang, "text": text,
                         "prompt": compact_prompt(text, tn.network),
                         "completion": json.dumps(answer),
                         "gold": gold.fields_json(), "names_unknown": unknown})
            langs[lang] += 1
            n_unknown += unknown
            fields.update(k for k, v in gold.source.items() if v == "sentence")
        if log:
            log(f"seed {seed}: {len(rows)} examples")
    with (out / EXAMPLES).open("w") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    card = {"task": "intent", "n_examples": len(rows), "training_seeds": [seeds.start,
                                                                          seeds.stop - 1],
            "per_network": per_network, "evaluation_seeds_from": EVAL_SEED_START,
            "held_out": "bench/data/intent_eval.jsonl: the shipped scenarios hotspot, "
            "calib-uma, calib-umi (named by planner/intent/named_networks.py) and milan; "
            "none is a generated train-<seed> network, no training site name is one of theirs",
            "languages": dict(langs), "fields_said": dict(fields),
            "names_unknown": n_unknown, "phrase_tables_sha256": phrase_tables_sha256(),
            "examples_sha256": hashlib.sha256((out / EXAMPLES).read_bytes()).hexdigest()}
    (out / DATA_CARD).write_text(json.dumps(card, indent=2))
    return card

