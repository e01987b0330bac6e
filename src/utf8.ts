/**
 * UTF-8 without TextEncoder (Espruino has none) and without Buffer.
 *
 * MQTT strings must be well-formed UTF-8 [MQTT-1.5.3-1], must not hold surrogate code points
 * (U+D800..U+DFFF) [MQTT-1.5.3-1] and must not hold U+0000 [MQTT-1.5.3-2]. A JavaScript string
 * can hold a lone surrogate, so encoding can fail too.
 */
import { ERR_UTF8 } from "./status.ts";

/**
 * The number of bytes `text` takes as UTF-8.
 * Returns ERR_UTF8 for a lone surrogate, and for U+0000 unless `allowNul` (payloads may hold it;
 * MQTT strings may not).
 */
export function utf8Length(text: string, allowNul?: boolean): number {
  let bytes = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) {
      if (c === 0 && !allowNul) return ERR_UTF8;
      bytes += 1;
    } else if (c < 0x800) {
      bytes += 2;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      // Only a high surrogate followed by a low one is a code point (4 bytes).
      if (c > 0xdbff || i + 1 >= n) return ERR_UTF8;
      const low = text.charCodeAt(i + 1);
      if (low < 0xdc00 || low > 0xdfff) return ERR_UTF8;
      i++;
      bytes += 4;
    } else {
      bytes += 3;
    }
  }
  return bytes;
}

/**
 * Writes `text` as UTF-8 into `buf` at `off` and returns the offset after it.
 * The caller checks `utf8Length(text)` first: it decides the room needed and refuses what cannot
 * be encoded, so this function neither checks bounds nor fails.
 */
export function encodeUtf8(text: string, buf: Uint8Array, off: number): number {
  const n = text.length;
  for (let i = 0; i < n; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      buf[off++] = c;
    } else if (c < 0x800) {
      buf[off++] = 0xc0 | (c >> 6);
      buf[off++] = 0x80 | (c & 0x3f);
    } else if (c >= 0xd800 && c <= 0xdbff) {
      c = 0x10000 + ((c - 0xd800) << 10) + (text.charCodeAt(++i) - 0xdc00);
      buf[off++] = 0xf0 | (c >> 18);
      buf[off++] = 0x80 | ((c >> 12) & 0x3f);
      buf[off++] = 0x80 | ((c >> 6) & 0x3f);
      buf[off++] = 0x80 | (c & 0x3f);
    } else {
      buf[off++] = 0xe0 | (c >> 12);
      buf[off++] = 0x80 | ((c >> 6) & 0x3f);
      buf[off++] = 0x80 | (c & 0x3f);
    }
  }
  return off;
}

/**
 * Checks that `len` bytes at `off` are well-formed UTF-8 as MQTT requires: no overlong forms, no
 * surrogates, nothing above U+10FFFF, no U+0000. Returns 0, or ERR_UTF8.
 * Reads only bytes inside [off, off + len).
 */
export function validateUtf8(buf: Uint8Array, off: number, len: number): number {
  const end = off + len;
  let i = off;
  while (i < end) {
    const b = buf[i];
    if (b < 0x80) {
      if (b === 0) return ERR_UTF8;
      i++;
      continue;
    }
    let need: number;
    // The allowed range of the second byte narrows for E0, ED, F0 and F4 (RFC 3629, section 4).
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0;
      else if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90;
      else if (b === 0xf4) hi = 0x8f;
    } else {
      return ERR_UTF8;
    }
    // The last byte of the sequence must lie inside the range.
    if (i + need >= end) return ERR_UTF8;
    const b1 = buf[i + 1];
    if (b1 < lo || b1 > hi) return ERR_UTF8;
    for (let k = 2; k <= need; k++) {
      const bk = buf[i + k];
      if (bk < 0x80 || bk > 0xbf) return ERR_UTF8;
    }
    i += need + 1;
  }
  return 0;
}

/**
 * Decodes `len` bytes of UTF-8 at `off` into a string. The bytes must have passed
 * `validateUtf8`; this function does not check them again.
 */
export function decodeUtf8(buf: Uint8Array, off: number, len: number): string {
  const end = off + len;
  let out = "";
  let i = off;
  while (i < end) {
    const b = buf[i];
    if (b < 0x80) {
      out += String.fromCharCode(b);
      i += 1;
    } else if (b < 0xe0) {
      out += String.fromCharCode(((b & 0x1f) << 6) | (buf[i + 1] & 0x3f));
      i += 2;
    } else if (b < 0xf0) {
      out += String.fromCharCode(((b & 0x0f) << 12) | ((buf[i + 1] & 0x3f) << 6) | (buf[i + 2] & 0x3f));
      i += 3;
    } else {
      const cp =
        (((b & 0x07) << 18) | ((buf[i + 1] & 0x3f) << 12) | ((buf[i + 2] & 0x3f) << 6) | (buf[i + 3] & 0x3f)) -
        0x10000;
      out += String.fromCharCode(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
      i += 4;
    }
  }
  return out;
}

/**
 * `decodeUtf8`, but returns `last` itself when the bytes spell it in ASCII: a client that hears
 * one topic over and over then hands the application the same string instead of a new one per
 * message. (Only ASCII is compared: a non-ASCII topic is decoded each time.)
 */
export function decodeUtf8Reusing(buf: Uint8Array, off: number, len: number, last: string): string {
  if (last.length === len) {
    let i = 0;
    while (i < len) {
      const b = buf[off + i];
      if (b >= 0x80 || b !== last.charCodeAt(i)) break;
      i++;
    }
    if (i === len) return last;
  }
  return decodeUtf8(buf, off, len);
}
