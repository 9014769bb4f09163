/**
 * The ceremony script runner (DESIGN §3): a ceremony is a sequence of named steps; each step states
 * what it does, records its result in the audit log (flushed before the step is reported done), and
 * stops the ceremony on failure. The CLI prints the steps; the GUI shows them as a checklist; both
 * receive them through a CeremonyReporter.
 */
import { CeremonyError, asCeremonyError } from '../errors.js';
import { requireAirGap, checkAirGap, type AirGapStatus } from '../airgap.js';
import { CeremonyRecord, type SealedRecord } from '../audit/record.js';
import type { RecordSealer } from '../audit/seal.js';
import type { Actor, BuilderRuleRef, CeremonyKind, CeremonyStep, EventInput, OptionEntry, Override, ProvenanceRuleRef } from '../audit/events.js';
import { TOOL_VERSION } from '../version.js';
import type { Pkcs11Uri } from '../hsm/uri.js';
import type { SigningPlan } from './signing-plan.js';

export type RunnableStep = Exclude<CeremonyStep, 'ceremony-start' | 'ceremony-end' | 'seal'>;

export interface CeremonyReporter {
  /** A step changes state. `detail` is a sentence for people (no secrets). */
  step(step: CeremonyStep, state: 'running' | 'done' | 'failed' | 'warning' | 'refused', detail: string): void;
  warn(message: string): void;
  /** Long work (hashing, signing many files) reports progress in bytes or items. */
  progress?(label: string, done: number, total: number): void;
}

/** How a ceremony starts: its kind and command, on top of the context every ceremony takes. */
export interface StartOptions extends Pick<CeremonyContext, 'recordDir' | 'allowNetwork' | 'attended' | 'reporter' | 'now' | 'recordedOptions'> {
  kind: CeremonyKind;
  /** e.g. `ceremony sign` */
  command: string;
  actor?: Actor;
  quorum?: { threshold: number; total?: number; custodians?: string[] };
  /** sign: the builder-agreement rule in force (issue 15). */
  builders?: BuilderRuleRef;
  provenance?: ProvenanceRuleRef;
  /** For tests: the network status to assume. */
  airGap?: AirGapStatus;
  /** Overrides other than --allow-network that the operator gave (recorded in the first line). */
  overrides?: Override[];
}

type StepOutcome = Omit<EventInput, 'step'> | string;

/** What every ceremony takes besides its own inputs: record, seal, network, HSM access, clock, reporter. */
export interface CeremonyContext {
  recordDir: string;
  /** `--seal-key`: seal the record with this OpenPGP key instead of the ceremony's default. */
  sealKey?: Pkcs11Uri;
  allowNetwork: boolean;
  /** A person is at a terminal (prompts possible); else the run is unattended. */
  attended: boolean;
  /** `--module` */
  module?: string;
  /** The maintainers' PIN of the signing token, from a file. */
  pinFile?: string;
  env: NodeJS.ProcessEnv;
  stdin?: NodeJS.ReadStream;
  reporter: CeremonyReporter;
  now: () => Date;
  /** Options as typed, for the record's first line (no secrets: names and paths only). */
  recordedOptions: OptionEntry[];
  /**
   * Ask the person to confirm the signing plan before any HSM login (the CLI's "Type yes", the app's
   * confirmation screen); false refuses the ceremony (NOT_CONFIRMED). Without it the run is unattended.
   */
  confirmSigning?: (plan: SigningPlan) => Promise<boolean>;
  /** `--yes`: the operator confirmed in advance; recorded in the 'confirm' event. */
  assumeYes?: boolean;
}

export class CeremonyRun {
  private sealed: SealedRecord | undefined;

  private constructor(
    readonly record: CeremonyRecord,
    readonly reporter: CeremonyReporter,
    readonly actor: Actor,
    readonly now: () => Date,
  ) {}

  /**
   * Check the air gap (refusing before anything is written when networked without the override),
   * then open the record and log the check, including an override.
   */
  static start(opts: StartOptions): CeremonyRun {
    const status = requireAirGap(opts.allowNetwork, opts.airGap ?? checkAirGap());
    const now = opts.now;
    const record = CeremonyRecord.create({
      recordDir: opts.recordDir,
      kind: opts.kind,
      attended: opts.attended,
      actor: opts.actor,
      now,
      parameters: {
        command: opts.command,
        options: opts.recordedOptions,
        toolVersion: TOOL_VERSION,
        host: { airGapped: status.airGapped, interfacesUp: status.interfacesUp, overridden: status.overridden },
        overrides: [...(status.overridden ? (['allow-network'] as const) : []), ...(opts.overrides ?? [])],
        ...(opts.quorum ? { quorum: opts.quorum } : {}),
        ...(opts.builders ? { builders: opts.builders } : {}),
        ...(opts.provenance ? { provenance: opts.provenance } : {}),
      },
    });
    const run = new CeremonyRun(record, opts.reporter, opts.actor ?? { role: 'system' }, now);
    opts.reporter.step('ceremony-start', 'done', `record ${record.dir}`);
    if (status.overridden) {
      run.note('air-gap-check', {
        result: 'override',
        detail: `networked machine (${status.interfacesUp.join(', ')} up): continuing because --allow-network was given`,
      });
    } else {
      run.note('air-gap-check', 'no network interface other than loopback is up');
    }
    return run;
  }

  /** Record an event for a step that needs no work of its own (a warning, an override, a fact). */
  note(step: RunnableStep, outcome: StepOutcome): void {
    const input = typeof outcome === 'string' ? { detail: outcome } : outcome;
    this.record.append({ actor: this.actor, ...input, step });
    const state = input.result === 'warning' || input.result === 'override' ? 'warning' : input.result === 'refused' ? 'refused' : input.result === 'failed' ? 'failed' : 'done';
    this.reporter.step(step, state, input.detail);
  }

  /**
   * Run one step: `fn` does the work; `describe` turns its value into the event. The event is on disk
   * before the reporter hears "done". A failure is recorded with its code and stops the ceremony.
   */
  async step<T>(step: RunnableStep, title: string, fn: () => Promise<T> | T, describe: (value: T) => StepOutcome): Promise<T> {
    this.reporter.step(step, 'running', title);
    let value: T;
    try {
      value = await fn();
    } catch (e) {
      this.failed(step, e);
      throw e;
    }
    this.note(step, describe(value));
    return value;
  }

  /** Record a failure of `step` (once) and tell the reporter. */
  failed(step: RunnableStep, e: unknown): void {
    const err = asCeremonyError(e);
    if (this.record.failedStep === undefined) {
      try {
        this.record.fail(step, err, this.actor);
      } catch {
        // the record itself is broken (disk full?); the error below still reaches the person
      }
    }
    this.reporter.step(step, 'failed', err.toLine());
  }

  /**
   * The 'confirm' step (issue 13): before any HSM login the person confirms the plan, unless `--yes` was
   * given or nobody is at a terminal; either way the record says how the plan was confirmed.
   */
  async confirmPlan(plan: SigningPlan, o: Pick<CeremonyContext, 'confirmSigning' | 'assumeYes'>): Promise<void> {
    const inputs = plan.inputs.flatMap((i) => (i.sha256 ? [{ name: i.name, sha256: i.sha256, ...(i.size !== undefined ? { size: i.size } : {}) }] : []));
    const key = plan.key[0] ? { label: plan.key[0].label, uri: plan.key[0].uri, ...(plan.key[0].fingerprint ? { fingerprint: plan.key[0].fingerprint } : {}) } : undefined;
    let how: string;
    if (o.assumeYes) how = 'confirmed in advance with --yes';
    else if (o.confirmSigning) {
      this.reporter.step('confirm', 'running', `asking the operator to confirm: ${plan.action}`);
      if (!(await o.confirmSigning(plan))) {
        const err = new CeremonyError('NOT_CONFIRMED', `the operator did not confirm, so nothing was signed (${plan.action})`);
        this.failed('confirm', err);
        throw err;
      }
      how = 'confirmed by the operator';
    } else how = 'unattended run: nobody at a terminal to ask';
    this.note('confirm', { detail: `${plan.action} with ${plan.key.map((k) => k.label).join(', ')}: ${how}`.slice(0, 500), ...(inputs.length ? { inputs } : {}), ...(key ? { key } : {}) });
  }

  /** Seal the record with the ceremony's HSM key (also after a failure: the failure is then sealed). */
  async seal(sealer: RecordSealer): Promise<SealedRecord> {
    if (this.sealed) return this.sealed;
    this.reporter.step('seal', 'running', `sealing the record with ${sealer.description}`);
    this.sealed = await this.record.seal(sealer);
    this.reporter.step('seal', 'done', `record sealed: ${this.record.dir}`);
    return this.sealed;
  }

  /**
   * Leave the record unsealed (no seal key could be used). It reviews as incomplete, or as refused-unsealed
   * when the token refused the PIN guarding the seal key (ceremony/audit/unsealed-refusal.ts); never a pass.
   */
  abandon(): void {
    this.record.close();
  }

  get dir(): string {
    return this.record.dir;
  }
}

/** A reporter that prints steps as `[step] detail` lines (the CLI's view of the checklist). */
export function lineReporter(write: (line: string) => void, warn: (message: string) => void): CeremonyReporter {
  return {
    step(step, state, detail) {
      if (state === 'running') return;
      const mark = state === 'done' ? 'ok' : state;
      write(`[${step}] ${mark}: ${detail}`);
    },
    warn,
  };
}

/**
 * Run a ceremony body; whatever happens, seal if a sealer is available, else leave it incomplete.
 * A refusal (issue 13) ends the record with its failure event and a seal whenever a seal key can be
 * reached: the sealer the ceremony already has, else `reachSealer` (e.g. a login to the signing token made
 * only to seal, never after a wrong PIN). Only a record no key could seal is left unsealed.
 */
export async function withCeremony<T>(
  run: CeremonyRun,
  body: () => Promise<T>,
  sealerFor: () => RecordSealer | undefined,
  reachSealer?: () => Promise<RecordSealer | undefined>,
): Promise<{ value: T; sealed: SealedRecord }> {
  let value: T;
  try {
    value = await body();
  } catch (e) {
    // Every refusal is on record as a failure, even one raised outside a named step.
    if (run.record.failedStep === undefined) run.failed(lastRunnable(run.record.lastStep), e);
    let sealer = safe(sealerFor);
    if (!sealer && reachSealer) {
      try {
        sealer = await reachSealer();
      } catch (reach) {
        run.reporter.warn(`the record of this refusal cannot be sealed: ${asCeremonyError(reach).message}`);
      }
    }
    if (sealer) {
      try {
        await run.seal(sealer);
      } catch {
        run.abandon();
      }
    } else {
      run.abandon();
    }
    throw e;
  }
  const sealer = sealerFor();
  if (!sealer) {
    run.abandon();
    throw new CeremonyError('KEY_NOT_FOUND', 'no key is available to seal the ceremony record');
  }
  return { value, sealed: await run.seal(sealer) };
}

function lastRunnable(step: CeremonyStep): RunnableStep {
  return step === 'ceremony-start' || step === 'ceremony-end' || step === 'seal' ? 'air-gap-check' : step;
}

function safe<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}
