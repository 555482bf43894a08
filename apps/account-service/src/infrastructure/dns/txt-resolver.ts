// The DNS port for domain verification: TXT records of a name, from the system resolver or the
// servers in DNS_SERVERS.
import { Resolver } from 'node:dns/promises';

export const TXT_RESOLVER = Symbol('TXT_RESOLVER');

export interface TxtResolver {
  /** Each TXT record's strings joined into one; [] when the name has no TXT record or does not exist. */
  resolveTxt(name: string): Promise<string[]>;
}

/** The resolver could not answer (timeout, refused, server failure): not the same as "no record". */
export class DnsUnavailableError extends Error {}

const NO_RECORD_CODES = new Set(['ENODATA', 'ENOTFOUND', 'NXDOMAIN']);

export class NodeTxtResolver implements TxtResolver {
  private readonly resolver: Resolver;

  constructor(servers: readonly string[], timeoutMs = 3000) {
    this.resolver = new Resolver({ timeout: timeoutMs, tries: 2 });
    if (servers.length > 0) this.resolver.setServers([...servers]);
  }

  async resolveTxt(name: string): Promise<string[]> {
    try {
      const records = await this.resolver.resolveTxt(name);
      return records.map((chunks) => chunks.join(''));
    } catch (error) {
      const code = (error as { code?: string }).code ?? '';
      if (NO_RECORD_CODES.has(code)) return [];
      throw new DnsUnavailableError(`TXT look-up of ${name} failed: ${code || String(error)}`);
    }
  }
}
