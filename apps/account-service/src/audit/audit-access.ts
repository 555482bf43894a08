// Which audit chains a request may read. A key limited to tenants reads only those tenants' chains
// (never the service chain); a key without tenantIds reads every chain, and `tenantId=service`
// selects the service chain (key '').
import { SERVICE_CHAIN } from '#audit';
import type { ApiPrincipal } from '../common/api-keys.js';
import { ProblemException } from '../common/problem.js';

/** The query value that names the service chain. */
export const SERVICE_CHAIN_PARAM = 'service';

const forbidden = (detail: string) => ProblemException.of(403, 'insufficient_scope', detail);

/** The chain key a `tenantId` query value names. */
export const chainOf = (tenantId: string): string =>
  tenantId === SERVICE_CHAIN_PARAM ? SERVICE_CHAIN : tenantId.toLowerCase();

/**
 * The chains to read: undefined means every chain (keys without tenantIds, no tenantId asked for).
 * Throws 403 insufficient_scope when the key may not read the chain asked for.
 */
export function readableChains(principal: ApiPrincipal, tenantId: string | undefined): string[] | undefined {
  const limited = principal.tenantIds;
  if (tenantId === undefined) {
    if (limited === undefined) return undefined;
    return [...limited].map((t) => t.toLowerCase()).sort();
  }
  const chain = chainOf(tenantId);
  if (limited !== undefined) {
    if (chain === SERVICE_CHAIN) throw forbidden('A key limited to tenants cannot read the service chain.');
    const allowed = [...limited].some((t) => t.toLowerCase() === chain);
    if (!allowed) throw forbidden('This key is not allowed for that tenant.');
  }
  return [chain];
}
