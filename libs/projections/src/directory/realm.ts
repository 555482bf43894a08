// Realm read model behind the sign-in lookup: what exists for a login name. Personal accounts by
// address, work accounts by lower-cased UPN and guest objects by invited address (both in one table,
// keyed by login), the domains tenants have verified (initial domains included), and the tenants.
// A look-up is one indexed query on the live tables, so it is right as soon as the projection has
// passed the event, whichever instance applied it.
import { domainOfUpn, upnKey } from '#domain';
import type { GuestState, IdentityKind } from '#domain';
import type { RecordedEvent } from '#event-store';
import type { ReadModelProjection } from '../read-models.js';
import type { SqlDdl, SqlSession } from '../sql.js';
import { bit, personalAccountEventOf, sqlPerPrefix, directoryEventOf } from './events.js';

export interface PersonalAccountEntry {
  readonly accountId: string;
  readonly closed: boolean;
}

/** A user object of a tenant that signs in with this login: a member (by UPN) or a guest (by address). */
export interface RealmUserEntry {
  readonly tenantId: string;
  readonly userId: string;
  readonly userType: 'Member' | 'Guest';
  /** Members: the UPN's domain (verified, or the initial domain). */
  readonly domain?: string;
  readonly blocked: boolean;
  readonly deleted: boolean;
  /** Guests: the invitation's state, whether it was revoked, and who redeemed it. */
  readonly guestState?: GuestState;
  readonly revoked?: boolean;
  readonly identityKind?: IdentityKind;
}

export interface RealmLookup {
  /** The login as looked up: a normalised, lower-cased address. */
  readonly login: string;
  /** The tenant that verified the login's domain or a parent of it, if any. */
  readonly managedBy?: string;
  readonly personal?: PersonalAccountEntry;
  /** Members and guests with this login, in every tenant (deleted ones included: callers decide). */
  readonly users: readonly RealmUserEntry[];
}

interface UserRow {
  tenant_id: string;
  user_id: string;
  user_type: 'Member' | 'Guest';
  domain: string | null;
  blocked: number;
  deleted: number;
  guest_state: GuestState | null;
  revoked: number;
  identity_kind: IdentityKind | null;
}

/**
 * One row of the look-up, by `part`: 0, a user with the login (a UserRow); 1, the personal account
 * (its id in user_id, closed in deleted); 2, the tenant managing the login's domain (in tenant_id).
 */
type LookupRow =
  ({ part: 0 } & UserRow) | { part: 1; user_id: string; deleted: number } | { part: 2; tenant_id: string };

function setup(tx: SqlSession, p: string, ddl: SqlDdl): Promise<void> {
  const { int, text, tableOptions } = ddl;
  return tx.exec(`
    CREATE TABLE ${p}tenants (tenant_id ${text} PRIMARY KEY)${tableOptions};
    CREATE TABLE ${p}verified_domains (name ${text} PRIMARY KEY, tenant_id ${text} NOT NULL)${tableOptions};
    CREATE TABLE ${p}personal_accounts (
      login_key ${text} PRIMARY KEY,
      account_id ${text} NOT NULL,
      closed ${int} NOT NULL
    )${tableOptions};
    CREATE INDEX ${p}personal_accounts_by_id ON ${p}personal_accounts (account_id);
    CREATE TABLE ${p}users (
      tenant_id ${text} NOT NULL,
      user_id ${text} NOT NULL,
      login_key ${text} NOT NULL,
      user_type ${text} NOT NULL,
      domain ${text},
      blocked ${int} NOT NULL,
      deleted ${int} NOT NULL,
      guest_state ${text},
      revoked ${int} NOT NULL,
      identity_kind ${text},
      PRIMARY KEY (tenant_id, user_id)
    )${tableOptions};
    CREATE INDEX ${p}users_by_login ON ${p}users (login_key);
  `);
}

/** `?, ?, ...`: `n` placeholders. */
const placeholders = (n: number): string => Array.from({ length: n }, () => '?').join(', ');

/**
 * The names a domain is managed under, nearest first: itself, then each parent (a verified domain
 * covers its sub-domains), down to the last label's remainder, as the walk always went.
 */
function domainAndParents(domain: string): string[] {
  const names = [domain];
  let name = domain;
  for (let dot = name.indexOf('.'); dot !== -1; dot = name.indexOf('.')) {
    name = name.slice(dot + 1);
    names.push(name);
  }
  return names;
}

const statements = sqlPerPrefix((p) => {
  // The nearest verified name among a domain and its parents: the longest, since they are suffixes.
  const owner = (names: number) =>
    `SELECT tenant_id FROM ${p}verified_domains WHERE name IN (${placeholders(names)})
     ORDER BY length(name) DESC LIMIT 1`;
  // Per number of names: a login's domain has a handful of labels.
  const lookups = new Map<number, string>();
  return {
    addTenant: `INSERT INTO ${p}tenants (tenant_id) VALUES (?) ON CONFLICT (tenant_id) DO NOTHING`,
    verifyDomain: `INSERT INTO ${p}verified_domains (name, tenant_id) VALUES (?, ?)
       ON CONFLICT (name) DO UPDATE SET tenant_id = excluded.tenant_id`,
    removeDomain: `DELETE FROM ${p}verified_domains WHERE name = ? AND tenant_id = ?`,
    createUser: `INSERT INTO ${p}users (tenant_id, user_id, login_key, user_type, domain, blocked, deleted,
         guest_state, revoked, identity_kind) VALUES (?, ?, ?, ?, ?, 0, 0, ?, 0, NULL)
       ON CONFLICT (tenant_id, user_id) DO UPDATE SET login_key = excluded.login_key,
         user_type = excluded.user_type, domain = excluded.domain, blocked = 0, deleted = 0,
         guest_state = excluded.guest_state, revoked = 0, identity_kind = NULL`,
    changeUpn: `UPDATE ${p}users SET login_key = ?, domain = ?
       WHERE tenant_id = ? AND user_id = ? AND user_type = 'Member'`,
    redeem: `UPDATE ${p}users SET guest_state = 'Accepted', identity_kind = ?
       WHERE tenant_id = ? AND user_id = ? AND user_type = 'Guest'`,
    revoke: `UPDATE ${p}users SET revoked = 1 WHERE tenant_id = ? AND user_id = ? AND user_type = 'Guest'`,
    setBlocked: `UPDATE ${p}users SET blocked = ? WHERE tenant_id = ? AND user_id = ?`,
    setDeleted: `UPDATE ${p}users SET deleted = ? WHERE tenant_id = ? AND user_id = ?`,
    register: `INSERT INTO ${p}personal_accounts (login_key, account_id, closed) VALUES (?, ?, 0)
       ON CONFLICT (login_key) DO UPDATE SET account_id = excluded.account_id, closed = 0`,
    close: `UPDATE ${p}personal_accounts SET closed = 1 WHERE account_id = ?`,
    tenant: `SELECT 1 AS present FROM ${p}tenants WHERE tenant_id = ?`,
    owner,
    /**
     * Everything a look-up needs in one statement: one snapshot (on PostgreSQL separate statements
     * could straddle another instance's commit and mix two batches) and one round trip. Parameters:
     * the login twice, then the domain and its parents.
     */
    lookup(names: number): string {
      let sql = lookups.get(names);
      if (sql === undefined) {
        sql = `SELECT 0 AS part, tenant_id, user_id, user_type, domain, blocked, deleted, guest_state,
             revoked, identity_kind
           FROM ${p}users WHERE login_key = ?
           UNION ALL
           SELECT 1, NULL, account_id, NULL, NULL, 0, closed, NULL, 0, NULL
           FROM ${p}personal_accounts WHERE login_key = ?
           UNION ALL
           SELECT 2, tenant_id, NULL, NULL, NULL, 0, 0, NULL, 0, NULL FROM (${owner(names)}) nearest
           ORDER BY part, tenant_id, user_id`;
        lookups.set(names, sql);
      }
      return sql;
    },
  };
});

const entryOf = (row: UserRow): RealmUserEntry => ({
  tenantId: row.tenant_id,
  userId: row.user_id,
  userType: row.user_type,
  ...(row.domain === null ? {} : { domain: row.domain }),
  blocked: row.blocked === 1,
  deleted: row.deleted === 1,
  ...(row.guest_state === null ? {} : { guestState: row.guest_state, revoked: row.revoked === 1 }),
  ...(row.identity_kind === null ? {} : { identityKind: row.identity_kind }),
});

export class RealmProjection implements ReadModelProjection {
  readonly name = 'realm';
  readonly version = 1;
  readonly tables = ['tenants', 'verified_domains', 'personal_accounts', 'users'] as const;

  setup(tx: SqlSession, prefix: string, ddl: SqlDdl): Promise<void> {
    return setup(tx, prefix, ddl);
  }

  async apply(recorded: RecordedEvent, tx: SqlSession, prefix: string): Promise<void> {
    const s = statements(prefix);
    const account = personalAccountEventOf(recorded);
    if (account !== undefined) {
      if (account.type === 'PersonalAccountRegistered')
        await tx.run(s.register, [upnKey(account.data.email), account.data.accountId]);
      else if (account.type === 'PersonalAccountClosed') await tx.run(s.close, [account.data.accountId]);
      return;
    }
    const found = directoryEventOf(recorded);
    if (found === undefined) return;
    const { tenantId, event } = found;
    switch (event.type) {
      case 'TenantCreated':
        await tx.run(s.addTenant, [tenantId]);
        await tx.run(s.verifyDomain, [event.data.initialDomain, tenantId]);
        break;
      case 'DomainVerified':
        await tx.run(s.verifyDomain, [event.data.name, tenantId]);
        break;
      case 'DomainRemoved':
        await tx.run(s.removeDomain, [event.data.name, tenantId]);
        break;
      case 'MemberCreated': {
        const upn = event.data.userPrincipalName;
        await tx.run(s.createUser, [
          tenantId,
          event.data.userId,
          upnKey(upn),
          'Member',
          domainOfUpn(upn),
          null,
        ]);
        break;
      }
      case 'UserPrincipalNameChanged': {
        const upn = event.data.userPrincipalName;
        await tx.run(s.changeUpn, [upnKey(upn), domainOfUpn(upn), tenantId, event.data.userId]);
        break;
      }
      case 'GuestInvited':
        await tx.run(s.createUser, [
          tenantId,
          event.data.userId,
          upnKey(event.data.email),
          'Guest',
          null,
          'PendingAcceptance',
        ]);
        break;
      case 'InvitationRedeemed':
        await tx.run(s.redeem, [event.data.identity.kind, tenantId, event.data.userId]);
        break;
      case 'InvitationRevoked':
        await tx.run(s.revoke, [tenantId, event.data.userId]);
        break;
      case 'UserBlocked':
      case 'UserUnblocked':
        await tx.run(s.setBlocked, [bit(event.type === 'UserBlocked'), tenantId, event.data.userId]);
        break;
      case 'UserDeleted':
      case 'UserRestored':
        await tx.run(s.setDeleted, [bit(event.type === 'UserDeleted'), tenantId, event.data.userId]);
        break;
      default:
        break;
    }
  }

  /** What exists for a normalised login (`upnKey` of a parsed address): one indexed query. */
  async lookup(db: SqlSession, prefix: string, login: string): Promise<RealmLookup> {
    const key = upnKey(login);
    const names = domainAndParents(domainOfUpn(key));
    const rows = await db.all<LookupRow>(statements(prefix).lookup(names.length), [key, key, ...names]);
    let managedBy: string | undefined;
    let personal: PersonalAccountEntry | undefined;
    const users: RealmUserEntry[] = [];
    for (const row of rows) {
      if (row.part === 0) users.push(entryOf(row));
      else if (row.part === 1) personal = { accountId: row.user_id, closed: row.deleted === 1 };
      else managedBy = row.tenant_id;
    }
    return {
      login: key,
      ...(managedBy === undefined ? {} : { managedBy }),
      ...(personal === undefined ? {} : { personal }),
      users,
    };
  }

  async tenantExists(db: SqlSession, prefix: string, tenantId: string): Promise<boolean> {
    return (await db.get(statements(prefix).tenant, [tenantId])) !== undefined;
  }

  /** The tenant that verified `domain` or its nearest parent (a verified domain covers its sub-domains). */
  async managingTenant(db: SqlSession, prefix: string, domain: string): Promise<string | undefined> {
    const names = domainAndParents(domain);
    const row = await db.get<{ tenant_id: string }>(statements(prefix).owner(names.length), names);
    return row?.tenant_id;
  }
}
