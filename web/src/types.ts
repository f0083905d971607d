// The JSON the workbench reads, as the service answers it (DESIGN §5 and the routers).

export const GRADES = ["state-official", "state-controlled", "state-linked", "party-linked", "state-aligned"] as const;

export interface SourceRef { source: string; label: string | null }

/** One entry of GET /attribution: the best conclusion for a (state, grade, directness, interval). */
export interface Link {
  link: string;
  state: string;
  state_label: string | null;
  grade: string;
  directness: string;
  confidence: number;
  confidence_label: string;
  via: string[];
  via_labels: (string | null)[];
  rule: string | null;
  rule_label: string | null;
  valid_from: string | null;
  valid_until: string | null;
  marking: string;
  derivations: number | null;
  sources: SourceRef[];
}

export interface NegativeFinding {
  finding: string;
  state: string;
  state_label: string | null;
  source: string;
  source_label: string | null;
  quote: string;
  directness: string;
  via: string[];
  confidence: number;
  marking: string;
}

export interface ConflictSide {
  node: string;
  type: string;
  sources: { source: string; source_label: string | null; quote: string | null }[];
}

export interface Conflict {
  conflict: string;
  kind: string;
  state: string | null;
  state_label: string | null;
  sides: ConflictSide[];
  subject?: string;
  subject_label?: string | null;
}

export interface Attribution {
  subject: string;
  label: string | null;
  links: Link[];
  not_directly_linked: NegativeFinding[];
  conflicts: Conflict[];
}

export interface Entity { iri: string; label: string | null; kind: string; types: string[] }

export interface SourceInfo {
  id: string; iri: string; title: string | null; publisher: string | null; issued: string | null;
  types: string[]; claims: number; submitted: string | null; graph?: string;
}

export interface ClaimNode {
  node: string; type: "claim";
  subject: string; subject_label: string | null; predicate: string; predicate_label: string | null;
  object: string; object_label: string | null; statement: string;
  source: { iri: string; label?: string | null; title?: string | null; publisher_label?: string | null; id?: string };
  quote: string | null; confidence: number | null; confidence_label: string | null; evidence_type: string | null;
  valid_from: string | null; valid_until: string | null; marking: string; role: string | null; claimed_grade: string | null;
  comment: string | null;
  disputed_by: { claim: string; source: string; source_label: string | null; quote: string | null }[];
}

export interface Derivation {
  derivation: string; rule: string; rule_label: string | null; rule_comment: string | null;
  confidence: number | null; confidence_label: string | null;
  premises: (ClaimNode | ConclusionNode)[];
}

export interface ConclusionNode {
  node: string; type: "attribution-link" | "negative-finding" | "conflict";
  subject: string; subject_label: string | null; target: string | null; target_label: string | null;
  grade: string | null; directness?: string | null; conflict_kind?: string | null;
  confidence: number | null; confidence_label?: string | null;
  via?: string[]; via_labels?: (string | null)[]; valid_from?: string | null; valid_until?: string | null;
  marking?: string | null; derivations?: number; sources?: SourceRef[];
  expanded_above?: boolean; best_derivation?: Derivation | null;
}

export interface Explanation extends ConclusionNode {
  summary: string;
  other_derivations: Derivation[];
  other_derivations_not_shown: number;
  not_directly_linked?: { claim: string; source: string; source_label: string | null; quote: string }[];
  if_retracted?: { claim: string; statement: string; source: string; strongest_remaining_grade: string | null; strongest_remaining_link: string | null }[];
}

export interface ShaclResult {
  focus_node: string | null; path: string | null; value: string | null; found: string | null;
  message: string | null; severity: string | null; shape?: string | null;
}

export interface StoredQuery { name: string; question: string | null; query: string }
