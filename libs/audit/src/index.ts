// The audit library: events → Graph-shaped audit records → per-tenant hash chains → SIEM formats
// (NDJSON, OCSF 1.8.0, CEF, RFC 5424 syslog). Pure: no I/O; the projection, the HTTP endpoint, the
// CLI and the TCP sender live in the app.
export * from './record.js';
export * from './mapping.js';
export * from './chain.js';
export * from './formats/ndjson.js';
export * from './formats/ocsf.js';
export * from './formats/cef.js';
export * from './formats/syslog.js';
