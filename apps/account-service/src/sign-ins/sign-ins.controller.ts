// Sign-in reports from the authentication front end: evaluate against account kind, service and
// tenant policy, and record SignInSucceeded or SignInFailed. Each attempt is its own stream
// (`sign-in-<id>`, written with expected no-stream), so the highest-volume command never contends
// with anything, not even with another sign-in of the same user.
import { Body, Controller, HttpCode, Inject, Post, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { v7 as uuidv7 } from 'uuid';
import { evaluateSignIn, guestKey, parseUserPrincipalName, SignInFacts, streams, upnKey } from '#domain';
import type { ApiPrincipal } from '../common/api-keys.js';
import { assertTenantAllowed, CurrentPrincipal, RequireScope } from '../common/auth.js';
import { CommandContext, setCommandHeaders } from '../common/http.js';
import { validationProblem } from '../common/validation.js';
import { CommandMeta, CommandPipeline } from '../command-pipeline/command-pipeline.js';
import { ClaimLookup } from '../command-pipeline/claim-lookup.js';
import { DirectoryReader } from '../tenants/directory-reader.js';
import { ReportSignInDto } from './dto.js';

@ApiTags('sign-in')
@ApiBearerAuth()
@Controller('v1/sign-ins')
export class SignInsController {
  constructor(
    @Inject(CommandPipeline) private readonly pipeline: CommandPipeline,
    @Inject(ClaimLookup) private readonly claims: ClaimLookup,
    @Inject(DirectoryReader) private readonly reader: DirectoryReader,
  ) {}

  /**
   * What the decision needs, and nothing more: the account the login names (through its claim),
   * the tenants involved, and the resource tenant's guest for the address (through its guest
   * claim). A constant number of streams, whatever the size of the tenants.
   */
  private async facts(dto: ReportSignInDto, login: string): Promise<SignInFacts> {
    const resourceId = dto.service.kind === 'business' ? dto.service.tenantId?.toLowerCase() : undefined;
    const [personalHolder, workHolder, guestHolder] = await Promise.all([
      this.claims.holder('address', login),
      this.claims.holder('upn', login),
      resourceId === undefined ? undefined : this.claims.holder('guest', guestKey(resourceId, login)),
    ]);
    const personal = personalHolder
      ? (await this.reader.personalAccount(personalHolder.ownerId)).state
      : undefined;
    let work: SignInFacts['work'];
    if (workHolder?.tenantId) {
      const [{ state: tenant }, user] = await Promise.all([
        this.reader.tenantIfAny(workHolder.tenantId),
        this.reader.user(workHolder.tenantId, workHolder.ownerId),
      ]);
      if (user) work = { tenant, user };
    }
    let resourceTenant: SignInFacts['resourceTenant'];
    let resourceGuest: SignInFacts['resourceGuest'];
    if (resourceId) {
      resourceTenant =
        work?.tenant.tenantId === resourceId
          ? work.tenant
          : (await this.reader.tenantIfAny(resourceId)).state;
      if (!resourceTenant.exists) resourceTenant = undefined;
      if (resourceTenant && guestHolder)
        resourceGuest = await this.reader.user(resourceId, guestHolder.ownerId);
    }
    return {
      login,
      service: { kind: dto.service.kind, ...(resourceId ? { tenantId: resourceId } : {}) },
      mfaPerformed: dto.mfaPerformed,
      ...(personal?.exists ? { personal } : {}),
      ...(work ? { work } : {}),
      ...(resourceTenant ? { resourceTenant } : {}),
      ...(resourceGuest ? { resourceGuest } : {}),
    };
  }

  @Post()
  @HttpCode(200)
  @RequireScope('commands:write')
  async report(
    @Body() dto: ReportSignInDto,
    @CurrentPrincipal() principal: ApiPrincipal,
    @CommandContext() meta: CommandMeta,
    @Res({ passthrough: true }) res: Response,
  ) {
    if (dto.service.kind === 'business' && dto.service.tenantId === undefined) {
      throw validationProblem([{ field: 'service.tenantId', rule: 'required_for_business' }]);
    }
    if (dto.service.kind === 'consumer' && dto.service.tenantId !== undefined) {
      throw validationProblem([{ field: 'service.tenantId', rule: 'not_allowed_for_consumer' }]);
    }
    assertTenantAllowed(principal, dto.service.tenantId?.toLowerCase());
    const parsed = parseUserPrincipalName(dto.login);
    if (!parsed.ok) throw validationProblem([{ field: 'login', rule: 'email' }]);
    const login = upnKey(parsed.value.upn);
    const facts = await this.facts(dto, login);
    const evaluation = evaluateSignIn(facts);
    const signInId = uuidv7();
    const data = {
      signInId,
      login,
      serviceKind: dto.service.kind,
      ...(facts.resourceTenant ? { resourceTenantId: facts.resourceTenant.tenantId } : {}),
      ...(evaluation.homeTenantId ? { homeTenantId: evaluation.homeTenantId } : {}),
      ...(evaluation.userId ? { userId: evaluation.userId } : {}),
      ...(evaluation.personalAccountId ? { personalAccountId: evaluation.personalAccountId } : {}),
      ...(evaluation.userType ? { userType: evaluation.userType } : {}),
      mfaPerformed: dto.mfaPerformed,
      ipAddress: dto.ipAddress,
      userAgent: dto.userAgent,
      ...(evaluation.code ? { code: evaluation.code } : {}),
      ...(evaluation.errorCode !== undefined ? { errorCode: evaluation.errorCode } : {}),
    };
    const position = await this.pipeline.record(
      streams.signIn(signInId),
      'no_stream',
      [{ type: evaluation.decision === 'allowed' ? 'SignInSucceeded' : 'SignInFailed', data }],
      meta,
      facts.resourceTenant ? { tenantId: facts.resourceTenant.tenantId } : {},
    );
    setCommandHeaders(res, position);
    return {
      decision: evaluation.decision,
      ...(evaluation.code ? { code: evaluation.code } : {}),
      ...(evaluation.errorCode !== undefined ? { errorCode: evaluation.errorCode } : {}),
      ...(evaluation.userType ? { userType: evaluation.userType } : {}),
      signInId,
      position: String(position),
    };
  }
}
