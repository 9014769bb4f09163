/**
 * The one-page note handed out with each custodian's share (issue 13: shares are secrets). It holds no
 * part of the share: what the share is, how to check it, how to keep it, and that the plain file must be
 * wiped once the share is written down or encrypted. Printed or read on screen beside the share file.
 */
import { formatQuorumId, groupHex } from '../read-aloud.js';

export interface HandoutFacts {
  custodian: string;
  index: number;
  total: number;
  threshold: number;
  setId: string;
  /** The root certificate's fingerprint: the key this share helps unlock. */
  rootFingerprint: string;
  /** The share files, relative to the ceremony's --out folder (no secret in a name). */
  files: string[];
  encrypted: boolean;
}

export function shareHandout(f: HandoutFacts): string {
  const lines = [
    `QUORUM SHARE HAND-OUT FOR ${f.custodian.toUpperCase()}`,
    '',
    'What it is',
    `  Share ${f.index} of ${f.total} of quorum set ${formatQuorumId(f.setId)}. Any ${f.threshold} of the ${f.total} shares`,
    '  together unlock the root signing key on its HSM token; fewer reveal nothing about it. Nobody, not',
    '  even the maintainers, can renew or replace the signing keys without a quorum of custodians.',
    `  Root key fingerprint: ${groupHex(f.rootFingerprint)}`,
    `  Your share: ${f.files.join(', ')}${f.encrypted ? ' (encrypted to your OpenPGP key: only you can read it)' : ''}`,
    '',
    'How to check it (now, and whenever you take it out)',
    `  ceremony shares check --config CONFIG.json --share ${f.files[0] ?? 'SHARE'}`,
    `  says "ok" for share ${f.index} of ${f.custodian} in set ${formatQuorumId(f.setId)}. Every share carries a checksum:`,
    '  a mistyped character is named by its line and group, so a copy on paper can be checked too.',
    '',
    'How to keep it',
    '  - Write it down (the .words file is easiest to copy by hand) or keep it encrypted; store it',
    '    offline, in a sealed envelope in a place only you control, apart from the other custodians.',
    '  - Never send it by e-mail or chat, never photograph it, never type it anywhere but a ceremony.',
    '  - Bring it to the next renewal ceremony. The ceremony shows a session ID; type your share only',
    '    after everyone has read that ID aloud and it matches the parameters you agreed to.',
    '  - After a renewal this share is worthless: you receive a new one.',
    '',
    'Wipe the plain file',
    '  Once the share is written down or encrypted, delete the plain share file from this computer and',
    '  from any copy (e.g. shred -u FILE). A plain share left on a disk is a share anyone can take.',
    '',
    'This note holds no part of the share and may be kept with it.',
    '',
  ];
  return lines.join('\n');
}
