// Every read-model projection the service runs. Add a projection here and it is set up, caught
// up, checkpointed, rebuildable and reported by /readyz.
import {
  AuditProjection,
  RealmProjection,
  TenantsProjection,
  UsersProjection,
  type ReadModelProjection,
} from '#projections';

/** Names the read side reaches its projections by (their checkpoint keys and table stems). */
export const TENANTS = 'tenants';
export const USERS = 'users';
export const REALM = 'realm';

export function readModelProjections(): ReadModelProjection[] {
  return [new TenantsProjection(), new UsersProjection(), new RealmProjection(), new AuditProjection()];
}
