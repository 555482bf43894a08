// Who holds a unique value: read off its claim stream (current as of the call). The claim's
// envelope carries the tenant the claiming command ran in, which is how an invitation id or a UPN
// leads to its tenant.
import { Inject, Injectable } from '@nestjs/common';
import type { ClaimKind } from '#domain';
import { claimFold } from './folds.js';
import { StreamLoader } from './stream-loader.js';
import { StreamNames } from './stream-names.js';

export interface ClaimHolder {
  readonly ownerId: string;
  readonly tenantId?: string;
}

@Injectable()
export class ClaimLookup {
  constructor(
    @Inject(StreamLoader) private readonly loader: StreamLoader,
    @Inject(StreamNames) private readonly names: StreamNames,
  ) {}

  /** The current holder, or undefined when the value is free (never claimed, or released). */
  async holder(kind: ClaimKind, value: string): Promise<ClaimHolder | undefined> {
    const { state, tenantId } = await this.loader.load(this.names.claim(kind, value), claimFold, true);
    if (state.holder === undefined) return undefined;
    return { ownerId: state.holder, ...(tenantId ? { tenantId } : {}) };
  }
}
