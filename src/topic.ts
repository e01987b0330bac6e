/**
 * Topic names and topic filters: validation and wildcard matching, allocation-free.
 *
 * Names are what PUBLISH carries; filters are what SUBSCRIBE carries and may hold wildcards.
 */
import { ERR_FIELD_TOO_LONG, ERR_FILTER, ERR_TOPIC, ERR_UTF8 } from "./status.ts";
import { utf8Length, validateUtf8 } from "./utf8.ts";

const SLASH = 0x2f;
const PLUS = 0x2b;
const HASH = 0x23;
const DOLLAR = 0x24;

/** The longest string MQTT can carry: its length prefix is two bytes. */
export const MAX_STRING_BYTES = 65535;

/**
 * Checks a topic name for PUBLISH. Returns 0, or ERR_TOPIC (empty [MQTT-4.7.3-1], or holds `+` or
 * `#` [MQTT-3.3.2-2]), ERR_UTF8, ERR_FIELD_TOO_LONG (over 65,535 bytes).
 */
export function validateTopicName(name: string): number {
  const n = name.length;
  if (n === 0) return ERR_TOPIC;
  for (let i = 0; i < n; i++) {
    const c = name.charCodeAt(i);
    if (c === PLUS || c === HASH) return ERR_TOPIC;
  }
  return checkedLength(name);
}

/**
 * Checks a topic filter for SUBSCRIBE or UNSUBSCRIBE. Returns 0, or ERR_FILTER (empty, `#` not
 * last or not alone in its level [MQTT-4.7.1-2], `+` not alone in its level [MQTT-4.7.1-3]),
 * ERR_UTF8, ERR_FIELD_TOO_LONG.
 */
export function validateTopicFilter(filter: string): number {
  const n = filter.length;
  if (n === 0) return ERR_FILTER;
  for (let i = 0; i < n; i++) {
    const c = filter.charCodeAt(i);
    if (c === HASH) {
      if (i !== n - 1 || (i > 0 && filter.charCodeAt(i - 1) !== SLASH)) return ERR_FILTER;
    } else if (c === PLUS) {
      if (i > 0 && filter.charCodeAt(i - 1) !== SLASH) return ERR_FILTER;
      if (i < n - 1 && filter.charCodeAt(i + 1) !== SLASH) return ERR_FILTER;
    }
  }
  return checkedLength(filter);
}

function checkedLength(text: string): number {
  const bytes = utf8Length(text);
  if (bytes < 0) return bytes;
  return bytes > MAX_STRING_BYTES ? ERR_FIELD_TOO_LONG : 0;
}

/**
 * Checks the bytes of a received topic name: not empty, no wildcard, valid UTF-8.
 * Returns 0, ERR_TOPIC or ERR_UTF8. Reads only [off, off + len).
 */
export function validateTopicNameBytes(buf: Uint8Array, off: number, len: number): number {
  if (len === 0) return ERR_TOPIC;
  for (let i = off; i < off + len; i++) {
    if (buf[i] === PLUS || buf[i] === HASH) return ERR_TOPIC;
  }
  return validateUtf8(buf, off, len);
}

/**
 * Checks the bytes of a received topic filter with the rules of `validateTopicFilter`.
 * Returns 0, ERR_FILTER or ERR_UTF8. Reads only [off, off + len).
 */
export function validateTopicFilterBytes(buf: Uint8Array, off: number, len: number): number {
  if (len === 0) return ERR_FILTER;
  const end = off + len;
  for (let i = off; i < end; i++) {
    const c = buf[i];
    if (c === HASH) {
      if (i !== end - 1 || (i > off && buf[i - 1] !== SLASH)) return ERR_FILTER;
    } else if (c === PLUS) {
      if (i > off && buf[i - 1] !== SLASH) return ERR_FILTER;
      if (i < end - 1 && buf[i + 1] !== SLASH) return ERR_FILTER;
    }
  }
  return validateUtf8(buf, off, len) === 0 ? 0 : ERR_UTF8;
}

/**
 * Whether topic name `name` is matched by the valid filter `filter`.
 * `+` matches exactly one level (an empty one too), `#` the rest of the name including its parent
 * level (`a/#` matches `a`). Names starting with `$` are not matched by a filter that starts with
 * a wildcard [MQTT-4.7.2-1]. Allocates nothing.
 */
export function topicMatches(filter: string, name: string): boolean {
  const fl = filter.length;
  const nl = name.length;
  if (nl > 0 && name.charCodeAt(0) === DOLLAR && fl > 0) {
    const f0 = filter.charCodeAt(0);
    if (f0 === PLUS || f0 === HASH) return false;
  }
  let fi = 0;
  let ni = 0;
  while (fi < fl) {
    const fc = filter.charCodeAt(fi);
    if (fc === HASH) return true;
    if (fc === PLUS) {
      while (ni < nl && name.charCodeAt(ni) !== SLASH) ni++;
      fi++;
      continue;
    }
    if (ni >= nl) {
      // The name ended inside the filter: only a trailing "/#" still matches the parent level.
      return fc === SLASH && fi + 2 === fl && filter.charCodeAt(fi + 1) === HASH;
    }
    if (name.charCodeAt(ni) !== fc) return false;
    fi++;
    ni++;
  }
  return ni === nl;
}
