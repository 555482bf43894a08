// The commands the Kafka intake accepts: for each `type`, the ids its payload carries, the DTO class
// its other fields are validated with (the same class as the HTTP route's body, with the same
// policy: whitelist, unknown fields refused) and how it becomes tenant directory commands.
import { plainToInstance, type ClassConstructor } from 'class-transformer';
import { validate } from 'class-validator';
import { v7 as uuidv7 } from 'uuid';
import { findInvitation, normaliseDomainName, type TenantCommand } from '#domain';
import { isUuid } from '../common/auth.js';
import type { FieldError } from '../common/problem.js';
import { flattenValidationErrors } from '../common/validation.js';
import type { DirectoryOutcome } from '../command-pipeline/directory-command.js';
import { hashRedeemCode, newRedeemCode } from '../invitations/redeem-code.js';
import { InviteGuestDto } from '../invitations/dto.js';
import { AssignLicenseDto, PurchaseSubscriptionDto } from '../licenses/dto.js';
import { AddDomainDto, AssignRoleDto, MfaPolicyDto, SignUpTenantDto } from '../tenants/dto.js';
import { domainView } from '../tenants/views.js';
import { CreateMemberDto, UpdateUserDto } from '../users/dto.js';

type IdField = 'tenantId' | 'userId';

export interface BuildContext<D> {
  readonly ids: Readonly<Record<IdField, string>>;
  readonly dto: D;
  /** actor.userId (required for every command but SignUpTenant). */
  readonly actingUserId: string;
  readonly now: Date;
  readonly invitationTtlHours: number;
}

export interface BuiltCommand {
  readonly tenantId: string;
  readonly commands: readonly TenantCommand[];
  /** What the result message carries besides status and position (created ids and the like). */
  readonly result?: (outcome: DirectoryOutcome) => Record<string, unknown>;
}

interface IntakeSpec<D extends object> {
  /** Ids in the payload beside the DTO's fields (UUIDs, lower-cased). */
  readonly ids: readonly IdField[];
  readonly dto?: ClassConstructor<D>;
  /** False only for SignUpTenant, which nobody acts in yet. */
  readonly needsActingUser: boolean;
  /** The commands, or field errors the DTO's rules alone cannot express. */
  readonly build: (context: BuildContext<D>) => BuiltCommand | readonly FieldError[];
}

const spec = <D extends object>(s: IntakeSpec<D>): IntakeSpec<object> => s as unknown as IntakeSpec<object>;

const userLifecycle = (type: 'BlockUser' | 'UnblockUser' | 'DeleteUser') =>
  spec({
    ids: ['tenantId', 'userId'],
    needsActingUser: true,
    build: ({ ids, actingUserId }) => ({
      tenantId: ids.tenantId,
      commands: [{ type, actingUserId, data: { userId: ids.userId } }],
    }),
  });

const roleChange = (type: 'AssignRole' | 'RemoveRole') =>
  spec({
    ids: ['tenantId'],
    dto: AssignRoleDto,
    needsActingUser: true,
    build: ({ ids, dto, actingUserId }) => ({
      tenantId: ids.tenantId,
      commands: [{ type, actingUserId, data: { userId: dto.userId.toLowerCase(), role: dto.role } }],
    }),
  });

export const INTAKE_COMMANDS: Readonly<Record<string, IntakeSpec<object>>> = {
  SignUpTenant: spec({
    ids: [],
    dto: SignUpTenantDto,
    needsActingUser: false,
    build: ({ dto }) => {
      const tenantId = uuidv7();
      return {
        tenantId,
        commands: [
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
        result: (outcome) => {
          const created = outcome.events.find((e) => e.type === 'MemberCreated');
          const admin = created?.type === 'MemberCreated' ? created.data : undefined;
          return {
            tenantId,
            initialDomain: outcome.view.tenant.initialDomain,
            adminUserId: admin?.userId,
            adminUserPrincipalName: admin?.userPrincipalName,
          };
        },
      };
    },
  }),
  CreateMember: spec({
    ids: ['tenantId'],
    dto: CreateMemberDto,
    needsActingUser: true,
    build: ({ ids, dto, actingUserId }) => ({
      tenantId: ids.tenantId,
      commands: [
        {
          type: 'CreateMember',
          actingUserId,
          data: { userPrincipalName: dto.userPrincipalName, displayName: dto.displayName },
        },
      ],
      result: (outcome) => {
        const created = outcome.events.find((e) => e.type === 'MemberCreated');
        return created?.type === 'MemberCreated'
          ? { userId: created.data.userId, userPrincipalName: created.data.userPrincipalName }
          : {};
      },
    }),
  }),
  RenameUser: spec({
    ids: ['tenantId', 'userId'],
    // PATCH /users/{id}'s body; a rename carries the display name and nothing else.
    dto: UpdateUserDto,
    needsActingUser: true,
    build: ({ ids, dto, actingUserId }) => {
      const errors: FieldError[] = [];
      if (dto.displayName === undefined) errors.push({ field: 'payload.displayName', rule: 'required' });
      if (dto.userPrincipalName !== undefined)
        errors.push({ field: 'payload.userPrincipalName', rule: 'unknown_field' });
      if (errors.length > 0 || dto.displayName === undefined) return errors;
      return {
        tenantId: ids.tenantId,
        commands: [
          { type: 'RenameUser', actingUserId, data: { userId: ids.userId, displayName: dto.displayName } },
        ],
      };
    },
  }),
  BlockUser: userLifecycle('BlockUser'),
  UnblockUser: userLifecycle('UnblockUser'),
  DeleteUser: userLifecycle('DeleteUser'),
  AssignRole: roleChange('AssignRole'),
  RemoveRole: roleChange('RemoveRole'),
  AddDomain: spec({
    ids: ['tenantId'],
    dto: AddDomainDto,
    needsActingUser: true,
    build: ({ ids, dto, actingUserId }) => {
      const normalised = normaliseDomainName(dto.name);
      if (!normalised.ok) return [{ field: 'payload.name', rule: 'domain_name' }];
      const name = normalised.value;
      return {
        tenantId: ids.tenantId,
        commands: [{ type: 'AddDomain', actingUserId, data: { name } }],
        result: (outcome) => {
          const domain = outcome.view.tenant.domains.get(name);
          return domain ? { ...domainView(outcome.view.tenant, domain) } : {};
        },
      };
    },
  }),
  InviteGuest: spec({
    ids: ['tenantId'],
    dto: InviteGuestDto,
    needsActingUser: true,
    build: ({ ids, dto, actingUserId, now, invitationTtlHours }) => {
      const invitationId = uuidv7();
      const redeemCode = newRedeemCode();
      return {
        tenantId: ids.tenantId,
        commands: [
          {
            type: 'InviteGuest',
            actingUserId,
            data: {
              invitationId,
              email: dto.email,
              ...(dto.displayName !== undefined ? { displayName: dto.displayName } : {}),
              ...(dto.redirectUrl !== undefined ? { redirectUrl: dto.redirectUrl } : {}),
              redeemCodeHash: hashRedeemCode(redeemCode),
              expiresAt: new Date(now.getTime() + invitationTtlHours * 3_600_000).toISOString(),
            },
          },
        ],
        result: (outcome) => invitationResult(outcome, invitationId, redeemCode),
      };
    },
  }),
  PurchaseSubscription: spec({
    ids: ['tenantId'],
    dto: PurchaseSubscriptionDto,
    needsActingUser: true,
    build: ({ ids, dto, actingUserId }) => {
      const subscriptionId = uuidv7();
      return {
        tenantId: ids.tenantId,
        commands: [
          {
            type: 'PurchaseSubscription',
            actingUserId,
            data: { subscriptionId, sku: dto.sku, seats: dto.seats },
          },
        ],
        result: () => ({ subscriptionId }),
      };
    },
  }),
  AssignLicense: spec({
    ids: ['tenantId', 'userId'],
    dto: AssignLicenseDto,
    needsActingUser: true,
    build: ({ ids, dto, actingUserId }) => ({
      tenantId: ids.tenantId,
      commands: [{ type: 'AssignLicense', actingUserId, data: { userId: ids.userId, sku: dto.sku } }],
    }),
  }),
  RemoveLicense: spec({
    ids: ['tenantId', 'userId'],
    dto: AssignLicenseDto,
    needsActingUser: true,
    build: ({ ids, dto, actingUserId }) => ({
      tenantId: ids.tenantId,
      commands: [{ type: 'RemoveLicense', actingUserId, data: { userId: ids.userId, sku: dto.sku } }],
    }),
  }),
  SetMfaRequirement: spec({
    ids: ['tenantId'],
    dto: MfaPolicyDto,
    needsActingUser: true,
    build: ({ ids, dto, actingUserId }) => ({
      tenantId: ids.tenantId,
      commands: [{ type: 'SetMfaRequirement', actingUserId, data: { required: dto.required } }],
    }),
  }),
};

/**
 * The invitation the command created. Answered again after a crash (the pipeline's `once`), the
 * events are the first run's, with its invitation id; its redeem code, which only that run knew,
 * is then left out rather than replaced by one that would not work.
 */
function invitationResult(
  outcome: DirectoryOutcome,
  builtInvitationId: string,
  builtRedeemCode: string,
): Record<string, unknown> {
  const invited = outcome.events.find((e) => e.type === 'GuestInvited');
  const invitationId = invited?.type === 'GuestInvited' ? invited.data.invitationId : builtInvitationId;
  const redeemCode = invitationId === builtInvitationId ? builtRedeemCode : undefined;
  const found = findInvitation(outcome.view, invitationId);
  if (!found) return { invitationId };
  const { invitation, guest } = found;
  return {
    invitationId,
    guestUserId: guest.userId,
    guestUserPrincipalName: guest.userPrincipalName,
    // Shown once over HTTP; here the result message is the only answer the sender gets.
    ...(redeemCode === undefined ? {} : { redeemCode }),
    status: invitation.status,
    expiresAt: invitation.expiresAt,
  };
}

export type Prepared =
  | { readonly ok: true; readonly command: BuiltCommand }
  | {
      readonly ok: false;
      readonly code: string;
      readonly detail: string;
      readonly errors?: readonly FieldError[];
    };

const validationFailed = (errors: readonly FieldError[]): Prepared => ({
  ok: false,
  code: 'validation_failed',
  detail: `The command is invalid (${errors.map((e) => `${e.field}: ${e.rule}`).join('; ')}).`,
  errors,
});

/**
 * Validates a command's payload for its type (ids as UUIDs, the rest by the route's DTO class) and
 * builds the tenant directory commands; an unknown type or an invalid payload is refused.
 */
export async function prepareCommand(
  type: string,
  payload: Readonly<Record<string, unknown>>,
  actingUserId: string | undefined,
  context: { readonly now: Date; readonly invitationTtlHours: number },
): Promise<Prepared> {
  const intake = Object.hasOwn(INTAKE_COMMANDS, type) ? INTAKE_COMMANDS[type] : undefined;
  if (!intake)
    return {
      ok: false,
      code: 'unknown_command_type',
      detail: `Command type ${JSON.stringify(type)} is not accepted here (${Object.keys(INTAKE_COMMANDS).join(', ')}).`,
    };
  const errors: FieldError[] = [];
  const ids = { tenantId: '', userId: '' };
  const idFields = new Set<string>(intake.ids);
  const rest = Object.fromEntries(Object.entries(payload).filter(([field]) => !idFields.has(field)));
  for (const field of intake.ids) {
    const value = payload[field];
    if (typeof value !== 'string' || !isUuid(value)) errors.push({ field: `payload.${field}`, rule: 'uuid' });
    else ids[field] = value.toLowerCase();
  }
  if (intake.needsActingUser && actingUserId === undefined)
    errors.push({ field: 'actor.userId', rule: 'required' });
  let dto: object = {};
  if (intake.dto) {
    dto = plainToInstance(intake.dto, rest);
    const failures = await validate(dto, {
      whitelist: true,
      forbidNonWhitelisted: true,
      forbidUnknownValues: true,
      validationError: { target: false, value: false },
    });
    errors.push(...flattenValidationErrors(failures, 'payload'));
  } else {
    for (const field of Object.keys(rest)) errors.push({ field: `payload.${field}`, rule: 'unknown_field' });
  }
  if (errors.length > 0) return validationFailed(errors);
  const built = intake.build({
    ids,
    dto,
    actingUserId: actingUserId ?? '',
    now: context.now,
    invitationTtlHours: context.invitationTtlHours,
  });
  if (Array.isArray(built)) return validationFailed(built as readonly FieldError[]);
  return { ok: true, command: built as BuiltCommand };
}
