import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkAirGap, requireAirGap } from '../../ceremony/airgap.js';
import { isCeremonyError } from '../../ceremony/errors.js';

const root = mkdtempSync(join(tmpdir(), 'airgap-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A fake /sys/class/net: interface name → IFF_* flags as the kernel prints them. */
function sysNet(name: string, interfaces: Record<string, string>): string {
  const dir = join(root, name);
  for (const [iface, flags] of Object.entries(interfaces)) {
    mkdirSync(join(dir, iface), { recursive: true });
    writeFileSync(join(dir, iface, 'flags'), `${flags}\n`);
  }
  return dir;
}

describe('the air-gap check (DESIGN §5)', () => {
  it('counts a non-loopback interface that is up (IFF_UP) as a network', () => {
    const s = checkAirGap(sysNet('up', { lo: '0x9', eth0: '0x1003', wlan0: '0x1002' }));
    expect(s).toEqual({ airGapped: false, interfacesUp: ['eth0'] });
  });

  it('is air-gapped with only loopback and interfaces that are down', () => {
    expect(checkAirGap(sysNet('down', { lo: '0x9', eth0: '0x1002' }))).toEqual({ airGapped: true, interfacesUp: [] });
  });

  it('refuses a networked machine (NETWORK_UP, exit 1) naming the interface, unless overridden', () => {
    const status = checkAirGap(sysNet('up2', { lo: '0x9', enp0s3: '0x1043' }));
    try {
      requireAirGap(false, status);
      expect.unreachable();
    } catch (e) {
      expect(isCeremonyError(e, 'NETWORK_UP')).toBe(true);
      expect((e as { exitCode: number }).exitCode).toBe(1);
      expect((e as Error).message).toContain('enp0s3');
    }
    expect(requireAirGap(true, status)).toEqual({ airGapped: false, interfacesUp: ['enp0s3'], overridden: true });
    expect(requireAirGap(false, { airGapped: true, interfacesUp: [] }).overridden).toBe(false);
  });
});
