// A tenant directory command for the pipeline: its view of the directory (the tenant, and what the
// decider's needs name), the streams its events go to, the claims they take, and its answer.
import {
  claimsFor,
  directoryDecider,
  emailKey,
  isCustomDomain,
  isRejection,
  parseUserPrincipalName,
  streams,
  type DirectoryEvent,
  type DirectoryView,
  type TenantCommand,
  type TenantState,
} from '#domain';
import type { Attempt, PipelineCommand, Written } from './command-pipeline.js';
import { DomainRejectionError, MigrationRequiredError, PreconditionFailedError } from './errors.js';
import { claimFold, userFold } from './folds.js';
import { LoadedDirectory } from './loaded-directory.js';
import type { StreamNames } from './stream-names.js';
import type { StreamReads } from './stream-reads.js';

/** If-Match, parsed: the revision the client saw, and whose revision it is. */
export interface DirectoryPrecondition {
  readonly expected: number;
  /** The tenant stream's version (tenant-level resources), or one user object's revision. */
  readonly of: 'tenant' | { readonly userId: string };
}

export interface DirectoryOutcome {
  /**
   * The directory after the command, as far as the command read it; what it did not read reads as
   * absent (a subscription just purchased has no ledger read, and no seat in use).
   */
  readonly view: DirectoryView;
  readonly events: readonly DirectoryEvent[];
  /** Global position of the last event written (or of the latest read when nothing changed). */
  readonly position: number;
  /** The tenant stream's version after the command: the ETag of tenant-level resources. */
  readonly tenantVersion: number;
}

/**
 * Keys of the in-process queue: the streams the commands will write that other commands write as
 * well (a custom domain's account count, a seat ledger, a user, the tenant), so that such commands
 * queue instead of failing each other's appends. `cached` is the tenant as this process last knew it.
 */
function lockKeys(tenantId: string, commands: readonly TenantCommand[], cached?: TenantState): string[] {
  return commands.map((command) => {
    switch (command.type) {
      case 'CreateMember': {
        // Members of the initial domain share no ledger: only a custom domain's creations queue.
        const upn = parseUserPrincipalName(command.data.userPrincipalName);
        const domain = upn.ok ? upn.value.domain : '';
        return cached === undefined || isCustomDomain(cached, domain)
          ? `domain:${tenantId}:${domain}`
          : `member:${tenantId}:${upn.ok ? upn.value.upn.toLowerCase() : ''}`;
      }
      case 'InviteGuest':
        return `guest:${tenantId}:${emailKey(command.data.email)}`;
      case 'AssignLicense':
      case 'RemoveLicense':
        return `seats:${tenantId}:${command.data.sku}`;
      case 'ResendInvitation':
      case 'RevokeInvitation':
      case 'RedeemInvitation':
        return `invitation:${command.data.invitationId.toLowerCase()}`;
      case 'RenameUser':
      case 'ChangeUserPrincipalName':
      case 'OrderPasswordReset':
      case 'BlockUser':
      case 'UnblockUser':
      case 'DeleteUser':
      case 'RestoreUser':
      case 'RegisterMfaMethod':
      case 'AssignRole':
      case 'RemoveRole':
        return streams.user(command.data.userId);
      default:
        return streams.tenant(tenantId);
    }
  });
}

export function directoryCommand(
  names: StreamNames,
  tenantId: string,
  commands: readonly TenantCommand[],
  options: { readonly precondition?: DirectoryPrecondition; readonly cached?: TenantState } = {},
): PipelineCommand<DirectoryOutcome> {
  const actingUserId = commands[0]?.actingUserId;
  const views = new WeakMap<StreamReads, LoadedDirectory>();
  const viewOf = (reads: StreamReads): LoadedDirectory => {
    let view = views.get(reads);
    if (view === undefined) {
      view = new LoadedDirectory(tenantId, reads, names);
      views.set(reads, view);
    }
    return view;
  };
  const outcome = (view: LoadedDirectory, written: Written): DirectoryOutcome => ({
    view: view.lenient(),
    events: written.events as readonly DirectoryEvent[],
    position: written.position,
    tenantVersion: view.tenantVersion,
  });

  return {
    lockKeys: lockKeys(tenantId, commands, options.cached),
    streamId: streams.tenant(tenantId),
    tenantId,
    ...(actingUserId ? { actingUserId } : {}),
    async run(attempt: Attempt) {
      const view = viewOf(attempt.reads);
      const tenant = await view.loadTenant();
      if (tenant.unmigrated) throw new MigrationRequiredError(tenantId);
      for (const [index, command] of commands.entries()) {
        await view.loadNeeds(command);
        if (index === 0 && options.precondition !== undefined) check(options.precondition, view);
        const decision = directoryDecider.decide(command, view, attempt.context);
        if (isRejection(decision)) {
          const refused = new DomainRejectionError(decision, command);
          refused.targetExists = tenant.exists;
          throw refused;
        }
        for (const event of decision) {
          // Claims are judged on the directory as it was before the event.
          const { claims, releases } = claimsFor(event, view);
          for (const request of releases) await attempt.claim('Release', request, command);
          for (const request of claims) await attempt.claim('Claim', request, command);
          attempt.record(view.streamFor(event), event);
        }
      }
    },
    answer: (attempt, written) => outcome(viewOf(attempt.reads), written),
    async replay(reads, written) {
      const view = viewOf(reads);
      await view.loadTenant();
      for (const command of commands) await view.loadNeeds(command);
      // The objects the earlier run created are not named by the command: read them too.
      for (const event of written.events as readonly DirectoryEvent[]) {
        if (event.type === 'MemberCreated' || event.type === 'GuestInvited') {
          await reads.get(view.streamOf({ kind: 'user', userId: event.data.userId }), userFold);
        }
        if (event.type === 'GuestInvited') {
          await reads.get(names.claim('invitation', event.data.invitationId.toLowerCase()), claimFold);
        }
      }
      return outcome(view, written);
    },
  };
}

function check(precondition: DirectoryPrecondition, view: LoadedDirectory): void {
  const actual =
    precondition.of === 'tenant'
      ? view.tenant.exists
        ? view.tenantVersion
        : undefined
      : view.user(precondition.of.userId)?.revision;
  if (actual !== undefined && actual !== precondition.expected) {
    throw new PreconditionFailedError(precondition.expected, actual);
  }
}
