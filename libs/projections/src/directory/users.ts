// Users-per-tenant read model (and which tenants exist): one row per user object (member or guest)
// with its roles, licenses and MFA methods, its creation order for cursor paging, and its revision:
// the number of events concerning it, counted by the same rule as UserState.revision in the domain
// (its own stream's events; in a store of the one-stream layout, those of the tenant's stream that
// name it), so a read sends the same ETag that If-Match is checked against.
import type { DirectoryEvent, GuestState, IdentityKind, MfaMethodKind, Role } from '#domain';
import type { RecordedEvent } from '#event-store';
import type { ReadModelProjection } from '../read-models.js';
import type { SqlDdl, SqlSession, SqlValue } from '../sql.js';
import { bit, jsonList, sqlPerPrefix, directoryEventOf, toggledJson } from './events.js';

export type UserType = 'Member' | 'Guest';

export interface UserRecord {
  readonly tenantId: string;
  readonly userId: string;
  readonly userType: UserType;
  readonly userPrincipalName: string;
  readonly displayName: string;
  readonly blocked: boolean;
  readonly deleted: boolean;
  /** Guests only. */
  readonly guest?: {
    readonly email: string;
    readonly invitationId: string;
    readonly state: GuestState;
    readonly identityKind?: IdentityKind;
  };
  /** In the order assigned (a role removed and given again goes to the end). */
  readonly roles: readonly Role[];
  /** SKUs, in the order assigned. */
  readonly licenses: readonly string[];
  readonly mfaMethods: ReadonlyArray<{ readonly methodId: string; readonly kind: MfaMethodKind }>;
  /** The user resource's ETag. */
  readonly revision: number;
}

export interface UserPage {
  readonly users: readonly UserRecord[];
  /** More users follow the last one of this page. */
  readonly hasMore: boolean;
}

interface UserRow {
  tenant_id: string;
  user_id: string;
  seq: number;
  user_type: UserType;
  upn: string;
  display_name: string;
  blocked: number;
  deleted: number;
  guest_email: string | null;
  invitation_id: string | null;
  guest_state: GuestState | null;
  identity_kind: IdentityKind | null;
  roles: string;
  licenses: string;
  mfa_methods: string;
  revision: number;
}

function setup(tx: SqlSession, p: string, ddl: SqlDdl): Promise<void> {
  const { int, text, tableOptions } = ddl;
  return tx.exec(`
    CREATE TABLE ${p}users (
      tenant_id ${text} NOT NULL,
      user_id ${text} NOT NULL,
      seq ${int} NOT NULL,
      user_type ${text} NOT NULL,
      upn ${text} NOT NULL,
      display_name ${text} NOT NULL,
      blocked ${int} NOT NULL,
      deleted ${int} NOT NULL,
      guest_email ${text},
      invitation_id ${text},
      guest_state ${text},
      identity_kind ${text},
      roles ${text} NOT NULL,
      licenses ${text} NOT NULL,
      mfa_methods ${text} NOT NULL,
      revision ${int} NOT NULL,
      PRIMARY KEY (tenant_id, user_id)
    )${tableOptions};
    CREATE INDEX ${p}users_by_seq ON ${p}users (tenant_id, seq);
    CREATE TABLE ${p}tenants (tenant_id ${text} PRIMARY KEY)${tableOptions};
    CREATE INDEX ${p}users_by_type ON ${p}users (tenant_id, user_type, seq);
  `);
}

const COLUMNS = `tenant_id, user_id, seq, user_type, upn, display_name, blocked, deleted, guest_email,
  invitation_id, guest_state, identity_kind, roles, licenses, mfa_methods, revision`;

/** A row's values in COLUMNS order. */
const values = (row: UserRow): SqlValue[] => [
  row.tenant_id,
  row.user_id,
  row.seq,
  row.user_type,
  row.upn,
  row.display_name,
  row.blocked,
  row.deleted,
  row.guest_email,
  row.invitation_id,
  row.guest_state,
  row.identity_kind,
  row.roles,
  row.licenses,
  row.mfa_methods,
  row.revision,
];

const statements = sqlPerPrefix((p) => ({
  addTenant: `INSERT INTO ${p}tenants (tenant_id) VALUES (?) ON CONFLICT (tenant_id) DO NOTHING`,
  tenant: `SELECT 1 AS present FROM ${p}tenants WHERE tenant_id = ?`,
  // A user id created again keeps its place (as a Map entry does) and starts over, except for its
  // roles: the decider keeps the tenant's role assignments apart from its users.
  create: `INSERT INTO ${p}users (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (tenant_id, user_id) DO UPDATE SET user_type = excluded.user_type, upn = excluded.upn,
       display_name = excluded.display_name, blocked = excluded.blocked, deleted = excluded.deleted,
       guest_email = excluded.guest_email, invitation_id = excluded.invitation_id,
       guest_state = excluded.guest_state, identity_kind = excluded.identity_kind,
       licenses = excluded.licenses, mfa_methods = excluded.mfa_methods, revision = excluded.revision`,
  update: `UPDATE ${p}users SET upn = ?, display_name = ?, blocked = ?, deleted = ?, guest_state = ?,
       identity_kind = ?, roles = ?, licenses = ?, mfa_methods = ?, revision = ?
     WHERE tenant_id = ? AND user_id = ?`,
  one: `SELECT * FROM ${p}users WHERE tenant_id = ? AND user_id = ?`,
  page: `SELECT * FROM ${p}users WHERE tenant_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
  pageOfType: `SELECT * FROM ${p}users WHERE tenant_id = ? AND user_type = ? AND seq > ? ORDER BY seq LIMIT ?`,
}));

type Change = (row: UserRow) => Partial<UserRow>;

/** How an event that concerns an existing user changes its row; undefined: not such an event. */
function changeOf(event: DirectoryEvent): { userId: string; change: Change } | undefined {
  const same: Change = () => ({});
  switch (event.type) {
    case 'InvitationResent':
    case 'InvitationRevoked':
    case 'PasswordResetOrdered':
      return { userId: event.data.userId, change: same };
    case 'InvitationRedeemed': {
      const kind = event.data.identity.kind;
      return {
        userId: event.data.userId,
        change: (row) => (row.guest_email === null ? {} : { guest_state: 'Accepted', identity_kind: kind }),
      };
    }
    case 'LicenseAssigned':
    case 'LicenseRemoved': {
      const present = event.type === 'LicenseAssigned';
      const { sku } = event.data;
      return {
        userId: event.data.userId,
        change: (row) => ({ licenses: toggledJson(row.licenses, sku, present) }),
      };
    }
    case 'RoleAssigned':
    case 'RoleRemoved': {
      const present = event.type === 'RoleAssigned';
      const { role } = event.data;
      return {
        userId: event.data.userId,
        change: (row) => ({ roles: toggledJson(row.roles, role, present) }),
      };
    }
    case 'UserRenamed':
      return { userId: event.data.userId, change: () => ({ display_name: event.data.displayName }) };
    case 'UserPrincipalNameChanged':
      return { userId: event.data.userId, change: () => ({ upn: event.data.userPrincipalName }) };
    case 'UserBlocked':
    case 'UserUnblocked':
      return { userId: event.data.userId, change: () => ({ blocked: bit(event.type === 'UserBlocked') }) };
    case 'UserDeleted':
    case 'UserRestored':
      return { userId: event.data.userId, change: () => ({ deleted: bit(event.type === 'UserDeleted') }) };
    case 'MfaMethodRegistered': {
      const { methodId, kind } = event.data;
      return {
        userId: event.data.userId,
        change: (row) => ({
          mfa_methods: JSON.stringify([...jsonList(row.mfa_methods), { methodId, kind }]),
        }),
      };
    }
    default:
      return undefined;
  }
}

function recordOf(row: UserRow): UserRecord {
  return {
    tenantId: row.tenant_id,
    userId: row.user_id,
    userType: row.user_type,
    userPrincipalName: row.upn,
    displayName: row.display_name,
    blocked: row.blocked === 1,
    deleted: row.deleted === 1,
    ...(row.guest_email !== null && row.invitation_id !== null && row.guest_state !== null
      ? {
          guest: {
            email: row.guest_email,
            invitationId: row.invitation_id,
            state: row.guest_state,
            ...(row.identity_kind === null ? {} : { identityKind: row.identity_kind }),
          },
        }
      : {}),
    roles: jsonList<Role>(row.roles),
    licenses: jsonList<string>(row.licenses),
    mfaMethods: jsonList<{ methodId: string; kind: MfaMethodKind }>(row.mfa_methods),
    revision: row.revision,
  };
}

export class UsersProjection implements ReadModelProjection {
  readonly name = 'users';
  readonly version = 1;
  readonly tables = ['users', 'tenants'] as const;

  setup(tx: SqlSession, prefix: string, ddl: SqlDdl): Promise<void> {
    return setup(tx, prefix, ddl);
  }

  async apply(recorded: RecordedEvent, tx: SqlSession, prefix: string): Promise<void> {
    const found = directoryEventOf(recorded);
    if (found === undefined) return;
    const { tenantId, event } = found;
    const s = statements(prefix);
    if (event.type === 'TenantCreated') {
      await tx.run(s.addTenant, [tenantId]);
      return;
    }
    const fresh = {
      tenant_id: tenantId,
      seq: recorded.globalPosition,
      blocked: 0,
      deleted: 0,
      identity_kind: null,
      roles: '[]',
      licenses: '[]',
      mfa_methods: '[]',
      revision: 1,
    };
    if (event.type === 'MemberCreated') {
      const { userId, userPrincipalName, displayName } = event.data;
      await tx.run(
        s.create,
        values({
          ...fresh,
          user_id: userId,
          user_type: 'Member',
          upn: userPrincipalName,
          display_name: displayName,
          guest_email: null,
          invitation_id: null,
          guest_state: null,
        }),
      );
      return;
    }
    if (event.type === 'GuestInvited') {
      const { userId, userPrincipalName, displayName, email, invitationId } = event.data;
      await tx.run(
        s.create,
        values({
          ...fresh,
          user_id: userId,
          user_type: 'Guest',
          upn: userPrincipalName,
          display_name: displayName,
          guest_email: email,
          invitation_id: invitationId,
          guest_state: 'PendingAcceptance',
        }),
      );
      return;
    }
    const concerning = changeOf(event);
    if (concerning === undefined) return;
    const row = await tx.get<UserRow>(s.one, [tenantId, concerning.userId]);
    // An event about a user the tenant doesn't have changes nothing (the decider's withUser).
    if (row === undefined) return;
    const next: UserRow = { ...row, ...concerning.change(row), revision: row.revision + 1 };
    await tx.run(s.update, [
      next.upn,
      next.display_name,
      next.blocked,
      next.deleted,
      next.guest_state,
      next.identity_kind,
      next.roles,
      next.licenses,
      next.mfa_methods,
      next.revision,
      next.tenant_id,
      next.user_id,
    ]);
  }

  /** Whether the tenant exists (as far as this projection has read): its users can be listed. */
  async tenantExists(db: SqlSession, prefix: string, tenantId: string): Promise<boolean> {
    return (await db.get(statements(prefix).tenant, [tenantId])) !== undefined;
  }

  async get(
    db: SqlSession,
    prefix: string,
    tenantId: string,
    userId: string,
  ): Promise<UserRecord | undefined> {
    const row = await db.get<UserRow>(statements(prefix).one, [tenantId, userId]);
    return row === undefined ? undefined : recordOf(row);
  }

  /**
   * A page of the tenant's users in creation order, optionally of one type, after the user
   * `afterUserId`; 'unknown_cursor' when that user isn't one of the listed ones.
   */
  async list(
    db: SqlSession,
    prefix: string,
    tenantId: string,
    options: { readonly userType?: UserType; readonly afterUserId?: string; readonly limit: number },
  ): Promise<UserPage | 'unknown_cursor'> {
    const s = statements(prefix);
    let after = 0;
    if (options.afterUserId !== undefined) {
      const cursor = await db.get<UserRow>(s.one, [tenantId, options.afterUserId]);
      if (cursor === undefined || (options.userType !== undefined && cursor.user_type !== options.userType))
        return 'unknown_cursor';
      after = cursor.seq;
    }
    const rows =
      options.userType === undefined
        ? await db.all<UserRow>(s.page, [tenantId, after, options.limit + 1])
        : await db.all<UserRow>(s.pageOfType, [tenantId, options.userType, after, options.limit + 1]);
    return { users: rows.slice(0, options.limit).map(recordOf), hasMore: rows.length > options.limit };
  }
}
