/**
 * Pieces the two custodian ceremonies (init, renew) share: the options they take, the new signing
 * subkey, the k-of-n split, staged outputs and the recombination check of the shares as staged.
 */
import { mkdirSync, readFileSync, rmSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CeremonyError } from '../errors.js';
import type { CeremonyConfig } from '../config.js';
import { createFileExclusive, fsyncDir, moveIntoPlaceExclusive, readInputFile } from '../files.js';
import { generateRsaKeyPair, findPrivateKey, type KeyInfo } from '../hsm/keys.js';
import { TokenKeySigner } from '../hsm/token-signer.js';
import { describePinFormat, MIN_PIN_STRENGTH_BITS, pinFormatForToken, pinStrengthBits, type PinFormat, type PinFormats } from '../quorum/index.js';
import { splitQuorumSecret, formatShare, formatShareWords, encryptShareForCustodian, wipeShares, recombineEveryShare, type QuorumSplit, type QuorumSetDescriptor, type WrittenShare } from '../quorum/index.js';
import type { CeremonyContext } from './runner.js';
import type { Pkcs11Uri } from '../hsm/uri.js';
import type { Pkcs11Module } from '../hsm/module.js';
import { TokenSession as TokenSessionClass, type TokenInfo } from '../hsm/token.js';
import type { RecordSealer } from '../audit/seal.js';
import { chooseSealKey, hsmSealer } from './seal-key.js';
import { shareHandout } from '../quorum/handout.js';
import { DAY_MS, utcDay } from '../dates.js';
import { MAX_CERTIFICATE_BYTES } from '../openpgp/build/certificate.js';


export interface QuorumCeremonyOptions extends CeremonyContext {
  config: CeremonyConfig;
  outDir: string;
  /**
   * `--so-pin-file`: the signing token's current SO PIN while a person still holds it (else
   * CEREMONY_SO_PIN or, at init, a prompt). Read once and replaced by one the quorum holds (issue 10).
   */
  soPinFile?: string;
  /** `--accept-weak-pins`: accept a token whose PIN limits leave a derived PIN under 64 bits (recorded). */
  acceptWeakPins?: boolean;
  /** `--root-so-pin-file` (else CEREMONY_ROOT_SO_PIN): the SO PIN the free slot's token already has, if any (init only). */
  rootSoPinFile?: string;
}

export interface PinPlan {
  formats: PinFormats;
  /** For the record: each PIN's length, alphabet and strength in bits (never the PIN). */
  detail: string;
  /** Some PIN is under MIN_PIN_STRENGTH_BITS and the ceremony was told to accept it. */
  weak: boolean;
}

/**
 * The PINs the quorum will hold, fitted to the tokens (issue 10): the longest each token allows, and
 * refused below 64 bits unless `acceptWeak` (the ceremony records the override).
 */
export function planPins(rootToken: Pick<TokenInfo, 'label' | 'minPinLen' | 'maxPinLen' | 'model'>, signingToken: Pick<TokenInfo, 'label' | 'minPinLen' | 'maxPinLen' | 'model'>, acceptWeak: boolean): PinPlan {
  const fit = (t: typeof rootToken, who: 'user' | 'so', what: string) => {
    const f = pinFormatForToken(t, who);
    if (!f) throw new CeremonyError('PIN_TOO_WEAK', `token '${t.label}' takes PINs of ${t.minPinLen} to ${t.maxPinLen} characters: no derived ${what} fits`);
    return f;
  };
  const formats: PinFormats = { rootUser: fit(rootToken, 'user', 'user PIN'), rootSo: fit(rootToken, 'so', 'SO PIN'), signingSo: fit(signingToken, 'so', 'SO PIN') };
  const named: [string, PinFormat][] = [[`'${rootToken.label}' user PIN`, formats.rootUser], [`'${rootToken.label}' SO PIN`, formats.rootSo], [`'${signingToken.label}' SO PIN`, formats.signingSo]];
  const weak = named.filter(([, f]) => pinStrengthBits(f) < MIN_PIN_STRENGTH_BITS);
  if (weak.length && !acceptWeak) {
    const [name, f] = weak[0]!;
    throw new CeremonyError(
      'PIN_TOO_WEAK',
      `the ${name} can be at most ${f.length} characters on this token, ${pinStrengthBits(f)} bits, under the ${MIN_PIN_STRENGTH_BITS} bits a quorum-held PIN needs; use a token that takes longer PINs, or give --accept-weak-pins to accept it (recorded)`,
    );
  }
  return { formats, detail: named.map(([n, f]) => `${n}: ${describePinFormat(f)}`).join('; '), weak: weak.length > 0 };
}

/**
 * `--seal-key` is checked before the ceremony starts (DESIGN §5: refused before it starts when no key
 * can seal); its token's public objects are readable without a PIN.
 */
export async function precheckSealKey(mod: Pkcs11Module, sealKey: Pkcs11Uri | undefined, now: Date): Promise<void> {
  if (!sealKey) return;
  const ts = TokenSessionClass.open(mod, sealKey, false);
  try {
    await chooseSealKey(ts, { sealKey, now });
  } finally {
    ts.close();
  }
}

/** The sealer for `--seal-key`, on whichever of the ceremony's logged-in sessions holds its token. */
export async function sealerForSealKey(sealKey: Pkcs11Uri, sessions: TokenSessionClass[], now: () => Date): Promise<RecordSealer> {
  const ts = sessions.find((s) => s.info.label === sealKey.token);
  if (!ts) throw new CeremonyError('USAGE', `--seal-key must name a key on the root or the signing token, not on '${sealKey.token ?? '(no token)'}'`);
  return hsmSealer(ts, await chooseSealKey(ts, { sealKey, now: now() }), now);
}


/** The validity of a new yearly subkey: from today for validity + overlap days (token dates and OpenPGP expiry agree). */
export function subkeyWindow(config: CeremonyConfig, now: Date): { validFrom: Date; validUntil: Date; tokenDays: number } {
  const validFrom = utcDay(now);
  const tokenDays = config.keys.subkeyValidityDays + config.keys.overlapDays;
  // CKA_END_DATE is the last valid day; the OpenPGP expiry is the end of that day.
  const validUntil = new Date(validFrom.getTime() + (tokenDays + 1) * DAY_MS);
  return { validFrom, validUntil, tokenDays };
}

export function subkeyLabel(now: Date): string {
  return `signing-${now.toISOString().slice(0, 10)}-${randomBytes(2).toString('hex')}`;
}

/** Generate the yearly signing subkey on the signing token (RSA-4096, locked, backup-able under a trusted key, dated). */
export function generateSigningSubkey(signing: TokenSessionClass, config: CeremonyConfig, now: Date, warn?: (message: string) => void): { key: KeyInfo; signer: TokenKeySigner } {
  const { tokenDays } = subkeyWindow(config, now);
  const made = generateRsaKeyPair(signing, { label: subkeyLabel(now), bits: 4096, role: 'signing-subkey', validDays: tokenDays, now, warn });
  const key = findPrivateKey(signing, { object: made.label, id: made.id, extraPath: [], extraQuery: [] });
  return { key, signer: new TokenKeySigner(signing, key, () => now) };
}

export class StagedOutputs {
  readonly dir: string;
  private readonly files: string[] = [];

  constructor(readonly outDir: string) {
    mkdirSync(outDir, { recursive: true });
    this.dir = join(outDir, `.staging-${randomBytes(6).toString('hex')}`);
    mkdirSync(this.dir, { mode: 0o700 });
  }

  /** Refuse to start if the out dir already holds outputs of a ceremony (never overwrite shares). */
  static assertFree(outDir: string, names: string[]): void {
    for (const n of names) {
      if (existsSync(join(outDir, n))) {
        throw new CeremonyError('OUTPUT_EXISTS', `${join(outDir, n)} already exists; choose an empty --out folder (a ceremony never overwrites shares or certificates)`);
      }
    }
  }

  write(relPath: string, data: string | Uint8Array, mode = 0o644): void {
    const target = join(this.dir, relPath);
    mkdirSync(join(target, '..'), { recursive: true, mode: 0o700 });
    createFileExclusive(target, data, mode);
    this.files.push(relPath);
  }

  read(relPath: string): Buffer {
    return readFileSync(join(this.dir, relPath));
  }

  /**
   * Move every staged file into the out dir, each created exclusively (files.ts: link, never a rename
   * over what is there): a file or symlink planted after assertFree is neither replaced nor followed,
   * the commit stops with OUTPUT_EXISTS and takes back what it had already moved.
   */
  commit(): string[] {
    const done: string[] = [];
    try {
      for (const rel of this.files) {
        const to = join(this.outDir, rel);
        mkdirSync(join(to, '..'), { recursive: true });
        moveIntoPlaceExclusive(join(this.dir, rel), to);
        done.push(to);
      }
    } catch (e) {
      for (const f of done) rmSync(f, { force: true });
      this.discard();
      throw e;
    }
    fsyncDir(this.outDir);
    if (existsSync(join(this.outDir, 'shares'))) fsyncDir(join(this.outDir, 'shares'));
    this.discard();
    return done;
  }

  /** Remove everything staged (shares included): a failed ceremony hands nothing out. */
  discard(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  get staged(): string[] {
    return [...this.files];
  }
}

export interface HandedOutShare {
  custodian: string;
  index: number;
  file: string;
  encrypted: boolean;
  /** The hand-out note beside the share (what it is, how to check and keep it, wipe the plain file). */
  handout: string;
}

/** What was staged, and the shares as written, for the recombination check before anyone leaves. */
export interface StagedShares {
  handed: HandedOutShare[];
  /**
   * Each form a custodian may bring back, one list per form, one entry per custodian in the descriptor's
   * order: the envelope read back from its staged file, and the words read back from theirs. A share
   * encrypted to its custodian cannot be read back without the custodian's key, so both lists carry the
   * envelope that was encrypted.
   */
  readBack: WrittenShare[][];
}

/**
 * Stage one share file per custodian: plain text envelope plus the same share as words, or an OpenPGP
 * message encrypted to the custodian's configured key. Share bytes are wiped afterwards.
 */
export async function stageShares(staged: StagedOutputs, split: QuorumSplit, config: CeremonyConfig, facts: { rootFingerprint: string }): Promise<StagedShares> {
  const out: HandedOutShare[] = [];
  const envelopes: WrittenShare[] = [];
  const words: WrittenShare[] = [];
  try {
    for (const share of split.shares) {
      // Each custodian's files come with a hand-out note (no part of the share in it).
      const handout = (files: string[], encrypted: boolean) =>
        staged.write(`shares/${share.custodian}.handout.txt`, shareHandout({ custodian: share.custodian, index: share.index, total: share.total, threshold: share.threshold, setId: share.setId, rootFingerprint: facts.rootFingerprint, files, encrypted }), 0o644);
      const custodian = config.quorum.custodians.find((c) => c.name === share.custodian);
      const text = formatShare(share);
      if (custodian?.publicKey) {
        const armoredKey = readInputFile(custodian.publicKey, "custodian's public key", MAX_CERTIFICATE_BYTES).toString('utf8');
        const message = await encryptShareForCustodian(text, armoredKey, share.custodian);
        const file = `shares/${share.custodian}.share.asc`;
        staged.write(file, message, 0o600);
        handout([file], true);
        envelopes.push({ source: file, text });
        words.push({ source: file, text });
        out.push({ custodian: share.custodian, index: share.index, file, encrypted: true, handout: `shares/${share.custodian}.handout.txt` });
      } else {
        // The envelope, and the same share as words for a custodian who copies it by hand onto paper.
        const file = `shares/${share.custodian}.share`;
        staged.write(file, text, 0o600);
        staged.write(`${file}.words`, formatShareWords(share), 0o600);
        handout([file, `${file}.words`], false);
        envelopes.push({ source: file, text: staged.read(file) });
        words.push({ source: `${file}.words`, text: staged.read(`${file}.words`) });
        out.push({ custodian: share.custodian, index: share.index, file, encrypted: false, handout: `shares/${share.custodian}.handout.txt` });
      }
    }
  } finally {
    wipeShares(split.shares);
  }
  return { handed: out, readBack: [envelopes, words] };
}

/**
 * The init and renew ceremonies' check before anyone leaves the room: every share, in each form it was
 * written (read back from the staged files, so a formatting bug cannot hand out a share that never
 * recombines), takes part in successful k-subsets that give the new secret and match the commitment.
 * Returns how many k-subsets were recombined.
 */
export async function recombineStagedShares(descriptor: QuorumSetDescriptor, secret: Uint8Array, shares: StagedShares): Promise<number> {
  for (const form of shares.readBack) await recombineEveryShare(descriptor, secret, form);
  return shares.readBack.length * descriptor.custodians.length;
}

export async function splitForConfig(secret: Buffer, config: CeremonyConfig, setId: string): Promise<QuorumSplit> {
  return splitQuorumSecret(secret, { threshold: config.quorum.threshold, custodians: config.quorum.custodians.map((c) => c.name), setId });
}

export function listStaged(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir) : [];
}
