/**
 * A stand-in build server for `ceremony demo` (issue 3): an RSA OpenPGP key made with openpgp.js (a certifying
 * primary and a signing subkey with its back-signature, the shape of Flatcar's image signing key), a small
 * sample release signed the way Flatcar's build signs one — FILE.sig (binary, detached) and a clearsigned
 * FILE.DIGESTS.asc beside each file (plus the plain FILE.DIGESTS) — and the public certificate to pin.
 * Throwaway material only: the private key never leaves this function.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';

export interface DemoBuildServer {
  dir: string;
  /** The pinned certificate (armored, public only). */
  certificate: string;
  primaryFingerprint: string;
  signingSubkeyFingerprint: string;
  /** The sample release files; each has FILE.sig, FILE.DIGESTS and FILE.DIGESTS.asc beside it. */
  files: string[];
}

/** Flatcar's DIGESTS layout: `# MD5 HASH`, `# SHA1 HASH`, `# SHA512 HASH`, each followed by `<hex>  <name>` lines. */
export function flatcarDigests(entries: { name: string; bytes: Uint8Array }[]): string {
  let text = '';
  for (const alg of ['md5', 'sha1', 'sha512'] as const) {
    text += `# ${alg.toUpperCase()} HASH\n`;
    for (const e of entries) text += `${createHash(alg).update(e.bytes).digest('hex')}  ${e.name}\n`;
  }
  return text;
}

/** Sample release contents: deterministic, so a demo run can be compared with another. */
function sampleRelease(version: string): { name: string; bytes: Uint8Array }[] {
  const image = Buffer.alloc(2 * 1024 * 1024);
  for (let off = 0, i = 0; off < image.length; off += 32, i++) createHash('sha256').update(`demo image block ${i}`).digest().copy(image, off);
  return [
    {
      name: 'version.txt',
      bytes: Buffer.from(`FLATCAR_VERSION=${version}\nFLATCAR_VERSION_ID=${version}\nFLATCAR_BUILD_ID="demo"\nFLATCAR_SDK_VERSION=${version}\n`),
    },
    { name: 'flatcar_production_image.bin', bytes: image },
  ];
}

export async function makeDemoBuildServer(
  dir: string,
  options: {
    now?: Date;
    rsaBits?: 2048 | 3072 | 4096;
    version?: string;
    /** Names of files already in `dir` to sign too (e.g. an update payload). */ alsoSign?: string[];
    /**
     * From its second year (issue 15): sign with this key, which the renewal certified as a subkey of the
     * root; `certificate` (the published root certificate, armored) is then what verifiers pin.
     */
    certified?: { key: openpgp.PrivateKey; certificate: string };
  } = {},
): Promise<DemoBuildServer> {
  const now = options.now ?? new Date();
  mkdirSync(dir, { recursive: true });
  const { privateKey, publicKey } = options.certified
    ? { privateKey: options.certified.key, publicKey: await openpgp.readKey({ armoredKey: options.certified.certificate }) }
    : await openpgp.generateKey({
        type: 'rsa',
        rsaBits: options.rsaBits ?? 4096,
        userIDs: [{ name: 'Demo Build Server (throwaway, not Flatcar)', email: 'build@demo.invalid' }],
        subkeys: [{ sign: true }],
        date: now,
        format: 'object',
      });
  const certificate = join(dir, 'build-server.asc');
  writeFileSync(certificate, options.certified?.certificate ?? publicKey.armor());

  const files: string[] = [];
  const extra = (options.alsoSign ?? []).map((name) => ({ name, bytes: readFileSync(join(dir, name)) as Uint8Array }));
  for (const entry of [...sampleRelease(options.version ?? '9999.9.9'), ...extra]) {
    const path = join(dir, entry.name);
    writeFileSync(path, entry.bytes);
    // openpgp.js picks the newest valid signing subkey; a binary-document (0x00) detached signature.
    const sig = await openpgp.sign({ message: await openpgp.createMessage({ binary: entry.bytes }), signingKeys: privateKey, detached: true, format: 'binary', date: now });
    writeFileSync(`${path}.sig`, sig);
    const digests = flatcarDigests([entry]);
    writeFileSync(`${path}.DIGESTS`, digests);
    const clearsigned = await openpgp.sign({ message: await openpgp.createCleartextMessage({ text: digests }), signingKeys: privateKey, date: now });
    writeFileSync(`${path}.DIGESTS.asc`, clearsigned);
    files.push(path);
  }
  const signing = options.certified ? privateKey : await privateKey.getSigningKey(undefined, now);
  return {
    dir,
    certificate,
    primaryFingerprint: publicKey.getFingerprint().toUpperCase(),
    signingSubkeyFingerprint: signing.getFingerprint().toUpperCase(),
    files,
  };
}
