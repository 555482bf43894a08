// Sign-in lookup (API.md): which realm a login belongs to, and where a sign-in screen must send it.
// Answered from the realm read model's live tables: one indexed query per look-up (and one more for
// the tenant of a business route), after the read-your-writes wait every read makes.
import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { parseUserPrincipalName, upnKey } from '#domain';
import type { ApiPrincipal } from '../common/api-keys.js';
import { assertTenantAllowed, CurrentPrincipal, NeedsAllTenants, RequireScope } from '../common/auth.js';
import { ProblemException } from '../common/problem.js';
import { validationProblem } from '../common/validation.js';
import { ReadSide } from '../read-side/read-side.js';
import {
  realmAnswer,
  routeDecision,
  workMailboxTarget,
  type RealmAnswer,
  type RouteAnswer,
  type TargetService,
} from './decisions.js';
import { RealmQuery, RouteQuery } from './dto.js';
import { APP_CONFIG, AppConfig } from '../config/config.js';

/** The login in the form the realm is keyed by; 400 when it isn't an address. */
function loginKey(raw: string): string {
  const parsed = parseUserPrincipalName(raw);
  if (!parsed.ok) throw validationProblem([{ field: 'login', rule: 'login' }]);
  return upnKey(parsed.value.upn);
}

const position = (raw: string | undefined): number | undefined =>
  raw === undefined ? undefined : Number(raw);

@ApiTags('sign-in lookup')
@ApiBearerAuth()
@Controller('v1/sign-in')
export class SignInLookupController {
  private readonly workMailbox: ReturnType<typeof workMailboxTarget>;

  constructor(
    @Inject(ReadSide) private readonly readSide: ReadSide,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    // Where a work account is redirected from the consumer service; `login_hint` is added.
    this.workMailbox = workMailboxTarget(new URL(config.workMailboxUrl));
  }

  @Get('realm')
  @RequireScope('lookup:read')
  // It names accounts in every tenant.
  @NeedsAllTenants()
  async realm(@Query() query: RealmQuery): Promise<RealmAnswer> {
    const login = loginKey(query.login);
    const realm = await this.readSide.realm(position(query.minPosition));
    return realmAnswer(await realm.lookup(login));
  }

  @Get('route')
  @RequireScope('lookup:read')
  async route(@Query() query: RouteQuery, @CurrentPrincipal() principal: ApiPrincipal): Promise<RouteAnswer> {
    const login = loginKey(query.login);
    let service: TargetService;
    if (query.service === 'business') {
      if (query.tenantId === undefined)
        throw validationProblem([{ field: 'tenantId', rule: 'required_for_business' }]);
      const tenantId = query.tenantId.toLowerCase();
      assertTenantAllowed(principal, tenantId);
      service = { kind: 'business', tenantId };
    } else {
      // The consumer route looks across tenants (is there a work account anywhere?).
      if (principal.tenantIds)
        throw ProblemException.of(
          403,
          'insufficient_scope',
          'A key limited to tenants can only route to their business services.',
        );
      service = { kind: 'consumer' };
    }
    const realm = await this.readSide.realm(position(query.minPosition));
    return routeDecision(
      await realm.lookup(login),
      service,
      (tenantId) => realm.tenantExists(tenantId),
      this.workMailbox,
    );
  }
}
