// Subscriptions (SKU and seats) and license assignments of a tenant.
import { Body, Controller, Delete, HttpCode, Inject, Param, Patch, Post, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiHeader, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { v7 as uuidv7 } from 'uuid';
import type { DirectoryView, TenantCommand } from '#domain';
import { RequireScope } from '../common/auth.js';
import { setCommandHeaders, uuidParam, AdminCommand, type AdminCommandContext } from '../common/http.js';
import { ProblemException } from '../common/problem.js';
import { validationProblem } from '../common/validation.js';
import type { CommandMeta } from '../command-pipeline/command-pipeline.js';
import { ExecuteDirectoryCommand } from '../command-pipeline/execute-directory-command.js';
import type { DirectoryOutcome } from '../command-pipeline/directory-command.js';
import { subscriptionView } from '../tenants/views.js';
import { AssignLicenseDto, ChangeSeatsDto, PurchaseSubscriptionDto, SKU_PATTERN } from './dto.js';

function subscriptionOf(view: DirectoryView, subscriptionId: string) {
  const subscription = view.tenant.subscriptions.get(subscriptionId);
  if (!subscription)
    throw ProblemException.of(404, 'not_found', `Subscription ${subscriptionId} does not exist.`);
  return subscriptionView(subscription, view.seatsAssigned(subscriptionId));
}

@ApiTags('licenses')
@ApiBearerAuth()
@ApiHeader({ name: 'Idempotency-Key', required: false })
@Controller('v1/tenants/:tenantId')
export class LicensesController {
  constructor(@Inject(CommandBus) private readonly commands: CommandBus) {}

  private run(tenantId: string, command: TenantCommand, meta: CommandMeta): Promise<DirectoryOutcome> {
    return this.commands.execute(new ExecuteDirectoryCommand(tenantId, [command], meta));
  }

  @Post('subscriptions')
  @RequireScope('commands:write')
  async purchase(
    @Param('tenantId', uuidParam) tenantId: string,
    @Body() dto: PurchaseSubscriptionDto,
    @AdminCommand() { actingUserId, meta }: AdminCommandContext,
    @Res({ passthrough: true }) res: Response,
  ) {
    const subscriptionId = uuidv7();
    const outcome = await this.run(
      tenantId,
      {
        type: 'PurchaseSubscription',
        actingUserId,
        data: { subscriptionId, sku: dto.sku, seats: dto.seats },
      },
      meta,
    );
    setCommandHeaders(res, outcome.position, outcome.tenantVersion);
    res.status(201);
    return { ...subscriptionOf(outcome.view, subscriptionId), position: String(outcome.position) };
  }

  @Patch('subscriptions/:subscriptionId')
  @RequireScope('commands:write')
  async changeSeats(
    @Param('tenantId', uuidParam) tenantId: string,
    @Param('subscriptionId', uuidParam) rawId: string,
    @Body() dto: ChangeSeatsDto,
    @AdminCommand() { actingUserId, meta }: AdminCommandContext,
    @Res({ passthrough: true }) res: Response,
  ) {
    const subscriptionId = rawId.toLowerCase();
    const outcome = await this.run(
      tenantId,
      { type: 'ChangeSeats', actingUserId, data: { subscriptionId, seats: dto.seats } },
      meta,
    );
    setCommandHeaders(res, outcome.position, outcome.tenantVersion);
    return { ...subscriptionOf(outcome.view, subscriptionId), position: String(outcome.position) };
  }

  @Delete('subscriptions/:subscriptionId')
  @HttpCode(204)
  @RequireScope('commands:write')
  async cancel(
    @Param('tenantId', uuidParam) tenantId: string,
    @Param('subscriptionId', uuidParam) rawId: string,
    @AdminCommand() { actingUserId, meta }: AdminCommandContext,
    @Res({ passthrough: true }) res: Response,
  ): Promise<void> {
    const outcome = await this.run(
      tenantId,
      { type: 'CancelSubscription', actingUserId, data: { subscriptionId: rawId.toLowerCase() } },
      meta,
    );
    setCommandHeaders(res, outcome.position, outcome.tenantVersion);
  }

  @Post('users/:userId/licenses')
  @RequireScope('commands:write')
  async assign(
    @Param('tenantId', uuidParam) tenantId: string,
    @Param('userId', uuidParam) rawUserId: string,
    @Body() dto: AssignLicenseDto,
    @AdminCommand() { actingUserId, meta }: AdminCommandContext,
    @Res({ passthrough: true }) res: Response,
  ) {
    const userId = rawUserId.toLowerCase();
    const outcome = await this.run(
      tenantId,
      { type: 'AssignLicense', actingUserId, data: { userId, sku: dto.sku } },
      meta,
    );
    setCommandHeaders(res, outcome.position, outcome.view.user(userId)?.revision);
    res.status(201);
    return { userId, sku: dto.sku, position: String(outcome.position) };
  }

  @Delete('users/:userId/licenses/:sku')
  @HttpCode(204)
  @RequireScope('commands:write')
  async remove(
    @Param('tenantId', uuidParam) tenantId: string,
    @Param('userId', uuidParam) rawUserId: string,
    @Param('sku') sku: string,
    @AdminCommand() { actingUserId, meta }: AdminCommandContext,
    @Res({ passthrough: true }) res: Response,
  ): Promise<void> {
    if (!SKU_PATTERN.test(sku)) throw validationProblem([{ field: 'sku', rule: 'matches' }]);
    const userId = rawUserId.toLowerCase();
    const outcome = await this.run(
      tenantId,
      { type: 'RemoveLicense', actingUserId, data: { userId, sku } },
      meta,
    );
    setCommandHeaders(res, outcome.position, outcome.view.user(userId)?.revision);
  }
}
