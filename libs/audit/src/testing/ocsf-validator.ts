// A small validator for the four OCSF 1.8.0 classes this service emits, written from the class
// and object definitions of the OCSF schema, release 1.8.0 (https://schema.ocsf.io/1.8.0/ and the
// JSON sources in github.com/ocsf/ocsf-schema):
//   events/base_event.json          required: activity_id, category_uid, class_uid, metadata,
//                                   severity_id, time, type_uid; activity 0 Unknown / 99 Other
//   events/iam/iam.json             category 'iam' (uid 3); adds actor, http_request,
//                                   http_response, src_endpoint (recommended/optional)
//   events/iam/account_change.json  3001, activities 1-12; requires user
//   events/iam/authentication.json  3002, activities 1-7; requires user; at_least_one of
//                                   service, dst_endpoint
//   events/iam/entity_management.json 3004, activities 1-13; requires entity
//   events/iam/user_access.json     3005, activities 1-2; requires user and privileges
//   objects/metadata.json           requires product and version
//   objects/product.json, service.json (_entity): at_least_one of name, uid
//   objects/user.json               at_least_one of account, name, uid; type_id 0-4, 99
//   objects/actor.json              at_least_one of process, user, invoked_by, session,
//                                   app_name, app_uid
//   objects/managed_entity.json     at_least_one of name, uid, device, group, org, policy,
//                                   user; type_id 0-7, 99
//   dictionary.json                 severity_id 0-6, 99; status_id 0-2, 99; time is timestamp_t
//                                   (integer milliseconds)
// It also rejects top-level attributes that the class does not define (no profiles are applied).
// Not a full schema validator: object attributes other than those above are type-checked loosely.

import { ACTIVITY_NAMES, CLASS_NAMES, SEVERITY_NAMES, type OcsfClassUid } from '../formats/ocsf.js';

const BASE_ATTRIBUTES = [
  'activity_id',
  'activity_name',
  'category_name',
  'category_uid',
  'class_name',
  'class_uid',
  'count',
  'duration',
  'end_time',
  'enrichments',
  'message',
  'metadata',
  'observables',
  'raw_data',
  'raw_data_hash',
  'raw_data_size',
  'severity',
  'severity_id',
  'start_time',
  'status',
  'status_code',
  'status_detail',
  'status_id',
  'time',
  'timezone_offset',
  'type_name',
  'type_uid',
  'unmapped',
];
const IAM_ATTRIBUTES = ['actor', 'http_request', 'http_response', 'src_endpoint'];

const CLASS_ATTRIBUTES: Readonly<Record<OcsfClassUid, readonly string[]>> = {
  3001: ['auth_factors', 'policies', 'policy', 'user', 'user_result'],
  3002: [
    'account_switch_type',
    'account_switch_type_id',
    'auth_factors',
    'auth_protocol',
    'auth_protocol_id',
    'authentication_token',
    'certificate',
    'dst_endpoint',
    'is_cleartext',
    'is_mfa',
    'is_new_logon',
    'is_remote',
    'logon_process',
    'logon_type',
    'logon_type_id',
    'service',
    'session',
    'user',
  ],
  3004: ['access_list', 'access_mask', 'comment', 'entity', 'entity_result'],
  3005: ['privileges', 'resource', 'resources', 'user'],
};

const REQUIRED_BY_CLASS: Readonly<Record<OcsfClassUid, readonly string[]>> = {
  3001: ['user'],
  3002: ['user'],
  3004: ['entity'],
  3005: ['user', 'privileges'],
};

const STATUS_NAMES: Readonly<Record<number, string>> = {
  0: 'Unknown',
  1: 'Success',
  2: 'Failure',
  99: 'Other',
};
const USER_TYPE_IDS = new Set([0, 1, 2, 3, 4, 99]);
const ENTITY_TYPE_IDS = new Set([0, 1, 2, 3, 4, 5, 6, 7, 99]);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const has = (o: Obj, k: string): boolean => o[k] !== undefined && o[k] !== null;

export function validateOcsf(event: unknown): string[] {
  const errors: string[] = [];
  const fail = (message: string) => errors.push(message);
  if (!isObj(event)) return ['event is not an object'];

  for (const k of [
    'activity_id',
    'category_uid',
    'class_uid',
    'metadata',
    'severity_id',
    'time',
    'type_uid',
  ]) {
    if (!has(event, k)) fail(`missing required ${k}`);
  }

  const classUid = event.class_uid as OcsfClassUid;
  if (!(classUid in CLASS_NAMES)) {
    fail(`class_uid ${String(event.class_uid)} is not one of 3001, 3002, 3004, 3005`);
    return errors;
  }
  if (event.category_uid !== 3) fail(`category_uid ${String(event.category_uid)} is not 3 (iam)`);
  if (has(event, 'class_name') && event.class_name !== CLASS_NAMES[classUid])
    fail('class_name does not match');
  if (has(event, 'category_name') && event.category_name !== 'Identity & Access Management') {
    fail('category_name does not match');
  }

  const activities = ACTIVITY_NAMES[classUid];
  if (!isInt(event.activity_id) || !(event.activity_id in activities)) {
    fail(`activity_id ${String(event.activity_id)} is not legal for class ${classUid}`);
  } else if (event.activity_id !== 99 && has(event, 'activity_name')) {
    if (event.activity_name !== activities[event.activity_id])
      fail('activity_name does not match activity_id');
  }
  if (event.type_uid !== classUid * 100 + (event.activity_id as number))
    fail('type_uid is not class_uid*100+activity_id');
  if (has(event, 'type_name') && typeof event.type_name !== 'string') fail('type_name is not a string');

  if (!isInt(event.severity_id) || !(event.severity_id in SEVERITY_NAMES)) {
    fail(`severity_id ${String(event.severity_id)} is not legal`);
  } else if (has(event, 'severity') && event.severity !== SEVERITY_NAMES[event.severity_id]) {
    fail('severity does not match severity_id');
  }
  if (has(event, 'status_id')) {
    if (!isInt(event.status_id) || !(event.status_id in STATUS_NAMES)) fail('status_id is not legal');
    else if (
      has(event, 'status') &&
      event.status_id !== 99 &&
      event.status !== STATUS_NAMES[event.status_id]
    ) {
      fail('status does not match status_id');
    }
  }
  for (const k of ['status_code', 'status_detail', 'message', 'status', 'activity_name']) {
    if (has(event, k) && typeof event[k] !== 'string') fail(`${k} is not a string`);
  }
  if (!isInt(event.time) || event.time < 0) fail('time is not an integer epoch in milliseconds');

  // metadata
  const metadata = event.metadata;
  if (isObj(metadata)) {
    if (metadata.version !== '1.8.0') fail(`metadata.version ${String(metadata.version)} is not 1.8.0`);
    if (!isObj(metadata.product)) fail('metadata.product is required');
    else if (!has(metadata.product, 'name') && !has(metadata.product, 'uid'))
      fail('metadata.product needs name or uid');
    for (const k of [
      'uid',
      'correlation_uid',
      'tenant_uid',
      'log_name',
      'event_code',
      'original_event_uid',
    ]) {
      if (has(metadata, k) && typeof metadata[k] !== 'string') fail(`metadata.${k} is not a string`);
    }
    if (has(metadata, 'sequence') && !isInt(metadata.sequence)) fail('metadata.sequence is not an integer');
  } else if (has(event, 'metadata')) fail('metadata is not an object');

  // attributes outside the class
  const allowed = new Set([...BASE_ATTRIBUTES, ...IAM_ATTRIBUTES, ...CLASS_ATTRIBUTES[classUid]]);
  for (const k of Object.keys(event))
    if (!allowed.has(k)) fail(`attribute ${k} is not defined for class ${classUid}`);

  for (const k of REQUIRED_BY_CLASS[classUid]) if (!has(event, k)) fail(`class ${classUid} requires ${k}`);

  if (has(event, 'actor')) validateActor(event.actor, fail);
  if (has(event, 'user')) validateUser(event.user, 'user', fail);

  if (classUid === 3002) {
    if (!has(event, 'service') && !has(event, 'dst_endpoint'))
      fail('class 3002 needs service or dst_endpoint');
    if (has(event, 'service')) {
      if (!isObj(event.service) || (!has(event.service, 'name') && !has(event.service, 'uid'))) {
        fail('service needs name or uid');
      }
    }
    if (has(event, 'is_mfa') && typeof event.is_mfa !== 'boolean') fail('is_mfa is not a boolean');
    if (
      has(event, 'src_endpoint') &&
      (!isObj(event.src_endpoint) || typeof event.src_endpoint.ip !== 'string')
    ) {
      fail('src_endpoint needs an ip');
    }
  }
  if (classUid === 3004 && has(event, 'entity')) {
    const entity = event.entity;
    if (!isObj(entity)) fail('entity is not an object');
    else {
      const keys = ['name', 'uid', 'device', 'group', 'org', 'policy', 'user'];
      if (!keys.some((k) => has(entity, k))) fail(`entity needs one of ${keys.join(', ')}`);
      if (has(entity, 'type_id') && !(isInt(entity.type_id) && ENTITY_TYPE_IDS.has(entity.type_id))) {
        fail(`entity.type_id ${String(entity.type_id)} is not legal`);
      }
    }
  }
  if (classUid === 3005 && has(event, 'privileges')) {
    const privileges = event.privileges;
    if (
      !Array.isArray(privileges) ||
      privileges.length === 0 ||
      !privileges.every((p) => typeof p === 'string')
    ) {
      fail('privileges is not a non-empty array of strings');
    }
  }
  return errors;
}

function validateUser(user: unknown, path: string, fail: (m: string) => void): void {
  if (!isObj(user)) return fail(`${path} is not an object`);
  if (!has(user, 'account') && !has(user, 'name') && !has(user, 'uid'))
    fail(`${path} needs account, name or uid`);
  for (const k of ['uid', 'name', 'display_name', 'type']) {
    if (has(user, k) && typeof user[k] !== 'string') fail(`${path}.${k} is not a string`);
  }
  if (has(user, 'type_id') && !(isInt(user.type_id) && USER_TYPE_IDS.has(user.type_id))) {
    fail(`${path}.type_id is not legal`);
  }
}

function validateActor(actor: unknown, fail: (m: string) => void): void {
  if (!isObj(actor)) return fail('actor is not an object');
  const keys = ['process', 'user', 'invoked_by', 'session', 'app_name', 'app_uid'];
  if (!keys.some((k) => has(actor, k))) fail(`actor needs one of ${keys.join(', ')}`);
  if (has(actor, 'user')) validateUser(actor.user, 'actor.user', fail);
  for (const k of ['app_name', 'app_uid'])
    if (has(actor, k) && typeof actor[k] !== 'string') fail(`actor.${k} is not a string`);
}
