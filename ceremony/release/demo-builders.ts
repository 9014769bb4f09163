/**
 * Stand-in independent builders and provenance for `ceremony demo` (issue 15): two rebuilders that reproduce the
 * demo release and clearsign FILE.DIGESTS.<name>.asc with their own (throwaway, ed25519) OpenPGP keys, a third
 * that published nothing (so the demo shows a "missing" builder), and a SLSA v1 provenance statement per file in
 * a DSSE envelope signed by a throwaway ed25519 key. Returns the builders rule and provenance policy to apply.
 * Throwaway material only: the private keys never leave this function.
 */
import { generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { dsse } from '@sigstore/core';
import * as openpgp from 'openpgp';
import type { BuilderRule } from './builders.js';
import { flatcarDigests } from './demo-build-server.js';
import { IN_TOTO_PAYLOAD_TYPE } from '../provenance/envelope.js';
import { SLSA_PROVENANCE_V1, STATEMENT_TYPE } from '../provenance/check.js';
import { keyidOf, loadProvenancePolicy, type ProvenancePolicy } from '../provenance/policy.js';
import { createHash } from 'node:crypto';

export const DEMO_BUILDER_ID = 'https://builders.demo.invalid/release-workflow@v1';
export const DEMO_BUILD_TYPE = 'https://builders.demo.invalid/flatcar-image/v1';
export const DEMO_SOURCE = 'https://github.com/flatcar/scripts';

export async function makeDemoRebuilders(dir: string, files: readonly string[], now: Date): Promise<{ rule: BuilderRule; provenance: ProvenancePolicy }> {
  const names = ['rebuilder-a', 'rebuilder-b', 'rebuilder-c'];
  const members: BuilderRule['members'] = [];
  for (const [i, name] of names.entries()) {
    const { privateKey, publicKey } = await openpgp.generateKey({ type: 'curve25519', userIDs: [{ name: `Demo ${name} (throwaway)`, email: `${name}@demo.invalid` }], date: now, format: 'object' });
    const cert = join(dir, `${name}.asc`);
    writeFileSync(cert, publicKey.armor());
    members.push({ name, certificates: [cert] });
    if (i === names.length - 1) continue; // the third builder has not published yet: "missing"
    for (const f of files) {
      const text = flatcarDigests([{ name: basename(f), bytes: readFileSync(f) }]);
      const signed = await openpgp.sign({ message: await openpgp.createCleartextMessage({ text }), signingKeys: privateKey, date: now });
      writeFileSync(`${f}.DIGESTS.${name}.asc`, signed);
    }
  }

  const key = generateKeyPairSync('ed25519');
  const pem = join(dir, 'provenance-key.pem');
  writeFileSync(pem, key.publicKey.export({ type: 'spki', format: 'pem' }));
  for (const f of files) {
    const statement = {
      _type: STATEMENT_TYPE,
      subject: [{ name: basename(f), digest: { sha512: createHash('sha512').update(readFileSync(f)).digest('hex') } }],
      predicateType: SLSA_PROVENANCE_V1,
      predicate: {
        buildDefinition: { buildType: DEMO_BUILD_TYPE, externalParameters: { workflow: { repository: DEMO_SOURCE, ref: 'refs/tags/stable-9999.9.9', path: '.github/workflows/release.yml' } } },
        runDetails: { builder: { id: DEMO_BUILDER_ID } },
      },
    };
    const payload = Buffer.from(JSON.stringify(statement));
    const sig = nodeSign(null, dsse.preAuthEncoding(IN_TOTO_PAYLOAD_TYPE, payload), key.privateKey);
    writeFileSync(`${f}.intoto.jsonl`, JSON.stringify({ payloadType: IN_TOTO_PAYLOAD_TYPE, payload: payload.toString('base64'), signatures: [{ keyid: keyidOf(key.publicKey), sig: sig.toString('base64') }] }) + '\n');
  }
  const provenance = loadProvenancePolicy({
    keys: [pem],
    builderIds: [DEMO_BUILDER_ID],
    buildTypes: [DEMO_BUILD_TYPE],
    source: { parameter: 'workflow', repository: DEMO_SOURCE, refPattern: 'refs/tags/stable-[0-9.]+' },
    requiredDependencies: [],
    allowedExternalParameters: [],
  });
  return { rule: { threshold: 2, members }, provenance };
}
