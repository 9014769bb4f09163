/**
 * A signing pass started before the keys that sign it are settled. The pass over a large payload (read
 * once, hashed twice, written to a temp file beside the output) is most of a payload ceremony's time;
 * the ceremony's gates before the signature (its record, the air-gap check, the person's confirmation,
 * the login, the keys' validity) need none of its bytes. So a ceremony may start the pass as soon as it
 * can guess the signature sizes, and take the draft once its gates have passed.
 *
 * Nothing is signed here: the draft holds a hash and a temp file, and its signature is made only by
 * whoever takes it (sign.ts). The sizes are a guess: a draft is taken only when they equal the sizes of
 * the keys finally selected (`fits`); otherwise it is abandoned and the pass made again. Abandoning stops
 * the pass at its next stage and removes the temp file.
 */
import { preparePayload, type PayloadDraft, type PrepareOptions, type Progress } from './draft.js';

export type PendingDraftOptions = Omit<PrepareOptions, 'signatureSizes' | 'onProgress'>;

export class PendingDraft {
  private readonly stop = new AbortController();
  private readonly draft: Promise<PayloadDraft>;
  /** Progress is held until the draft is taken: before that, nobody is shown a signing in progress. */
  private report?: (p: Progress) => void;
  private latest?: Progress;

  /** The input and output the pass was started for. */
  readonly input: string;
  readonly output: string;

  private constructor(
    readonly signatureSizes: readonly number[],
    opts: PendingDraftOptions,
  ) {
    this.input = opts.input;
    this.output = opts.output;
    const signal = opts.signal ? AbortSignal.any([opts.signal, this.stop.signal]) : this.stop.signal;
    this.draft = preparePayload({
      ...opts,
      signatureSizes,
      signal,
      onProgress: (p) => {
        this.latest = p;
        this.report?.(p);
      },
    });
    // A failed pass is the ceremony's failure only if it takes the draft (take() rethrows it).
    this.draft.catch(() => {});
  }

  /** Start the pass now with these signature sizes (bytes, in signature order). */
  static start(signatureSizes: readonly number[], opts: PendingDraftOptions): PendingDraft {
    return new PendingDraft([...signatureSizes], opts);
  }

  /** Whether the pass is for this input and output and reserves exactly these signature sizes, in this order. */
  fits(input: string, output: string, signatureSizes: readonly number[]): boolean {
    return input === this.input && output === this.output && signatureSizes.length === this.signatureSizes.length && signatureSizes.every((s, i) => s === this.signatureSizes[i]);
  }

  /** The draft once the pass is done, its progress reported from now on (the latest at once). */
  take(onProgress?: (p: Progress) => void): Promise<PayloadDraft> {
    this.report = onProgress;
    if (this.latest) onProgress?.(this.latest);
    return this.draft;
  }

  /**
   * Stop the pass and remove its temp file, whatever state it is in; never throws. A draft that was
   * taken and committed is left alone (PayloadDraft.discard does nothing after commit).
   */
  async abandon(): Promise<void> {
    this.stop.abort();
    try {
      await (await this.draft).discard();
    } catch {
      // The pass failed or was stopped; preparePayload removed its temp file.
    }
  }
}
