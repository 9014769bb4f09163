/**
 * The guards of a signed DIGESTS list (ceremony/digests/signed.ts) with real GnuPG signatures (issue 16): which
 * clearsigned block counts, what happens to text around it, how the detached signature is found, which signature
 * types are accepted, and the 1 MiB limit at and one past it. Codes are asserted, not wording.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { makeGpgCorpus, type GpgCorpus } from '../../helpers/gpg-corpus.js';
import { loadTrustedCertificates, type TrustedCertificate } from '../../../ceremony/openpgp/verify/certificate.js';
import { loadSignedDigests, readClearsignedDigests, readDetachedDigests } from '../../../ceremony/digests/signed.js';
import type { SignatureRules } from '../../../ceremony/openpgp/verify/rules.js';
import { isCeremonyError } from '../../../ceremony/errors.js';

let c: GpgCorpus;
let trusted: TrustedCertificate[];
let n = 0;
const rules = (): SignatureRules => ({ trusted, now: new Date(), kinds: ['binary'] });
/** Refused with `code`, by a message that names the refused file. */
const fails = (code: string, source: string) => (e: unknown) => isCeremonyError(e, code) && (e as Error).message.includes(source);

/** A Flatcar DIGESTS for one release file, in its own folder. */
function digests(): { dir: string; path: string; file: string } {
  const dir = join(c.dir, `digests-${++n}`);
  mkdirSync(dir);
  const file = join(dir, 'flatcar_production_image.bin');
  writeFileSync(file, `release ${n}\n`);
  const path = c.flatcarDigests(join(dir, 'flatcar_production_image.bin.DIGESTS'), [file]);
  return { dir, path, file };
}

beforeAll(async () => {
  c = makeGpgCorpus();
  trusted = await loadTrustedCertificates([c.build.cert]);
});
afterAll(() => c?.cleanup());

describe('clearsigned DIGESTS', () => {
  it('reads the signed entries and counts the non-blank lines an attacker added around the block', async () => {
    const d = digests();
    const asc = c.clearsign(d.path, c.build.current);
    const signed = readFileSync(asc, 'utf8');
    const bytes = Buffer.from(`added before\n\n${signed}\n# SHA512 HASH\n${'0'.repeat(128)}  flatcar_production_image.bin\n  \n`);
    const r = await readClearsignedDigests(bytes, 'x.asc', rules());
    expect(r).toMatchObject({ form: 'clearsigned', source: 'x.asc', signatureSource: 'x.asc', ignoredLines: 3 });
    expect(r.signer.keyFingerprint).toBe(c.build.current);
    expect(r.entries.map((e) => e.algorithm)).toEqual(['md5', 'sha1', 'sha512']);
    expect(r.entries.find((e) => e.algorithm === 'sha512')!.hex).not.toBe('0'.repeat(128));
  });

  it('finds the end of the signature after the block, not a stray END line planted before it', async () => {
    const d = digests();
    const signed = readFileSync(c.clearsign(d.path, c.build.current), 'utf8');
    const r = await readClearsignedDigests(Buffer.from(`-----END PGP SIGNATURE-----\n${signed}`), 'x.asc', rules());
    expect(r.ignoredLines).toBe(1);
    expect(r.entries).toHaveLength(3);
  });

  it('refuses two clearsigned blocks in one file (which one counts would be the attacker\'s choice)', async () => {
    const a = readFileSync(c.clearsign(digests().path, c.build.current), 'utf8');
    const b = readFileSync(c.clearsign(digests().path, c.build.current), 'utf8');
    await expect(readClearsignedDigests(Buffer.from(a + b), 'two.asc', rules())).rejects.toSatisfy(fails('DIGESTS_MALFORMED', 'two.asc'));
  });

  it('refuses a clearsigned block without its end, and a file that is not UTF-8', async () => {
    const signed = readFileSync(c.clearsign(digests().path, c.build.current), 'utf8');
    const cut = signed.slice(0, signed.indexOf('-----END PGP SIGNATURE-----'));
    await expect(readClearsignedDigests(Buffer.from(cut), 'cut.asc', rules())).rejects.toSatisfy(fails('DIGESTS_MALFORMED', 'cut.asc'));
    const latin1 = Buffer.concat([Buffer.from(signed), Buffer.from([0xff, 0xfe, 0x0a])]);
    await expect(readClearsignedDigests(latin1, 'latin1.asc', rules())).rejects.toSatisfy(fails('DIGESTS_MALFORMED', 'latin1.asc'));
  });

  it('reads a clearsigned DIGESTS saved with CR LF line ends, or with blanks after its armor lines', async () => {
    // GnuPG and openpgp.js ignore trailing whitespace on the armor lines (RFC 4880 §6.2, §7); finding the block
    // must too, or a list copied through a Windows machine would be refused.
    const signed = readFileSync(c.clearsign(digests().path, c.build.current), 'utf8');
    expect((await readClearsignedDigests(Buffer.from(signed.replace(/\n/g, '\r\n')), 'crlf.asc', rules())).entries).toHaveLength(3);
    const blanks = signed.replace('-----BEGIN PGP SIGNED MESSAGE-----', '$&  \t').replace('-----END PGP SIGNATURE-----', '$& \t ');
    expect((await readClearsignedDigests(Buffer.from(blanks), 'blanks.asc', rules())).entries).toHaveLength(3);
  });

  it('refuses a clearsigned block whose armored signature holds no signature, or a packet that is not one', async () => {
    const signed = readFileSync(c.clearsign(digests().path, c.build.current), 'utf8');
    const head = signed.slice(0, signed.indexOf('-----BEGIN PGP SIGNATURE-----'));
    const sig = (await openpgp.unarmor(signed.slice(head.length))).data as Uint8Array;
    // RFC 4880 §5.8 marker packet ("PGP"): openpgp.js skips it, leaving no signature
    const marker = Buffer.from([0xca, 0x03, 0x50, 0x47, 0x50]);
    const onlyMarker = head + openpgp.armor(openpgp.enums.armor.signature, marker);
    await expect(readClearsignedDigests(Buffer.from(onlyMarker), 'marker.asc', rules())).rejects.toSatisfy(fails('SIGNATURE_MALFORMED', 'marker.asc'));
    // §5.9 literal data packet before the signature: not a well-formed signature block
    const literal = Buffer.from([0xcb, 0x06, 0x62, 0x00, 0, 0, 0, 0]);
    const withLiteral = head + openpgp.armor(openpgp.enums.armor.signature, Buffer.concat([literal, sig]));
    await expect(readClearsignedDigests(Buffer.from(withLiteral), 'literal.asc', rules())).rejects.toSatisfy(fails('DIGESTS_MALFORMED', 'literal.asc'));
  });

  it('refuses a file whose BEGIN line is not a line of its own (not a clearsigned message)', async () => {
    const bytes = Buffer.from('x-----BEGIN PGP SIGNED MESSAGE-----\n');
    await expect(readClearsignedDigests(bytes, 'inline.asc', rules())).rejects.toSatisfy(fails('DIGESTS_MALFORMED', 'inline.asc'));
  });

  it('refuses a clearsigned DIGESTS carrying two signatures (exactly one signer is expected)', async () => {
    const d = digests();
    const out = `${d.path}.two.asc`;
    c.gpg(['--local-user', `${c.build.current}!`, '--local-user', `${c.untrusted.primary}!`, '--output', out, '--clearsign', d.path]);
    await expect(readClearsignedDigests(readFileSync(out), 'two-sigs.asc', rules())).rejects.toSatisfy(fails('SIGNATURE_MALFORMED', 'two-sigs.asc'));
  });

  it('refuses a clearsigned DIGESTS whose signature is version 6 (RFC 9580), which no GnuPG 2.2 build server makes', async () => {
    // openpgp.js makes one with a v6 key; the rules that follow read a v4 signature's hashed area.
    const { privateKey } = await openpgp.generateKey({ type: 'curve25519', userIDs: [{ email: 'v6@example.invalid' }], format: 'object', config: { v6Keys: true } });
    const text = readFileSync(digests().path, 'utf8');
    const signed = await openpgp.sign({ message: await openpgp.createCleartextMessage({ text }), signingKeys: privateKey });
    expect(signed).toContain('-----BEGIN PGP SIGNED MESSAGE-----');
    await expect(readClearsignedDigests(Buffer.from(signed), 'v6.asc', rules())).rejects.toSatisfy(fails('SIGNATURE_MALFORMED', 'v6.asc'));
  });

  it('refuses a clearsigned text whose signed lines were edited (the signature covers the dash-unescaped text)', async () => {
    const signed = readFileSync(c.clearsign(digests().path, c.build.current), 'utf8');
    const edited = signed.replace(/^[0-9a-f]{32}/m, '0'.repeat(32));
    expect(edited).not.toBe(signed);
    await expect(readClearsignedDigests(Buffer.from(edited), 'edited.asc', rules())).rejects.toSatisfy(fails('SIGNATURE_INVALID', 'edited.asc'));
  });

  it('a clearsigned DIGESTS of exactly 1 MiB is read, one byte more is refused', async () => {
    const signed = readFileSync(c.clearsign(digests().path, c.build.current), 'utf8');
    const atLimit = Buffer.from(signed + '\n'.repeat(1_048_576 - Buffer.byteLength(signed)));
    expect((await readClearsignedDigests(atLimit, 'limit.asc', rules())).entries).toHaveLength(3);
    await expect(readClearsignedDigests(Buffer.concat([atLimit, Buffer.from('\n')]), 'big.asc', rules())).rejects.toSatisfy(fails('DIGESTS_MALFORMED', 'big.asc'));
  });
});

describe('DIGESTS with a detached signature', () => {
  it('accepts a binary or a text-mode detached signature over the list', async () => {
    const d = digests();
    const bin = c.sign(d.path, c.build.current, { out: `${d.path}.bin.sig` });
    const text = c.sign(d.path, c.build.current, { textmode: true, out: `${d.path}.text.sig` });
    for (const sig of [bin, text]) {
      const r = await readDetachedDigests(readFileSync(d.path), d.path, readFileSync(sig), sig, rules());
      expect(r).toMatchObject({ form: 'detached', source: d.path, signatureSource: sig, ignoredLines: 0 });
      expect(r.entries).toHaveLength(3);
    }
  });

  it('accepts a text-mode signature over a list naming a file in UTF-8 (line ends made CR LF, every other byte kept as is)', async () => {
    // RFC 4880 §5.2.1 0x01: only the line endings change; re-encoding the bytes >= 0x80 would refuse a good signature.
    const d = digests();
    const file = join(d.dir, 'flatcar_café_äöü.bin');
    writeFileSync(file, 'named in UTF-8\n');
    c.flatcarDigests(d.path, [file]);
    const text = c.sign(d.path, c.build.current, { textmode: true, out: `${d.path}.text.sig` });
    const r = await readDetachedDigests(readFileSync(d.path), d.path, readFileSync(text), text, rules());
    expect(r.entries.map((e) => e.name)).toEqual(['flatcar_café_äöü.bin', 'flatcar_café_äöü.bin', 'flatcar_café_äöü.bin']);
  });

  it('a detached DIGESTS of exactly 1 MiB is read, one byte more is refused before its signature is checked', async () => {
    const d = digests();
    const list = readFileSync(d.path, 'utf8');
    writeFileSync(d.path, list + ' '.repeat(1_048_576 - Buffer.byteLength(list)));
    const sig = c.sign(d.path, c.build.current);
    const atLimitSig = readFileSync(sig);
    expect((await readDetachedDigests(readFileSync(d.path), d.path, atLimitSig, sig, rules())).entries).toHaveLength(3);
    writeFileSync(d.path, list + ' '.repeat(1_048_577 - Buffer.byteLength(list)));
    const big = c.sign(d.path, c.build.current);
    await expect(readDetachedDigests(readFileSync(d.path), d.path, readFileSync(big), big, rules())).rejects.toSatisfy(fails('DIGESTS_MALFORMED', d.path));
    // refused for its size before the signature is looked at: with a signature over other bytes, still the size
    await expect(readDetachedDigests(readFileSync(d.path), d.path, atLimitSig, sig, rules())).rejects.toSatisfy(fails('DIGESTS_MALFORMED', d.path));
  });

  it('finds D.sig, else D.asc, beside the list; with neither it is SIGNATURE_MISSING', async () => {
    const d = digests();
    await expect(loadSignedDigests(d.path, rules())).rejects.toSatisfy(fails('SIGNATURE_MISSING', d.path));
    c.sign(d.path, c.build.current, { armor: true });
    expect(await loadSignedDigests(d.path, rules())).toMatchObject({ form: 'detached', signatureSource: `${d.path}.asc` });
    c.sign(d.path, c.build.current);
    expect(await loadSignedDigests(d.path, rules())).toMatchObject({ form: 'detached', signatureSource: `${d.path}.sig` });
  });

  it('an explicit signature wins over the one beside the list, even for a clearsigned-looking list', async () => {
    const d = digests();
    // a wrong .sig beside the list (over other bytes) must not be the one read
    copyFileSync(c.signatures.byRevoked, `${d.path}.sig`);
    const good = c.sign(d.path, c.build.current, { out: join(d.dir, 'explicit.sig') });
    expect(await loadSignedDigests(d.path, rules(), good)).toMatchObject({ form: 'detached', signatureSource: good });
    // a clearsigned file with an explicit detached signature over its bytes is read as detached
    const asc = c.clearsign(d.path, c.build.current, { out: join(d.dir, 'list.asc') });
    const overAsc = c.sign(asc, c.build.current, { out: join(d.dir, 'list.asc.sig') });
    await expect(loadSignedDigests(asc, rules(), overAsc)).rejects.toSatisfy(fails('DIGESTS_MALFORMED', asc));
    expect(await loadSignedDigests(asc, rules())).toMatchObject({ form: 'clearsigned' });
  });
});
