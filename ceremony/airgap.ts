/**
 * The air-gap check (DESIGN §5): a ceremony refuses to run while any non-loopback network interface is
 * up, unless the operator overrides it with --allow-network, and the override is recorded.
 * Linux tells us through /sys/class/net/<if>/flags (IFF_UP = 0x1, IFF_LOOPBACK = 0x8); elsewhere we
 * fall back to Node's view of interfaces that carry an address.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { CeremonyError } from './errors.js';

const IFF_UP = 0x1;
const IFF_LOOPBACK = 0x8;

export interface AirGapStatus {
  airGapped: boolean;
  /** Names of the non-loopback interfaces that are up. */
  interfacesUp: string[];
}

export function checkAirGap(sysNet = '/sys/class/net'): AirGapStatus {
  let up: string[];
  try {
    up = readdirSync(sysNet).filter((name) => {
      try {
        const flags = parseInt(readFileSync(`${sysNet}/${name}/flags`, 'utf8').trim(), 16);
        return (flags & IFF_UP) !== 0 && (flags & IFF_LOOPBACK) === 0;
      } catch {
        return false;
      }
    });
  } catch {
    up = Object.entries(networkInterfaces())
      .filter(([, addrs]) => (addrs ?? []).some((a) => !a.internal))
      .map(([name]) => name);
  }
  return { airGapped: up.length === 0, interfacesUp: up.sort() };
}

/**
 * Enforce the air gap. Returns the status so the caller can record it (including an override);
 * throws NETWORK_UP (exit 1) when networked and not overridden.
 */
export function requireAirGap(allowNetwork: boolean, status: AirGapStatus = checkAirGap()): AirGapStatus & { overridden: boolean } {
  if (status.airGapped) return { ...status, overridden: false };
  if (!allowNetwork) {
    throw new CeremonyError(
      'NETWORK_UP',
      `this machine is networked (interface ${status.interfacesUp.join(', ')} is up); disconnect it, or pass --allow-network to override, which the audit log records`,
      { details: { interfacesUp: status.interfacesUp } },
    );
  }
  return { ...status, overridden: true };
}
