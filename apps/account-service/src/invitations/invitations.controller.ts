// Guest invitations: invite, resend, revoke (administrators) and redeem (the guest).
import { Body, Controller, Delete, HttpCode, Inject, Param, Post, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiHeader, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { v7 as uuidv7 } from 'uuid';
import { findInvitation, type DirectoryView, type TenantCommand } from '#domain';
import { ApiPrincipal } from '../common/api-keys.js';
import { assertTenantAllowed, CurrentPrincipal, RequireScope } from '../common/auth.js';
import {
  CommandContext,
  setCommandHeaders,
  uuidParam,
  AdminCommand,
  type AdminCommandContext,
} from '../common/http.js';
import { ProblemException } from '../common/problem.js';
import { APP_CONFIG, AppConfig } from '../config/config.js';
import type { CommandMeta } from '../command-pipeline/command-pipeline.js';
import { ClaimLookup } from '../command-pipeline/claim-lookup.js';
import { CLOCK, Clock } from '../command-pipeline/tokens.js';
import { ExecuteDirectoryCommand } from '../command-pipeline/execute-directory-command.js';
import type { DirectoryOutcome } from '../command-pipeline/directory-command.js';
import { InviteGuestDto, RedeemInvitationDto } from './dto.js';
import { hashRedeemCode, newRedeemCode } from './redeem-code.js';

function invitationOf(view: DirectoryView, invitationId: string) {
  const found = findInvitation(view, invitationId);
  if (!found) throw ProblemException.of(404, 'not_found', `Invitation ${invitationId} does not exist.`);
  return found;
}

@ApiTags('invitations')
@ApiBearerAuth()
@ApiHeader({ name: 'Idempotency-Key', required: false })
@Controller('v1')
export class InvitationsController {
  constructor(
    @Inject(CommandBus) private readonly commands: CommandBus,
    @Inject(ClaimLookup) private readonly claims: ClaimLookup,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private run(tenantId: string, command: TenantCommand, meta: CommandMeta): Promise<DirectoryOutcome> {
    return this.commands.execute(new ExecuteDirectoryCommand(tenantId, [command], meta));
  }

  private expiry(): string {
    return new Date(this.clock.now().getTime() + this.config.invitationTtlHours * 3_600_000).toISOString();
  }

  @Post('tenants/:tenantId/invitations')
  @RequireScope('commands:write')
  async invite(
    @Param('tenantId', uuidParam) tenantId: string,
    @Body() dto: InviteGuestDto,
    @AdminCommand() { actingUserId, meta }: AdminCommandContext,
    @Res({ passthrough: true }) res: Response,
  ) {
    const invitationId = uuidv7();
    const redeemCode = newRedeemCode();
    const outcome = await this.run(
      tenantId,
      {
        type: 'InviteGuest',
        actingUserId,
        data: {
          invitationId,
          email: dto.email,
          ...(dto.displayName !== undefined ? { displayName: dto.displayName } : {}),
          ...(dto.redirectUrl !== undefined ? { redirectUrl: dto.redirectUrl } : {}),
          redeemCodeHash: hashRedeemCode(redeemCode),
          expiresAt: this.expiry(),
        },
      },
      meta,
    );
    const { invitation, guest } = invitationOf(outcome.view, invitationId);
    setCommandHeaders(res, outcome.position, guest.revision);
    res.status(201).setHeader('Location', `/v1/tenants/${tenantId}/users/${guest.userId}`);
    return {
      invitationId,
      guestUserId: guest.userId,
      guestUserPrincipalName: guest.userPrincipalName,
      redeemCode,
      status: invitation.status,
      expiresAt: invitation.expiresAt,
      ...(invitation.redirectUrl ? { redirectUrl: invitation.redirectUrl } : {}),
      position: String(outcome.position),
    };
  }

  @Post('tenants/:tenantId/invitations/:invitationId/resend')
  @HttpCode(200)
  @RequireScope('commands:write')
  async resend(
    @Param('tenantId', uuidParam) tenantId: string,
    @Param('invitationId', uuidParam) rawId: string,
    @AdminCommand() { actingUserId, meta }: AdminCommandContext,
    @Res({ passthrough: true }) res: Response,
  ) {
    const invitationId = rawId.toLowerCase();
    const redeemCode = newRedeemCode();
    const outcome = await this.run(
      tenantId,
      {
        type: 'ResendInvitation',
        actingUserId,
        data: { invitationId, redeemCodeHash: hashRedeemCode(redeemCode), expiresAt: this.expiry() },
      },
      meta,
    );
    const { invitation, guest } = invitationOf(outcome.view, invitationId);
    setCommandHeaders(res, outcome.position, guest.revision);
    return {
      invitationId,
      guestUserId: guest.userId,
      guestUserPrincipalName: guest.userPrincipalName,
      redeemCode,
      status: invitation.status,
      expiresAt: invitation.expiresAt,
      position: String(outcome.position),
    };
  }

  @Delete('tenants/:tenantId/invitations/:invitationId')
  @HttpCode(204)
  @RequireScope('commands:write')
  async revoke(
    @Param('tenantId', uuidParam) tenantId: string,
    @Param('invitationId', uuidParam) rawId: string,
    @AdminCommand() { actingUserId, meta }: AdminCommandContext,
    @Res({ passthrough: true }) res: Response,
  ): Promise<void> {
    const outcome = await this.run(
      tenantId,
      { type: 'RevokeInvitation', actingUserId, data: { invitationId: rawId.toLowerCase() } },
      meta,
    );
    setCommandHeaders(res, outcome.position);
  }

  @Post('invitations/:invitationId/redeem')
  @HttpCode(200)
  @RequireScope('commands:write')
  async redeem(
    @Param('invitationId', uuidParam) rawId: string,
    @Body() dto: RedeemInvitationDto,
    @CurrentPrincipal() principal: ApiPrincipal,
    @CommandContext() meta: CommandMeta,
    @Res({ passthrough: true }) res: Response,
  ) {
    const invitationId = rawId.toLowerCase();
    const holder = await this.claims.holder('invitation', invitationId);
    if (!holder?.tenantId)
      throw ProblemException.of(404, 'not_found', `Invitation ${invitationId} does not exist.`);
    const { tenantId } = holder;
    assertTenantAllowed(principal, tenantId);
    const outcome = await this.run(
      tenantId,
      {
        type: 'RedeemInvitation',
        data: {
          invitationId,
          redeemCodeHash: hashRedeemCode(dto.redeemCode),
          identity: {
            kind: dto.identity.kind,
            email: dto.identity.email,
            ...(dto.identity.accountId ? { accountId: dto.identity.accountId.toLowerCase() } : {}),
          },
        },
      },
      meta,
    );
    const { invitation, guest } = invitationOf(outcome.view, invitationId);
    setCommandHeaders(res, outcome.position, guest.revision);
    return {
      invitationId,
      tenantId,
      guestUserId: guest.userId,
      status: invitation.status,
      ...(invitation.redirectUrl ? { redirectUrl: invitation.redirectUrl } : {}),
      position: String(outcome.position),
    };
  }
}
