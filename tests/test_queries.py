"""Every analyst query in data/queries is documented and answers on the seed case with the expected rows.

The expected rows were recorded from the queries as first written (before they were reshaped for
speed on large stores), so a rewrite that changes an answer fails here. Terms are compared in a
short, stable form: inferred-node IRIs (hashes of rule and premises) and ingest times are
placeholders, the case namespace is ``case:``, long strings are cut, and list columns
(GROUP_CONCAT) are sorted.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from rdflib import Graph
from support import CASE, QUERIES, SEED_DIR, denial

from fimigraph.ingest import ingest
from fimigraph.store import GraphStore

XSD = "http://www.w3.org/2001/XMLSchema#"
SHORT = {
    "https://w3id.org/fimigraph/case/boycottparis2024/": "case:",
    "https://w3id.org/fimigraph/graph/": "graph:",
    "https://w3id.org/fimigraph/rules/": "rules:",
}
LISTS = {"accountLabels", "platforms", "sources", "targets"}  # GROUP_CONCAT columns: their order is not defined


def _short(text: str) -> str:
    for namespace, prefix in SHORT.items():
        text = text.replace(namespace, prefix)
    return text


def render(term: Any, variable: str) -> Any:
    """One answer term in the short form the expected rows are written in."""
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        if term.value.startswith("https://w3id.org/fimigraph/inferred/"):
            return "inferred:*"
        return _short(term.value)
    if isinstance(term, ox.Literal):
        datatype = term.datatype.value
        if datatype == XSD + "integer":
            return int(term.value)
        if datatype == XSD + "boolean":
            return term.value == "true"
        if datatype == XSD + "dateTime":
            return "<dateTime>"
        text = term.value
        if variable in LISTS:
            text = " | ".join(sorted(text.split(" | ")))
        text = _short(text)
        return text if len(text) <= 40 else text[:37] + "..."
    return str(term)


# The campaign's own columns in query 11, the same on every row.
CAMPAIGN = ('2023-07-26', '2023-07-27', '#boycottparis2024', 'seen by millions of people', 'pictures and a video showing clashes ...')

# query -> (its variables, the projected ORDER BY keys, its rows on the seed case in answer order)
EXPECTED: dict[str, tuple[tuple[str, ...], tuple[str, ...], list[tuple[Any, ...]]]] = {
    '01-links-to-state-by-grade': (
        (
            'subject', 'subjectLabel', 'state', 'stateLabel', 'grade', 'rank', 'directness', 'confidence',
            'viaPath', 'validFrom', 'validUntil', 'marking', 'negativeFinding', 'link',
        ),
        ('stateLabel', 'rank', 'confidence', 'subjectLabel'),
        [
            (
                'case:presidential-party', 'the Azeri presidential party', 'case:azerbaijan', 'Azerbaijan',
                'party-linked', 4, 'direct', 75, '', None, None, 'TLP:CLEAR', False, 'inferred:*',
            ),
            (
                'case:azerbaijani-individual', 'an Azerbaijani individual (unnamed)', 'case:azerbaijan',
                'Azerbaijan', 'party-linked', 4, 'inferred', 53, 'case:presidential-party', None, None,
                'TLP:CLEAR', False, 'inferred:*',
            ),
            (
                'case:x-account', 'X account of an Azerbaijani individua...', 'case:azerbaijan', 'Azerbaijan',
                'party-linked', 4, 'inferred', 40, 'case:azerbaijani-individual case:pres...', None, None,
                'TLP:CLEAR', True, 'inferred:*',
            ),
            (
                'case:campaign', '#boycottparis2024 campaign', 'case:azerbaijan', 'Azerbaijan',
                'party-linked', 4, 'inferred', 32, 'case:x-account case:azerbaijani-indiv...', '2023-07-26',
                '2023-07-27', 'TLP:CLEAR', True, 'inferred:*',
            ),
        ],
    ),
    '02-negative-findings': (
        (
            'subject', 'subjectLabel', 'target', 'targetLabel', 'directness', 'confidence', 'sourceTitle',
            'quote', 'strongestGradeBeside', 'finding',
        ),
        ('subjectLabel', 'directness'),
        [
            (
                'case:campaign', '#boycottparis2024 campaign', 'case:azerbaijan', 'Azerbaijan', 'inferred',
                76, '[Viginum report on the #boycottparis2...', 'However, Viginum said it had not been...',
                'party-linked', 'inferred:*',
            ),
            (
                'case:x-account', 'X account of an Azerbaijani individua...', 'case:azerbaijan', 'Azerbaijan',
                'inferred', 61, '[Viginum report on the #boycottparis2...',
                'However, Viginum said it had not been...', 'party-linked', 'inferred:*',
            ),
        ],
    ),
    '03-chain-behind-link': (
        (
            'link', 'linkGrade', 'linkViaPath', 'premiseIs', 'premise', 'rule', 'grade', 'fromLabel', 'kind',
            'toLabel', 'confidence', 'sourceTitle', 'quote',
        ),
        ('link', 'premiseIs', 'fromLabel'),
        [
            (
                'inferred:*', 'party-linked', 'case:x-account case:azerbaijani-indiv...', 'inference',
                'inferred:*', 'rules:chain', 'party-linked', 'X account of an Azerbaijani individua...',
                'linked to', 'Azerbaijan', 40, None, None,
            ),
            (
                'inferred:*', 'party-linked', 'case:x-account case:azerbaijani-indiv...', 'inference',
                'inferred:*', 'rules:chain', 'party-linked', 'an Azerbaijani individual (unnamed)',
                'linked to', 'Azerbaijan', 53, None, None,
            ),
            (
                'inferred:*', 'party-linked', 'case:x-account case:azerbaijani-indiv...', 'inference',
                'inferred:*', 'rules:ruling-party', 'party-linked', 'the Azeri presidential party',
                'linked to', 'Azerbaijan', 75, None, None,
            ),
            (
                'inferred:*', 'party-linked', 'case:x-account case:azerbaijani-indiv...', 'claim',
                'case:claim/viginum-campaign-uses-account', None, None, '#boycottparis2024 campaign',
                'uses account', 'X account of an Azerbaijani individua...', 80,
                '[Viginum report on the #boycottparis2...', 'the campaign ran from July 26-27 on a...',
            ),
            (
                'inferred:*', 'party-linked', 'case:x-account case:azerbaijani-indiv...', 'claim',
                'case:claim/viginum-individual-affiliated-with-party', None, None,
                'an Azerbaijani individual (unnamed)', 'affiliated with', 'the Azeri presidential party', 70,
                '[Viginum report on the #boycottparis2...', 'an Azerbaijani individual on social m...',
            ),
            (
                'inferred:*', 'party-linked', 'case:x-account case:azerbaijani-indiv...', 'claim',
                'case:claim/viginum-individual-operates-account', None, None,
                'an Azerbaijani individual (unnamed)', 'operates', 'X account of an Azerbaijani individua...',
                75, '[Viginum report on the #boycottparis2...', 'on an account of an Azerbaijani indiv...',
            ),
            (
                'inferred:*', 'party-linked', 'case:x-account case:azerbaijani-indiv...', 'claim',
                'case:claim/viginum-party-ruling-party-of-azerbaijan', None, None,
                'the Azeri presidential party', 'ruling party of', 'Azerbaijan', 75,
                '[Viginum report on the #boycottparis2...', 'with links to the Azeri presidential ...',
            ),
        ],
    ),
    '04-sources-behind-conclusion': (
        (
            'subjectLabel', 'stateLabel', 'conclusion', 'grade', 'kind', 'claimConfidence', 'evidence',
            'sourceTitle', 'publisher', 'reliability', 'relayedBy', 'quote', 'claim',
        ),
        ('conclusion', 'grade', 'sourceTitle', 'kind'),
        [
            (
                '#boycottparis2024 campaign', 'Azerbaijan', 'link', 'party-linked', 'affiliated with', 70,
                'contextual', '[Viginum report on the #boycottparis2...', 'Viginum', 'B',
                'French report flags Azeri-linked disi...', 'an Azerbaijani individual on social m...',
                'case:claim/viginum-individual-affiliated-with-party',
            ),
            (
                '#boycottparis2024 campaign', 'Azerbaijan', 'link', 'party-linked', 'operates', 75,
                'technical', '[Viginum report on the #boycottparis2...', 'Viginum', 'B',
                'French report flags Azeri-linked disi...', 'on an account of an Azerbaijani indiv...',
                'case:claim/viginum-individual-operates-account',
            ),
            (
                '#boycottparis2024 campaign', 'Azerbaijan', 'link', 'party-linked', 'ruling party of', 75,
                'contextual', '[Viginum report on the #boycottparis2...', 'Viginum', 'B',
                'French report flags Azeri-linked disi...', 'with links to the Azeri presidential ...',
                'case:claim/viginum-party-ruling-party-of-azerbaijan',
            ),
            (
                '#boycottparis2024 campaign', 'Azerbaijan', 'link', 'party-linked', 'uses account', 80,
                'technical', '[Viginum report on the #boycottparis2...', 'Viginum', 'B',
                'French report flags Azeri-linked disi...', 'the campaign ran from July 26-27 on a...',
                'case:claim/viginum-campaign-uses-account',
            ),
            (
                '#boycottparis2024 campaign', 'Azerbaijan', 'negative finding', None,
                'not directly linked to', 80, 'technical', '[Viginum report on the #boycottparis2...',
                'Viginum', 'B', 'French report flags Azeri-linked disi...',
                'However, Viginum said it had not been...',
                'case:claim/viginum-campaign-not-directly-linked-to-authorities',
            ),
            (
                '#boycottparis2024 campaign', 'Azerbaijan', 'negative finding', None, 'organ of', 95,
                'contextual', '[Viginum report on the #boycottparis2...', 'Viginum', 'B',
                'French report flags Azeri-linked disi...', 'the Azerbaijani authorities',
                'case:claim/viginum-authorities-organ-of-azerbaijan',
            ),
        ],
    ),
    '05-conflicts': (
        (
            'kind', 'subjectLabel', 'stateLabel', 'side', 'sideType', 'sideGrade', 'sourceTitle', 'quote',
            'conflict',
        ),
        ('kind', 'subjectLabel', 'sideType', 'sourceTitle'),
        [
            (
                'link-beside-negative-finding', '#boycottparis2024 campaign', 'Azerbaijan', 'inferred:*',
                'attribution link', 'party-linked', '[Viginum report on the #boycottparis2...',
                'with links to the Azeri presidential ...', None,
            ),
            (
                'link-beside-negative-finding', '#boycottparis2024 campaign', 'Azerbaijan', 'inferred:*',
                'attribution link', 'party-linked', '[Viginum report on the #boycottparis2...',
                'the campaign ran from July 26-27 on a...', None,
            ),
            (
                'link-beside-negative-finding', '#boycottparis2024 campaign', 'Azerbaijan', 'inferred:*',
                'attribution link', 'party-linked', '[Viginum report on the #boycottparis2...',
                'on an account of an Azerbaijani indiv...', None,
            ),
            (
                'link-beside-negative-finding', '#boycottparis2024 campaign', 'Azerbaijan', 'inferred:*',
                'attribution link', 'party-linked', '[Viginum report on the #boycottparis2...',
                'an Azerbaijani individual on social m...', None,
            ),
            (
                'link-beside-negative-finding', '#boycottparis2024 campaign', 'Azerbaijan', 'inferred:*',
                'negative finding', None, '[Viginum report on the #boycottparis2...',
                'However, Viginum said it had not been...', None,
            ),
            (
                'link-beside-negative-finding', '#boycottparis2024 campaign', 'Azerbaijan', 'inferred:*',
                'negative finding', None, '[Viginum report on the #boycottparis2...',
                'the Azerbaijani authorities', None,
            ),
            (
                'link-beside-negative-finding', 'X account of an Azerbaijani individua...', 'Azerbaijan',
                'inferred:*', 'attribution link', 'party-linked', '[Viginum report on the #boycottparis2...',
                'with links to the Azeri presidential ...', None,
            ),
            (
                'link-beside-negative-finding', 'X account of an Azerbaijani individua...', 'Azerbaijan',
                'inferred:*', 'attribution link', 'party-linked', '[Viginum report on the #boycottparis2...',
                'on an account of an Azerbaijani indiv...', None,
            ),
            (
                'link-beside-negative-finding', 'X account of an Azerbaijani individua...', 'Azerbaijan',
                'inferred:*', 'attribution link', 'party-linked', '[Viginum report on the #boycottparis2...',
                'an Azerbaijani individual on social m...', None,
            ),
            (
                'link-beside-negative-finding', 'X account of an Azerbaijani individua...', 'Azerbaijan',
                'inferred:*', 'negative finding', None, '[Viginum report on the #boycottparis2...',
                'However, Viginum said it had not been...', None,
            ),
            (
                'link-beside-negative-finding', 'X account of an Azerbaijani individua...', 'Azerbaijan',
                'inferred:*', 'negative finding', None, '[Viginum report on the #boycottparis2...',
                'the Azerbaijani authorities', None,
            ),
            (
                'link-beside-negative-finding', 'X account of an Azerbaijani individua...', 'Azerbaijan',
                'inferred:*', 'negative finding', None, '[Viginum report on the #boycottparis2...',
                'the campaign ran from July 26-27 on a...', None,
            ),
        ],
    ),
    '06-accounts-sharing-operator': (
        (
            'operator', 'operatorLabel', 'accounts', 'accountLabels', 'platforms', 'sources', 'operatorGrade',
        ),
        ('accounts', 'operatorLabel'),
        [
            (
                'case:azerbaijani-individual', 'an Azerbaijani individual (unnamed)', 1,
                'X account of an Azerbaijani individua...', 'X, formerly Twitter',
                '[Viginum report on the #boycottparis2...', 'party-linked',
            ),
        ],
    ),
    '07-source-contribution': (
        (
            'id', 'what', 'node', 'kind', 'fromLabel', 'toLabel', 'grade', 'quote', 'graph',
        ),
        ('what', 'kind', 'fromLabel'),
        [
            (
                'viginum-report-fa3ea016', 'attribution link', 'inferred:*', 'chain',
                '#boycottparis2024 campaign', 'Azerbaijan', 'party-linked', None,
                'graph:source/viginum-report-fa3ea016',
            ),
            (
                'viginum-report-fa3ea016', 'attribution link', 'inferred:*', 'chain',
                'X account of an Azerbaijani individua...', 'Azerbaijan', 'party-linked', None,
                'graph:source/viginum-report-fa3ea016',
            ),
            (
                'viginum-report-fa3ea016', 'attribution link', 'inferred:*', 'chain',
                'an Azerbaijani individual (unnamed)', 'Azerbaijan', 'party-linked', None,
                'graph:source/viginum-report-fa3ea016',
            ),
            (
                'viginum-report-fa3ea016', 'attribution link', 'inferred:*', 'ruling-party',
                'the Azeri presidential party', 'Azerbaijan', 'party-linked', None,
                'graph:source/viginum-report-fa3ea016',
            ),
            (
                'viginum-report-fa3ea016', 'claim', 'case:claim/viginum-individual-affiliated-with-party',
                'affiliated with', 'an Azerbaijani individual (unnamed)', 'the Azeri presidential party',
                None, 'an Azerbaijani individual on social m...', 'graph:source/viginum-report-fa3ea016',
            ),
            (
                'viginum-report-fa3ea016', 'claim', 'case:claim/viginum-foreign-actor-conducts-campaign',
                'conducts', 'a foreign actor close to Azerbaijan (...', '#boycottparis2024 campaign', None,
                'The investigations showed that at lea...', 'graph:source/viginum-report-fa3ea016',
            ),
            (
                'viginum-report-fa3ea016', 'claim',
                'case:claim/viginum-campaign-not-directly-linked-to-authorities', 'not directly linked to',
                '#boycottparis2024 campaign', 'the Azerbaijani authorities', None,
                'However, Viginum said it had not been...', 'graph:source/viginum-report-fa3ea016',
            ),
            (
                'viginum-report-fa3ea016', 'claim', 'case:claim/viginum-individual-operates-account',
                'operates', 'an Azerbaijani individual (unnamed)', 'X account of an Azerbaijani individua...',
                None, 'on an account of an Azerbaijani indiv...', 'graph:source/viginum-report-fa3ea016',
            ),
            (
                'viginum-report-fa3ea016', 'claim', 'case:claim/viginum-authorities-organ-of-azerbaijan',
                'organ of', 'the Azerbaijani authorities', 'Azerbaijan', None, 'the Azerbaijani authorities',
                'graph:source/viginum-report-fa3ea016',
            ),
            (
                'viginum-report-fa3ea016', 'claim', 'case:claim/viginum-campaign-promotes-narrative',
                'promotes', '#boycottparis2024 campaign', 'France cannot safely host the 2024 Ol...', None,
                'with the objective of harming at Fran...', 'graph:source/viginum-report-fa3ea016',
            ),
            (
                'viginum-report-fa3ea016', 'claim', 'case:claim/viginum-party-ruling-party-of-azerbaijan',
                'ruling party of', 'the Azeri presidential party', 'Azerbaijan', None,
                'with links to the Azeri presidential ...', 'graph:source/viginum-report-fa3ea016',
            ),
            (
                'viginum-report-fa3ea016', 'claim', 'case:claim/viginum-campaign-targets-games', 'targets',
                '#boycottparis2024 campaign', '2024 Olympic and Paralympic Games (Pa...', None,
                'with the objective of harming at Fran...', 'graph:source/viginum-report-fa3ea016',
            ),
            (
                'viginum-report-fa3ea016', 'claim', 'case:claim/viginum-campaign-targets-france', 'targets',
                '#boycottparis2024 campaign', 'France', None, 'with the objective of harming at Fran...',
                'graph:source/viginum-report-fa3ea016',
            ),
            (
                'viginum-report-fa3ea016', 'claim', 'case:claim/viginum-campaign-uses-account',
                'uses account', '#boycottparis2024 campaign', 'X account of an Azerbaijani individua...',
                None, 'the campaign ran from July 26-27 on a...', 'graph:source/viginum-report-fa3ea016',
            ),
            (
                'viginum-report-fa3ea016', 'claim', 'case:claim/viginum-campaign-uses-technique',
                'uses technique', '#boycottparis2024 campaign', 'Flood Information Space', None,
                'via the use of unauthentic processes', 'graph:source/viginum-report-fa3ea016',
            ),
            (
                'viginum-report-fa3ea016', 'negative finding', 'inferred:*', 'negative-finding',
                '#boycottparis2024 campaign', 'the Azerbaijani authorities', None, None,
                'graph:source/viginum-report-fa3ea016',
            ),
            (
                'viginum-report-fa3ea016', 'negative finding', 'inferred:*', 'negative-finding-account',
                'X account of an Azerbaijani individua...', 'Azerbaijan', None, None,
                'graph:source/viginum-report-fa3ea016',
            ),
            (
                'viginum-report-fa3ea016', 'negative finding', 'inferred:*', 'organ-to-state',
                '#boycottparis2024 campaign', 'Azerbaijan', None, None,
                'graph:source/viginum-report-fa3ea016',
            ),
        ],
    ),
    '08-campaigns-by-narrative': (
        (
            'narrativeLabel', 'promoterLabel', 'promoterType', 'activeFrom', 'activeUntil', 'targets',
            'strongestGrade', 'gradeState', 'confidence', 'sourceTitle', 'quote',
        ),
        ('narrativeLabel', 'promoterLabel'),
        [
            (
                'France cannot safely host the 2024 Ol...', '#boycottparis2024 campaign', 'campaign',
                '2023-07-26', '2023-07-27', '2024 Olympic and Paralympic Games (Pa...', 'party-linked',
                'Azerbaijan', 60, '[Viginum report on the #boycottparis2...',
                'with the objective of harming at Fran...',
            ),
        ],
    ),
    '09-strongest-grade-per-subject': (
        (
            'subjectLabel', 'stateLabel', 'strongestGrade', 'bestConfidence', 'links', 'negativeFinding',
            'subject', 'state',
        ),
        ('stateLabel', 'strongestGrade', 'subjectLabel'),
        [
            (
                '#boycottparis2024 campaign', 'Azerbaijan', 'party-linked', 32, 1, True, 'case:campaign',
                'case:azerbaijan',
            ),
            (
                'X account of an Azerbaijani individua...', 'Azerbaijan', 'party-linked', 40, 1, True,
                'case:x-account', 'case:azerbaijan',
            ),
            (
                'an Azerbaijani individual (unnamed)', 'Azerbaijan', 'party-linked', 53, 1, False,
                'case:azerbaijani-individual', 'case:azerbaijan',
            ),
            (
                'the Azeri presidential party', 'Azerbaijan', 'party-linked', 75, 1, False,
                'case:presidential-party', 'case:azerbaijan',
            ),
        ],
    ),
    '10-changes-since-source': (
        (
            'sourceTitle', 'submitted', 'conclusionType', 'subjectLabel', 'stateLabel', 'grade',
            'claimsFromSource', 'node',
        ),
        ('submitted', 'conclusionType', 'subjectLabel'),
        [
            (
                '[Viginum report on the #boycottparis2...', '<dateTime>', 'attribution link',
                '#boycottparis2024 campaign', 'Azerbaijan', 'party-linked', 4, 'inferred:*',
            ),
            (
                '[Viginum report on the #boycottparis2...', '<dateTime>', 'attribution link',
                'X account of an Azerbaijani individua...', 'Azerbaijan', 'party-linked', 3, 'inferred:*',
            ),
            (
                '[Viginum report on the #boycottparis2...', '<dateTime>', 'attribution link',
                'an Azerbaijani individual (unnamed)', 'Azerbaijan', 'party-linked', 2, 'inferred:*',
            ),
            (
                '[Viginum report on the #boycottparis2...', '<dateTime>', 'attribution link',
                'the Azeri presidential party', 'Azerbaijan', 'party-linked', 1, 'inferred:*',
            ),
            (
                '[Viginum report on the #boycottparis2...', '<dateTime>', 'negative finding',
                '#boycottparis2024 campaign', 'Azerbaijan', None, 2, 'inferred:*',
            ),
            (
                '[Viginum report on the #boycottparis2...', '<dateTime>', 'negative finding',
                'X account of an Azerbaijani individua...', 'Azerbaijan', None, 3, 'inferred:*',
            ),
        ],
    ),
    '11-campaign-overview': (
        (
            'campaignLabel', 'direction', 'kind', 'otherLabel', 'disarmId', 'confidence', 'evidence',
            'sourceTitle', 'quote', 'activeFrom', 'activeUntil', 'hashtag', 'reach', 'content',
        ),
        ('direction', 'kind', 'otherLabel'),
        [
            (
                '#boycottparis2024 campaign', 'in', 'conducts', 'a foreign actor close to Azerbaijan (...',
                None, 75, 'behavioural', '[Viginum report on the #boycottparis2...',
                'The investigations showed that at lea...', *CAMPAIGN,
            ),
            (
                '#boycottparis2024 campaign', 'in', 'context of', 'French criticism of the Azeri authori...',
                None, 60, 'contextual', 'French report flags Azeri-linked disi...',
                'At the time of the campaign, France h...', *CAMPAIGN,
            ),
            (
                '#boycottparis2024 campaign', 'in', 'context of', 'No comment from the Azeri government,...',
                None, 85, 'contextual', 'French report flags Azeri-linked disi...',
                'Neither the Azeri government nor the ...', *CAMPAIGN,
            ),
            (
                '#boycottparis2024 campaign', 'in', 'context of', 'Riots in Paris at the end of June 2023',
                None, 70, 'contextual', 'French report flags Azeri-linked disi...',
                'The campaign, which included pictures...', *CAMPAIGN,
            ),
            (
                '#boycottparis2024 campaign', 'in', 'context of', 'Strained ties between Paris and Baku',
                None, 60, 'contextual', 'French report flags Azeri-linked disi...',
                'Ties between Paris and Baku have been...', *CAMPAIGN,
            ),
            (
                '#boycottparis2024 campaign', 'in', 'responds to', 'France', None, 65, 'contextual',
                'French report flags Azeri-linked disi...', 'A French diplomatic source said Paris...', *CAMPAIGN,
            ),
            (
                '#boycottparis2024 campaign', 'out', 'not directly linked to', 'the Azerbaijani authorities',
                None, 80, 'technical', '[Viginum report on the #boycottparis2...',
                'However, Viginum said it had not been...', *CAMPAIGN,
            ),
            (
                '#boycottparis2024 campaign', 'out', 'promotes', 'France cannot safely host the 2024 Ol...',
                None, 60, 'contextual', '[Viginum report on the #boycottparis2...',
                'with the objective of harming at Fran...', *CAMPAIGN,
            ),
            (
                '#boycottparis2024 campaign', 'out', 'targets', '2024 Olympic and Paralympic Games (Pa...',
                None, 80, 'behavioural', '[Viginum report on the #boycottparis2...',
                'with the objective of harming at Fran...', *CAMPAIGN,
            ),
            (
                '#boycottparis2024 campaign', 'out', 'targets', 'France', None, 80, 'behavioural',
                '[Viginum report on the #boycottparis2...', 'with the objective of harming at Fran...', *CAMPAIGN,
            ),
            (
                '#boycottparis2024 campaign', 'out', 'uses account',
                'X account of an Azerbaijani individua...', None, 80, 'technical',
                '[Viginum report on the #boycottparis2...', 'the campaign ran from July 26-27 on a...', *CAMPAIGN,
            ),
            (
                '#boycottparis2024 campaign', 'out', 'uses technique', 'Flood Information Space', 'T0049', 60,
                'behavioural', '[Viginum report on the #boycottparis2...',
                'via the use of unauthentic processes', *CAMPAIGN,
            ),
        ],
    ),
    '12-campaigns-by-technique-and-state': (
        (
            'campaign', 'campaignLabel', 'disarmId', 'techniqueLabel', 'state', 'stateLabel', 'grade', 'rank',
            'directness', 'confidence',
        ),
        ('stateLabel', 'rank', 'campaignLabel', 'disarmId', 'directness'),
        [
            (
                'case:campaign', '#boycottparis2024 campaign', 'T0049', 'Flood Information Space', 'case:azerbaijan',
                'Azerbaijan', 'party-linked', 4, 'inferred', 32,
            ),
        ],
    ),
}


def test_there_are_at_least_eight_queries() -> None:
    assert len(QUERIES) >= 8


@pytest.mark.parametrize("path", QUERIES, ids=[q.stem for q in QUERIES])
def test_query_is_commented_and_returns_rows(path: Path, seed_store: GraphStore) -> None:
    text = path.read_text(encoding="utf-8")
    comments = [line for line in text.splitlines() if line.startswith("#")]
    assert len(comments) >= 3, "each query opens with comments: the question, how to read it, what to change"
    rows = list(seed_store.query(text))
    assert rows, f"{path.name} returns nothing on the seed case"


@pytest.mark.parametrize("path", QUERIES, ids=[q.stem for q in QUERIES])
def test_query_answers_the_seed_case_with_the_expected_rows(path: Path, seed_store: GraphStore) -> None:
    assert path.stem in EXPECTED, f"{path.name}: add its expected rows on the seed case to EXPECTED"
    variables, order, expected = EXPECTED[path.stem]
    result = seed_store.query(path.read_text(encoding="utf-8"))
    assert tuple(v.value for v in result.variables) == variables
    rows = [tuple(render(solution[v], v) for v in variables) for solution in result]
    assert Counter(rows) == Counter(expected)
    keys = [variables.index(k) for k in order]
    assert [tuple(r[i] for i in keys) for r in rows] == [tuple(e[i] for i in keys) for e in expected], "ORDER BY"




def _rows(store: GraphStore, name: str) -> list[dict[str, Any]]:
    result = store.query((QUERIES[0].parent / f"{name}.rq").read_text(encoding="utf-8"))
    variables = [v.value for v in result.variables]
    return [{v: render(solution[v], v) for v in variables} for solution in result]


def test_a_disputed_conflict_has_no_state_label_and_is_not_repeated_per_label(seed_store: GraphStore) -> None:
    ingest(seed_store, denial(CASE["claim/viginum-campaign-uses-account"]), media_type="text/turtle")
    disputed = [r for r in _rows(seed_store, "05-conflicts") if r["kind"] == "disputed"]
    # two sides (the denied claim, the denial), one quote each: no row per label in the store
    assert sorted((r["sideType"], r["quote"], r["stateLabel"]) for r in disputed) == [
        ("claim", "the campaign ran from July 26-27 on a...", None),
        ("claim", "these accusations are groundless", None),
    ]
    conflicts = [r for r in _rows(seed_store, "07-source-contribution") if r["what"] == "conflict"]
    assert [(r["kind"], r["fromLabel"], r["toLabel"]) for r in conflicts] == [
        ("disputed-claim", "#boycottparis2024 campaign", None)
    ]


def test_a_finding_with_no_link_beside_it_is_one_row_without_a_grade(empty_store: GraphStore) -> None:
    """Viginum's report without the individual's party affiliation: its finding stands alone, once per claim under it."""
    report = Graph().parse(SEED_DIR / "viginum-report.ttl", format="turtle")
    report.remove((CASE["claim/viginum-individual-affiliated-with-party"], None, None))
    ingest(empty_store, report.serialize(format="turtle").encode(), media_type="text/turtle")
    rows = _rows(empty_store, "02-negative-findings")
    assert rows and all(r["strongestGradeBeside"] is None for r in rows)
    assert len(rows) == len({(r["finding"], r["directness"], r["quote"], r["subject"]) for r in rows})
