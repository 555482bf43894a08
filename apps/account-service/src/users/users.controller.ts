// Work-or-school accounts of a tenant: create, read, list, update and lifecycle (API.md routes).
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
  Query,
  Res,
} from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiHeader, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { parseUserPrincipalName } from '#domain';
import type { DirectoryView, TenantCommand } from '#domain';
import { RequireScope } from '../common/auth.js';
import {
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
import { ReadSide } from '../read-side/read-side.js';
import { userRecordView, userView } from '../tenants/views.js';
import { CreateMemberDto, ListUsersQuery, RegisterMfaMethodDto, UpdateUserDto } from './dto.js';

/** If-Match on a user compares the user's own revision. */
const userPrecondition = (userId: string, expected: number | undefined): DirectoryPrecondition | undefined =>
  expected === undefined ? undefined : { expected, of: { userId } };

function userOf(view: DirectoryView, userId: string) {
  const user = view.user(userId);
  if (!user) throw ProblemException.of(404, 'not_found', `User ${userId} is not in this tenant.`);
  return user;
}

const encodeCursor = (userId: string): string => Buffer.from(userId, 'utf8').toString('base64url');
const decodeCursor = (cursor: string): string => Buffer.from(cursor, 'base64url').toString('utf8');

type Lifecycle = 'BlockUser' | 'UnblockUser' | 'RestoreUser';

@ApiTags('users')
@ApiBearerAuth()
@ApiHeader({ name: 'Idempotency-Key', required: false })
@Controller('v1/tenants/:tenantId/users')
export class UsersController {
  constructor(
    @Inject(CommandBus) private readonly commands: CommandBus,
    @Inject(ReadSide) private readonly readSide: ReadSide,
  ) {}

  private async run(
    res: Response,
    tenantId: string,
    userId: string,
    commands: TenantCommand[],
    meta: CommandMeta,
    ifMatch: number | undefined,
  ): Promise<DirectoryOutcome> {
    const outcome: DirectoryOutcome = await this.commands.execute(
      new ExecuteDirectoryCommand(tenantId, commands, meta, userPrecondition(userId, ifMatch)),
    );
    setCommandHeaders(res, outcome.position, outcome.view.user(userId)?.revision);
    return outcome;
  }

  @Post()
  @RequireScope('commands:write')
  async create(
    @Param('tenantId', uuidParam) tenantId: string,
    @Body() dto: CreateMemberDto,
    @AdminCommand() { actingUserId, meta }: AdminCommandContext,
    @Res({ passthrough: true }) res: Response,
  ) {
    const outcome: DirectoryOutcome = await this.commands.execute(
      new ExecuteDirectoryCommand(
        tenantId,
        [
          {
            type: 'CreateMember',
            actingUserId,
            data: { userPrincipalName: dto.userPrincipalName, displayName: dto.displayName },
          },
        ],
        meta,
      ),
    );
    const created = outcome.events.find((e) => e.type === 'MemberCreated');
    if (created?.type !== 'MemberCreated') throw new Error('CreateMember decided no MemberCreated');
    const user = userOf(outcome.view, created.data.userId);
    setCommandHeaders(res, outcome.position, user.revision);
    res.status(201).setHeader('Location', `/v1/tenants/${tenantId}/users/${user.userId}`);
    return { ...userView(outcome.view.tenant, user), position: String(outcome.position) };
  }

  @Get()
  @RequireScope('directory:read', 'commands:write')
  async list(@Param('tenantId', uuidParam) tenantId: string, @Query() query: ListUsersQuery) {
    const limit = query.limit ?? 50;
    const page = await this.readSide.users(
      tenantId,
      {
        limit,
        ...(query.userType === undefined ? {} : { userType: query.userType }),
        ...(query.cursor === undefined ? {} : { afterUserId: decodeCursor(query.cursor) }),
      },
      query.minPosition === undefined ? undefined : Number(query.minPosition),
    );
    if (page === undefined) throw ProblemException.of(404, 'not_found', `Tenant ${tenantId} does not exist.`);
    if (page === 'unknown_cursor') throw validationProblem([{ field: 'cursor', rule: 'unknown_cursor' }]);
    const last = page.users.at(-1);
    return {
      value: page.users.map(userRecordView),
      ...(page.hasMore && last ? { nextCursor: encodeCursor(last.userId) } : {}),
    };
  }

  @Get(':userId')
  @RequireScope('directory:read', 'commands:write')
  async get(
    @Param('tenantId', uuidParam) tenantId: string,
    @Param('userId', uuidParam) userId: string,
    @MinPosition() minPosition: number | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    const user = await this.readSide.user(tenantId, userId.toLowerCase(), minPosition);
    if (user === 'no_tenant')
      throw ProblemException.of(404, 'not_found', `Tenant ${tenantId} does not exist.`);
    if (user === 'no_user')
      throw ProblemException.of(404, 'not_found', `User ${userId} is not in this tenant.`);
    res.setHeader('ETag', `"${user.revision}"`);
    return userRecordView(user);
  }

  @Patch(':userId')
  @RequireScope('commands:write')
  async update(
    @Param('tenantId', uuidParam) tenantId: string,
    @Param('userId', uuidParam) rawUserId: string,
    @Body() dto: UpdateUserDto,
    @AdminCommand() { actingUserId, ifMatch, meta }: AdminCommandContext,
    @Res({ passthrough: true }) res: Response,
  ) {
    const userId = rawUserId.toLowerCase();
    const commands: TenantCommand[] = [];
    if (dto.displayName !== undefined)
      commands.push({ type: 'RenameUser', actingUserId, data: { userId, displayName: dto.displayName } });
    if (dto.userPrincipalName !== undefined) {
      const upn = parseUserPrincipalName(dto.userPrincipalName);
      if (!upn.ok) throw validationProblem([{ field: 'userPrincipalName', rule: 'user_principal_name' }]);
      commands.push({
        type: 'ChangeUserPrincipalName',
        actingUserId,
        data: { userId, userPrincipalName: dto.userPrincipalName },
      });
    }
    if (commands.length === 0)
      throw validationProblem([{ field: 'body', rule: 'at_least_one_of:displayName,userPrincipalName' }]);
    const outcome = await this.run(res, tenantId, userId, commands, meta, ifMatch);
    return {
      ...userView(outcome.view.tenant, userOf(outcome.view, userId)),
      position: String(outcome.position),
    };
  }

  @Post(':userId/password-resets')
  @HttpCode(202)
  @RequireScope('commands:write')
  async resetPassword(
    @Param('tenantId', uuidParam) tenantId: string,
    @Param('userId', uuidParam) rawUserId: string,
    @AdminCommand() { actingUserId, ifMatch, meta }: AdminCommandContext,
    @Res({ passthrough: true }) res: Response,
  ) {
    const userId = rawUserId.toLowerCase();
    const outcome = await this.run(
      res,
      tenantId,
      userId,
      [{ type: 'OrderPasswordReset', actingUserId, data: { userId } }],
      meta,
      ifMatch,
    );
    return { userId, status: 'ordered', position: String(outcome.position) };
  }

  private async lifecycle(
    type: Lifecycle,
    tenantId: string,
    rawUserId: string,
    actingUserId: string,
    ifMatch: number | undefined,
    meta: CommandMeta,
    res: Response,
  ) {
    const userId = rawUserId.toLowerCase();
    const outcome = await this.run(
      res,
      tenantId,
      userId,
      [{ type, actingUserId, data: { userId } }],
      meta,
      ifMatch,
    );
    return {
      ...userView(outcome.view.tenant, userOf(outcome.view, userId)),
      position: String(outcome.position),
    };
  }

  @Post(':userId/block')
  @HttpCode(200)
  @RequireScope('commands:write')
  block(
    @Param('tenantId', uuidParam) tenantId: string,
    @Param('userId', uuidParam) userId: string,
    @AdminCommand() { actingUserId, ifMatch, meta }: AdminCommandContext,
    @Res({ passthrough: true }) res: Response,
  ) {
    return this.lifecycle('BlockUser', tenantId, userId, actingUserId, ifMatch, meta, res);
  }

  @Post(':userId/unblock')
  @HttpCode(200)
  @RequireScope('commands:write')
  unblock(
    @Param('tenantId', uuidParam) tenantId: string,
    @Param('userId', uuidParam) userId: string,
    @AdminCommand() { actingUserId, ifMatch, meta }: AdminCommandContext,
    @Res({ passthrough: true }) res: Response,
  ) {
    return this.lifecycle('UnblockUser', tenantId, userId, actingUserId, ifMatch, meta, res);
  }

  @Post(':userId/restore')
  @HttpCode(200)
  @RequireScope('commands:write')
  restore(
    @Param('tenantId', uuidParam) tenantId: string,
    @Param('userId', uuidParam) userId: string,
    @AdminCommand() { actingUserId, ifMatch, meta }: AdminCommandContext,
    @Res({ passthrough: true }) res: Response,
  ) {
    return this.lifecycle('RestoreUser', tenantId, userId, actingUserId, ifMatch, meta, res);
  }

  @Delete(':userId')
  @HttpCode(204)
  @RequireScope('commands:write')
  async remove(
    @Param('tenantId', uuidParam) tenantId: string,
    @Param('userId', uuidParam) rawUserId: string,
    @AdminCommand() { actingUserId, ifMatch, meta }: AdminCommandContext,
    @Res({ passthrough: true }) res: Response,
  ): Promise<void> {
    const userId = rawUserId.toLowerCase();
    await this.run(
      res,
      tenantId,
      userId,
      [{ type: 'DeleteUser', actingUserId, data: { userId } }],
      meta,
      ifMatch,
    );
  }

  @Post(':userId/mfa-methods')
  @RequireScope('commands:write')
  async registerMfa(
    @Param('tenantId', uuidParam) tenantId: string,
    @Param('userId', uuidParam) rawUserId: string,
    @Body() dto: RegisterMfaMethodDto,
    @AdminCommand() { actingUserId, ifMatch, meta }: AdminCommandContext,
    @Res({ passthrough: true }) res: Response,
  ) {
    const userId = rawUserId.toLowerCase();
    const outcome = await this.run(
      res,
      tenantId,
      userId,
      [{ type: 'RegisterMfaMethod', actingUserId, data: { userId, kind: dto.kind } }],
      meta,
      ifMatch,
    );
    const method = userOf(outcome.view, userId).mfaMethods.find((m) => m.kind === dto.kind);
    res.status(201);
    return { methodId: method?.methodId, kind: dto.kind, position: String(outcome.position) };
  }
}
