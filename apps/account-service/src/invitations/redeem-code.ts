// Redeem codes: random, returned once, stored only as a hash.
import { createHash, randomBytes } from 'node:crypto';

export const newRedeemCode = (): string => 'rc_' + randomBytes(24).toString('base64url');
export const hashRedeemCode = (code: string): string =>
  createHash('sha256').update(code, 'utf8').digest('hex');
