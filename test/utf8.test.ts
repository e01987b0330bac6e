/**
 * src/utf8.ts against Node's TextEncoder/TextDecoder as the oracle: lengths, encoding and decoding
 * of every UTF-8 width, refusal of what MQTT forbids [MQTT-1.5.3-1] [MQTT-1.5.3-2], and reads that
 * stay inside the given range.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ERR_UTF8 } from "../src/status.ts";
import { decodeUtf8, decodeUtf8Reusing, encodeUtf8, utf8Length, validateUtf8 } from "../src/utf8.ts";
import { codePoint, hex } from "./helpers/arbitraries.ts";
import { Prng } from "./helpers/prng.ts";
import { guard } from "./fuzz/guard.ts";

const encoder = new TextEncoder();
const lenient = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * The oracle's verdict on bytes: their string if well-formed UTF-8, else undefined. TextDecoder
 * replaces every ill-formed sequence with U+FFFD, so the bytes are well-formed exactly when the
 * decoded text encodes back to them (same verdict as `fatal: true`, without a costly throw).
 */
function oracleDecode(bytes: Uint8Array): string | undefined {
  const text = lenient.decode(bytes);
  const again = encoder.encode(text);
  if (again.length !== bytes.length) return undefined;
  for (let i = 0; i < again.length; i++) if (again[i] !== bytes[i]) return undefined;
  return text;
}

/**
 * Whether a JS string is well-formed UTF-16 (no lone surrogate): TextEncoder would replace one.
 * Decoded with the BOM kept: a default TextDecoder drops a leading U+FEFF and would call "\ufeff"
 * ill-formed.
 */
function wellFormed(s: string): boolean {
  return lenient.decode(encoder.encode(s)) === s;
}

const bytesOf = (...b: number[]): Uint8Array => Uint8Array.from(b);

/** Strings of any code point, NUL and surrogates excluded, in several flavours. */
const validStrings = fc.oneof(
  fc.string({ unit: codePoint(false), maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 20 }),
  fc.string({ unit: "binary", maxLength: 40 }).map((s) => s.replace(/\0/g, "")),
);

/** Examples of every width, with their UTF-8 bytes. */
const EXAMPLES: Array<[string, string, number[]]> = [
  ["ASCII", "hello/world", [...encoder.encode("hello/world")]],
  ["U+007F, the last 1-byte", "\u007f", [0x7f]],
  ["U+0080, the first 2-byte", "\u0080", [0xc2, 0x80]],
  ["é", "é", [0xc3, 0xa9]],
  ["U+07FF, the last 2-byte", "\u07ff", [0xdf, 0xbf]],
  ["U+0800, the first 3-byte", "\u0800", [0xe0, 0xa0, 0x80]],
  ["€", "€", [0xe2, 0x82, 0xac]],
  ["U+D7FF, just below the surrogates", "\ud7ff", [0xed, 0x9f, 0xbf]],
  ["U+E000, just above the surrogates", "\ue000", [0xee, 0x80, 0x80]],
  ["U+FFFF, the last 3-byte", "\uffff", [0xef, 0xbf, 0xbf]],
  ["U+10000, the first 4-byte (a surrogate pair)", "\u{10000}", [0xf0, 0x90, 0x80, 0x80]],
  ["😀 (surrogate pair)", "😀", [0xf0, 0x9f, 0x98, 0x80]],
  ["U+10FFFF, the last code point", "\u{10ffff}", [0xf4, 0x8f, 0xbf, 0xbf]],
  ["a mix", "a/é/€/😀", [...encoder.encode("a/é/€/😀")]],
];

describe("utf8Length", () => {
  for (const [name, text, bytes] of EXAMPLES) {
    test(name, () => {
      assert.equal(utf8Length(text), bytes.length);
      assert.equal(utf8Length(text), encoder.encode(text).length);
    });
  }

  test("the empty string is 0 bytes", () => {
    assert.equal(utf8Length(""), 0);
  });

  test("agrees with TextEncoder on random strings", () => {
    fc.assert(
      fc.property(validStrings, (s) => {
        assert.equal(utf8Length(s), encoder.encode(s).length);
      }),
      { numRuns: 2000 },
    );
  });

  test("refuses a lone high surrogate, alone, at the end and before a non-surrogate", () => {
    assert.equal(utf8Length("\ud800"), ERR_UTF8);
    assert.equal(utf8Length("\udbff"), ERR_UTF8);
    assert.equal(utf8Length("abc\ud83d"), ERR_UTF8);
    assert.equal(utf8Length("\ud83dx"), ERR_UTF8);
    assert.equal(utf8Length("\ud83d\ud83d\ude00"), ERR_UTF8);
  });

  test("refuses a lone low surrogate", () => {
    assert.equal(utf8Length("\udc00"), ERR_UTF8);
    assert.equal(utf8Length("\udfff"), ERR_UTF8);
    assert.equal(utf8Length("a\ude00b"), ERR_UTF8);
  });

  test("refuses a reversed pair (low then high)", () => {
    assert.equal(utf8Length("\ude00\ud83d"), ERR_UTF8);
    assert.equal(utf8Length("x\udc00\ud800y"), ERR_UTF8);
  });

  test("refuses U+0000 in a string, allows it when asked (payloads)", () => {
    assert.equal(utf8Length("\0"), ERR_UTF8);
    assert.equal(utf8Length("a\0b"), ERR_UTF8);
    assert.equal(utf8Length("\0", true), 1);
    assert.equal(utf8Length("a\0b", true), 3);
    assert.equal(utf8Length("é\0😀", true), 7);
  });

  test("with U+0000 allowed, agrees with TextEncoder on any code point", () => {
    fc.assert(
      fc.property(fc.string({ unit: codePoint(true), maxLength: 40 }), (s) => {
        assert.equal(utf8Length(s, true), encoder.encode(s).length);
        assert.equal(utf8Length(s), s.includes("\0") ? ERR_UTF8 : encoder.encode(s).length);
      }),
      { numRuns: 1000 },
    );
  });

  test("on arbitrary UTF-16 (surrogate halves frequent) refuses exactly the ill-formed strings", () => {
    const unit = fc.oneof(
      fc.integer({ min: 0xd800, max: 0xdfff }),
      fc.integer({ min: 1, max: 0xffff }),
      fc.constantFrom(0xd83d, 0xde00, 0xdbff, 0xdc00, 0x41),
    );
    let refused = 0;
    let accepted = 0;
    fc.assert(
      fc.property(fc.array(unit, { maxLength: 12 }), (units) => {
        const s = String.fromCharCode(...units);
        const n = utf8Length(s, true);
        if (wellFormed(s)) {
          accepted++;
          assert.equal(n, encoder.encode(s).length);
        } else {
          refused++;
          assert.equal(n, ERR_UTF8);
        }
      }),
      { numRuns: 3000 },
    );
    assert.ok(refused > 100 && accepted > 100, `refused ${refused}, accepted ${accepted}`);
  });

  test("inserting one surrogate half anywhere in a valid string makes it refused", () => {
    fc.assert(
      fc.property(validStrings, fc.integer({ min: 0xd800, max: 0xdfff }), fc.nat(), (s, half, at) => {
        const i = at % (s.length + 1);
        const t = s.slice(0, i) + String.fromCharCode(half) + s.slice(i);
        assert.equal(utf8Length(t, true), ERR_UTF8);
      }),
      { numRuns: 1000 },
    );
  });
});

describe("encodeUtf8", () => {
  for (const [name, text, bytes] of EXAMPLES) {
    test(name, () => {
      const buf = new Uint8Array(bytes.length + 4).fill(0xee);
      assert.equal(encodeUtf8(text, buf, 2), 2 + bytes.length);
      assert.deepEqual([...buf.subarray(2, 2 + bytes.length)], bytes);
    });
  }

  test("writes TextEncoder's bytes at the offset, and nothing around them", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: codePoint(true), maxLength: 40 }),
        fc.nat(16),
        fc.nat(16),
        fc.integer({ min: 0, max: 255 }),
        (s, off, slack, fill) => {
          const want = encoder.encode(s);
          const buf = new Uint8Array(off + want.length + slack).fill(fill);
          assert.equal(encodeUtf8(s, buf, off), off + want.length);
          assert.equal(hex(buf.subarray(off, off + want.length)), hex(want));
          for (let i = 0; i < off; i++) assert.equal(buf[i], fill);
          for (let i = off + want.length; i < buf.length; i++) assert.equal(buf[i], fill);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe("decodeUtf8", () => {
  for (const [name, text, bytes] of EXAMPLES) {
    test(name, () => {
      const buf = Uint8Array.from([0xff, ...bytes, 0xff]);
      assert.equal(decodeUtf8(buf, 1, bytes.length), text);
    });
  }

  test("gives back the string TextEncoder encoded, read from the middle of a buffer", () => {
    fc.assert(
      fc.property(fc.string({ unit: codePoint(true), maxLength: 40 }), fc.uint8Array({ maxLength: 8 }), (s, junk) => {
        const body = encoder.encode(s);
        const buf = new Uint8Array(junk.length * 2 + body.length);
        buf.set(junk, 0);
        buf.set(body, junk.length);
        buf.set(junk, junk.length + body.length);
        assert.equal(decodeUtf8(buf, junk.length, body.length), s);
      }),
      { numRuns: 2000 },
    );
  });
});

/** Sequences validateUtf8 must refuse, with the reason. */
const REFUSED: Array<[string, number[]]> = [
  ["overlong U+0000 (C0 80)", [0xc0, 0x80]],
  ["overlong '/' (C0 AF)", [0xc0, 0xaf]],
  ["overlong 2-byte with C1 (C1 BF)", [0xc1, 0xbf]],
  ["overlong 2-byte with C1 (C1 80)", [0xc1, 0x80]],
  ["overlong 3-byte U+0000 (E0 80 80)", [0xe0, 0x80, 0x80]],
  ["overlong 3-byte U+07FF (E0 9F BF)", [0xe0, 0x9f, 0xbf]],
  ["overlong 4-byte U+0000 (F0 80 80 80)", [0xf0, 0x80, 0x80, 0x80]],
  ["overlong 4-byte U+FFFF (F0 8F BF BF)", [0xf0, 0x8f, 0xbf, 0xbf]],
  ["encoded surrogate U+D800 (ED A0 80)", [0xed, 0xa0, 0x80]],
  ["encoded surrogate U+DBFF (ED AF BF)", [0xed, 0xaf, 0xbf]],
  ["encoded surrogate U+DC00 (ED B0 80)", [0xed, 0xb0, 0x80]],
  ["encoded surrogate U+DFFF (ED BF BF)", [0xed, 0xbf, 0xbf]],
  ["an encoded surrogate pair (CESU-8)", [0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80]],
  ["U+110000 (F4 90 80 80)", [0xf4, 0x90, 0x80, 0x80]],
  ["lead F5", [0xf5, 0x80, 0x80, 0x80]],
  ["lead F7", [0xf7, 0xbf, 0xbf, 0xbf]],
  ["lead F8 (5-byte form)", [0xf8, 0x88, 0x80, 0x80, 0x80]],
  ["lead FC (6-byte form)", [0xfc, 0x84, 0x80, 0x80, 0x80, 0x80]],
  ["byte FE", [0xfe]],
  ["byte FF", [0xff]],
  ["truncated 2-byte (C3)", [0xc3]],
  ["truncated 3-byte (E2 82)", [0xe2, 0x82]],
  ["truncated 3-byte (E2)", [0xe2]],
  ["truncated 4-byte (F0 9F 98)", [0xf0, 0x9f, 0x98]],
  ["truncated 4-byte (F0 9F)", [0xf0, 0x9f]],
  ["stray continuation 80", [0x80]],
  ["stray continuation BF", [0xbf]],
  ["continuation after a complete char", [0xc3, 0xa9, 0xa9]],
  ["lead then ASCII (C3 41)", [0xc3, 0x41]],
  ["3-byte broken in the middle (E2 41 AC)", [0xe2, 0x41, 0xac]],
  ["3-byte broken at the end (E2 82 41)", [0xe2, 0x82, 0x41]],
  ["4-byte broken at the end (F0 9F 98 41)", [0xf0, 0x9f, 0x98, 0x41]],
  ["lead then lead (C3 C3 A9)", [0xc3, 0xc3, 0xa9]],
  ["U+0000 (00)", [0x00]],
  ["U+0000 between letters", [0x61, 0x00, 0x62]],
];

/** Boundaries validateUtf8 must accept. */
const ACCEPTED: Array<[string, number[]]> = [
  ["empty", []],
  ["U+0001", [0x01]],
  ["U+007F", [0x7f]],
  ["U+0080 (C2 80)", [0xc2, 0x80]],
  ["U+07FF (DF BF)", [0xdf, 0xbf]],
  ["U+0800 (E0 A0 80)", [0xe0, 0xa0, 0x80]],
  ["U+D7FF (ED 9F BF)", [0xed, 0x9f, 0xbf]],
  ["U+E000 (EE 80 80)", [0xee, 0x80, 0x80]],
  ["U+FFFF (EF BF BF)", [0xef, 0xbf, 0xbf]],
  ["U+10000 (F0 90 80 80)", [0xf0, 0x90, 0x80, 0x80]],
  ["U+10FFFF (F4 8F BF BF)", [0xf4, 0x8f, 0xbf, 0xbf]],
  ["U+FEFF, a BOM, is an ordinary character", [0xef, 0xbb, 0xbf]],
];

describe("validateUtf8", () => {
  for (const [name, seq] of REFUSED) {
    test("refuses " + name, () => {
      assert.equal(validateUtf8(Uint8Array.from(seq), 0, seq.length), ERR_UTF8);
      // Also in the middle of valid text, and at an offset.
      const inText = Uint8Array.from([0x78, 0x61, ...seq, 0x62]);
      assert.equal(validateUtf8(inText, 1, seq.length + 2), ERR_UTF8);
      // The oracle agrees (U+0000 is valid UTF-8, just not in MQTT).
      if (!seq.includes(0)) assert.equal(oracleDecode(Uint8Array.from(seq)), undefined);
    });
  }

  for (const [name, seq] of ACCEPTED) {
    test("accepts " + name, () => {
      assert.equal(validateUtf8(Uint8Array.from(seq), 0, seq.length), 0);
      const inText = Uint8Array.from([0xff, 0x61, ...seq, 0x62, 0xff]);
      assert.equal(validateUtf8(inText, 1, seq.length + 2), 0);
    });
  }

  test("a sequence cut by the end of the range is refused even if the buffer goes on", () => {
    // "€" is E2 82 AC; the range ends before its last byte.
    const buf = bytesOf(0x61, 0xe2, 0x82, 0xac);
    assert.equal(validateUtf8(buf, 0, 4), 0);
    for (let len = 2; len <= 3; len++) {
      const g = guard(buf, 0, len);
      assert.equal(validateUtf8(g.view, 0, len), ERR_UTF8);
      assert.deepEqual(g.badReads, [], "read outside [0, " + len + ")");
    }
    const emoji = encoder.encode("a😀");
    for (let len = 2; len <= 4; len++) {
      const g = guard(emoji, 0, len);
      assert.equal(validateUtf8(g.view, 0, len), ERR_UTF8);
      assert.deepEqual(g.badReads, []);
    }
  });

  test("a range that starts on a continuation byte is refused", () => {
    const buf = encoder.encode("é");
    assert.equal(validateUtf8(buf, 1, 1), ERR_UTF8);
  });

  test("accepts TextEncoder's output for random strings without U+0000", () => {
    fc.assert(
      fc.property(validStrings, (s) => {
        const b = encoder.encode(s);
        assert.equal(validateUtf8(b, 0, b.length), 0);
      }),
      { numRuns: 3000 },
    );
  });

  test("refuses TextEncoder's output when it holds U+0000", () => {
    fc.assert(
      fc.property(validStrings, validStrings, (a, b) => {
        const bytes = encoder.encode(a + "\0" + b);
        assert.equal(validateUtf8(bytes, 0, bytes.length), ERR_UTF8);
      }),
      { numRuns: 500 },
    );
  });

  test("every 1- and 2-byte sequence: agrees with the oracle", () => {
    for (let a = 0; a < 256; a++) {
      const one = bytesOf(a);
      assert.equal(validateUtf8(one, 0, 1), a !== 0 && oracleDecode(one) !== undefined ? 0 : ERR_UTF8, hex(one));
      for (let b = 0; b < 256; b++) {
        const two = bytesOf(a, b);
        const text = oracleDecode(two);
        const want = text !== undefined && !text.includes("\0") ? 0 : ERR_UTF8;
        assert.equal(validateUtf8(two, 0, 2), want, hex(two));
      }
    }
  });

  test("every 3- and 4-byte lead with every second byte and edge continuations: agrees with the oracle", () => {
    const edges = [0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0];
    let checked = 0;
    const verdict = (b: Uint8Array): number => {
      const text = oracleDecode(b);
      return text !== undefined && !text.includes("\0") ? 0 : ERR_UTF8;
    };
    for (let lead = 0xc0; lead <= 0xff; lead++) {
      for (let b1 = 0; b1 < 256; b1++) {
        for (const b2 of edges) {
          const three = bytesOf(lead, b1, b2);
          assert.equal(validateUtf8(three, 0, 3), verdict(three), hex(three));
          checked++;
          if (lead < 0xf0) continue;
          for (const b3 of edges) {
            const four = bytesOf(lead, b1, b2, b3);
            assert.equal(validateUtf8(four, 0, 4), verdict(four), hex(four));
            checked++;
          }
        }
      }
    }
    assert.ok(checked > 400000);
  });

  test("the oracle's shortcut gives the same verdict as a fatal TextDecoder", () => {
    const fatal = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
    const rng = new Prng(7);
    for (let i = 0; i < 3000; i++) {
      const b = rng.bytes(rng.range(0, 6));
      let strict: string | undefined;
      try {
        strict = fatal.decode(b);
      } catch {
        strict = undefined;
      }
      assert.equal(oracleDecode(b), strict, hex(b));
    }
  });

  test("on random byte soup agrees with the oracle, and decodes like it", () => {
    // Tokens: whole characters, stray leads and continuations, and the refused forms above, so that
    // both verdicts come up often.
    const token = fc.oneof(
      { arbitrary: codePoint(false).map((c) => [...encoder.encode(c)]), weight: 6 },
      { arbitrary: fc.integer({ min: 0, max: 255 }).map((b) => [b]), weight: 1 },
      { arbitrary: fc.integer({ min: 0x80, max: 0xbf }).map((b) => [b]), weight: 1 },
      { arbitrary: fc.constantFrom(...REFUSED.map((r) => r[1])), weight: 1 },
    );
    let valid = 0;
    let invalid = 0;
    fc.assert(
      fc.property(fc.array(token, { maxLength: 10 }), (tokens) => {
        const bytes = Uint8Array.from(tokens.flat());
        const text = oracleDecode(bytes);
        const ok = text !== undefined && !text.includes("\0");
        assert.equal(validateUtf8(bytes, 0, bytes.length), ok ? 0 : ERR_UTF8, hex(bytes));
        if (ok) {
          valid++;
          assert.equal(decodeUtf8(bytes, 0, bytes.length), text);
        } else {
          invalid++;
        }
      }),
      { numRuns: 5000 },
    );
    assert.ok(valid > 500 && invalid > 500, `valid ${valid}, invalid ${invalid}`);
  });

  test("reads nothing outside [off, off + len)", () => {
    const rng = new Prng(0x5eed);
    const pieces = [encoder.encode("a"), encoder.encode("é"), encoder.encode("€"), encoder.encode("😀")];
    let outOfRange = 0;
    for (let run = 0; run < 5000; run++) {
      // Valid text cut at any place, or random bytes, inside a larger buffer.
      const parts: number[] = [];
      const n = rng.range(0, 8);
      for (let i = 0; i < n; i++) {
        if (rng.chance(0.8)) parts.push(...rng.pick(pieces));
        else parts.push(rng.byte());
      }
      const buf = Uint8Array.from([...rng.bytes(rng.range(0, 4)), ...parts, ...rng.bytes(rng.range(0, 4))]);
      const off = rng.range(0, buf.length);
      const len = rng.range(0, buf.length - off);
      const g = guard(buf, off, off + len);
      validateUtf8(g.view, off, len);
      outOfRange += g.badReadCount;
      assert.deepEqual(g.badReads, [], `validateUtf8(${hex(buf)}, ${off}, ${len}) read outside its range`);
      assert.equal(g.writeCount, 0);
    }
    assert.equal(outOfRange, 0);
  });
});

describe("decodeUtf8Reusing", () => {
  const bytes = (s: string) => new TextEncoder().encode(s);

  test("decodes exactly as decodeUtf8 whatever the previous string", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), fc.string({ unit: "grapheme" }), (text, last) => {
        const b = bytes(text);
        assert.equal(decodeUtf8Reusing(b, 0, b.length, last), decodeUtf8(b, 0, b.length));
        assert.equal(decodeUtf8Reusing(b, 0, b.length, text), text);
      }),
      { seed: 42, numRuns: 2000 },
    );
  });

  test("a repeated ASCII topic gives back the previous string; a change or non-ASCII decodes", () => {
    const b = bytes("xx/sensors/t");
    assert.equal(decodeUtf8Reusing(b, 3, 9, "sensors/t"), "sensors/t");
    assert.equal(decodeUtf8Reusing(b, 3, 9, "sensors/u"), "sensors/t");
    assert.equal(decodeUtf8Reusing(b, 3, 8, "sensors/t"), "sensors/");
    const e = bytes("é/t");
    assert.equal(decodeUtf8Reusing(e, 0, e.length, "é/t"), "é/t");
    assert.equal(decodeUtf8Reusing(e, 0, e.length, "\u00e9/t".slice(0, 2) + "x"), "é/t");
  });
});
