import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

/**
 * The token request's signature: `sha256(accessKey + timestamp + secretKey)` in lowercase hex,
 * as EnOS computes it. Computed in JavaScript rather than with crypto.subtle, which browsers
 * offer only on https or localhost.
 */
export function signTokenRequest(accessKey: string, timestamp: string, secretKey: string): string {
  return bytesToHex(sha256(utf8ToBytes(accessKey + timestamp + secretKey)));
}
