// Push signatures: X-Ironflow-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>], where each v1 is
// HMAC-SHA256(key = the 32 bytes of the 64-hex signing key, message = "<t>." + raw body). During a key rotation the
// server sends one v1 per valid key; any one matching is enough. Compared in constant time.
import { createHmac, timingSafeEqual } from "node:crypto";

export const signatureToleranceSeconds = 300;

function keyBytes(signingKeyHex: string): Buffer {
  const hex = signingKeyHex.trim();
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new TypeError("the signing key must be 64 hex characters (ironflow signing-key show; IRONFLOW_SIGNING_KEY)");
  }
  return Buffer.from(hex, "hex");
}

/** The header value for `body` at time `t` (unix seconds) under one or more keys (current first). */
export function signPayload(body: string | Buffer, signingKeysHex: string | string[], t = Math.floor(Date.now() / 1000)): string {
  const keys = Array.isArray(signingKeysHex) ? signingKeysHex : [signingKeysHex];
  const sigs = keys.map((k) => `v1=${createHmac("sha256", keyBytes(k)).update(`${t}.`).update(body).digest("hex")}`);
  return `t=${t},${sigs.join(",")}`;
}

/** True when `header` signs `body` under `signingKeyHex` within the tolerance of `now` (unix seconds). */
export function verifySignature(header: string | undefined | null, body: Buffer, signingKeyHex: string, now = Math.floor(Date.now() / 1000)): boolean {
  const key = keyBytes(signingKeyHex);
  if (!header) return false;
  let t: string | undefined;
  let tCount = 0;
  const candidates: Buffer[] = [];
  for (const item of header.split(",")) {
    const eq = item.indexOf("=");
    if (eq < 0) continue;
    const k = item.slice(0, eq).trim();
    const v = item.slice(eq + 1).trim();
    if (k === "t") { t = v; tCount++; }
    else if (k === "v1" && /^[0-9a-fA-F]{64}$/.test(v)) candidates.push(Buffer.from(v, "hex"));
  }
  if (tCount !== 1 || t === undefined || !/^[0-9]{1,15}$/.test(t) || candidates.length === 0) return false;
  if (Math.abs(now - Number(t)) > signatureToleranceSeconds) return false;
  const expected = createHmac("sha256", key).update(`${t}.`).update(body).digest();
  let ok = false;
  for (const c of candidates) ok = timingSafeEqual(c, expected) || ok; // every candidate compared
  return ok;
}
