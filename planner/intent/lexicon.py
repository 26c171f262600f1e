"""Words the regex baseline reads, in English, Italian and German (accent-folded, lower case:
see :func:`planner.intent.text_guard.fold`)."""

from __future__ import annotations

NUMBER_WORDS: dict[str, int] = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "twelve": 12, "a single": 1,
    "nessuna": 0, "uno": 1, "una": 1, "un": 1, "due": 2, "tre": 3, "quattro": 4, "cinque": 5,
    "sei": 6, "sette": 7, "otto": 8, "nove": 9, "dieci": 10, "dodici": 12,
    "keine": 0, "eins": 1, "ein": 1, "eine": 1, "einer": 1, "zwei": 2, "drei": 3, "vier": 4,
    "funf": 5, "fuenf": 5, "sechs": 6, "sieben": 7, "acht": 8, "neun": 9, "zehn": 10,
    "zwolf": 12,
}

#: action kind -> phrases that name it
KIND_WORDS: dict[str, tuple[str, ...]] = {
    "add_small_cell": (
        "small cell", "small-cell", "smallcell", "new mast", "new masts", "new site",
        "new sites", "masts", "mast", "microcell", "micro cell", "new antenna", "new antennas",
        "new tower", "towers", "new cell", "new cells", "new equipment", "densif",
        "microcell", "picocell", "piccole celle", "piccola cella", "small cells", "microcelle",
        "microcella", "nuovi siti", "nuovo sito", "nuove antenne", "nuova antenna", "tralicc",
        "nuovi impianti", "nuove celle", "nuove stazioni", "pali", "kleinzell", "small-cells",
        "neue masten", "neuen masten", "neue standorte", "neuen standorte", "neuer mast",
        "neue antennen", "neuen antennen", "neue zellen", "neuen zellen", "masten", "mikrozell",
        "neubau", "neuen mast", "neue sites",
    ),
    "split_sector": ("split", "splitting", "sector split", "extra sector", "new sector",
                     "dividere", "divisione", "suddivis", "sdoppia", "teilung", "teilen",
                     "aufteil", "aufspalt"),
    "set_tilt": ("tilt", "downtilt", "uptilt", "inclinazion", "neigung", "tilts"),
    "set_azimuth": ("azimuth", "azimut", "rotate", "rotation", "turning the antenna",
                    "orientamento", "ruotare", "rotazion", "ausrichtung", "drehen", "drehung"),
    "set_power": ("power", "potenza", "sendeleistung", "leistung", "transmit power"),
    "set_cio": ("cio", "offset", "handover", "load balanc", "bilanciamento", "lastausgleich",
                "individual offset"),
    "upgrade_mimo": ("mimo", "antenna upgrade", "more layers", "layers"),
}

#: phrases that stand for a group of kinds
KIND_GROUPS: dict[str, tuple[str, ...]] = {
    "parameters only": ("set_tilt", "set_power", "set_cio"),
    "site visit": ("add_small_cell", "split_sector", "set_azimuth", "upgrade_mimo"),
    "hardware": ("add_small_cell", "split_sector", "upgrade_mimo"),
}
GROUP_WORDS: dict[str, tuple[str, ...]] = {
    "parameters only": ("parameter", "parametri", "parametro", "software", "remote", "da remoto",
                        "configuration", "configurazion", "konfiguration", "einstellung"),
    "site visit": ("site visit", "site visits", "crew", "truck roll", "sopralluog",
                   "squadra", "vor-ort", "vor ort", "techniker", "einsatz"),
    "hardware": ("hardware", "new hardware", "apparati", "nuovo hardware", "neue hardware"),
}

NEGATIONS = (
    "no", "not", "don't", "dont", "do not", "without", "avoid", "never", "nothing", "none",
    "exclude", "excluding", "except", "forbid", "forbidden", "ban", "skip", "rather than",
    "instead of", "nor", "non", "nessun", "nessuna", "nessuno", "niente", "senza", "evita",
    "evitare", "evitando", "vietat", "escludi", "escluso", "esclusi", "tranne", "ne ",
    "kein", "keine", "keinen", "keiner", "ohne", "nicht", "vermeide", "vermeiden",
    "verboten", "ausser", "weder", "nie",
)
ONLY = ("only", "just", "exclusively", "solo", "soltanto", "solamente", "unicamente", "nur",
        "ausschliesslich", "lediglich", "limit yourself to", "stick to")

PROTECT_VERBS = (
    "don't touch", "dont touch", "do not touch", "not touch", "hands off", "leave", "keep",
    "protect", "spare", "freeze", "frozen", "untouched", "unchanged", "off limits",
    "off-limits", "must not change", "not change", "no change to", "no changes to",
    "don't change", "dont change", "do not change", "don't modify", "do not modify",
    "not modify", "exclude", "excluding", "except", "non toccare", "non toccate", "non tocca",
    "lascia", "lasciate", "lasciare", "proteggi", "proteggere", "proteggendo", "non modificare",
    "non modificate", "non cambiare", "intoccat", "invariat", "escludi", "escludendo",
    "escluso", "esclusi", "esclusa", "tranne", "salvo", "nicht anfassen", "nicht anruhren",
    "nicht beruhren", "finger weg", "lass", "lasst", "unverandert", "nicht andern",
    "nicht verandern", "schutze", "schutzen", "tabu", "ausser", "ausgenommen",
    "nicht antasten", "in ruhe", "bleiben",
)
AREA_VERBS = (
    "relieve", "offload", "off-load", "decongest", "unload", "help", "fix", "ease",
    "alleviate", "reduce the load", "reduce load", "lower the load", "take load", "congest",
    "overload", "hotspot", "busy", "focus", "work on", "target", "improve", "around", "near",
    "close to", "within", "in the area", "area of", "cells of", "for the", "at the",
    "alleggerire", "alleggerisci", "allevia", "scaricare", "scarica", "decongestiona",
    "sgrava", "aiuta", "intorno", "vicino", "attorno", "nei pressi", "zona", "area",
    "celle del", "celle dello", "celle della", "entlaste", "entlasten", "entlastet",
    "um die", "um zelle", "rund um", "nahe", "in der nahe", "umkreis", "umgebung",
    "gebiet", "bereich", "zellen am", "zellen des", "zellen der", "uberlast", "hilf",
)
AROUND = ("around", "near", "close to", "within", "intorno", "vicino", "attorno",
          "nei pressi", "entro", "raggio", "um zelle", "um die zelle", "rund um", "nahe",
          "in der nahe", "umkreis", "radius")

BUDGET_WORDS = ("budget", "under", "below", "less than", "at most", "max", "maximum", "up to",
                "within", "spend", "cost", "cap", "no more than", "eur", "euro", "sotto",
                "entro", "meno di", "massimo", "al massimo", "fino a", "spesa", "spendere",
                "costo", "non oltre", "unter", "bis", "hochstens", "maximal", "weniger als",
                "kosten", "ausgeben", "nicht mehr als", "hoechstens", "limit", "tetto")

TARGET_WORDS = ("utilis", "utiliz", "load", "target", "prb", "peak", "carico", "utilizzo",
                "occupazione", "auslastung", "last", "ziel", "spitze", "obiettivo", "picco")

ACTION_WORDS = ("change", "changes", "action", "actions", "modification", "modifications",
                "step", "steps", "intervention", "interventions", "measure", "measures",
                "modifica", "modifiche", "azione", "azioni", "intervento", "interventi",
                "cambiament", "anderung", "anderungen", "massnahme", "massnahmen", "aktion",
                "aktionen", "eingriff", "eingriffe", "schritte", "tweak", "tweaks", "move",
                "moves")

DAY_WORDS: dict[str, tuple[str, ...]] = {
    "monday": ("monday", "lunedi", "montag"),
    "tuesday": ("tuesday", "martedi", "dienstag"),
    "wednesday": ("wednesday", "mercoledi", "mittwoch"),
    "thursday": ("thursday", "giovedi", "donnerstag"),
    "friday": ("friday", "venerdi", "freitag"),
    "saturday": ("saturday", "sabato", "samstag", "sonnabend"),
    "sunday": ("sunday", "domenica", "sonntag"),
}
#: part of the day -> (start hour, end hour)
DAY_PARTS: dict[tuple[int, int], tuple[str, ...]] = {
    (18, 22): ("evening", "evenings", "tonight", "sera", "serata", "serale", "stasera",
               "abend", "abends", "feierabend"),
    (7, 11): ("morning", "mornings", "mattina", "mattino", "mattinata", "morgens",
              "vormittag", "vormittags", "fruh am morgen"),
    (12, 14): ("lunchtime", "lunch time", "noon", "mezzogiorno", "pranzo", "mittag",
               "mittags", "mittagszeit"),
    (14, 18): ("afternoon", "afternoons", "pomeriggio", "nachmittag", "nachmittags"),
    (22, 24): ("night", "nights", "late night", "notte", "notturno", "nachts", "nacht"),
    (7, 10): ("rush hour in the morning", "morning rush", "commute"),
}
BUSY_HOUR = ("busy hour", "busy-hour", "peak hour", "busiest hour", "rush hour", "ora di punta",
             "ora di picco", "ora piu carica", "hauptverkehrsstunde", "spitzenstunde",
             "stosszeit", "hauptlastzeit")
ALL_DAY = ("all day", "whole day", "entire day", "24 h", "24h", "24 hours", "around the clock",
           "full day", "every hour", "day long", "tutto il giorno", "tutta la giornata",
           "intera giornata", "24 ore", "ogni ora", "h24", "ganztag", "den ganzen tag",
           "rund um die uhr", "ganzen tag", "24 stunden", "jede stunde", "tagsuber")

#: landmark synonyms across the three languages: a request word matches a site name holding
#: any word of its group
LANDMARKS: tuple[tuple[str, ...], ...] = (
    ("hospital", "hospitals", "ospedale", "ospedali", "ospedaliero", "krankenhaus",
     "krankenhauser", "klinik", "kliniken", "klinikum", "spital", "clinic", "clinica"),
    ("stadium", "stadio", "stadion", "arena", "stadiums"),
    ("station", "stazione", "bahnhof", "hauptbahnhof", "railway"),
    ("airport", "aeroporto", "flughafen"),
    ("university", "universita", "universitat", "uni", "campus", "ateneo"),
    ("fair", "fiera", "messe", "exhibition"),
    ("cathedral", "duomo", "dom", "cattedrale"),
    ("school", "scuola", "schule"),
    ("mall", "centro commerciale", "einkaufszentrum"),
    ("park", "parco"),
    ("harbour", "port", "porto", "hafen"),
    ("city hall", "municipio", "rathaus"),
)
LANDMARK_INDEX: dict[str, tuple[str, ...]] = {w: g for g in LANDMARKS for w in g}

STOPWORDS = frozenset(["the", "a", "an", "of", "to", "in", "on", "at", "for", "and", "or", "with", "by", "from", "all", "any", "our", "my", "site", "sites", "cell", "cells", "sector", "sectors", "please", "them", "it", "its", "this", "that", "these", "those", "around", "near", "area", "zone", "mast", "masts", "il", "lo", "la", "i", "gli", "le", "di", "da", "del", "dello", "della", "dei", "degli", "delle", "al", "allo", "alla", "ai", "agli", "alle", "nel", "nella", "nei", "sito", "siti", "cella", "celle", "settore", "settori", "per", "con", "e", "o", "su", "tutti", "tutte", "zona", "der", "die", "das", "den", "dem", "des", "ein", "eine", "einen", "und", "oder", "mit", "von", "vom", "zum", "zur", "am", "im", "an", "auf", "fur", "alle", "standort", "standorte", "zelle", "zellen", "sektor", "sektoren", "bitte"])
