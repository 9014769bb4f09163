/**
 * What the demo prints to try next (ceremony/ceremonies/demo-steps.ts finishDemo): its `audit verify` line
 * must name the sign ceremony's record. It used to pick the first reviewed folder whose name contains
 * '-sign-', which a payload-sign record's name contains too and which sorts first when both ceremonies
 * start in the same second.
 */
import { describe, expect, it } from 'vitest';
import { finishDemo } from '../../../ceremony/ceremonies/demo-steps.js';
import type { DemoState } from '../../../ceremony/ceremonies/demo-state.js';

describe('the demo\'s next steps', () => {
  it('audit verify names the sign ceremony\'s record, not a payload-sign record of the same second', () => {
    const records = '/demo/records';
    const payloadSign = `${records}/20261202T101500Z-payload-sign-0a1b2c3d`;
    const sign = `${records}/20261202T101500Z-sign-4e5f6a7b`;
    const state = {
      dir: '/demo',
      records,
      softhsm: true,
      modulePath: '/usr/lib/softhsm/libsofthsm2.so',
      pinFile: '/demo/signing.pin',
      subkeyLabel: 'signing-subkey-2027',
      steps: [],
      say: () => {},
      // reviewed in name order, as auditRecords reviews them
      reviewed: [payloadSign, sign].map((dir) => ({ dir, verdict: 'intact', report: `${dir}.html` })),
      buildServer: { certificate: '/demo/inbox/build-server.asc' },
      releaseFiles: ['/demo/inbox/version.txt'],
      signed: { record: { dir: sign } },
    } as unknown as DemoState;
    const audit = finishDemo(state).next.find((l) => l.trim().startsWith('ceremony audit verify'));
    expect(audit).toMatch(new RegExp(`${sign}$`));
  });
});
