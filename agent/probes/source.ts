// Which local address a socket-level probe (http, dns, tcp) binds to for an uplink. Node cannot bind a
// socket to an interface (no SO_BINDTODEVICE), so an uplink given only by interface is bound to that
// interface's own address: with policy routing per source address (the usual dual-uplink setup) that
// picks the uplink. ICMP binds with `ping -I`, which takes either form, and does not need this.
import { networkInterfaces } from 'node:os';
import type { PlanUplink } from '../../config/wire.ts';

export type Family = 4 | 6;

/**
 * The address to bind to, `undefined` for the default route (no uplink, or an uplink without binding),
 * or an Error when the uplink names an interface that has no address of that family right now (a
 * dead 3G stick): the round must fail rather than silently leave through the other carrier.
 */
export function sourceAddressFor(uplink: PlanUplink | undefined, family: Family = 4): string | undefined | Error {
  if (!uplink) return undefined;
  if (uplink.sourceAddress) return uplink.sourceAddress;
  if (!uplink.interface) return undefined;
  const addrs = networkInterfaces()[uplink.interface];
  if (!addrs) return new Error(`uplink ${uplink.name}: interface ${uplink.interface} not found`);
  const want = family === 4 ? 'IPv4' : 'IPv6';
  // Link-local IPv6 needs a scope id to be usable as a source; prefer a global address.
  const hit = addrs.find((a) => a.family === want && !(family === 6 && a.address.startsWith('fe80')));
  return hit ? hit.address : new Error(`uplink ${uplink.name}: interface ${uplink.interface} has no ${want} address`);
}
