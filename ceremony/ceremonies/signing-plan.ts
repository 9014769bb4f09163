/**
 * The confirmation before the HSM (issue 13): before any login, the person sees the key that will sign
 * (label, fingerprint, validity, role) and every input with its SHA-256, and answers. The CLI prints
 * these lines and asks "Type yes to sign N files"; the app shows the same plan on its own screen. No
 * Node import here: the text is the same wherever it is shown.
 */
import { formatValidity, groupHex } from '../read-aloud.js';

export interface SigningPlan {
  /** What will happen, e.g. `sign 3 files`. */
  action: string;
  /** How many files will be signed (the number the person confirms). */
  count: number;
  key: {
    label: string;
    uri: string;
    /** The OpenPGP fingerprint of the key that makes the signature (upper-case hex), when known before the login. */
    fingerprint?: string;
    /** Its certificate's primary key, when the signing key is a subkey. */
    primaryFingerprint?: string;
    /** e.g. `OpenPGP signing subkey`, `update payload key (RSA)` */
    role: string;
    validFrom?: Date;
    validUntil?: Date;
  }[];
  /** `sha256` is absent only for an input signed without verification (its hash is made while signing). */
  inputs: { name: string; sha256?: string; size?: number }[];
}

/** The question at the end of the screen: typing exactly "yes" confirms. */
export function signingQuestion(plan: SigningPlan): string {
  return `Type yes to sign ${plan.count} ${plan.count === 1 ? 'file' : 'files'}: `;
}

/** Whether an answer to signingQuestion confirms (only "yes", any case, surrounding spaces ignored). */
export function confirmsSigning(answer: string): boolean {
  return answer.trim().toLowerCase() === 'yes';
}

/** The plan as lines for a terminal (fingerprints and hashes grouped for reading aloud). */
export function signingPlanLines(plan: SigningPlan): string[] {
  const out: string[] = [`About to ${plan.action}. No PIN has been asked and nothing has been signed yet.`, ''];
  for (const k of plan.key) {
    out.push(`Key        ${k.label}  (${k.role})`);
    if (k.fingerprint) out.push(`           ${groupHex(k.fingerprint)}`);
    if (k.primaryFingerprint && k.primaryFingerprint !== k.fingerprint) out.push(`  primary  ${groupHex(k.primaryFingerprint)}`);
    out.push(`           ${formatValidity(k.validFrom, k.validUntil)}`);
    out.push(`           ${k.uri}`);
  }
  out.push('');
  for (const i of plan.inputs) {
    out.push(`Input      ${i.name}${i.size !== undefined ? `  (${i.size} bytes)` : ''}`);
    out.push(i.sha256 ? `  SHA-256  ${groupHex(i.sha256)}` : '  SHA-256  (not verified: hashed while it is signed)');
  }
  return out;
}
