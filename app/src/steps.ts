/**
 * The ceremony scripts of DESIGN §3 as the checklist each workspace shows at all times. Step ids are the
 * audit log's step names (ceremony/audit/events.ts), so the list and the record speak the same words.
 */
import type { CeremonyStep } from '../../ceremony/audit/events.js';

export interface StepDef {
  id: CeremonyStep;
  label: string;
}

export const SIGN_STEPS: readonly StepDef[] = [
  { id: 'air-gap-check', label: 'Air-gap check' },
  { id: 'load-config', label: 'Open the ceremony configuration' },
  { id: 'verify-input', label: 'Verify every server signature and digest' },
  { id: 'show-fingerprints', label: 'Read fingerprints and SHA-256 aloud' },
  { id: 'hsm-login', label: 'HSM login (one PIN)' },
  { id: 'sign', label: 'Sign on the HSM' },
  { id: 'self-check', label: 'Verify every output independently' },
  { id: 'write-output', label: 'Write outputs' },
  { id: 'seal', label: 'Seal the record' },
];

export const RENEW_STEPS: readonly StepDef[] = [
  { id: 'air-gap-check', label: 'Air-gap check' },
  { id: 'load-config', label: 'Open the ceremony configuration' },
  { id: 'quorum-session', label: 'Custodians confirm the session ID' },
  { id: 'share-accepted', label: 'Custodians present their shares' },
  { id: 'quorum-reached', label: 'Quorum reached' },
  { id: 'root-login', label: 'Derive PINs and log into the root token' },
  { id: 'generate-key', label: 'Generate the new signing subkey' },
  { id: 'bind-subkey', label: 'Bind it to the root key' },
  { id: 'sign-transition', label: 'Sign the key transition statement' },
  { id: 'rotate-pins', label: 'Rotate root PINs and re-split' },
  { id: 'hand-out-share', label: 'Hand out the new shares' },
  { id: 'seal', label: 'Seal the record' },
];

/** Back up keys (issue 11): every backup-able key of both tokens wrapped into one authenticated file. */
export const BACKUP_STEPS: readonly StepDef[] = [
  { id: 'air-gap-check', label: 'Air-gap check' },
  { id: 'load-config', label: 'Open the configuration, choose the backup file' },
  { id: 'share-accepted', label: 'Custodians present their shares' },
  { id: 'quorum-reached', label: 'Quorum reached' },
  { id: 'derive-pins', label: 'Derive the PINs and the backup keys' },
  { id: 'root-login', label: 'Log into the root token' },
  { id: 'hsm-login', label: 'Log into the signing token (one PIN)' },
  { id: 'wrap-keys', label: 'Wrap every backup-able key' },
  { id: 'write-output', label: 'Write the backup file' },
  { id: 'seal', label: 'Seal the record' },
];

/** Restore keys (issue 11): a backup put onto a fresh signing token and a new root token, then checked. */
export const RESTORE_STEPS: readonly StepDef[] = [
  { id: 'air-gap-check', label: 'Air-gap check' },
  { id: 'load-config', label: 'Open the configuration and the backup file' },
  { id: 'share-accepted', label: 'Custodians present their shares' },
  { id: 'hsm-login', label: 'Log into the fresh signing token' },
  { id: 'quorum-reached', label: 'Quorum reached' },
  { id: 'derive-pins', label: 'Derive the PINs and the backup keys' },
  { id: 'verify-input', label: 'Authenticate the backup file' },
  { id: 'init-token', label: 'Make the root token' },
  { id: 'rotate-pins', label: "Hand the signing token's SO PIN to the quorum" },
  { id: 'unwrap-keys', label: 'Unwrap every key' },
  { id: 'self-check', label: 'Self-check: each key signs a test digest' },
  { id: 'seal', label: 'Seal the record' },
];

export const AUDIT_STEPS: readonly StepDef[] = [
  { id: 'load-config', label: 'Open a ceremony record' },
  { id: 'verify-input', label: 'Hash chain, sequence, seal and artifacts' },
  { id: 'confirm', label: 'Policy checks' },
  { id: 'ceremony-end', label: 'Verdict and report' },
];

export type StepState = 'pending' | 'active' | 'done' | 'failed';
export type StepStates = Partial<Record<CeremonyStep, StepState>>;

/** A progress event names the step the core is in: it becomes active, and the step before it is done. */
export function advance(states: StepStates, step: string, steps: readonly StepDef[]): StepStates {
  if (!steps.some((s) => s.id === step)) return states;
  const next: StepStates = { ...states };
  for (const [id, state] of Object.entries(next)) if (state === 'active' && id !== step) next[id as CeremonyStep] = 'done';
  next[step as CeremonyStep] = 'active';
  return next;
}
