"""A generator of realistic, synthetic FIMI graphs, deterministic for a seed and streamed.

The output mirrors what ingesting real source documents leaves in the store
(:meth:`fimigraph.store.GraphStore.put_source`): one named graph per source document with
its claims and the entities they mention, and the source's own description (subject = the
source IRI, plus ``dcterms:identifier`` and ``dcterms:dateSubmitted``) in the metadata graph.
Layouts: ``nquads`` (one N-Quads file to bulk-load) or ``documents`` (one Turtle file per
source, to feed the real ingest path one source at a time).

The world is fictional on purpose (invented states, people and outlets): attribution data
about real states would read as accusations. Every entity and every fact is a pure function
of ``(seed, scale, index)``, so nothing is kept between sources and memory stays flat from 1k
to 10M triples; a source is built in memory (≤ a few thousand triples), written, dropped.

Shape of the world (DESIGN §2): states with organs (``organOf``), ruling parties with
intervals (some expired), state media (``controlledBy``) with accounts, official channels
that promote the state's narratives; "operators" (an organ, a state outlet, an employee,
a contractor and its staff, a party member, a party-linked NGO, an outlet's front company,
an independent, an NGO–company cycle) that run blocks of accounts and conduct campaigns.
Episodes of sources report on campaigns: a research report or a platform takedown report,
news articles that relay it (``fimi:reports``), sometimes a second report that could not
link the campaign directly (negative finding, conflict), and the accused state's denial
(``disputes``).
"""

from __future__ import annotations

import bisect
import gzip
import io
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal, TextIO

from .store import source_id
from .vocab import DCTERMS, FIMI, PREFIXES, RDF, RDFS, SOURCES_GRAPH, XSD, source_graph

GEN = "https://example.org/fimigraph-gen/"
"""Namespace of generated entities, claims and sources (example.org: they describe nothing real)."""

Layout = Literal["nquads", "documents"]

# --------------------------------------------------------------------------------------
# Terms, pre-serialized once (N-Triples syntax; Turtle documents compact them).

_T = f"<{RDF.type}>"
_LABEL = f"<{RDFS.label}>"


def _p(term: object) -> str:
    return f"<{term}>"


def _gen(path: str) -> str:
    return f"<{GEN}{path}>"


def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _lit(text: str) -> str:
    return f'"{_esc(text)}"'


_XSD_INT = f"<{XSD.integer}>"
_XSD_DATE = f"<{XSD.date}>"
_XSD_DATETIME = f"<{XSD.dateTime}>"


def _int(value: int) -> str:
    return f'"{value}"^^{_XSD_INT}'


def _date(value: date) -> str:
    return f'"{value.isoformat()}"^^{_XSD_DATE}'


F = {name: _p(FIMI[name]) for name in (
    "Claim State StateOrgan PoliticalParty MediaOutlet Company NGO Organization Person Platform Account "
    "Campaign Narrative Event Technique Context Report Article OfficialStatement "
    "claimSubject claimPredicate claimObject statedIn quote confidence evidenceType validFrom validUntil "
    "marking role claimedGrade onPlatform handle hashtag activeFrom activeUntil reach content disarmId "
    "reliability reports "
    "operates conducts usesAccount affiliatedWith employedBy contractedBy controlledBy organOf rulingPartyOf "
    "officialChannelOf promotes targets usesTechnique attributedTo notDirectlyLinkedTo disputes respondsTo contextOf "
    "TechnicalEvidence BehaviouralEvidence ContextualEvidence "
    "TLP_CLEAR TLP_GREEN TLP_AMBER TLP_AMBER_STRICT TLP_RED Member OfficeHolder Associate "
    "StateOfficial StateControlled StateLinked PartyLinked StateAligned"
).split()}
D = {name: _p(DCTERMS[name]) for name in ("title", "publisher", "issued", "identifier", "dateSubmitted")}
LINK_KINDS = (
    "operates conducts usesAccount affiliatedWith employedBy contractedBy controlledBy organOf rulingPartyOf "
    "officialChannelOf promotes targets usesTechnique attributedTo notDirectlyLinkedTo disputes respondsTo contextOf"
).split()
_KIND_OF = {F[k]: k for k in LINK_KINDS}
_EVIDENCE = {"technical": F["TechnicalEvidence"], "behavioural": F["BehaviouralEvidence"], "contextual": F["ContextualEvidence"]}
_CONFIDENCE = {"technical": (60, 95), "behavioural": (40, 85), "contextual": (20, 75)}
_MARKINGS = (F["TLP_CLEAR"], F["TLP_GREEN"], F["TLP_AMBER"], F["TLP_AMBER_STRICT"], F["TLP_RED"])
_GRADE_WORDS = {
    F["StateOfficial"]: "an official channel of",
    F["StateControlled"]: "controlled by",
    F["StateLinked"]: "linked to",
    F["PartyLinked"]: "linked to the ruling party of",
    F["StateAligned"]: "aligned with",
}
_SOURCES_G = _p(SOURCES_GRAPH)

# --------------------------------------------------------------------------------------
# Word lists of the fictional world.

STATE_NAMES = (
    "Arvenia Borduria Caldonia Drovania Estmark Fenwald Galicor Havrenia Istrava Jorvania Kastellia Lumeria "
    "Moravell Norvasta Ostravia Pelagonia Quirinia Rusvania Syldavia Tarvonia Ulmeria Valdoria Westerlund "
    "Yarnovia Zembla Averland Belmora Corvinia Dalmeria Ebonia"
).split()
STATE_PREFIXES = ("", "North ", "South ", "East ", "West ", "Upper ", "Lower ")
CAPITALS = "Arvel Bordo Calden Drova Estby Fenholt Galis Havren Istra Jorvik Kastel Lumen Morav Norvik Ostrov".split()
FIRST = (
    "Anton Bela Celia Dario Elena Farid Galina Hugo Irina Jonas Katya Leon Mira Nikolai Olga Pavel Rasa Stefan "
    "Tamar Uros Vera Wiktor Yana Zoran Aleksei Bogdana Cyril Dunja Emil Filip"
).split()
LAST = (
    "Aliyev Borisov Castell Dragan Egorov Ferenc Galan Horvat Ivanov Jovic Kral Lazar Marek Novak Orlov Petrov "
    "Radu Sokol Tomic Umarov Vasic Wolin Yusupov Zelic Abramov Bakos Cerny Dimov"
).split()
WORDS = "Truth Voice Patriot Eagle Horizon Nexus Echo Signal Beacon Frontier Mirror Anchor Compass Vanguard Pulse".split()
PLATFORMS = ("X", "Facebook", "Telegram", "TikTok", "YouTube", "Instagram", "VK", "Reddit")
ORGAN_KINDS = (  # (name template, covert?, can have an official channel?)
    ("the {S} authorities", False, True),
    ("Ministry of Foreign Affairs of {S}", False, True),
    ("Presidential Administration of {S}", False, True),
    ("Ministry of Information and Culture of {S}", False, True),
    ("State Security Service of {S}", True, False),
    ("Main Intelligence Directorate of the {S} Armed Forces", True, False),
    ("Embassy of {S} in {T}", False, True),
    ("{S} Armed Forces Military Unit {N}", True, False),
    ("State Agency for Diaspora Affairs of {S}", False, True),
)
MEDIA_NAMES = ("{S} Today", "{S} International Broadcasting", "The {S} Herald", "{S} News Agency")
PARTY_NAMES = ("{S} People's Party", "New {S} Party", "{S} Democratic Union", "Party of {S} Renewal")
NARRATIVES = (
    "{T} cannot safely host {E}",
    "{T} is on the verge of economic collapse",
    "sanctions against {S} hurt the citizens of {T} most",
    "the government of {T} is a puppet of foreign powers",
    "migrants are responsible for rising crime in {T}",
    "the elections in {T} were rigged",
    "{S} is the only guarantor of peace in the region",
    "western vaccines are unsafe and {T} hides the deaths",
    "the police of {T} brutally repress peaceful protesters",
    "{T} is preparing an attack on {S}",
)
EVENTS = (
    "the {Y} Summer Games in {C}", "the {Y} parliamentary election in {T}", "the {Y} presidential election in {T}",
    "the {Y} {C} climate summit", "the {Y} referendum in {T}", "the {Y} {C} film festival",
)
TECHNIQUES = (  # DISARM red framework ids and names
    ("T0002", "Facilitate State Propaganda"), ("T0015", "Create Hashtags and Search Artefacts"),
    ("T0022", "Leverage Conspiracy Theory Narratives"), ("T0023", "Distort Facts"),
    ("T0045", "Use Fake Experts"), ("T0049", "Flood Information Space"), ("T0084", "Reuse Existing Content"),
    ("T0087", "Develop Video-Based Content"), ("T0097", "Present Persona"),
    ("T0098", "Establish Inauthentic News Sites"), ("T0100", "Co-Opt Trusted Sources"),
    ("T0113", "Employ Commercial Analytic Firms"), ("T0118", "Amplify Existing Narrative"),
    ("T0119", "Cross-Posting"), ("T0121", "Manipulate Platform Algorithm"), ("T0129", "Conceal Operational Activity"),
)
RESEARCH_ORGS = (
    "Northbridge Digital Forensics Lab", "Institute for Information Integrity", "Open Signals Research",
    "Centre for Strategic Disinformation Studies", "Baltic Media Observatory", "Clearwater Threat Intelligence",
    "Foundation for Democratic Resilience", "Atlas Network Analysis Group",
)
NEWS_OUTLETS = (
    "Global Wire Service", "The Meridian Post", "Continental Press Agency", "The Evening Ledger",
    "Harbour City Times", "Newsline International",
)
HASHTAG_WORDS = "Boycott Stop Shame Wake Truth Free Save No Expose Fake".split()

# Operator kinds: how an actor that runs accounts and campaigns ties to its sponsor state.
OPERATOR_KINDS = (
    "organ", "media", "employee", "contractor", "party", "staff", "independent", "proxy", "official", "party-ngo", "cycle",
)
OPERATOR_WEIGHTS = (8, 10, 14, 12, 14, 10, 14, 6, 4, 5, 3)
TRUTH_GRADE = {
    "organ": "StateLinked", "media": "StateControlled", "employee": "StateLinked", "contractor": "StateLinked",
    "party": "PartyLinked", "staff": "StateLinked", "independent": "StateAligned", "proxy": "StateControlled",
    "official": "StateOfficial", "party-ngo": "PartyLinked", "cycle": "StateLinked",
}
_COVERT = tuple(k for k, kind in enumerate(ORGAN_KINDS) if kind[1])
_OVERT = tuple(k for k, kind in enumerate(ORGAN_KINDS) if kind[2])


def _d(value: int) -> date:
    return date.fromordinal(value)


_D2000 = date(2000, 1, 1).toordinal()
_D2016 = date(2016, 1, 1).toordinal()
_D2025 = date(2025, 6, 30).toordinal()
_DMAX = date(2025, 12, 31).toordinal()

# --------------------------------------------------------------------------------------
# Records of the world: small, immutable, recomputed on demand (bounded caches).


@dataclass(frozen=True)
class Ent:
    """An entity as a document describes it: IRI term, class, label, further (predicate, object) pairs."""

    term: str
    cls: str
    label: str
    extra: tuple[tuple[str, str], ...] = ()
    refs: tuple[tuple, ...] = ()  # keys of entities its description names (e.g. the platform)


@dataclass(frozen=True)
class StateRec:
    s: int
    name: str
    organs: tuple[int, ...]           # indexes into ORGAN_KINDS
    media: tuple[tuple[tuple, int], ...]  # (controller key, n accounts) per outlet
    parties: int
    ruling: tuple[tuple[int, int, int | None], ...]  # (party, from ordinal, until ordinal or None)
    narratives: int
    rival: int
    unit: int


@dataclass(frozen=True)
class Fact:
    """A link between two entities that some source may state as a claim."""

    subj: tuple
    kind: str
    obj: tuple
    evidence: str = "contextual"
    frm: int | None = None
    until: int | None = None
    role: str | None = None


@dataclass(frozen=True)
class OperatorRec:
    x: int
    kind: str
    sponsor: int
    actor: tuple
    facts: tuple[Fact, ...]
    accounts: tuple[tuple, ...]
    grade: str
    attribution_target: tuple


@dataclass(frozen=True)
class CampaignRec:
    c: int
    operator: int
    sponsor: int
    frm: int
    until: int
    hashtags: tuple[str, ...]
    narratives: tuple[tuple, ...]
    targets: tuple[tuple, ...]
    accounts: tuple[tuple, ...]
    techniques: tuple[int, ...]
    rival: int


class World:
    """The fictional world for one (seed, size): every entity and fact is a pure function of its index."""

    def __init__(self, seed: int, triples: int) -> None:
        self.seed = seed
        self.n_states = max(4, min(150, round(3 + triples ** 0.5 / 30)))
        self.n_campaigns = max(2, round(triples / 700))
        self.n_operators = max(2, round(self.n_campaigns * 0.7))
        self.n_events = max(3, self.n_states)
        # A few states sponsor most operations (Zipf-like), as in public threat reporting.
        weights = [1 / (i + 1) ** 1.1 for i in range(self.n_states)]
        total = sum(weights)
        acc, self._cum = 0.0, []
        for w in weights:
            acc += w / total
            self._cum.append(acc)
        self.state = lru_cache(maxsize=512)(self._state)
        self.operator = lru_cache(maxsize=4096)(self._operator)
        self.campaign = lru_cache(maxsize=4096)(self._campaign)
        self.entity = lru_cache(maxsize=16384)(self._entity)

    def rng(self, *key: object) -> random.Random:
        """A random stream for one thing of the world (string seeds hash with SHA-512: stable across runs)."""
        return random.Random("/".join(map(str, (self.seed, *key))))

    def _sponsor(self, r: random.Random) -> int:
        return min(bisect.bisect_left(self._cum, r.random()), self.n_states - 1)

    def state_name(self, s: int) -> str:
        """The name of state ``s``."""
        base = STATE_NAMES[s % len(STATE_NAMES)]
        return STATE_PREFIXES[(s // len(STATE_NAMES)) % len(STATE_PREFIXES)] + base

    def _state(self, s: int) -> StateRec:
        r = self.rng("state", s)
        optional = [k for k in range(2, len(ORGAN_KINDS))]
        organs = (0, 1, *sorted(r.sample(optional, r.randint(2, 6))))
        if not any(k in _COVERT for k in organs):
            organs = (*organs, 4)
        media = []
        for _ in range(r.randint(1, 3)):
            controller = ("state", s) if r.random() < 0.3 else ("organ", s, r.choice([k for k in organs if k in (0, 2, 3)]))
            media.append((controller, r.randint(1, 3)))
        start = _D2000 - r.randint(0, 12 * 365)
        if r.random() < 0.5:  # a change of government: the first ruling party's interval has expired
            handover = _D2016 - 4 * 365 + r.randint(0, 10 * 365)
            ruling = ((0, start, handover - 1), (1, handover, None))
        else:
            ruling = ((0, start, None),)
        rival = (s + 1 + r.randrange(self.n_states - 1)) % self.n_states
        # The catalogue of narratives grows with the state's operations (about five campaigns
        # a narrative): with a fixed 6-14, the campaigns and official channels promoting one
        # narrative grew with the world, and state-aligned links (one per pair of claims) with
        # its square (236 x 69 claims on one narrative at 1M triples).
        share = self._cum[s] - (self._cum[s - 1] if s else 0.0)
        parties = r.randint(2, 4)
        narratives = max(r.randint(6, 14), round(share * self.n_campaigns / 5))
        return StateRec(s, self.state_name(s), organs, tuple(media), parties, ruling, narratives,
                        rival, r.randint(10000, 99999))

    def organ_state(self, key: tuple) -> int:
        """The state an organ key belongs to."""
        return key[1]

    def _operator(self, x: int) -> OperatorRec:
        r = self.rng("operator", x)
        kind = OPERATOR_KINDS[x] if x < len(OPERATOR_KINDS) else r.choices(OPERATOR_KINDS, OPERATOR_WEIGHTS)[0]
        s = self._sponsor(r)
        st = self.state(s)
        covert = ("organ", s, r.choice([k for k in st.organs if k in _COVERT]))
        overt = ("organ", s, r.choice([k for k in st.organs if k in _OVERT]))

        def interval() -> tuple[int | None, int | None]:
            if r.random() < 0.5:
                return None, None
            frm = _D2016 - 3 * 365 + r.randint(0, 7 * 365)
            # Some engagements ended years ago: links through them do not reach later activity.
            until = frm + r.randint(365, 4 * 365) if r.random() < 0.35 else None
            return frm, until

        facts: list[Fact] = []
        attribution_target: tuple = ("state", s)
        if kind == "organ":
            actor = covert
            attribution_target = covert if r.random() < 0.5 else ("state", s)
        elif kind == "media":
            k = r.randrange(len(st.media))
            actor = ("media", s, k)
            facts.append(Fact(actor, "controlledBy", st.media[k][0], "contextual"))
        elif kind == "official":
            actor = overt
        elif kind == "employee":
            actor = ("person", x)
            frm, until = interval()
            facts.append(Fact(actor, "employedBy", covert, "technical", frm, until))
        elif kind == "contractor":
            actor = ("company", x)
            frm, until = interval()
            facts.append(Fact(actor, "contractedBy", r.choice([covert, overt]), "technical", frm, until))
        elif kind == "staff":
            actor = ("person", x)
            frm, until = interval()
            facts.append(Fact(actor, "employedBy", ("company", x), "technical"))
            facts.append(Fact(("company", x), "contractedBy", covert, "technical", frm, until))
        elif kind == "party":
            actor = ("person", x)
            party = r.choice([p for p in range(len(st.ruling))] + [2] * (r.random() < 0.2))
            role = r.choice(("Member", "OfficeHolder", "Associate"))
            facts.append(Fact(actor, "affiliatedWith", ("party", s, party), "contextual", role=role))
        elif kind == "party-ngo":
            actor = ("ngo", x)
            facts.append(Fact(actor, "affiliatedWith", ("party", s, r.randrange(len(st.ruling))), "behavioural",
                              role="Associate"))
        elif kind == "proxy":
            actor = ("company", x)
            facts.append(Fact(actor, "controlledBy", ("media", s, r.randrange(len(st.media))), "technical"))
        elif kind == "cycle":
            # An NGO and a company that are each affiliated with the other: a cycle for the chain rule.
            actor = ("ngo", x)
            facts.append(Fact(actor, "affiliatedWith", ("company", x), "behavioural", role="Associate"))
            facts.append(Fact(("company", x), "affiliatedWith", actor, "behavioural", role="Member"))
            facts.append(Fact(("company", x), "contractedBy", covert, "technical"))
        else:  # independent: no organizational link at all
            actor = ("person", x)
            attribution_target = ("state", s)
        if kind == "official":
            overt_accounts = [("official", s, k) for k in st.organs if k in _OVERT]
            accounts = tuple(r.sample(overt_accounts, min(len(overt_accounts), r.randint(1, 2))))
        elif kind == "media":
            accounts = tuple(("maccount", s, actor[2], j) for j in range(st.media[actor[2]][1]))
        else:
            n = min(400, 2 + int((r.paretovariate(1.4) - 1) * 6))
            accounts = tuple(("account", x, j) for j in range(n))
        return OperatorRec(x, kind, s, actor, tuple(facts), accounts, TRUTH_GRADE[kind], attribution_target)

    def _campaign(self, c: int) -> CampaignRec:
        r = self.rng("campaign", c)
        x = c if c < self.n_operators else r.randrange(self.n_operators)
        op = self.operator(x)
        st = self.state(op.sponsor)
        frm = _D2016 + r.randint(0, _D2025 - _D2016 - 30)
        until = min(frm + int(r.expovariate(1 / 60)) + 1, _D2025)
        tags = []
        for _ in range(r.randint(1, 3)):
            target_name = self.state_name(st.rival).replace(" ", "")
            tags.append("#" + r.choice(HASHTAG_WORDS) + r.choice((target_name, r.choice(WORDS), str(2016 + (frm - _D2016) // 365))))
        narratives = tuple(("narrative", op.sponsor, k) for k in sorted(r.sample(range(st.narratives), r.randint(1, 2))))
        targets: list[tuple] = [("state", st.rival)]
        if r.random() < 0.4:
            targets.append(("event", r.randrange(self.n_events)))
        if r.random() < 0.2:
            targets.append(("outlet", r.randrange(len(NEWS_OUTLETS))))
        own = list(op.accounts)
        used = own if len(own) <= 25 else r.sample(own, 25)
        if r.random() < 0.3:  # amplification by other networks
            for _ in range(r.randint(1, 3)):
                other = self.operator(r.randrange(self.n_operators))
                used.append(r.choice(other.accounts))
        if r.random() < 0.05 and op.kind != "official":  # official channels amplify
            used.append(("official", op.sponsor, r.choice([k for k in st.organs if k in _OVERT])))
        accounts = tuple(dict.fromkeys(used))
        techniques = tuple(sorted(r.sample(range(len(TECHNIQUES)), r.randint(1, 4))))
        return CampaignRec(c, x, op.sponsor, frm, until, tuple(dict.fromkeys(tags)), narratives, tuple(targets),
                           accounts, techniques, st.rival)

    # -- entities ------------------------------------------------------------------------

    def _entity(self, key: tuple) -> Ent:
        kind = key[0]
        if kind == "state":
            return Ent(_gen(f"state/{key[1]}"), F["State"], self.state_name(key[1]))
        if kind == "organ":
            st = self.state(key[1])
            name = ORGAN_KINDS[key[2]][0].format(S=st.name, T=self.state_name(st.rival), N=st.unit)
            return Ent(_gen(f"organ/{key[1]}-{key[2]}"), F["StateOrgan"], name)
        if kind == "party":
            name = PARTY_NAMES[key[2] % len(PARTY_NAMES)].format(S=self.state_name(key[1]))
            return Ent(_gen(f"party/{key[1]}-{key[2]}"), F["PoliticalParty"], name)
        if kind == "media":
            name = MEDIA_NAMES[key[2] % len(MEDIA_NAMES)].format(S=self.state_name(key[1]))
            return Ent(_gen(f"media/{key[1]}-{key[2]}"), F["MediaOutlet"], name)
        if kind == "person":
            r = self.rng("person", key[1])
            return Ent(_gen(f"person/{key[1]}"), F["Person"], f"{r.choice(FIRST)} {r.choice(LAST)}")
        if kind == "company":
            r = self.rng("company", key[1])
            name = f"{r.choice(WORDS)} {r.choice(('Strategic Communications', 'Digital Marketing', 'Media Consulting', 'Public Relations'))} {r.choice(('LLC', 'Ltd', 'Group', 'Agency'))}"
            return Ent(_gen(f"company/{key[1]}"), F["Company"], name)
        if kind == "ngo":
            r = self.rng("ngo", key[1])
            name = f"{r.choice(('Foundation', 'Centre', 'Institute', 'Society'))} for {r.choice(('Civic', 'Historical', 'Cultural', 'Patriotic', 'Youth'))} {r.choice(('Dialogue', 'Memory', 'Heritage', 'Renewal'))}"
            return Ent(_gen(f"ngo/{key[1]}"), F["NGO"], name)
        if kind in ("account", "maccount", "official"):
            return self._account(key)
        if kind == "platform":
            return Ent(_gen(f"platform/{PLATFORMS[key[1]].lower()}"), F["Platform"], PLATFORMS[key[1]])
        if kind == "campaign":
            cr = self.campaign(key[1])
            extra = [(F["hashtag"], _lit(t)) for t in cr.hashtags]
            extra += [(F["activeFrom"], _date(_d(cr.frm))), (F["activeUntil"], _date(_d(cr.until)))]
            r = self.rng("campaign-text", key[1])
            extra.append((F["reach"], _lit(r.choice(("seen by millions of people", "tens of thousands of shares", "limited organic reach", f"about {r.randint(2, 900)}k views")))))
            extra.append((F["content"], _lit(r.choice(("pictures and videos of clashes between police and protesters", "fabricated news articles", "doctored screenshots of official documents", "memes and short videos", "cartoons mocking officials")))))
            return Ent(_gen(f"campaign/{key[1]}"), F["Campaign"], f"{cr.hashtags[0]} campaign", tuple(extra))
        if kind == "narrative":
            st = self.state(key[1])
            r = self.rng("narrative", key[1], key[2])
            text = NARRATIVES[(key[2] + key[1]) % len(NARRATIVES)].format(
                S=st.name, T=self.state_name(st.rival), E=self.entity(("event", r.randrange(self.n_events))).label)
            return Ent(_gen(f"narrative/{key[1]}-{key[2]}"), F["Narrative"], text)
        if kind == "event":
            r = self.rng("event", key[1])
            text = EVENTS[key[1] % len(EVENTS)].format(Y=2016 + key[1] % 10, C=r.choice(CAPITALS), T=self.state_name(key[1] % self.n_states))
            return Ent(_gen(f"event/{key[1]}"), F["Event"], text)
        if kind == "technique":
            tid, name = TECHNIQUES[key[1]]
            return Ent(_gen(f"technique/{tid}"), F["Technique"], name, ((F["disarmId"], _lit(tid)),))
        if kind == "context":
            cr = self.campaign(key[1])
            text = f"strained relations between {self.state_name(cr.sponsor)} and {self.state_name(cr.rival)}"
            return Ent(_gen(f"context/{key[1]}"), F["Context"], text)
        if kind == "outlet":
            return Ent(_gen(f"publisher/outlet-{key[1]}"), F["MediaOutlet"], NEWS_OUTLETS[key[1]])
        if kind == "research":
            return Ent(_gen(f"publisher/research-{key[1]}"), F["Organization"], RESEARCH_ORGS[key[1]])
        raise KeyError(key)

    def _account(self, key: tuple) -> Ent:
        r = self.rng(*key)
        path = "/".join(map(str, key))
        extra: list[tuple[str, str]] = []
        if key[0] == "official":
            platform = 0 if key[2] % 2 == 0 else 1
            organ = self.entity(("organ", key[1], key[2])).label
            handle = re.sub(r"[^A-Za-z]", "", organ.title())[:15]
        elif key[0] == "maccount":
            platform = key[3] % len(PLATFORMS)
            handle = re.sub(r"[^A-Za-z]", "", self.entity(("media", key[1], key[2])).label)[:12] + ("" if key[3] == 0 else str(key[3]))
        else:
            platform = r.choices(range(len(PLATFORMS)), (30, 20, 20, 12, 8, 6, 3, 1))[0]
            handle = f"{r.choice(WORDS).lower()}_{r.choice(LAST).lower()}{r.randint(1, 9999)}"
            frm = _D2016 - 2 * 365 + r.randint(0, 9 * 365)
            extra.append((F["activeFrom"], _date(_d(frm))))
            if r.random() < 0.35:  # taken down or abandoned
                extra.append((F["activeUntil"], _date(_d(min(frm + r.randint(60, 5 * 365), _DMAX)))))
        plat = self.entity(("platform", platform))
        label = f"@{handle} on {PLATFORMS[platform]}"
        extra = [(F["handle"], _lit(handle)), (F["onPlatform"], plat.term), *extra]
        return Ent(_gen(f"account/{path}"), F["Account"], label, tuple(extra), (("platform", platform),))


# --------------------------------------------------------------------------------------
# Quotes: verbatim-looking sentences, one template family per link kind.

QUOTES: dict[str, tuple[str, ...]] = {
    "operates": (
        "Registration data show that the account {o} was created and run by {s}.",
        "{s} ran the account {o}, according to metadata we reviewed.",
        "We assess that {o} is operated by {s}; the account reused the same phone number and IP ranges.",
    ),
    "conducts": (
        "We assess that {s} was behind the {o}.",
        "The {o} was planned and coordinated by {s}.",
        "Evidence we collected points to {s} as the organiser of the {o}.",
    ),
    "usesAccount": (
        "The content was first posted by {o} and then amplified by a cluster of inauthentic accounts.",
        "Among the accounts that pushed the {s}, {o} was one of the most active.",
        "{o} posted the campaign's material within minutes of the other accounts in the network.",
    ),
    "affiliatedWith": (
        "{s} is a {role} of the {o}.",
        "According to public records, {s} has been a {role} of {o} for several years.",
        "{s}, who has close links to {o}, ran the network.",
    ),
    "employedBy": (
        "{s} has worked for {o} since at least {y}.",
        "Leaked payroll documents list {s} as an employee of {o}.",
        "{s} is a staff member at {o}, according to the company's own website.",
    ),
    "contractedBy": (
        "{s} received contracts from {o} for 'digital communication services'.",
        "Procurement records show that {o} paid {s} for social media work in {y}.",
        "{s} worked under contract for {o}, the documents show.",
    ),
    "controlledBy": (
        "{s} is funded by and editorially controlled by {o}.",
        "{s} is owned by {o}, according to the outlet's registration filings.",
        "The editorial line of {s} is set by {o}.",
    ),
    "organOf": (
        "The {s} is a body of the state of {o}.",
        "{s} reports directly to the government of {o}.",
    ),
    "rulingPartyOf": (
        "The {s} has governed {o} since {y}.",
        "{s}, the party of the president of {o}, holds a majority in parliament.",
    ),
    "officialChannelOf": (
        "{s} is the verified official account of the {o}.",
        "The {o} publishes its statements on its official account {s}.",
    ),
    "promotes": (
        "Posts repeatedly claimed that {o}.",
        "The {s} pushed the narrative that {o}.",
        "{s} shared content claiming that {o}.",
    ),
    "targets": (
        "The campaign aimed to harm the reputation of {o}.",
        "The {s} targeted audiences in and around {o}.",
    ),
    "usesTechnique": (
        "The network relied on a technique we classify as '{o}'.",
        "The {s} made use of '{o}'.",
    ),
    "attributedTo": (
        "We attribute the {s} to {o} with {c} confidence.",
        "Our investigation concludes that the {s} is {g} {o}.",
        "The evidence shows that {s} acted on behalf of {o}.",
    ),
    "notDirectlyLinkedTo": (
        "We have not been able to link the {s} directly to {o}.",
        "The investigation could not establish a direct link between the {s} and {o}.",
    ),
    "disputes": (
        "The {s} rejects these groundless accusations, which are part of a smear campaign.",
        "The {s} categorically denies any involvement and calls the report 'fabricated'.",
    ),
    "respondsTo": (
        "The {s} asked for clarification about the {o} and summoned the ambassador.",
        "The {s} said it would raise the {o} with the platforms concerned.",
    ),
    "contextOf": (
        "The campaign came amid {s}.",
        "Against a background of {s}, the {o} gained traction.",
    ),
}
def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _relayed(text: str) -> str:
    # "According to X, the campaign …": lower-case a leading article or pronoun, never a name.
    first = text.split(" ", 1)[0]
    return text[:1].lower() + text[1:] if first in ("The", "We", "Our", "Posts", "Evidence", "Registration", "Among", "Leaked", "Procurement", "According") else text


RELAY = ("According to {p}, ", "{p} said: ", "The report by {p} states that ")
_ROLE_WORDS = {"Member": "member", "OfficeHolder": "senior official", "Associate": "close associate"}


# --------------------------------------------------------------------------------------
# Documents: one source, built in memory, written, dropped.


@dataclass
class ClaimRef:
    """A claim made by an earlier document of the same episode (for relays and disputes)."""

    term: str
    kind: str
    subj: tuple
    obj: tuple
    grade: str | None = None


class Doc:
    """One source document under construction, capped at ``budget`` triples (metadata included)."""

    def __init__(self, world: World, name: str, cls: str, *, budget: int, issued: int, publisher: tuple,
                 title: str, layout: Layout, reports: str | None = None) -> None:
        self.world = world
        self.r = world.rng("doc", name)
        self.raw_iri = f"{GEN}source/{name}"
        self.iri = f"<{self.raw_iri}>"
        self.sid = source_id(self.raw_iri)
        self.graph = _p(source_graph(self.sid))
        self.budget = budget
        self.name = name
        self.cls = cls
        self.publisher = world.entity(publisher)
        rel = self.r.choices("ABCDEF", (10, 35, 30, 12, 5, 8))[0]
        self.meta = [
            (_T, cls), (D["title"], _lit(title)), (D["publisher"], self.publisher.term),
            (D["issued"], _date(_d(issued))), (F["reliability"], _lit(rel)),
        ]
        if reports:
            self.meta.append((F["reports"], reports))
        if layout == "nquads":
            # What store.put_source adds: the id, and a submission time (fixed here: deterministic output).
            self.meta.append((D["identifier"], _lit(self.sid)))
            self.meta.append((D["dateSubmitted"], f'"{_d(min(issued + 1, _DMAX)).isoformat()}T09:00:00+00:00"^^{_XSD_DATETIME}'))
        self.marking = self.r.choices(_MARKINGS, (70, 15, 10, 3, 2))[0]
        self.body: list[tuple[str, str, str]] = []
        self.entity_triples = 0
        self.mentioned: set[tuple] = set()
        self.claims: list[ClaimRef] = []
        self.kinds: Counter[str] = Counter()
        self.full = False
        self.mention(publisher, self.body)

    @property
    def size(self) -> int:
        """Triples written for this document so far."""
        return len(self.meta) + len(self.body)

    def mention(self, key: tuple, out: list, seen: set | None = None) -> None:
        """Describe an entity the first time this document names it."""
        seen = self.mentioned if seen is None else seen
        if key in seen or key in self.mentioned:
            return
        seen.add(key)
        ent = self.world.entity(key)
        out.append((ent.term, _T, ent.cls))
        out.append((ent.term, _LABEL, _lit(ent.label)))
        for p, o in ent.extra:
            out.append((ent.term, p, o))
        for ref in ent.refs:
            self.mention(ref, out, seen)

    def claim(self, subj: tuple, kind: str, obj: tuple | str, *, evidence: str = "contextual", quote: str | None = None,
              frm: int | None = None, until: int | None = None, role: str | None = None, grade: str | None = None,
              conf: int | None = None) -> ClaimRef | None:
        """Add one claim (and the entities it names); None once the budget is spent."""
        if self.full:
            return None
        r = self.r
        block: list[tuple[str, str, str]] = []
        new: set[tuple] = set()
        self.mention(subj, block, new)
        if isinstance(obj, tuple):
            self.mention(obj, block, new)
            obj_term, obj_label = self.world.entity(obj).term, self.world.entity(obj).label
        else:
            obj_term, obj_label = obj, "claim"
        n_entity = len(block)
        term = _gen(f"claim/{self.name}/{len(self.claims) + 1}")
        if conf is None:
            lo, hi = _CONFIDENCE[evidence]
            conf = r.randint(lo, hi)
        if quote is None:
            quote = _sentence(r.choice(QUOTES[kind]).format(
                s=self.world.entity(subj).label, o=obj_label, role=_ROLE_WORDS.get(role or "", "member"),
                y=_d(frm).year if frm else 2016 + r.randrange(8), c=("high" if conf >= 70 else "moderate" if conf >= 30 else "low"),
                g=_GRADE_WORDS.get(F.get(grade or "", ""), "linked to")))
        block += [
            (term, _T, F["Claim"]), (term, F["claimSubject"], self.world.entity(subj).term),
            (term, F["claimPredicate"], F[kind]), (term, F["claimObject"], obj_term), (term, F["statedIn"], self.iri),
            (term, F["quote"], _lit(quote)), (term, F["confidence"], _int(conf)),
        ]
        if r.random() < 0.8:
            block.append((term, F["evidenceType"], _EVIDENCE[evidence]))
        marking = self.marking
        if r.random() < 0.05:  # a sensitive detail inside a less sensitive document
            marking = _MARKINGS[min(_MARKINGS.index(marking) + 1, len(_MARKINGS) - 1)]
        if marking != F["TLP_CLEAR"] or r.random() < 0.3:
            block.append((term, F["marking"], marking))
        if frm is not None:
            block.append((term, F["validFrom"], _date(_d(frm))))
        if until is not None:
            block.append((term, F["validUntil"], _date(_d(until))))
        if role is not None:
            block.append((term, F["role"], F[role]))
        if grade is not None:
            block.append((term, F["claimedGrade"], F[grade]))
        if self.size + len(block) > self.budget:
            self.full = True
            return None
        self.body += block
        self.entity_triples += n_entity
        self.mentioned |= new
        self.kinds[kind] += 1
        ref = ClaimRef(term, kind, subj, obj if isinstance(obj, tuple) else ("claim",), grade)
        self.claims.append(ref)
        return ref


# --------------------------------------------------------------------------------------
# Episodes: the sources that report on one campaign.


class Builder:
    """Turns the world into a stream of documents within a triple budget."""

    def __init__(self, world: World, layout: Layout) -> None:
        self.w = world
        self.layout = layout

    def doc(self, name: str, cls: str, budget: int, **kw: object) -> Doc:
        """A new document of this builder's layout."""
        return Doc(self.w, name, cls, budget=budget, layout=self.layout, **kw)  # type: ignore[arg-type]

    def profile(self, s: int, budget: int) -> Doc:
        """A country profile: organs, ruling parties, state media, official channels and their narratives."""
        w, st = self.w, self.w.state(s)
        r = w.rng("profile", s)
        d = self.doc(f"profile-{s:04d}", F["Report"], budget, issued=_D2016 - 30 + r.randint(0, 60),
                     publisher=("research", r.randrange(len(RESEARCH_ORGS))),
                     title=f"Country profile: the state apparatus and media ecosystem of {st.name}")
        for k in st.organs:
            d.claim(("organ", s, k), "organOf", ("state", s), evidence="contextual", conf=r.randint(85, 100))
        for party, frm, until in st.ruling:
            d.claim(("party", s, party), "rulingPartyOf", ("state", s), evidence="contextual", frm=frm, until=until,
                    conf=r.randint(85, 100))
        for k, (controller, n_accounts) in enumerate(st.media):
            d.claim(("media", s, k), "controlledBy", controller, evidence=r.choice(("contextual", "technical")))
            for j in range(n_accounts):
                d.claim(("media", s, k), "operates", ("maccount", s, k, j), evidence="technical", conf=r.randint(80, 100))
        for k in st.organs:
            if k not in _OVERT:
                continue
            target = ("state", s) if k == 0 else ("organ", s, k)
            d.claim(("official", s, k), "officialChannelOf", target, evidence="technical", conf=r.randint(90, 100))
            for n in r.sample(range(st.narratives), r.randint(1, 2)):
                d.claim(("official", s, k), "promotes", ("narrative", s, n), evidence="behavioural")
        return d

    def episode(self, e: int, remaining: "callable[[], int]", *, extra: bool = False) -> Iterator[Doc]:  # noqa: F821
        """The documents of episode ``e``: a report, relaying articles, a second opinion, a denial."""
        w = self.w
        r = w.rng("episode-extra" if extra else "episode", e)
        # An extra report is about one of the first campaigns: those every graph of this size holds.
        c = e if (e < w.n_campaigns and not extra) else r.randrange(w.n_campaigns if not extra else max(1, w.n_campaigns // 3))
        cr, tag = w.campaign(c), f"{'x' if extra else ''}{e:06d}"
        op = w.operator(cr.operator)
        camp = ("campaign", c)
        sponsor = w.state_name(cr.sponsor)
        issued = min(cr.until + r.randint(3, 120), _DMAX)
        takedown = r.random() < 0.2 and op.kind not in ("official", "media")
        if takedown:
            platform = w.entity(op.accounts[0]).refs[0]
            report = self.doc(f"takedown-{tag}", F["Report"], remaining(), issued=issued, publisher=platform,
                              title=f"Adversarial threat report: a network from {sponsor} removed for coordinated inauthentic behaviour")
        else:
            report = self.doc(f"report-{tag}", F["Report"], remaining(), issued=issued,
                              publisher=("research", r.randrange(len(RESEARCH_ORGS))),
                              title=f"{cr.hashtags[0]}: a coordinated campaign against {w.state_name(cr.rival)}")
        # The first report on an operator's first campaign exposes its ties; later ones seldom repeat them
        # (each repetition is one more premise, and the rules derive one link per premise combination).
        self.campaign_claims(report, cr, op, takedown, first=not extra and c == e and c == cr.operator)
        yield report
        if extra:
            return
        for a in range(r.choice((0, 1, 1, 2, 3))):
            if remaining() < 40:
                return
            outlet = r.randrange(len(NEWS_OUTLETS))
            art = self.doc(f"article-{tag}-{a}", F["Article"], remaining(), issued=min(issued + r.randint(0, 3), _DMAX),
                           publisher=("outlet", outlet), reports=report.iri,
                           title=f"Report links {cr.hashtags[0]} campaign to {sponsor}")
            pub = report.publisher.label
            for ref in report.claims:
                if ref.kind in ("conducts", "attributedTo", "notDirectlyLinkedTo", "targets") or (ref.kind == "usesAccount" and r.random() < 0.1):
                    q = r.choice(RELAY).format(p=pub) + _relayed(r.choice(QUOTES[ref.kind]).format(
                        s=w.entity(ref.subj).label, o=w.entity(ref.obj).label, role="member", y=2020, c="moderate",
                        g=_GRADE_WORDS.get(F.get(ref.grade or "", ""), "linked to")))
                    art.claim(ref.subj, ref.kind, ref.obj, quote=q, grade=ref.grade, evidence="contextual")
            yield art
        if r.random() < 0.2 and remaining() >= 40:  # a second opinion that could not link it directly
            second = self.doc(f"report-{tag}-b", F["Report"], remaining(), issued=min(issued + r.randint(10, 200), _DMAX),
                              publisher=("research", r.randrange(len(RESEARCH_ORGS))),
                              title=f"Revisiting the {cr.hashtags[0]} campaign")
            for t in cr.targets[:1]:
                second.claim(camp, "targets", t, evidence="contextual")
            for acc in cr.accounts[: r.randint(1, 5)]:
                second.claim(camp, "usesAccount", acc, evidence="behavioural")
            target = ("organ", cr.sponsor, 0) if r.random() < 0.6 else ("state", cr.sponsor)
            second.claim(camp, "notDirectlyLinkedTo", target, evidence="technical")
            yield second
        accusations = [ref for ref in report.claims if ref.kind in ("attributedTo", "conducts")]
        if accusations and r.random() < 0.4 and remaining() >= 40:  # the accused state denies
            mfa = ("organ", cr.sponsor, 1)
            stmt = self.doc(f"statement-{tag}", F["OfficialStatement"], remaining(),
                            issued=min(issued + r.randint(1, 7), _DMAX), publisher=mfa,
                            title=f"Statement of the {w.entity(mfa).label} on unfounded allegations")
            for ref in accusations[:2]:
                stmt.claim(mfa, "disputes", ref.term, evidence="contextual", conf=r.randint(5, 40))
            yield stmt

    def campaign_claims(self, d: Doc, cr: CampaignRec, op: OperatorRec, takedown: bool, *, first: bool) -> None:
        """What a report on a campaign states, most important first (a budget cut drops the tail)."""
        w, r = self.w, d.r
        camp = ("campaign", cr.c)
        for t in cr.targets:
            d.claim(camp, "targets", t, evidence="contextual")
        if r.random() < 0.75:
            d.claim(op.actor, "conducts", camp, evidence=r.choice(("behavioural", "technical")), frm=None)
        for f in op.facts:
            if r.random() < (0.95 if first else 0.1):
                d.claim(f.subj, f.kind, f.obj, evidence=f.evidence, frm=f.frm, until=f.until, role=f.role)
        for f in op.facts:  # organOf restated now and then (kept rare: each copy multiplies lifted links)
            if f.obj[0] == "organ" and r.random() < 0.05:
                d.claim(f.obj, "organOf", ("state", f.obj[1]), conf=r.randint(85, 100))
        # A report names a handful of the campaign's accounts; a takedown report lists the whole network.
        accounts = op.accounts if takedown else cr.accounts
        named = set(r.sample(range(len(accounts)), min(len(accounts), 5 if takedown else 8)))
        for i, acc in enumerate(accounts):
            if i in named:
                d.claim(camp, "usesAccount", acc, evidence=r.choice(("technical", "behavioural")))
            if acc[0] == "official":
                if r.random() < 0.1:
                    target = ("state", acc[1]) if acc[2] == 0 else ("organ", acc[1], acc[2])
                    d.claim(acc, "officialChannelOf", target, evidence="technical", conf=r.randint(90, 100))
            elif acc[0] != "maccount" and acc in op.accounts and (takedown or r.random() < 0.5):
                d.claim(op.actor, "operates", acc, evidence="technical")
            if r.random() < (0.1 if takedown else 0.04):
                d.claim(acc, "promotes", r.choice(cr.narratives), evidence="behavioural")
        for n in cr.narratives:
            d.claim(camp, "promotes", n, evidence="behavioural")
        for t in cr.techniques:
            d.claim(camp, "usesTechnique", ("technique", t), evidence="behavioural")
        if r.random() < 0.3:
            d.claim(("context", cr.c), "contextOf", camp, evidence="contextual")
        if r.random() < 0.25:
            d.claim(("organ", cr.rival, 1), "respondsTo", camp, evidence="contextual", conf=r.randint(80, 100))
        if r.random() < (0.15 if op.kind == "independent" else 0.5):
            grade = op.grade
            if r.random() < 0.15 and grade != "StateOfficial":  # sources sometimes claim more than the evidence shows
                grade = ("StateOfficial", "StateControlled", "StateLinked", "PartyLinked", "StateAligned")[
                    ("StateOfficial", "StateControlled", "StateLinked", "PartyLinked", "StateAligned").index(grade) - 1]
            subj = op.actor if (takedown or r.random() < 0.3) and op.actor[0] != "organ" else camp
            d.claim(subj, "attributedTo", op.attribution_target, evidence=r.choice(("technical", "behavioural", "contextual")), grade=grade)
        if r.random() < 0.2:
            target = ("organ", cr.sponsor, 0) if r.random() < 0.6 else ("state", cr.sponsor)
            d.claim(camp, "notDirectlyLinkedTo", target, evidence="technical")


# --------------------------------------------------------------------------------------
# Writing.

_COMPACT = [(re.compile(r"<" + re.escape(ns) + r"([A-Za-z_][A-Za-z0-9_-]*)>"), prefix + r":\1")
            for prefix, ns in PREFIXES.items() if prefix in ("fimi", "rdf", "rdfs", "xsd", "dcterms")]
_TTL_HEADER = "".join(f"@prefix {p}: <{PREFIXES[p]}> .\n" for p in ("fimi", "rdf", "rdfs", "xsd", "dcterms"))


def _compact(line: str) -> str:
    for pattern, repl in _COMPACT:
        line = pattern.sub(repl, line)
    return line


def turtle(doc: Doc) -> str:
    """One document as Turtle: the source's description first, then its claims and entities."""
    lines = [_TTL_HEADER, f"\n# {doc.sid}\n"]
    lines += [_compact(f"{doc.iri} {p} {o} .\n") for p, o in doc.meta]
    lines.append("\n")
    lines += [_compact(f"{s} {p} {o} .\n") for s, p, o in doc.body]
    return "".join(lines)


def nquads(doc: Doc) -> str:
    """One document as N-Quads: its description in the metadata graph, the rest in its own graph."""
    g = doc.graph
    meta = "".join(f"{doc.iri} {p} {o} {_SOURCES_G} .\n" for p, o in doc.meta)
    return meta + "".join(f"{s} {p} {o} {g} .\n" for s, p, o in doc.body)


@dataclass
class GenerateStats:
    """What one run of :func:`generate` wrote."""

    triples: int = 0
    sources: int = 0
    claims: int = 0
    bytes: int = 0
    seconds: float = 0.0
    states: int = 0
    campaigns: int = 0
    metadata_triples: int = 0
    entity_triples: int = 0
    claim_triples: int = 0
    claims_by_kind: dict[str, int] = field(default_factory=dict)
    sources_by_type: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready view."""
        return dict(self.__dict__)


def parse_count(text: str | int) -> int:
    """'1k', '100k', '1M', '2.5M' or a plain number of triples."""
    if isinstance(text, int):
        return text
    t = text.strip().lower().replace("_", "")
    mult = {"k": 1_000, "m": 1_000_000, "g": 1_000_000_000}.get(t[-1:], 1)
    return int(float(t[:-1] if mult != 1 else t) * mult)


_MIN_DOC = 24


def iter_documents(*, triples: int, seed: int = 0, layout: Layout = "nquads") -> Iterator[Doc]:
    """The documents of a graph of about ``triples`` triples, in order (each built on demand)."""
    world = World(seed, triples)
    builder = Builder(world, layout)
    written = 0
    profiled: set[int] = set()

    def remaining() -> int:
        return triples - written

    e = 0
    while remaining() >= _MIN_DOC:
        produced = False
        sponsor = world.campaign(e if e < world.n_campaigns else world.rng("episode", e).randrange(world.n_campaigns)).sponsor
        # The first report on a state's operations comes with a profile of that state.
        if sponsor not in profiled:
            profiled.add(sponsor)
            doc = builder.profile(sponsor, remaining())
            if doc.claims:
                written += doc.size
                produced = True
                yield doc
        for doc in builder.episode(e, remaining):
            if remaining() < _MIN_DOC:
                break
            if doc.claims:
                written += doc.size
                produced = True
                yield doc
        if not produced:
            break
        e += 1


def generate(out: Path | str | TextIO, *, triples: int | str, seed: int = 0, layout: Layout = "nquads") -> GenerateStats:
    """Write a synthetic FIMI graph of about ``triples`` triples (±5 %), deterministic for ``seed``.

    ``layout="nquads"``: ``out`` is a file (``.gz`` compresses; ``"-"`` is stdout) or an open text
    stream, holding one named graph per source plus the metadata graph, ready for bulk loading.
    ``layout="documents"``: ``out`` is a folder that receives one Turtle file per source.
    """
    target = parse_count(triples)
    if target < 1:
        raise ValueError("triples must be at least 1")
    started = time.perf_counter()
    stats = GenerateStats()
    kinds: Counter[str] = Counter()
    types: Counter[str] = Counter()
    world_probe = World(seed, target)
    stats.states, stats.campaigns = world_probe.n_states, world_probe.n_campaigns
    stream: TextIO | None = None
    close = False
    folder: Path | None = None
    raw = None
    if layout == "documents":
        if not isinstance(out, (str, Path)):
            raise ValueError("layout='documents' writes a folder: pass a path")
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
    elif layout == "nquads":
        if isinstance(out, (str, Path)):
            if str(out) == "-":
                stream = sys.stdout
            elif str(out).endswith(".gz"):
                # No name and mtime=0 in the header: the same seed gives the same bytes, compressed or not.
                raw = open(out, "wb")  # noqa: SIM115
                stream = io.TextIOWrapper(gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0), encoding="utf-8", newline="\n")
                close = True
            else:
                stream = open(out, "w", encoding="utf-8", newline="\n")  # noqa: SIM115
                close = True
        else:
            stream = out
    else:
        raise ValueError(f"unknown layout {layout!r}; choose 'nquads' or 'documents'")
    try:
        for doc in iter_documents(triples=target, seed=seed, layout=layout):
            if folder is not None:
                text = turtle(doc)
                (folder / f"{doc.sid}.ttl").write_text(text, encoding="utf-8")
            else:
                text = nquads(doc)
                assert stream is not None
                stream.write(text)
            stats.bytes += len(text.encode("utf-8")) if folder is not None else len(text)
            stats.triples += doc.size
            stats.sources += 1
            stats.claims += len(doc.claims)
            stats.metadata_triples += len(doc.meta)
            stats.entity_triples += doc.entity_triples
            kinds.update(doc.kinds)
            types[doc.cls.rsplit("#", 1)[-1].rstrip(">")] += 1
    finally:
        if close and stream is not None:
            stream.close()
            if raw is not None:
                raw.close()
        elif stream is not None:
            stream.flush()
    stats.claim_triples = stats.triples - stats.metadata_triples - stats.entity_triples
    stats.claims_by_kind = dict(sorted(kinds.items()))
    stats.sources_by_type = dict(sorted(types.items()))
    stats.seconds = round(time.perf_counter() - started, 3)
    return stats


def extra_source(*, triples: int | str, seed: int = 0, n: int = 0, budget: int = 900) -> tuple[str, str]:
    """A further report on a campaign of the graph ``generate(triples=…, seed=…)`` wrote, not part of it.

    Returns the source IRI and the document as Turtle (≤ ``budget`` triples): for benchmarks and
    tests of ingesting or retracting one source on top of a generated graph.
    """
    world = World(seed, parse_count(triples))
    doc = next(Builder(world, "documents").episode(n, lambda: budget, extra=True))
    return doc.raw_iri, turtle(doc)


def main(argv: list[str] | None = None) -> int:
    """``python -m fimigraph.generate --triples 100k --seed 1 -o graph.nq`` (until the CLI wires it)."""
    import argparse
    import json

    parser = argparse.ArgumentParser(prog="python -m fimigraph.generate", description=main.__doc__)
    parser.add_argument("--triples", required=True, help="about how many triples: 1k, 100k, 1M, 10M, …")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--output", default="-", help="N-Quads file (.gz compresses; - is stdout), or a folder with --documents")
    parser.add_argument("--documents", action="store_true", help="one Turtle document per source in the folder -o")
    opts = parser.parse_args(argv)
    stats = generate(opts.output, triples=opts.triples, seed=opts.seed, layout="documents" if opts.documents else "nquads")
    print(json.dumps(stats.as_dict()), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["GEN", "GenerateStats", "World", "extra_source", "generate", "iter_documents", "main", "nquads", "parse_count", "turtle"]
