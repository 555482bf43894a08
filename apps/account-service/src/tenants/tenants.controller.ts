// Tenant sign-up, domains, MFA policy and role assignments (API.md routes).
import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  Param,
  Patch,
  Post,
  Put,
  Res,
} from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiHeader, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { v7 as uuidv7 } from 'uuid';
import { normaliseDomainName, ROLES } from '#domain';
import type { Role, TenantCommand, TenantState } from '#domain';
import { NeedsAllTenants, RequireScope } from '../common/auth.js';
import {
  CommandContext,
  MinPosition,
  setCommandHeaders,
  uuidParam,
  AdminCommand,
  type AdminCommandContext,
} from '../common/http.js';
import { ProblemException } from '../common/problem.js';
import { validationProblem } from '../common/validation.js';
import { ExecuteDirectoryCommand } from '../command-pipeline/execute-directory-command.js';
import type { CommandMeta } from '../command-pipeline/command-pipeline.js';
import type { DirectoryOutcome, DirectoryPrecondition } from '../command-pipeline/directory-command.js';
import { DnsUnavailableError, TXT_RESOLVER, TxtResolver } from '../infrastructure/dns/txt-resolver.js';
import { DirectoryReader } from './directory-reader.js';
import { AddDomainDto, AssignRoleDto, MfaPolicyDto, PatchDomainDto, SignUpTenantDto } from './dto.js';
import { ReadSide } from '../read-side/read-side.js';
import { domainView, tenantOverviewView } from './views.js';

export function domainNameParam(raw: string): string {
  const result = normaliseDomainName(raw);
  if (!result.ok) throw validationProblem([{ field: 'name', rule: 'domain_name' }]);
  return result.value;
}

/** If-Match on tenant-level resources compares the tenant stream's version. */
export const tenantPrecondition = (expected: number | undefined): DirectoryPrecondition | undefined =>
  expected === undefined ? undefined : { expected, of: 'tenant' };

function domainOf(state: TenantState, name: string) {
  const domain = state.domains.get(name);
  if (!domain) throw ProblemException.of(404, 'not_found', `Domain ${name} is not in this tenant.`);
  return domainView(state, domain);
}

@ApiTags('tenants')
@ApiBearerAuth()
@ApiHeader({ name: 'Idempotency-Key', required: false })
@Controller('v1/tenants')
export class TenantsController {
  constructor(
    @Inject(CommandBus) private readonly commands: CommandBus,
    @Inject(DirectoryReader) private readonly reader: DirectoryReader,
    @Inject(TXT_RESOLVER) private readonly dns: TxtResolver,
    @Inject(ReadSide) private readonly readSide: ReadSide,
  ) {}

  private run(
    tenantId: string,
    commands: TenantCommand[],
    meta: CommandMeta,
    precondition?: DirectoryPrecondition,
  ): Promise<DirectoryOutcome> {
    return this.commands.execute(new ExecuteDirectoryCommand(tenantId, commands, meta, precondition));
  }

  @Post()
  @RequireScope('commands:write')
  @NeedsAllTenants()
  async signUp(
    @Body() dto: SignUpTenantDto,
    @CommandContext() meta: CommandMeta,
    @Res({ passthrough: true }) res: Response,
  ) {
    const tenantId = uuidv7();
    const outcome = await this.run(
      tenantId,
      [
        {
          type: 'SignUpTenant',
          data: {
            tenantId,
            displayName: dto.displayName,
            kind: dto.kind,
            domainPrefix: dto.domainPrefix,
            admin: { ...dto.admin },
          },
        },
      ],
      meta,
    );
    const created = outcome.events.find((e) => e.type === 'MemberCreated');
    const admin = created?.type === 'MemberCreated' ? created.data : undefined;
    setCommandHeaders(res, outcome.position, outcome.tenantVersion);
    res.status(201).setHeader('Location', `/v1/tenants/${tenantId}`);
    return {
      tenantId,
      initialDomain: outcome.view.tenant.initialDomain,
      adminUserId: admin?.userId,
      adminUserPrincipalName: admin?.userPrincipalName,
      position: String(outcome.position),
    };
  }

  @Get(':tenantId')
  @RequireScope('directory:read', 'commands:write')
  async get(
    @Param('tenantId', uuidParam) tenantId: string,
    @MinPosition() minPosition: number | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    const tenant = await this.readSide.tenant(tenantId, minPosition);
    if (!tenant) throw ProblemException.of(404, 'not_found', `Tenant ${tenantId} does not exist.`);
    res.setHeader('ETag', `"${tenant.version}"`);
    return tenantOverviewView(tenant);
  }

  @Post(':tenantId/domains')
  @RequireScope('commands:write')
  async addDomain(
    @Param('tenantId', uuidParam) tenantId: string,
    @Body() dto: AddDomainDto,
    @AdminCommand() { actingUserId, ifMatch, meta }: AdminCommandContext,
    @Res({ passthrough: true }) res: Response,
  ) {
    const name = domainNameParam(dto.name);
    const outcome = await this.run(
      tenantId,
      [{ type: 'AddDomain', actingUserId, data: { name } }],
      meta,
      tenantPrecondition(ifMatch),
    );
    setCommandHeaders(res, outcome.position, outcome.tenantVersion);
    res.status(201).setHeader('Location', `/v1/tenants/${tenantId}/domains/${name}`);
    return { ...domainOf(outcome.view.tenant, name), position: String(outcome.position) };
  }

  @Post(':tenantId/domains/:name/verify')
  @HttpCode(200)
  @RequireScope('commands:write')
  async verifyDomain(
    @Param('tenantId', uuidParam) tenantId: string,
    @Param('name') rawName: string,
    @AdminCommand() { actingUserId, ifMatch, meta }: AdminCommandContext,
    @Res({ passthrough: true }) res: Response,
  ) {
    const name = domainNameParam(rawName);
    // Only look the record up for a domain the tenant actually has; the decider re-checks.
    const { state } = await this.reader.tenant(tenantId);
    let txtRecords: string[] = [];
    if (state.domains.has(name)) {
      try {
        txtRecords = await this.dns.resolveTxt(name);
      } catch (error) {
        if (error instanceof DnsUnavailableError)
          throw ProblemException.of(503, 'dns_unavailable', error.message);
        throw error;
      }
    }
    const outcome = await this.run(
      tenantId,
      [{ type: 'VerifyDomain', actingUserId, data: { name, txtRecords } }],
      meta,
      tenantPrecondition(ifMatch),
    );
    setCommandHeaders(res, outcome.position, outcome.tenantVersion);
    return { ...domainOf(outcome.view.tenant, name), position: String(outcome.position) };
  }

  @Patch(':tenantId/domains/:name')
  @RequireScope('commands:write')
  async patchDomain(
    @Param('tenantId', uuidParam) tenantId: string,
    @Param('name') rawName: string,
    @Body() _dto: PatchDomainDto,
    @AdminCommand() { actingUserId, ifMatch, meta }: AdminCommandContext,
    @Res({ passthrough: true }) res: Response,
  ) {
    const name = domainNameParam(rawName);
    const outcome = await this.run(
      tenantId,
      [{ type: 'SetPrimaryDomain', actingUserId, data: { name } }],
      meta,
      tenantPrecondition(ifMatch),
    );
    setCommandHeaders(res, outcome.position, outcome.tenantVersion);
    return { ...domainOf(outcome.view.tenant, name), position: String(outcome.position) };
  }

  @Delete(':tenantId/domains/:name')
  @HttpCode(204)
  @RequireScope('commands:write')
  async removeDomain(
    @Param('tenantId', uuidParam) tenantId: string,
    @Param('name') rawName: string,
    @AdminCommand() { actingUserId, ifMatch, meta }: AdminCommandContext,
    @Res({ passthrough: true }) res: Response,
  ): Promise<void> {
    const name = domainNameParam(rawName);
    const outcome = await this.run(
      tenantId,
      [{ type: 'RemoveDomain', actingUserId, data: { name } }],
      meta,
      tenantPrecondition(ifMatch),
    );
    setCommandHeaders(res, outcome.position, outcome.tenantVersion);
  }

  @Put(':tenantId/policies/mfa')
  @RequireScope('commands:write')
  async setMfa(
    @Param('tenantId', uuidParam) tenantId: string,
    @Body() dto: MfaPolicyDto,
    @AdminCommand() { actingUserId, ifMatch, meta }: AdminCommandContext,
    @Res({ passthrough: true }) res: Response,
  ) {
    const outcome = await this.run(
      tenantId,
      [{ type: 'SetMfaRequirement', actingUserId, data: { required: dto.required } }],
      meta,
      tenantPrecondition(ifMatch),
    );
    setCommandHeaders(res, outcome.position, outcome.tenantVersion);
    return { required: outcome.view.tenant.mfaRequired, position: String(outcome.position) };
  }

  @Post(':tenantId/role-assignments')
  @RequireScope('commands:write')
  async assignRole(
    @Param('tenantId', uuidParam) tenantId: string,
    @Body() dto: AssignRoleDto,
    @AdminCommand() { actingUserId, ifMatch, meta }: AdminCommandContext,
    @Res({ passthrough: true }) res: Response,
  ) {
    const userId = dto.userId.toLowerCase();
    const outcome = await this.run(
      tenantId,
      [{ type: 'AssignRole', actingUserId, data: { userId, role: dto.role } }],
      meta,
      tenantPrecondition(ifMatch),
    );
    setCommandHeaders(res, outcome.position, outcome.tenantVersion);
    res.status(201);
    return { userId, role: dto.role, position: String(outcome.position) };
  }

  @Delete(':tenantId/role-assignments/:role/:userId')
  @HttpCode(204)
  @RequireScope('commands:write')
  async removeRole(
    @Param('tenantId', uuidParam) tenantId: string,
    @Param('role') role: string,
    @Param('userId', uuidParam) userId: string,
    @AdminCommand() { actingUserId, ifMatch, meta }: AdminCommandContext,
    @Res({ passthrough: true }) res: Response,
  ): Promise<void> {
    if (!(ROLES as readonly string[]).includes(role))
      throw validationProblem([{ field: 'role', rule: 'isIn' }]);
    const outcome = await this.run(
      tenantId,
      [{ type: 'RemoveRole', actingUserId, data: { userId: userId.toLowerCase(), role: role as Role } }],
      meta,
      tenantPrecondition(ifMatch),
    );
    setCommandHeaders(res, outcome.position, outcome.tenantVersion);
  }
}
