/**
 * `ceremony shares check` as a library: every check a renewal makes on shares, without the HSM — format,
 * checksum, set, duplicates, and with k shares the commitment. Each share gets its own status, so one
 * run tells every custodian whether their share is good.
 *
 * Which set is expected: the descriptor when one is given (as the root token holds it); otherwise the set
 * that most of the readable shares name (the first one on a tie), and the report says so.
 */
import * as openpgp from 'openpgp';
import { CeremonyError, isCeremonyError, type ErrorCode } from '../errors.js';
import { wipe } from '../crypto.js';
import type { QuorumSetDescriptor } from './descriptor.js';
import { decryptShare, isEncryptedShare } from './encrypt.js';
import { formatSetId } from './secret.js';
import { QuorumSession, type ExpectedSet } from './session.js';
import { parseShare, type Share } from './share.js';

export type ShareStatus = 'ok' | 'malformed' | 'invalid' | 'foreign' | 'duplicate' | 'misfit' | 'encrypted';

export interface ShareCheckEntry {
  source: string;
  status: ShareStatus;
  custodian?: string;
  index?: number;
  total?: number;
  setId?: string;
  /** The error code for a refused share. */
  code?: ErrorCode;
  /** Why it was refused or skipped (never share bytes). */
  message?: string;
}

export interface ShareCheckReport {
  ok: boolean;
  /** The set the shares were checked against, and where that came from. */
  setId?: string;
  threshold?: number;
  expectedFrom: 'descriptor' | 'shares' | 'none';
  accepted: number;
  commitment: 'verified' | 'mismatch' | 'not-checked';
  entries: ShareCheckEntry[];
  /** The error a failed check ends with (most severe first: unreadable input, then the first refusal). */
  failure?: CeremonyError;
}

export interface ShareInput {
  source: string;
  bytes: Buffer;
}

export interface CheckOptions {
  expected?: QuorumSetDescriptor;
  /** A custodian's armored private key, to check shares encrypted to it; others stay 'encrypted'. */
  privateKey?: string;
  passphrase?: Buffer;
}

const STATUS_OF: Partial<Record<ErrorCode, ShareStatus>> = {
  SHARE_MALFORMED: 'malformed',
  SHARE_INVALID: 'invalid',
  SHARE_FOREIGN: 'foreign',
  SHARE_DUPLICATE: 'duplicate',
};

/** Check shares; the caller's input buffers are wiped. Never throws for a bad share: it is reported. */
export async function checkShares(inputs: readonly ShareInput[], options: CheckOptions = {}): Promise<ShareCheckReport> {
  const entries: ShareCheckEntry[] = [];
  const parsed: { share: Share; entry: ShareCheckEntry }[] = [];
  const errors: CeremonyError[] = [];
  const refuse = (entry: ShareCheckEntry, e: unknown) => {
    const err = isCeremonyError(e) ? e : new CeremonyError('SHARE_MALFORMED', `${entry.source} cannot be checked`, { cause: e });
    entry.status = STATUS_OF[err.code] ?? 'invalid';
    entry.code = err.code;
    entry.message = err.message;
    const named = err.details?.custodian;
    if (entry.custodian === undefined && typeof named === 'string') entry.custodian = named;
    errors.push(err);
  };
  try {
    for (const { source, bytes } of inputs) {
      const entry: ShareCheckEntry = { source, status: 'ok' };
      entries.push(entry);
      let plain: Buffer | undefined = bytes;
      try {
        if (isEncryptedShare(bytes)) {
          plain = options.privateKey ? await decryptIfForKey(bytes, options.privateKey, options.passphrase, source) : undefined;
          if (!plain) {
            entry.status = 'encrypted';
            entry.message = options.privateKey
              ? `${source} is encrypted to another key; it was not checked`
              : `${source} is encrypted; it was not checked (give the custodian's --private-key to check it)`;
            continue;
          }
        }
        const share = parseShare(plain, source);
        Object.assign(entry, { custodian: share.custodian, index: share.index, total: share.total, setId: formatSetId(share.setId) });
        parsed.push({ share, entry });
      } catch (e) {
        refuse(entry, e);
      } finally {
        if (plain !== bytes) wipe(plain);
      }
    }
    const expected = options.expected ?? mostNamedSet(parsed.map((p) => p.share));
    let commitment: ShareCheckReport['commitment'] = 'not-checked';
    let accepted = 0;
    if (expected) {
      const session = new QuorumSession(expected);
      try {
        for (const p of parsed) {
          try {
            session.add(p.share, p.entry.source);
          } catch (e) {
            refuse(p.entry, e);
          }
        }
        accepted = session.have;
        if (session.complete) {
          try {
            const r = await session.recover();
            commitment = 'verified';
            for (const m of r.misfits) {
              const entry = parsed.find((p) => p.entry.source === m.source)!.entry;
              refuse(
                entry,
                new CeremonyError('QUORUM_MISMATCH', `the share of ${m.custodian} (${m.source}) does not fit the set's secret that the other shares give: it is forged or altered`),
              );
            }
          } catch (e) {
            if (!isCeremonyError(e, 'QUORUM_MISMATCH')) throw e;
            commitment = 'mismatch';
            errors.push(e);
          }
        }
      } finally {
        session.wipe();
      }
    }
    const failure = errors.find((e) => e.exitCode === 2) ?? errors[0];
    return {
      ok: failure === undefined,
      ...(expected ? { setId: formatSetId(expected.setId), threshold: expected.threshold } : {}),
      expectedFrom: options.expected ? 'descriptor' : expected ? 'shares' : 'none',
      accepted,
      commitment,
      entries,
      ...(failure ? { failure } : {}),
    };
  } finally {
    for (const p of parsed) wipe(p.share.data);
    for (const i of inputs) wipe(i.bytes);
  }
}

function mostNamedSet(shares: readonly Share[]): ExpectedSet | undefined {
  const counts = new Map<string, number>();
  for (const s of shares) counts.set(s.setId, (counts.get(s.setId) ?? 0) + 1);
  let best: Share | undefined;
  for (const s of shares) if (!best || counts.get(s.setId)! > counts.get(best.setId)!) best = s;
  return best && { setId: best.setId, commitment: best.commitment, threshold: best.threshold, total: best.total };
}

/** Decrypt when the message is encrypted to (a subkey of) the given private key; undefined when it is for someone else. */
async function decryptIfForKey(armored: Buffer, privateKey: string, passphrase: Buffer | undefined, source: string): Promise<Buffer | undefined> {
  const text = armored.toString('utf8');
  let recipients: string[];
  let ours: string[];
  try {
    const message = await openpgp.readMessage({ armoredMessage: text });
    recipients = message.getEncryptionKeyIDs().map((id) => id.toHex());
  } catch (e) {
    throw new CeremonyError('SHARE_MALFORMED', `${source} is not an OpenPGP message`, { cause: e });
  }
  try {
    ours = (await openpgp.readPrivateKey({ armoredKey: privateKey })).getKeyIDs().map((id) => id.toHex());
  } catch (e) {
    throw new CeremonyError('INPUT_MALFORMED', 'the private key given to check encrypted shares cannot be read', { cause: e });
  }
  if (!recipients.some((r) => ours.includes(r))) return undefined;
  return decryptShare(text, privateKey, passphrase, source);
}
