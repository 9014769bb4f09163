/**
 * The ceremony config the in-process quorum tests write (DESIGN §5): a root and a signing token, a k-of-n
 * custodian set, yearly subkeys with 30 days of overlap, and no build server keys. Returns the file.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function writeQuorumConfig(dir: string, o: { name: string; email: string; threshold: number; custodians: readonly string[]; rootToken?: string; file?: string }): string {
  const file = join(dir, o.file ?? 'config.json');
  writeFileSync(
    file,
    JSON.stringify({
      hsm: { rootToken: o.rootToken ?? 'root', signingToken: 'signing' },
      identity: { name: o.name, email: o.email },
      quorum: { threshold: o.threshold, custodians: o.custodians.map((name) => ({ name })) },
      keys: { subkeyValidityDays: 365, overlapDays: 30, renewWindowDays: 60 },
      trustedBuildKeys: [],
    }),
  );
  return file;
}
