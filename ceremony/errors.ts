/**
 * The one error type of the ceremony core. Every failure a person can meet carries a stable `code`
 * (printed by the CLI as `error[CODE]: sentence`) and maps to the exit code of DESIGN §5:
 *   1 rejected (a signature, digest, share, quorum, key validity or policy check failed)
 *   2 usage error or unreadable/malformed input
 *   3 HSM or PKCS#11 failure (module, token, PIN, key)
 * Messages are single sentences written for the person at the ceremony; they never contain a secret.
 */

export const ERROR_EXIT_CODES = {
  // 1: rejected
  SIGNATURE_INVALID: 1,
  SIGNATURE_UNTRUSTED: 1,
  SIGNATURE_WEAK_HASH: 1,
  SIGNATURE_FUTURE: 1,
  SIGNATURE_KEY_EXPIRED: 1,
  SIGNATURE_KEY_REVOKED: 1,
  SIGNATURE_REVOKER_UNKNOWN: 1,
  SIGNATURE_NOT_SIGNING_KEY: 1,
  SIGNATURE_MISSING: 1,
  DIGEST_MISMATCH: 1,
  DIGEST_MISSING: 1,
  // issue 15: independent builders and provenance
  BUILDERS_DISAGREE: 1,
  BUILDERS_QUORUM_NOT_MET: 1,
  PROVENANCE_MISSING: 1,
  PROVENANCE_UNTRUSTED: 1,
  PROVENANCE_SIGNATURE_INVALID: 1,
  PROVENANCE_SUBJECT_MISMATCH: 1,
  PROVENANCE_BUILDER_NOT_ALLOWED: 1,
  PROVENANCE_BUILD_TYPE_NOT_ALLOWED: 1,
  PROVENANCE_SOURCE_NOT_ALLOWED: 1,
  PROVENANCE_DEPENDENCY_MISSING: 1,
  PROVENANCE_PARAMETER_UNKNOWN: 1,
  KEY_EXPIRED: 1,
  KEY_NOT_YET_VALID: 1,
  PAYLOAD_SIGNATURE_INVALID: 1,
  PAYLOAD_ALREADY_SIGNED: 1,
  SHARE_INVALID: 1,
  SHARE_DUPLICATE: 1,
  SHARE_FOREIGN: 1,
  QUORUM_NOT_MET: 1,
  QUORUM_MISMATCH: 1,
  POLICY_VIOLATION: 1,
  NETWORK_UP: 1,
  AUDIT_FAILED: 1,
  SELF_CHECK_FAILED: 1,
  /** Key state, a stored certificate or the quorum set on a token disagrees with what only a PIN could change. */
  TOKEN_TAMPERED: 1,
  REJECTED: 1,
  NOT_CONFIRMED: 1,
  // the build server's subkey request at a renewal (issue 15)
  BUILD_SUBKEY_BACKSIG_INVALID: 1,
  BUILD_SUBKEY_REUSED: 1,
  BUILD_SUBKEY_WEAK: 1,
  BUILD_SUBKEY_WRONG_ROOT: 1,
  BUILD_SUBKEY_OUT_OF_WINDOW: 1,
  /** A backup file whose MAC does not hold under the quorum's key (altered, or made for another set). */
  BACKUP_INVALID: 1,
  /** The token refused to let a key leave wrapped (not extractable, or the wrapping key is not trusted). */
  KEY_NOT_WRAPPABLE: 1,
  // 2: usage or input
  USAGE: 2,
  BAD_URI: 2,
  PIN_VALUE_REFUSED: 2,
  PIN_UNAVAILABLE: 2,
  INPUT_UNREADABLE: 2,
  INPUT_MALFORMED: 2,
  CERTIFICATE_MALFORMED: 2,
  SIGNATURE_MALFORMED: 2,
  DIGESTS_MALFORMED: 2,
  PROVENANCE_MALFORMED: 2,
  PAYLOAD_MALFORMED: 2,
  SHARE_MALFORMED: 2,
  CONFIG_INVALID: 2,
  RECORD_MALFORMED: 2,
  OUTPUT_EXISTS: 2,
  OUTPUT_FAILED: 2,
  CANCELLED: 2,
  BUILD_SUBKEY_REQUEST_MALFORMED: 2,
  // 3: HSM / PKCS#11
  MODULE_NOT_FOUND: 3,
  MODULE_INVALID: 3,
  TOKEN_NOT_FOUND: 3,
  TOKEN_NOT_FREE: 3,
  PIN_INCORRECT: 3,
  PIN_LOCKED: 3,
  PIN_ATTEMPTS_EXHAUSTED: 3,
  KEY_NOT_FOUND: 3,
  KEY_AMBIGUOUS: 3,
  KEY_UNSUITABLE: 3,
  /** The token's PIN limits leave a derived PIN weaker than 64 bits (accepted only with --accept-weak-pins). */
  PIN_TOO_WEAK: 3,
  HSM_FAILURE: 3,
  // anything we did not foresee; still no stack trace for the user
  INTERNAL: 3,
} as const;

export type ErrorCode = keyof typeof ERROR_EXIT_CODES;
export type ExitCode = 0 | 1 | 2 | 3;

export interface CeremonyErrorOptions {
  cause?: unknown;
  /** The PKCS#11 return value name (`CKR_PIN_INCORRECT`) when the failure came from the token. */
  ckr?: string;
  /** Extra structured facts for `--json` output and the audit log (never secrets). */
  details?: Record<string, unknown>;
}

export class CeremonyError extends Error {
  override readonly name = 'CeremonyError';
  readonly code: ErrorCode;
  readonly ckr: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: CeremonyErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.ckr = options.ckr;
    this.details = options.details;
  }

  get exitCode(): ExitCode {
    return ERROR_EXIT_CODES[this.code];
  }

  /** The CLI's one-line form: `error[CODE]: sentence`. */
  toLine(): string {
    const sentence = this.message.endsWith('.') ? this.message : `${this.message}.`;
    return `error[${this.code}]: ${sentence}`;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, ...(this.ckr ? { ckr: this.ckr } : {}), ...this.details };
  }
}

export function isCeremonyError(e: unknown, code?: ErrorCode): e is CeremonyError {
  return e instanceof CeremonyError && (code === undefined || e.code === code);
}

/** Wrap anything thrown into a CeremonyError without leaking its stack to the user. */
export function asCeremonyError(e: unknown, fallback: ErrorCode = 'INTERNAL'): CeremonyError {
  if (e instanceof CeremonyError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new CeremonyError(fallback, `unexpected failure: ${message.split('\n')[0]}`, { cause: e });
}
