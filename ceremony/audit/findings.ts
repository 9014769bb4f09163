/**
 * What a review can say about a record. Each finding has a stable code (named in `ceremony audit verify`,
 * the HTML report and docs/RECORD-FORMAT.md) and a class that decides the verdict:
 *   tampered    the record is not what the ceremony wrote (or an artifact no longer matches it)
 *   policy      the record is whole, but the ceremony broke a rule of DESIGN §3 (Review)
 *   incomplete  the ceremony stopped before its seal: whole lines, chained, just unfinished
 *   note        facts an auditor should see that do not change the verdict
 */
export type FindingClass = 'tampered' | 'policy' | 'incomplete' | 'note';

export const FINDING_CLASSES = {
  'log-empty': 'tampered',
  'log-too-large': 'tampered',
  'torn-line': 'tampered',
  'line-too-long': 'tampered',
  'bad-json': 'tampered',
  'bad-event': 'tampered',
  'unknown-step': 'tampered',
  'chain-break': 'tampered',
  'sequence-gap': 'tampered',
  'sequence-duplicate': 'tampered',
  'sequence-out-of-order': 'tampered',
  'ceremony-id-mismatch': 'tampered',
  'kind-mismatch': 'tampered',
  'time-backwards': 'tampered',
  'start-missing': 'tampered',
  'start-repeated': 'tampered',
  'event-after-end': 'tampered',
  'seal-without-end': 'tampered',
  'seal-malformed': 'tampered',
  'seal-invalid': 'tampered',
  'seal-untrusted': 'tampered',
  'seal-key-not-in-record': 'tampered',
  'seal-key-mismatch': 'tampered',
  'bound-file-missing': 'tampered',
  'bound-file-mismatch': 'tampered',
  'bound-file-outside': 'tampered',
  'unbound-key-file': 'tampered',
  'manifest-missing': 'tampered',
  'manifest-malformed': 'tampered',
  'manifest-ceremony-mismatch': 'tampered',
  'artifact-mismatch': 'tampered',
  'key-file-malformed': 'tampered',
  'not-finished': 'incomplete',
  'seal-missing': 'incomplete',
  'policy-sign-before-verify': 'policy',
  'policy-quorum-not-met': 'policy',
  'policy-key-not-valid': 'policy',
  'policy-key-unnamed': 'policy',
  'policy-step-after-failure': 'policy',
  'policy-network-not-overridden': 'policy',
  'policy-builders-not-agreed': 'policy',
  'policy-provenance-not-checked': 'policy',
  'artifact-absent': 'note',
  'seal-not-pinned': 'note',
  'folder-name-mismatch': 'note',
  'ceremony-failed': 'note',
  'network-override': 'note',
  'unverified-override': 'note',
} as const satisfies Record<string, FindingClass>;

export type FindingCode = keyof typeof FINDING_CLASSES;

export interface Finding {
  code: FindingCode;
  class: FindingClass;
  /** 1-based line of log.jsonl the finding is about, when it is about one. */
  line?: number;
  /** One sentence naming what is wrong and where. */
  message: string;
}

export function finding(code: FindingCode, message: string, line?: number): Finding {
  return { code, class: FINDING_CLASSES[code], message, ...(line === undefined ? {} : { line }) };
}

export type PolicyOutcome = 'pass' | 'fail' | 'warning' | 'not-applicable';

export interface PolicyCheck {
  name: 'inputs-verified-before-signing' | 'quorum-before-root-login' | 'keys-valid-when-used' | 'nothing-after-failure' | 'air-gap' | 'builders-agreed-before-signing' | 'provenance-checked-before-signing';
  title: string;
  outcome: PolicyOutcome;
  detail: string;
}
