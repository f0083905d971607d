"""Small random FIMI worlds for the native engine's tests, split into source documents.

Seeded and deterministic. Each world has states, organs, a ruling party with an interval
(sometimes expired), people and organizations that work for organs, parties and outlets
(with cycles), outlets controlled by states or organs, accounts and their operators,
campaigns that use accounts, official channels and the narratives they promote, negative
findings, source attributions with a claimed grade, disputes, activity periods, validity
intervals (some empty) and TLP markings. Entities are typed in every source that mentions
them, but not always (a type may arrive with a later source), so the store holds the same
triple in several graphs, as real ingests do.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, RDF, XSD

from fimigraph.vocab import FIMI

MARKINGS = [None, None, None, FIMI.TLP_CLEAR, FIMI.TLP_GREEN, FIMI.TLP_AMBER, FIMI.TLP_AMBER_STRICT, FIMI.TLP_RED]
GRADES = [FIMI.StateOfficial, FIMI.StateControlled, FIMI.StateLinked, FIMI.PartyLinked, FIMI.StateAligned]
# Confidences whose products round at .5 (half up), and the extremes.
CONFIDENCES = [0, 1, 10, 33, 50, 55, 65, 75, 85, 90, 95, 99, 100]


@dataclass(frozen=True)
class Source:
    """One source document: its IRI, metadata graph and claims graph (as ingest writes them)."""

    iri: str
    metadata: Graph
    claims: Graph


def _date(rng: random.Random) -> Literal:
    return Literal(f"{rng.randint(2010, 2026)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}", datatype=XSD.date)


def random_world(seed: int, *, claims: int = 45, sources: int = 6) -> list[Source]:
    """A random world of about ``claims`` claims spread over ``sources`` documents."""
    rng = random.Random(seed)
    ex = Namespace(f"https://example.org/world{seed}/")
    pools: dict[str, list[tuple[URIRef, URIRef]]] = {
        "state": [(ex[f"state{i}"], FIMI.State) for i in range(2)],
        "organ": [(ex[f"organ{i}"], FIMI.StateOrgan) for i in range(3)],
        "party": [(ex[f"party{i}"], FIMI.PoliticalParty) for i in range(2)],
        "media": [(ex[f"outlet{i}"], FIMI.MediaOutlet) for i in range(2)],
        "org": [(ex["company"], FIMI.Company), (ex["ngo"], FIMI.NGO)],
        "person": [(ex[f"person{i}"], FIMI.Person) for i in range(4)],
        "account": [(ex[f"account{i}"], FIMI.Account) for i in range(5)],
        "campaign": [(ex[f"campaign{i}"], FIMI.Campaign) for i in range(2)],
        "narrative": [(ex[f"narrative{i}"], FIMI.Narrative) for i in range(3)],
    }
    kinds = [
        # (weight, kind, subject pools, object pools)
        (3, FIMI.organOf, ["organ"], ["state"]),
        (1, FIMI.rulingPartyOf, ["party"], ["state"]),
        (2, FIMI.controlledBy, ["media", "org"], ["state", "organ", "org"]),
        (3, FIMI.employedBy, ["person"], ["organ", "media", "org"]),
        (3, FIMI.affiliatedWith, ["person", "org", "media"], ["party", "media", "org", "person", "organ"]),
        (1, FIMI.contractedBy, ["org", "person"], ["organ", "state"]),
        (5, FIMI.operates, ["person", "org", "media", "organ", "state"], ["account"]),
        (2, FIMI.conducts, ["person", "org", "organ"], ["campaign"]),
        (3, FIMI.usesAccount, ["campaign"], ["account"]),
        (2, FIMI.officialChannelOf, ["account"], ["state", "organ"]),
        (4, FIMI.promotes, ["account", "campaign", "person"], ["narrative"]),
        (2, FIMI.notDirectlyLinkedTo, ["campaign", "account", "person"], ["state", "organ"]),
        (2, FIMI.attributedTo, ["campaign", "account"], ["state", "organ"]),
    ]
    weights = [k[0] for k in kinds]
    types = {iri: cls for pool in pools.values() for iri, cls in pool}
    docs: list[dict] = [
        {"iri": ex[f"report{k}"], "claims": [], "mentions": set()} for k in range(sources)
    ]
    made: list[URIRef] = []
    for n in range(claims):
        _w, kind, spools, opools = rng.choices(kinds, weights)[0]
        s = rng.choice(pools[rng.choice(spools)])[0]
        o = rng.choice(pools[rng.choice(opools)])[0]
        if s == o:
            continue
        doc = rng.choice(docs)
        c = ex[f"claim{n}"]
        triples = [
            (c, RDF.type, FIMI.Claim), (c, FIMI.claimSubject, s), (c, FIMI.claimPredicate, kind), (c, FIMI.claimObject, o),
            (c, FIMI.statedIn, doc["iri"]), (c, FIMI.quote, Literal(f"quote {n}")),
            (c, FIMI.confidence, Literal(rng.choice(CONFIDENCES), datatype=XSD.integer)),
        ]
        marking = rng.choice(MARKINGS)
        if marking is not None:
            triples.append((c, FIMI.marking, marking))
        if kind == FIMI.rulingPartyOf or rng.random() < 0.25:
            triples.append((c, FIMI.validFrom, _date(rng)))
        if kind == FIMI.rulingPartyOf or rng.random() < 0.2:
            triples.append((c, FIMI.validUntil, _date(rng)))  # may end before it starts, or before another step
        if kind == FIMI.attributedTo:
            triples.append((c, FIMI.claimedGrade, rng.choice(GRADES)))
        doc["claims"].extend(triples)
        doc["mentions"].update([s, o])
        made.append(c)
    # Disputes: a state's official statement disputes some claims.
    for k, target in enumerate(rng.sample(made, min(3, len(made)))):
        doc = rng.choice(docs)
        c = ex[f"dispute{k}"]
        state = rng.choice(pools["state"])[0]
        doc["claims"].extend([
            (c, RDF.type, FIMI.Claim), (c, FIMI.claimSubject, state), (c, FIMI.claimPredicate, FIMI.disputes),
            (c, FIMI.claimObject, target), (c, FIMI.statedIn, doc["iri"]), (c, FIMI.quote, Literal("we deny")),
            (c, FIMI.confidence, Literal(rng.choice(CONFIDENCES), datatype=XSD.integer)),
        ])
        if rng.random() < 0.5:
            doc["claims"].append((c, FIMI.marking, rng.choice(MARKINGS[3:])))
        doc["mentions"].add(state)
    out = []
    for doc in docs:
        meta, claims_g = Graph(), Graph()
        meta.add((doc["iri"], RDF.type, FIMI.Report))
        meta.add((doc["iri"], DCTERMS.title, Literal(f"Report {doc['iri'].rsplit('/', 1)[-1]}")))
        meta.add((doc["iri"], DCTERMS.publisher, Literal("Test publisher")))
        for t in doc["claims"]:
            claims_g.add(t)
        for e in sorted(doc["mentions"]):
            if rng.random() < 0.85:
                claims_g.add((e, RDF.type, types[e]))
            if types[e] in (FIMI.Account, FIMI.Campaign, FIMI.Person) and rng.random() < 0.2:
                claims_g.add((e, FIMI.activeFrom, _date(rng)))
            if types[e] in (FIMI.Account, FIMI.Campaign) and rng.random() < 0.15:
                claims_g.add((e, FIMI.activeUntil, _date(rng)))
        if len(claims_g):
            out.append(Source(str(doc["iri"]), meta, claims_g))
    return out


def merged(sources: list[Source]) -> Graph:
    """All sources' triples in one graph."""
    g = Graph()
    for s in sources:
        for t in s.metadata:
            g.add(t)
        for t in s.claims:
            g.add(t)
    return g
