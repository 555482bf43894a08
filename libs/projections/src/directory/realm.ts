// Realm read model behind the sign-in lookup: what exists for a login name. Personal accounts by
// address, work accounts by lower-cased UPN and guest objects by invited address (both in one table,
// keyed by login), the domains tenants have verified (initial domains included), and the tenants.
// An in-memory index follows the tables: loaded when a generation becomes live, and updated after
// each committed batch from the rows that batch touched, so a look-up is a few Map reads and is
// right as soon as the projection has passed the event (a reader waiting for a position resumes
// only after the index has caught up).
import type Database from 'better-sqlite3';
import { domainOfUpn, upnKey } from '#domain';
import type { GuestState, IdentityKind } from '#domain';
import type { RecordedEvent } from '#event-store';
import type { ReadModelProjection } from '../read-models.js';
import { bit, personalAccountEventOf, StatementCache, tenantEventOf } from './events.js';

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
  login_key: string;
  user_type: 'Member' | 'Guest';
  domain: string | null;
  blocked: number;
  deleted: number;
  guest_state: GuestState | null;
  revoked: number;
  identity_kind: IdentityKind | null;
}

interface PersonalRow {
  login_key: string;
  account_id: string;
  closed: number;
}

function setup(db: Database.Database, p: string): void {
  db.exec(`
    CREATE TABLE ${p}tenants (tenant_id TEXT PRIMARY KEY) STRICT;
    CREATE TABLE ${p}verified_domains (name TEXT PRIMARY KEY, tenant_id TEXT NOT NULL) STRICT;
    CREATE TABLE ${p}personal_accounts (
      login_key TEXT PRIMARY KEY,
      account_id TEXT NOT NULL,
      closed INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX ${p}personal_accounts_by_id ON ${p}personal_accounts (account_id);
    CREATE TABLE ${p}users (
      tenant_id TEXT NOT NULL,
      user_id TEXT NOT NULL,
      login_key TEXT NOT NULL,
      user_type TEXT NOT NULL,
      domain TEXT,
      blocked INTEGER NOT NULL,
      deleted INTEGER NOT NULL,
      guest_state TEXT,
      revoked INTEGER NOT NULL,
      identity_kind TEXT,
      PRIMARY KEY (tenant_id, user_id)
    ) STRICT;
    CREATE INDEX ${p}users_by_login ON ${p}users (login_key);
  `);
}

function prepare(db: Database.Database, p: string) {
  return {
    addTenant: db.prepare<[string]>(`INSERT OR IGNORE INTO ${p}tenants (tenant_id) VALUES (?)`),
    verifyDomain: db.prepare<[string, string]>(
      `INSERT INTO ${p}verified_domains (name, tenant_id) VALUES (?, ?)
       ON CONFLICT (name) DO UPDATE SET tenant_id = excluded.tenant_id`,
    ),
    removeDomain: db.prepare<[string, string]>(
      `DELETE FROM ${p}verified_domains WHERE name = ? AND tenant_id = ?`,
    ),
    createUser: db.prepare<[string, string, string, string, string | null, string | null]>(
      `INSERT INTO ${p}users (tenant_id, user_id, login_key, user_type, domain, blocked, deleted,
         guest_state, revoked, identity_kind) VALUES (?, ?, ?, ?, ?, 0, 0, ?, 0, NULL)
       ON CONFLICT (tenant_id, user_id) DO UPDATE SET login_key = excluded.login_key,
         user_type = excluded.user_type, domain = excluded.domain, blocked = 0, deleted = 0,
         guest_state = excluded.guest_state, revoked = 0, identity_kind = NULL`,
    ),
    changeUpn: db.prepare<[string, string, string, string]>(
      `UPDATE ${p}users SET login_key = ?, domain = ?
       WHERE tenant_id = ? AND user_id = ? AND user_type = 'Member'`,
    ),
    redeem: db.prepare<[string, string, string]>(
      `UPDATE ${p}users SET guest_state = 'Accepted', identity_kind = ?
       WHERE tenant_id = ? AND user_id = ? AND user_type = 'Guest'`,
    ),
    revoke: db.prepare<[string, string]>(
      `UPDATE ${p}users SET revoked = 1 WHERE tenant_id = ? AND user_id = ? AND user_type = 'Guest'`,
    ),
    setBlocked: db.prepare<[number, string, string]>(
      `UPDATE ${p}users SET blocked = ? WHERE tenant_id = ? AND user_id = ?`,
    ),
    setDeleted: db.prepare<[number, string, string]>(
      `UPDATE ${p}users SET deleted = ? WHERE tenant_id = ? AND user_id = ?`,
    ),
    register: db.prepare<[string, string]>(
      `INSERT INTO ${p}personal_accounts (login_key, account_id, closed) VALUES (?, ?, 0)
       ON CONFLICT (login_key) DO UPDATE SET account_id = excluded.account_id, closed = 0`,
    ),
    close: db.prepare<[string]>(`UPDATE ${p}personal_accounts SET closed = 1 WHERE account_id = ?`),
    // What the index reloads.
    loginOfUser: db
      .prepare<[string, string], string>(
        `SELECT login_key FROM ${p}users WHERE tenant_id = ? AND user_id = ?`,
      )
      .pluck(),
    loginOfAccount: db
      .prepare<[string], string>(`SELECT login_key FROM ${p}personal_accounts WHERE account_id = ?`)
      .pluck(),
    usersByLogin: db.prepare<[string], UserRow>(
      `SELECT * FROM ${p}users WHERE login_key = ? ORDER BY tenant_id, user_id`,
    ),
    personalByLogin: db.prepare<[string], PersonalRow>(
      `SELECT * FROM ${p}personal_accounts WHERE login_key = ?`,
    ),
    domainOwner: db
      .prepare<[string], string>(`SELECT tenant_id FROM ${p}verified_domains WHERE name = ?`)
      .pluck(),
    allTenants: db.prepare<[], string>(`SELECT tenant_id FROM ${p}tenants`).pluck(),
    allDomains: db.prepare<[], { name: string; tenant_id: string }>(`SELECT * FROM ${p}verified_domains`),
    allPersonal: db.prepare<[], PersonalRow>(`SELECT * FROM ${p}personal_accounts`),
    allUsers: db.prepare<[], UserRow>(`SELECT * FROM ${p}users ORDER BY tenant_id, user_id`),
  };
}

type Statements = ReturnType<typeof prepare>;

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

const personalOf = (row: PersonalRow): PersonalAccountEntry => ({
  accountId: row.account_id,
  closed: row.closed === 1,
});

/** What a committed batch changed, as index keys to reload from the tables. */
interface Touched {
  readonly logins: Set<string>;
  readonly domains: Set<string>;
  readonly tenants: Set<string>;
}

export class RealmProjection implements ReadModelProjection {
  readonly name = 'realm';
  readonly version = 1;
  readonly tables = ['tenants', 'verified_domains', 'personal_accounts', 'users'] as const;
  private readonly statements = new StatementCache(prepare);

  // The index: the live generation's tables, in memory.
  private tenants = new Set<string>();
  private domains = new Map<string, string>();
  private personal = new Map<string, PersonalAccountEntry>();
  private users = new Map<string, RealmUserEntry[]>();

  setup(db: Database.Database, prefix: string): void {
    setup(db, prefix);
  }

  apply(recorded: RecordedEvent, db: Database.Database, prefix: string): void {
    const s = this.statements.for(db, prefix);
    const account = personalAccountEventOf(recorded);
    if (account !== undefined) {
      if (account.type === 'PersonalAccountRegistered')
        s.register.run(upnKey(account.data.email), account.data.accountId);
      else if (account.type === 'PersonalAccountClosed') s.close.run(account.data.accountId);
      return;
    }
    const found = tenantEventOf(recorded);
    if (found === undefined) return;
    const { tenantId, event } = found;
    switch (event.type) {
      case 'TenantCreated':
        s.addTenant.run(tenantId);
        s.verifyDomain.run(event.data.initialDomain, tenantId);
        break;
      case 'DomainVerified':
        s.verifyDomain.run(event.data.name, tenantId);
        break;
      case 'DomainRemoved':
        s.removeDomain.run(event.data.name, tenantId);
        break;
      case 'MemberCreated': {
        const upn = event.data.userPrincipalName;
        s.createUser.run(tenantId, event.data.userId, upnKey(upn), 'Member', domainOfUpn(upn), null);
        break;
      }
      case 'UserPrincipalNameChanged': {
        const upn = event.data.userPrincipalName;
        s.changeUpn.run(upnKey(upn), domainOfUpn(upn), tenantId, event.data.userId);
        break;
      }
      case 'GuestInvited':
        s.createUser.run(
          tenantId,
          event.data.userId,
          upnKey(event.data.email),
          'Guest',
          null,
          'PendingAcceptance',
        );
        break;
      case 'InvitationRedeemed':
        s.redeem.run(event.data.identity.kind, tenantId, event.data.userId);
        break;
      case 'InvitationRevoked':
        s.revoke.run(tenantId, event.data.userId);
        break;
      case 'UserBlocked':
      case 'UserUnblocked':
        s.setBlocked.run(bit(event.type === 'UserBlocked'), tenantId, event.data.userId);
        break;
      case 'UserDeleted':
      case 'UserRestored':
        s.setDeleted.run(bit(event.type === 'UserDeleted'), tenantId, event.data.userId);
        break;
      default:
        break;
    }
  }

  activated(db: Database.Database, prefix: string): void {
    const s = this.statements.for(db, prefix);
    const users = new Map<string, RealmUserEntry[]>();
    for (const row of s.allUsers.all()) {
      const list = users.get(row.login_key);
      if (list === undefined) users.set(row.login_key, [entryOf(row)]);
      else list.push(entryOf(row));
    }
    this.tenants = new Set(s.allTenants.all());
    this.domains = new Map(s.allDomains.all().map((d) => [d.name, d.tenant_id]));
    this.personal = new Map(s.allPersonal.all().map((p) => [p.login_key, personalOf(p)]));
    this.users = users;
  }

  afterCommit(events: readonly RecordedEvent[], db: Database.Database, prefix: string): void {
    const s = this.statements.for(db, prefix);
    const touched = this.touchedBy(events, s);
    for (const tenantId of touched.tenants) this.tenants.add(tenantId);
    for (const name of touched.domains) {
      const owner = s.domainOwner.get(name);
      if (owner === undefined) this.domains.delete(name);
      else this.domains.set(name, owner);
    }
    for (const login of touched.logins) {
      const personal = s.personalByLogin.get(login);
      if (personal === undefined) this.personal.delete(login);
      else this.personal.set(login, personalOf(personal));
      const rows = s.usersByLogin.all(login);
      if (rows.length === 0) this.users.delete(login);
      else this.users.set(login, rows.map(entryOf));
    }
  }

  /** What exists for a normalised login (`upnKey` of a parsed address): Map reads only. */
  lookup(login: string): RealmLookup {
    const key = upnKey(login);
    const managedBy = this.managingTenant(domainOfUpn(key));
    const personal = this.personal.get(key);
    return {
      login: key,
      ...(managedBy === undefined ? {} : { managedBy }),
      ...(personal === undefined ? {} : { personal }),
      users: this.users.get(key) ?? [],
    };
  }

  tenantExists(tenantId: string): boolean {
    return this.tenants.has(tenantId);
  }

  /** The tenant that verified `domain` or its nearest parent (a verified domain covers its sub-domains). */
  managingTenant(domain: string): string | undefined {
    let name = domain;
    for (;;) {
      const owner = this.domains.get(name);
      if (owner !== undefined) return owner;
      const dot = name.indexOf('.');
      if (dot === -1) return undefined;
      name = name.slice(dot + 1);
    }
  }

  private touchedBy(events: readonly RecordedEvent[], s: Statements): Touched {
    const touched: Touched = { logins: new Set(), domains: new Set(), tenants: new Set() };
    for (const recorded of events) {
      const account = personalAccountEventOf(recorded);
      if (account !== undefined) {
        if (account.type === 'PersonalAccountRegistered') touched.logins.add(upnKey(account.data.email));
        else if (account.type === 'PersonalAccountClosed') {
          const login = s.loginOfAccount.get(account.data.accountId);
          if (login !== undefined) touched.logins.add(login);
        }
        continue;
      }
      const found = tenantEventOf(recorded);
      if (found === undefined) continue;
      const { tenantId, event } = found;
      switch (event.type) {
        case 'TenantCreated':
          touched.tenants.add(tenantId);
          touched.domains.add(event.data.initialDomain);
          break;
        case 'DomainVerified':
        case 'DomainRemoved':
          touched.domains.add(event.data.name);
          break;
        case 'MemberCreated':
          touched.logins.add(upnKey(event.data.userPrincipalName));
          break;
        case 'UserPrincipalNameChanged':
          touched.logins.add(upnKey(event.data.previousUserPrincipalName));
          touched.logins.add(upnKey(event.data.userPrincipalName));
          break;
        case 'GuestInvited':
          touched.logins.add(upnKey(event.data.email));
          break;
        case 'InvitationRedeemed':
        case 'InvitationRevoked':
        case 'UserBlocked':
        case 'UserUnblocked':
        case 'UserDeleted':
        case 'UserRestored': {
          const login = s.loginOfUser.get(tenantId, event.data.userId);
          if (login !== undefined) touched.logins.add(login);
          break;
        }
        default:
          break;
      }
    }
    return touched;
  }
}
