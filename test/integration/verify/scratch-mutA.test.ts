import { it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { makeGpgCorpus } from '../../helpers/gpg-corpus.js';
import { loadTrustedCertificates } from '../../../ceremony/openpgp/verify/certificate.js';
import { readClearsignedDigests } from '../../../ceremony/digests/signed.js';

it('scratch', async () => {
  const c = makeGpgCorpus();
  const trusted = await loadTrustedCertificates([c.build.cert]);
  const rules = { trusted, now: new Date(), kinds: ['binary' as const] };
  const f = join(c.dir, 'x.bin'); writeFileSync(f, 'x\n');
  const d = c.flatcarDigests(join(c.dir, 'x.DIGESTS'), [f]);
  const signed = readFileSync(c.clearsign(d, c.build.current), 'utf8');
  const tryit = async (label: string, text: string | Buffer) => {
    try { const r = await readClearsignedDigests(Buffer.from(text), label, rules); console.log(label, 'OK', r.entries.length, r.ignoredLines); }
    catch (e) { console.log(label, 'ERR', (e as any).code, (e as Error).message); }
  };
  await tryit('plain', signed);
  await tryit('crlf', signed.replace(/\n/g, '\r\n'));
  await tryit('begin-trailing-spaces', signed.replace('-----BEGIN PGP SIGNED MESSAGE-----', '-----BEGIN PGP SIGNED MESSAGE-----  \t'));
  await tryit('end-trailing-spaces', signed.replace('-----END PGP SIGNATURE-----', '-----END PGP SIGNATURE-----  \t'));
  await tryit('crlf-begin-trailing', signed.replace(/\n/g, '\r\n').replace('-----BEGIN PGP SIGNED MESSAGE-----', '-----BEGIN PGP SIGNED MESSAGE----- '));
  await tryit('no-final-newline', signed.replace(/\n$/, ''));
  await tryit('garbage-armor', signed.replace(/\n\n([A-Za-z0-9+/]{20})/, '\n\n!!!!$1'));
  const marker = openpgp.armor(openpgp.enums.armor.signature, new Uint8Array([0xca, 0x03, 0x50, 0x47, 0x50]));
  await tryit('marker-only', signed.slice(0, signed.indexOf('-----BEGIN PGP SIGNATURE-----')) + marker);
  const sigPart = signed.slice(signed.indexOf('-----BEGIN PGP SIGNATURE-----'));
  const sigBytes = (await openpgp.unarmor(sigPart)).data as Uint8Array;
  const withMarker = openpgp.armor(openpgp.enums.armor.signature, Buffer.concat([Buffer.from([0xca, 0x03, 0x50, 0x47, 0x50]), sigBytes]));
  await tryit('marker+sig', signed.slice(0, signed.indexOf('-----BEGIN PGP SIGNATURE-----')) + withMarker);
  const lit = Buffer.from([0xcb, 0x06, 0x62, 0x00, 0, 0, 0, 0]);
  await tryit('literal+sig', signed.slice(0, signed.indexOf('-----BEGIN PGP SIGNATURE-----')) + openpgp.armor(openpgp.enums.armor.signature, Buffer.concat([lit, sigBytes])));
  await tryit('begin-indented', signed.replace('-----BEGIN PGP SIGNED MESSAGE-----', ' -----BEGIN PGP SIGNED MESSAGE-----'));
  await tryit('begin-mid', 'x-----BEGIN PGP SIGNED MESSAGE-----\n');
  c.cleanup();
});
