// Personal accounts: self-service registration, close, and external logins (e.g. GitHub).
import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { v7 as uuidv7 } from 'uuid';
import { parseUserPrincipalName, type PersonalAccountState } from '#domain';
import { CommandBus } from '@nestjs/cqrs';
import { NeedsAllTenants, RequireScope } from '../common/auth.js';
import { CommandContext, MinPosition, setCommandHeaders, uuidParam } from '../common/http.js';
import { ProblemException } from '../common/problem.js';
import { validationProblem } from '../common/validation.js';
import type { CommandMeta } from '../command-pipeline/command-pipeline.js';
import { DirectoryReader } from '../tenants/directory-reader.js';
import { LinkExternalLoginDto, RegisterPersonalAccountDto } from './dto.js';
import {
  ExecutePersonalAccountCommand,
  type BuildPersonalAccountCommands,
  type PersonalAccountOutcome,
} from './personal-account-command.js';

export function personalAccountView(state: PersonalAccountState) {
  return {
    accountId: state.accountId,
    email: state.email,
    displayName: state.displayName,
    state: state.closed ? 'closed' : 'active',
    externalLogins: [...state.externalLogins].map(([provider, subject]) => ({ provider, subject })),
  };
}

/** The domain and each parent below the top level: a verified parent manages its sub-domains too. */
function domainAndParents(domain: string): string[] {
  const labels = domain.split('.');
  return labels.slice(0, -1).map((_, i) => labels.slice(i).join('.'));
}

@ApiTags('personal accounts')
@ApiBearerAuth()
@ApiHeader({ name: 'Idempotency-Key', required: false })
@NeedsAllTenants()
@Controller('v1/personal-accounts')
export class PersonalAccountsController {
  constructor(
    @Inject(CommandBus) private readonly commands: CommandBus,
    @Inject(DirectoryReader) private readonly reader: DirectoryReader,
  ) {}

  private run(
    accountId: string,
    build: BuildPersonalAccountCommands,
    meta: CommandMeta,
  ): Promise<PersonalAccountOutcome> {
    return this.commands.execute(new ExecutePersonalAccountCommand(accountId, build, meta));
  }

  @Post()
  @RequireScope('commands:write')
  async register(
    @Body() dto: RegisterPersonalAccountDto,
    @CommandContext() meta: CommandMeta,
    @Res({ passthrough: true }) res: Response,
  ) {
    if ((dto.email === undefined) === (dto.newMailbox === undefined)) {
      throw validationProblem([{ field: 'body', rule: 'exactly_one_of:email,newMailbox' }]);
    }
    const accountId = uuidv7();
    const address = dto.email ?? `${dto.newMailbox?.localPart}@${dto.newMailbox?.domain}`;
    const parsed = parseUserPrincipalName(address);
    if (!parsed.ok) throw validationProblem([{ field: dto.email ? 'email' : 'newMailbox', rule: 'email' }]);
    const outcome = await this.run(
      accountId,
      async (claims) => {
        // Guarded reads: a tenant verifying this domain while we decide makes the append retry.
        let domainManaged = false;
        for (const domain of domainAndParents(parsed.value.domain)) {
          if (await claims.isHeld('domain', domain)) domainManaged = true;
        }
        return [
          {
            type: 'RegisterPersonalAccount',
            data: {
              accountId,
              displayName: dto.displayName,
              ...(dto.email !== undefined ? { email: dto.email } : {}),
              ...(dto.newMailbox
                ? { newMailbox: { localPart: dto.newMailbox.localPart, domain: dto.newMailbox.domain } }
                : {}),
              domainManaged,
            },
          },
        ];
      },
      meta,
    );
    setCommandHeaders(res, outcome.position, outcome.streamVersion);
    res.status(201).setHeader('Location', `/v1/personal-accounts/${accountId}`);
    return { ...personalAccountView(outcome.state), position: String(outcome.position) };
  }

  @Get(':accountId')
  @RequireScope('directory:read', 'commands:write')
  async get(
    @Param('accountId', uuidParam) rawId: string,
    @MinPosition() minPosition: number | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    const { state, version } = await this.reader.personalAccount(rawId.toLowerCase(), minPosition);
    if (!state.exists)
      throw ProblemException.of(404, 'not_found', `Personal account ${rawId} does not exist.`);
    res.setHeader('ETag', `"${version}"`);
    return personalAccountView(state);
  }

  @Delete(':accountId')
  @HttpCode(204)
  @RequireScope('commands:write')
  async close(
    @Param('accountId', uuidParam) rawId: string,
    @CommandContext() meta: CommandMeta,
    @Res({ passthrough: true }) res: Response,
  ): Promise<void> {
    const accountId = rawId.toLowerCase();
    const outcome = await this.run(
      accountId,
      () => [{ type: 'ClosePersonalAccount', data: { accountId } }],
      meta,
    );
    setCommandHeaders(res, outcome.position, outcome.streamVersion);
  }

  @Post(':accountId/external-logins')
  @RequireScope('commands:write')
  async link(
    @Param('accountId', uuidParam) rawId: string,
    @Body() dto: LinkExternalLoginDto,
    @CommandContext() meta: CommandMeta,
    @Res({ passthrough: true }) res: Response,
  ) {
    const accountId = rawId.toLowerCase();
    const outcome = await this.run(
      accountId,
      () => [
        { type: 'LinkExternalLogin', data: { accountId, provider: dto.provider, subject: dto.subject } },
      ],
      meta,
    );
    setCommandHeaders(res, outcome.position, outcome.streamVersion);
    res.status(201);
    return { accountId, provider: dto.provider, subject: dto.subject, position: String(outcome.position) };
  }

  @Delete(':accountId/external-logins/:provider')
  @HttpCode(204)
  @RequireScope('commands:write')
  async unlink(
    @Param('accountId', uuidParam) rawId: string,
    @Param('provider') provider: string,
    @CommandContext() meta: CommandMeta,
    @Res({ passthrough: true }) res: Response,
  ): Promise<void> {
    if (!/^[a-z0-9][a-z0-9_.-]{0,31}$/.test(provider))
      throw validationProblem([{ field: 'provider', rule: 'matches' }]);
    const accountId = rawId.toLowerCase();
    const outcome = await this.run(
      accountId,
      () => [{ type: 'UnlinkExternalLogin', data: { accountId, provider } }],
      meta,
    );
    setCommandHeaders(res, outcome.position, outcome.streamVersion);
  }
}
