// Authentication (API key) and scope/tenant checks for every route, declared per handler.
import {
  CanActivate,
  createParamDecorator,
  ExecutionContext,
  Inject,
  Injectable,
  SetMetadata,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { ApiKeyRegistry, ApiPrincipal, Scope } from './api-keys.js';
import { ProblemException } from './problem.js';
import { validationProblem } from './validation.js';

const SCOPE_KEY = 'als:scopes';
const PUBLIC_KEY = 'als:public';
const ALL_TENANTS_KEY = 'als:all-tenants';

/** The route needs any one of these scopes. */
export const RequireScope = (...scopes: Scope[]) => SetMetadata(SCOPE_KEY, scopes);
/** No API key needed (health, docs). */
export const Public = () => SetMetadata(PUBLIC_KEY, true);
/** The route acts outside any existing tenant, so a key limited to tenants may not use it. */
export const NeedsAllTenants = () => SetMetadata(ALL_TENANTS_KEY, true);

export interface AuthenticatedRequest extends Request {
  principal?: ApiPrincipal;
}

@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(ApiKeyRegistry) private readonly registry: ApiKeyRegistry,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = req.headers.authorization ?? '';
    const key = /^Bearer ([\x21-\x7e]{1,512})$/.exec(header)?.[1];
    const principal = key === undefined ? undefined : this.registry.authenticate(key);
    if (!principal) {
      throw ProblemException.of(
        401,
        'unauthenticated',
        'Send a valid API key as "Authorization: Bearer <key>".',
      );
    }
    req.principal = principal;
    const scopes = this.reflector.getAllAndOverride<Scope[] | undefined>(SCOPE_KEY, targets) ?? [];
    if (scopes.length > 0 && !scopes.some((s) => principal.scopes.has(s))) {
      throw ProblemException.of(
        403,
        'insufficient_scope',
        `This route needs the scope ${scopes.join(' or ')}.`,
      );
    }
    if (principal.tenantIds) {
      if (this.reflector.getAllAndOverride<boolean>(ALL_TENANTS_KEY, targets)) {
        throw ProblemException.of(
          403,
          'insufficient_scope',
          'A key limited to tenants cannot use this route.',
        );
      }
      const tenantId = req.params['tenantId'];
      if (typeof tenantId === 'string' && !principal.tenantIds.has(tenantId)) {
        throw ProblemException.of(403, 'insufficient_scope', 'This key is not allowed for that tenant.');
      }
    }
    return true;
  }
}

export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): ApiPrincipal => {
  const principal = ctx.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  if (!principal) throw new Error('CurrentPrincipal used on a public route');
  return principal;
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value: string): boolean => UUID.test(value);

/** The work account an administrative command acts for (X-Acting-User), required and a UUID. */
/** X-Acting-User: required, a UUID, lower-cased. */
export function actingUserOf(ctx: ExecutionContext): string {
  const value = ctx.switchToHttp().getRequest<Request>().headers['x-acting-user'];
  if (typeof value !== 'string' || value.length === 0) {
    throw validationProblem([{ field: 'X-Acting-User', rule: 'required' }]);
  }
  if (!isUuid(value)) throw validationProblem([{ field: 'X-Acting-User', rule: 'uuid' }]);
  return value.toLowerCase();
}

/** For routes whose tenant is found from the body or another id, not from the path. */
export function assertTenantAllowed(principal: ApiPrincipal, tenantId: string | undefined): void {
  if (!principal.tenantIds) return;
  if (tenantId === undefined || !principal.tenantIds.has(tenantId)) {
    throw ProblemException.of(403, 'insufficient_scope', 'This key is not allowed for that tenant.');
  }
}
