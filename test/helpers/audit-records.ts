/**
 * Realistic ceremony records for the audit tests, made by the real writer (CeremonyRecord) with the
 * step sequences of DESIGN §3 for each kind: sign, payload-sign, init, renew. Artifacts are real files
 * beside the record folder, so the manifest's hashes are checked too.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { CeremonyRecord, describeFile } from '../../ceremony/audit/record.js';
import type { CeremonyKind, EventInput, FileRef } from '../../ceremony/audit/events.js';
import type { RecordSealer } from '../../ceremony/audit/seal.js';

export const BUILD_KEY_FPR = 'F88CFEDEFF29A5B4D9523864E25D9AE0C123B9D0'; // a Flatcar-like pinned build key
export const SUBKEY_FPR = 'A1B2C3D4E5F60718293A4B5C6D7E8F9012345678';
export const ROOT_FPR = '0123456789ABCDEF0123456789ABCDEF01234567';

/** A fixed, increasing clock so records are reproducible and time never goes backwards. */
export function steppingClock(start = Date.parse('2026-11-22T01:30:00.000Z'), stepMs = 1500): () => Date {
  let t = start - stepMs;
  return () => new Date((t += stepMs));
}

export interface SampleFiles {
  inputs: FileRef[];
  outputs: FileRef[];
  inputPaths: string[];
  outputPaths: string[];
}

async function makeFiles(dir: string, names: string[], prefix: string): Promise<{ refs: FileRef[]; paths: string[] }> {
  mkdirSync(dir, { recursive: true });
  const refs: FileRef[] = [];
  const paths: string[] = [];
  for (const n of names) {
    const p = join(dir, n);
    writeFileSync(p, `${prefix} ${n} ${randomBytes(64).toString('hex')}\n`);
    refs.push(await describeFile(p));
    paths.push(p);
  }
  return { refs, paths };
}

const validity = { validFrom: '2026-01-01T00:00:00.000Z', validUntil: '2027-01-31T00:00:00.000Z' };
const signingKey = { uri: 'pkcs11:token=signing;object=image-signing-2026;type=private', fingerprint: SUBKEY_FPR, ...validity };
const payloadKey = { uri: 'pkcs11:token=signing;object=payload-2026;type=private', fingerprint: createHash('sha256').update('payload').digest('hex').toUpperCase(), ...validity };
const rootKey = { uri: 'pkcs11:token=root;object=root;type=private', fingerprint: ROOT_FPR, validFrom: '2025-01-01T00:00:00.000Z' };
const maintainer = { role: 'maintainer' as const, name: 'Mara Maintainer' };
const custodian = (name: string) => ({ role: 'custodian' as const, name });
const setId = 'a1b2c3d4e5f60718';
const newSetId = '0f1e2d3c4b5a6978';

/** The events each kind of ceremony writes after 'ceremony-start' (the writer adds seal and end). */
export function sampleEvents(kind: CeremonyKind, f: SampleFiles): EventInput[] {
  const airGap: EventInput = { step: 'air-gap-check', detail: 'no network interface is up' };
  switch (kind) {
    case 'sign': {
      const verify = f.inputs.map<EventInput>((i) => ({ step: 'verify-input', actor: maintainer, detail: `server signature and digests of ${i.name} verified`, inputs: [i], key: { fingerprint: BUILD_KEY_FPR } }));
      return [
        airGap,
        { step: 'load-trusted-keys', detail: 'build server certificate loaded and matches the pinned fingerprint', key: { fingerprint: BUILD_KEY_FPR } },
        ...verify,
        { step: 'show-fingerprints', actor: maintainer, detail: 'fingerprints and SHA-256 values shown for reading aloud', inputs: f.inputs },
        { step: 'hsm-login', actor: maintainer, result: 'refused', code: 'PIN_INCORRECT', detail: 'wrong PIN for token signing (attempt 1 of 3)' },
        { step: 'hsm-login', actor: maintainer, detail: 'logged into token signing' },
        { step: 'select-key', detail: 'signing subkey selected, inside its validity window', key: signingKey },
        { step: 'sign', actor: maintainer, detail: `${f.inputs.length} detached signatures made on the HSM`, inputs: f.inputs, outputs: f.outputs, key: signingKey },
        { step: 'self-check', detail: 'every signature verified with the exported certificate', outputs: f.outputs },
        { step: 'write-output', detail: 'outputs written atomically', outputs: f.outputs },
      ];
    }
    case 'payload-sign':
      return [
        { step: 'air-gap-check', result: 'override', detail: 'network interface eth0 is up; overridden with --allow-network' },
        { step: 'verify-input', actor: maintainer, detail: 'payload parsed: CrAU version 2, unsigned', inputs: f.inputs },
        { step: 'show-fingerprints', actor: maintainer, detail: 'payload SHA-256 shown', inputs: f.inputs },
        { step: 'hsm-login', actor: maintainer, detail: 'logged into token signing' },
        { step: 'select-key', detail: 'payload key selected', key: payloadKey },
        { step: 'sign', actor: maintainer, detail: 'payload signed (256-byte RSA signature)', inputs: f.inputs, outputs: f.outputs, key: payloadKey },
        { step: 'self-check', detail: 'signed payload verified as update_engine would', outputs: f.outputs },
        { step: 'write-output', detail: 'signed payload written atomically', outputs: f.outputs },
      ];
    case 'init': {
      const names = ['alice', 'bob', 'carol', 'dave', 'erin'];
      return [
        airGap,
        { step: 'load-config', detail: 'configuration valid: 3 of 5 custodians', quorum: { threshold: 3, total: 5, custodians: names } },
        { step: 'init-token', detail: 'root token initialized in a free slot' },
        { step: 'derive-pins', detail: 'root token PINs derived from the new quorum secret' },
        { step: 'root-login', detail: 'logged into the root token' },
        { step: 'generate-key', detail: 'RSA-4096 root key generated (non-extractable)', key: rootKey },
        { step: 'build-certificate', detail: 'self-certification made on the HSM', key: rootKey },
        { step: 'generate-key', detail: 'RSA-4096 signing subkey generated on token signing', key: signingKey },
        { step: 'bind-subkey', detail: 'subkey bound to the root key', key: rootKey },
        { step: 'split', detail: 'quorum secret split 3 of 5', quorum: { threshold: 3, total: 5, custodians: names }, share: { index: 1, setId } },
        ...names.map<EventInput>((n, i) => ({ step: 'hand-out-share', actor: custodian(n), detail: `share ${i + 1} of 5 handed to ${n}`, share: { index: i + 1, setId } })),
        { step: 'recombine-check', detail: 'every share took part in a successful 3-subset' },
        { step: 'export-certificate', detail: 'public certificate exported', outputs: f.outputs },
        { step: 'write-output', detail: 'outputs written atomically', outputs: f.outputs },
      ];
    }
    case 'renew': {
      const names = ['alice', 'bob', 'carol'];
      return [
        airGap,
        { step: 'load-config', detail: 'configuration valid: 3 of 5 custodians' },
        { step: 'quorum-session', detail: 'quorum session bound to the new validity window and custodian set', quorum: { sessionId: 'c0ffee00c0ffee00c0ffee00c0ffee00', threshold: 3, total: 5 } },
        ...names.map<EventInput>((n, i) => ({ step: 'share-accepted', actor: custodian(n), detail: `share ${i + 1} from ${n} accepted (${i + 1}/3)`, share: { index: i + 1, setId } })),
        { step: 'share-refused', actor: custodian('bob'), result: 'refused', code: 'SHARE_DUPLICATE', detail: 'share 2 was already presented', share: { index: 2, setId } },
        { step: 'quorum-reached', detail: 'quorum reached: 3 of 3' },
        { step: 'derive-pins', detail: 'root token PINs derived' },
        { step: 'root-login', detail: 'logged into the root token' },
        { step: 'generate-key', actor: maintainer, detail: 'new RSA-4096 signing subkey generated', key: signingKey },
        { step: 'bind-subkey', detail: 'new subkey bound to the root key', key: rootKey },
        { step: 'sign-transition', detail: 'key transition statement signed by the root key', key: rootKey, outputs: f.outputs.slice(0, 1) },
        { step: 'rotate-pins', detail: 'root token PINs rotated' },
        { step: 'split', detail: 'new quorum secret split 3 of 5', quorum: { threshold: 3, total: 5 }, share: { index: 1, setId: newSetId } },
        { step: 'recombine-check', detail: 'every new share took part in a successful 3-subset' },
        { step: 'export-certificate', detail: 'updated certificate exported', outputs: f.outputs },
        { step: 'write-output', detail: 'outputs written atomically', outputs: f.outputs },
      ];
    }
    case 'backup':
    case 'restore': {
      const names = kind === 'backup' ? ['alice', 'bob', 'carol'] : ['carol', 'dave', 'erin'];
      const wrap: EventInput['step'] = kind === 'backup' ? 'wrap-keys' : 'unwrap-keys';
      return [
        airGap,
        { step: 'load-config', detail: `${kind} of tokens root and signing under set ${setId}` },
        ...(kind === 'restore' ? [{ step: 'hsm-login', actor: maintainer, detail: 'logged in to the fresh signing token; it holds no keys' } satisfies EventInput] : []),
        ...names.map<EventInput>((n, i) => ({ step: 'share-accepted', actor: custodian(n), detail: `share ${i + 1} from ${n} accepted (${i + 1}/3)`, share: { index: i + 1, setId } })),
        { step: 'quorum-reached', detail: 'quorum reached: 3 of 3' },
        { step: 'derive-pins', detail: 'PINs and backup keys derived' },
        ...(kind === 'backup'
          ? [{ step: 'root-login', detail: 'logged into the root token' } satisfies EventInput, { step: 'hsm-login', actor: maintainer, detail: 'logged in to the signing token' } satisfies EventInput]
          : [{ step: 'verify-input', detail: 'the backup authenticates under the set', inputs: f.outputs.slice(0, 1) } satisfies EventInput, { step: 'init-token', detail: 'root token initialised with the derived PINs' } satisfies EventInput]),
        { step: wrap, detail: 'root-key [root] under a trusted key the SO made; the wrapping key was destroyed', key: rootKey },
        { step: wrap, detail: 'payload-2026 [payload] under a trusted key the SO made; the wrapping key was destroyed', key: payloadKey },
        ...(kind === 'restore' ? [{ step: 'self-check', detail: 'every restored key signs and verifies' } satisfies EventInput] : []),
        { step: 'write-output', detail: 'backup file written', outputs: f.outputs },
      ];
    }
  }
}

const COMMANDS: Record<CeremonyKind, string> = { sign: 'ceremony sign', 'payload-sign': 'ceremony payload sign', init: 'ceremony init', renew: 'ceremony renew', backup: 'ceremony backup', restore: 'ceremony restore' };

function quorumKind(kind: CeremonyKind): boolean {
  return kind === 'init' || kind === 'renew' || kind === 'backup' || kind === 'restore';
}

export interface SampleRecordOptions {
  /** Replace the standard event list (e.g. to make a policy violation). */
  events?: (files: SampleFiles) => EventInput[];
  /** Stop after this many events and leave the record unsealed. */
  stopAfter?: number;
  now?: () => Date;
}

/**
 * Write a record of `kind` under `<work>/records/`, with its artifacts under `<work>/release/` and
 * `<work>/out/`. Returns the record's folder.
 */
export async function writeSampleRecord(work: string, kind: CeremonyKind, sealer: RecordSealer | undefined, opts: SampleRecordOptions = {}): Promise<string> {
  const inNames = kind === 'sign' ? ['flatcar_production_image.bin.bz2', 'flatcar_production_image.bin.bz2.DIGESTS'] : kind === 'payload-sign' ? ['flatcar_production_update.gz'] : [];
  const outNames =
    kind === 'sign'
      ? ['flatcar_production_image.bin.bz2.sig', 'flatcar_production_image.bin.bz2.DIGESTS.sig']
      : kind === 'payload-sign'
        ? ['flatcar_production_update.signed.gz']
        : kind === 'renew'
          ? ['transition.json', 'certificate.asc']
          : kind === 'backup' || kind === 'restore'
            ? ['keys.backup']
            : ['certificate.asc', 'root.fingerprint'];
  const ins = await makeFiles(join(work, 'release'), inNames, 'input');
  const outs = await makeFiles(join(work, 'out'), outNames, 'output');
  const files: SampleFiles = { inputs: ins.refs, outputs: outs.refs, inputPaths: ins.paths, outputPaths: outs.paths };
  const record = CeremonyRecord.create({
    recordDir: join(work, 'records'),
    kind,
    attended: kind !== 'payload-sign',
    actor: kind === 'sign' || kind === 'payload-sign' ? maintainer : { role: 'system' },
    now: opts.now ?? steppingClock(),
    parameters: {
      command: COMMANDS[kind] as `ceremony ${string}`,
      options: [
        { name: 'record-dir', value: join(work, 'records') },
        { name: quorumKind(kind) ? 'config' : 'key', value: quorumKind(kind) ? 'ceremony.json' : signingKey.uri },
        ...(ins.paths.length ? [{ name: 'file' as const, value: ins.paths }] : []),
        ...(kind === 'payload-sign' ? [{ name: 'allow-network' as const, value: true }] : []),
      ],
      toolVersion: '0.1.0',
      host: kind === 'payload-sign' ? { airGapped: false, interfacesUp: ['eth0'], overridden: true } : { airGapped: true, interfacesUp: [], overridden: false },
      overrides: kind === 'payload-sign' ? ['allow-network'] : [],
      ...(quorumKind(kind) ? { quorum: { threshold: 3, total: 5 } } : {}),
    },
  });
  const events = (opts.events ?? ((x: SampleFiles) => sampleEvents(kind, x)))(files);
  let n = 0;
  for (const e of events) {
    if (opts.stopAfter !== undefined && n >= opts.stopAfter) {
      record.close();
      return record.dir;
    }
    record.append(e);
    n++;
  }
  if (!sealer) {
    record.close();
    return record.dir;
  }
  for (const p of ins.paths) await record.addArtifact(p, 'input');
  for (const p of outs.paths) await record.addArtifact(p, 'output');
  await record.seal(sealer);
  return record.dir;
}
