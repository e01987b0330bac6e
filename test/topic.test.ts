/**
 * src/topic.ts: topic name and filter validation (strings and received bytes), and wildcard
 * matching, against the MQTT 3.1.1 rules of section 4.7 and a reference matcher written here.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ERR_FIELD_TOO_LONG, ERR_FILTER, ERR_TOPIC, ERR_UTF8 } from "../src/status.ts";
import {
  MAX_STRING_BYTES,
  topicMatches,
  validateTopicFilter,
  validateTopicFilterBytes,
  validateTopicName,
  validateTopicNameBytes,
} from "../src/topic.ts";
import { codePoint, topicFilter, topicName } from "./helpers/arbitraries.ts";
import { guard } from "./fuzz/guard.ts";

const encoder = new TextEncoder();

describe("validateTopicName", () => {
  const valid = [
    "a",
    "/",
    "//",
    "a/b/c",
    "/finance",
    "finance/",
    "sport/tennis/player1",
    "$SYS/broker/clients",
    "$",
    " ",
    "a b/c d",
    "a//b",
    "ü/€/😀",
    "\u{10ffff}",
  ];
  for (const name of valid) {
    test(`accepts ${JSON.stringify(name)}`, () => assert.equal(validateTopicName(name), 0));
  }

  // [MQTT-4.7.3-1] at least one character; [MQTT-3.3.2-2] no wildcard in a name.
  const noTopic = ["", "+", "#", "a/+", "a/#", "+/a", "a+b", "a#b", "sport/tennis/#", "a/b/+/c", "é+"];
  for (const name of noTopic) {
    test(`refuses ${JSON.stringify(name)} with ERR_TOPIC`, () => assert.equal(validateTopicName(name), ERR_TOPIC));
  }

  // [MQTT-1.5.3-1] [MQTT-1.5.3-2]
  const badUtf8 = ["a\0b", "\0", "a/\ud800", "\udc00/b", "x\ude00\ud83d"];
  for (const name of badUtf8) {
    test(`refuses ${JSON.stringify(name)} with ERR_UTF8`, () => assert.equal(validateTopicName(name), ERR_UTF8));
  }

  test("65,535 bytes is the limit, counted in UTF-8 bytes rather than characters", () => {
    assert.equal(MAX_STRING_BYTES, 65535);
    assert.equal(validateTopicName("a".repeat(65535)), 0);
    assert.equal(validateTopicName("a".repeat(65536)), ERR_FIELD_TOO_LONG);
    // 32,768 characters, 65,535 bytes: fits.
    assert.equal(validateTopicName("é".repeat(32767) + "a"), 0);
    // 32,768 characters, 65,536 bytes: too long although far under 65,535 characters.
    assert.equal(validateTopicName("é".repeat(32768)), ERR_FIELD_TOO_LONG);
    assert.equal(validateTopicName("€".repeat(21845)), 0);
    assert.equal(validateTopicName("€".repeat(21845) + "a"), ERR_FIELD_TOO_LONG);
    assert.equal(validateTopicName("😀".repeat(16383) + "abc"), 0);
    assert.equal(validateTopicName("😀".repeat(16384)), ERR_FIELD_TOO_LONG);
  });
});

describe("validateTopicFilter", () => {
  const valid = [
    "#",
    "+",
    "/",
    "+/+",
    "/+",
    "+/",
    "//",
    "a/#",
    "/#",
    "+/#",
    "a/+/b",
    "+/+/+/+",
    "sport/tennis/player1/#",
    "sport/tennis/#",
    "sport/+",
    "sport/+/player1",
    "$SYS/#",
    "$SYS/+/clients",
    "a/b/c",
    "ü/+/😀/#",
  ];
  for (const filter of valid) {
    test(`accepts ${JSON.stringify(filter)}`, () => assert.equal(validateTopicFilter(filter), 0));
  }

  // [MQTT-4.7.1-2] '#' alone in the last level; [MQTT-4.7.1-3] '+' alone in its level;
  // [MQTT-4.7.3-1] at least one character.
  const invalid = [
    "",
    "a#",
    "#a",
    "##",
    "#/",
    "#/a",
    "a/#/b",
    "a/b#",
    "sport/tennis#",
    "sport/tennis/#/ranking",
    "a+",
    "+a",
    "a/+b",
    "a/b+/c",
    "++",
    "+#",
    "#+",
    "sport+",
    "/+x",
  ];
  for (const filter of invalid) {
    test(`refuses ${JSON.stringify(filter)} with ERR_FILTER`, () => assert.equal(validateTopicFilter(filter), ERR_FILTER));
  }

  for (const filter of ["a\0", "+/\0", "\ud800/#", "a/\udfff"]) {
    test(`refuses ${JSON.stringify(filter)} with ERR_UTF8`, () => assert.equal(validateTopicFilter(filter), ERR_UTF8));
  }

  test("65,535 bytes is the limit, counted in UTF-8 bytes", () => {
    assert.equal(validateTopicFilter("a".repeat(65533) + "/#"), 0);
    assert.equal(validateTopicFilter("a".repeat(65534) + "/#"), ERR_FIELD_TOO_LONG);
    assert.equal(validateTopicFilter("é".repeat(32766) + "/+"), 0);
    assert.equal(validateTopicFilter("é".repeat(32767) + "/+"), ERR_FIELD_TOO_LONG);
    assert.equal(validateTopicFilter("+/".repeat(32767) + "#"), 0);
    assert.equal(validateTopicFilter("+/".repeat(32768)), ERR_FIELD_TOO_LONG);
  });

  test("every generated filter and name is accepted as what it is", () => {
    fc.assert(
      fc.property(topicFilter, topicName, (f, n) => {
        assert.equal(validateTopicFilter(f), 0, f);
        assert.equal(validateTopicName(n), 0, n);
        // A name is also a valid filter (it only lacks wildcards).
        assert.equal(validateTopicFilter(n), 0, n);
      }),
      { numRuns: 1000 },
    );
  });
});

/** Strings over an alphabet where '/', '+', '#' and U+0000 are frequent. */
const topicSoup = fc.string({
  unit: fc.oneof(
    { arbitrary: fc.constantFrom("/", "+", "#", "a", "b", "$"), weight: 6 },
    { arbitrary: fc.constant("\0"), weight: 1 },
    { arbitrary: codePoint(false), weight: 2 },
  ),
  maxLength: 10,
});

/** Encodes `s` in the middle of a buffer of junk; returns the buffer and the range. */
function embed(bytes: Uint8Array, junk: Uint8Array): { buf: Uint8Array; off: number; len: number } {
  const buf = new Uint8Array(junk.length * 2 + bytes.length);
  buf.set(junk, 0);
  buf.set(bytes, junk.length);
  buf.set(junk, junk.length + bytes.length);
  return { buf, off: junk.length, len: bytes.length };
}

describe("validateTopicNameBytes / validateTopicFilterBytes", () => {
  const junk = fc.uint8Array({ maxLength: 6 });

  test("agree with the string versions on random strings, reading only their range", () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(topicSoup, junk, (s, j) => {
        const { buf, off, len } = embed(encoder.encode(s), j);
        const gName = guard(buf, off, off + len);
        const name = validateTopicNameBytes(gName.view, off, len);
        assert.equal(name, validateTopicName(s), JSON.stringify(s));
        assert.deepEqual(gName.badReads, []);
        const gFilter = guard(buf, off, off + len);
        const filter = validateTopicFilterBytes(gFilter.view, off, len);
        assert.equal(filter, validateTopicFilter(s), JSON.stringify(s));
        assert.deepEqual(gFilter.badReads, []);
        assert.equal(gName.writeCount + gFilter.writeCount, 0);
        if (filter === 0) accepted++;
        else refused++;
      }),
      { numRuns: 3000 },
    );
    assert.ok(accepted > 200 && refused > 200, `accepted ${accepted}, refused ${refused}`);
  });

  test("agree with the string versions on generated valid names and filters", () => {
    fc.assert(
      fc.property(topicName, topicFilter, junk, (n, f, j) => {
        const a = embed(encoder.encode(n), j);
        assert.equal(validateTopicNameBytes(a.buf, a.off, a.len), 0);
        const b = embed(encoder.encode(f), j);
        assert.equal(validateTopicFilterBytes(b.buf, b.off, b.len), 0);
      }),
      { numRuns: 1000 },
    );
  });

  test("on ill-formed UTF-8, report the wildcard rule first, then ERR_UTF8", () => {
    const cases: Array<[number[], number, number]> = [
      // bytes, name status, filter status
      [[0x61, 0xc0, 0x80], ERR_UTF8, ERR_UTF8],
      [[0xed, 0xa0, 0x80, 0x2f, 0x23], ERR_TOPIC, ERR_UTF8],
      [[0xff, 0x2b], ERR_TOPIC, ERR_FILTER],
      [[0x61, 0x00], ERR_UTF8, ERR_UTF8],
      [[0x2b, 0x2f, 0xe2, 0x82], ERR_TOPIC, ERR_UTF8],
    ];
    for (const [bytes, name, filter] of cases) {
      const b = Uint8Array.from(bytes);
      assert.equal(validateTopicNameBytes(b, 0, b.length), name, JSON.stringify(bytes));
      assert.equal(validateTopicFilterBytes(b, 0, b.length), filter, JSON.stringify(bytes));
    }
  });

  test("an empty range is refused", () => {
    const b = Uint8Array.from([0x61]);
    assert.equal(validateTopicNameBytes(b, 1, 0), ERR_TOPIC);
    assert.equal(validateTopicFilterBytes(b, 0, 0), ERR_FILTER);
  });

  test("a wildcard just outside the range does not count", () => {
    // "+a#" with the range on "a" only: the neighbours must not be read, let alone judged.
    const b = Uint8Array.from([0x2b, 0x61, 0x23]);
    const g = guard(b, 1, 2);
    assert.equal(validateTopicFilterBytes(g.view, 1, 1), 0);
    assert.equal(validateTopicNameBytes(g.view, 1, 1), 0);
    assert.deepEqual(g.badReads, []);
    // "a/+" with the range "/+": '+' is at the start of the range's last level, fine.
    const c = Uint8Array.from([0x61, 0x2f, 0x2b]);
    const h = guard(c, 1, 3);
    assert.equal(validateTopicFilterBytes(h.view, 1, 2), 0);
    assert.deepEqual(h.badReads, []);
  });
});

/** The seed examples: topic name `a/b/c/d` against filters. */
const SEED_NAME = "a/b/c/d";
const SEED_MATCH = ["#", "a/#", "a/b/#", "a/b/c/#", "+/b/c/#", "a/b/c/d", "+/b/c/d", "a/+/c/d", "a/+/+/d", "+/+/+/+"];
const SEED_NO_MATCH = ["a/b/c", "b/+/c/d", "+/+/+"];

/** MQTT 3.1.1 section 4.7 examples: [filter, name, matches]. */
const SPEC_CASES: Array<[string, string, boolean]> = [
  // 4.7.1.2 multi-level wildcard
  ["sport/tennis/player1/#", "sport/tennis/player1", true],
  ["sport/tennis/player1/#", "sport/tennis/player1/ranking", true],
  ["sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true],
  ["sport/#", "sport", true],
  ["sport/#", "sport/tennis", true],
  ["#", "sport/tennis/player1", true],
  ["sport/tennis/#", "sport/tennis", true],
  // 4.7.1.3 single-level wildcard
  ["sport/tennis/+", "sport/tennis/player1", true],
  ["sport/tennis/+", "sport/tennis/player2", true],
  ["sport/tennis/+", "sport/tennis/player1/ranking", false],
  ["sport/+", "sport", false],
  ["sport/+", "sport/", true],
  ["+/+", "/finance", true],
  ["/+", "/finance", true],
  ["+", "/finance", false],
  ["+/tennis/#", "sport/tennis", true],
  ["sport/+/player1", "sport/tennis/player1", true],
  // 4.7.2 topics beginning with $ [MQTT-4.7.2-1]
  ["#", "$SYS/broker", false],
  ["#", "$SYS", false],
  ["+/monitor/Clients", "$SYS/monitor/Clients", false],
  ["$SYS/#", "$SYS/monitor/Clients", true],
  ["$SYS/#", "$SYS", true],
  ["$SYS/monitor/+", "$SYS/monitor/Clients", true],
  ["+", "$", false],
  ["+/+", "$a/b", false],
  ["a/+", "a/$b", true],
  ["a/#", "a/$b", true],
  // 4.7.3 empty levels are distinct levels; case matters
  ["/", "/", true],
  ["+/+", "/", true],
  ["+", "/", false],
  ["/finance", "finance", false],
  ["finance", "/finance", false],
  ["a//b", "a//b", true],
  ["a/+/b", "a//b", true],
  ["a/b", "a//b", false],
  ["ACCOUNTS", "Accounts", false],
  ["a/", "a", false],
  ["a", "a/", false],
  ["a/#", "a/", true],
  ["a/+", "a/", true],
  ["a/+/#", "a", false],
  ["+/#", "a", true],
  ["/#", "/", true],
  ["/#", "a", false],
  ["a/b", "a/bc", false],
  ["a/bc", "a/b", false],
  ["a/b/c", "a/b", false],
  ["é/+", "é/€", true],
];

/** A straightforward matcher: split both on '/', compare level by level. */
function referenceMatches(filter: string, name: string): boolean {
  // [MQTT-4.7.2-1] wildcards at the start never match names starting with '$'.
  if (name.startsWith("$") && (filter.startsWith("+") || filter.startsWith("#"))) return false;
  const f = filter.split("/");
  const n = name.split("/");
  for (let i = 0; i < f.length; i++) {
    // '#' matches the parent level and any number of levels below it.
    if (f[i] === "#") return true;
    if (i >= n.length) return false;
    if (f[i] !== "+" && f[i] !== n[i]) return false;
  }
  return f.length === n.length;
}

describe("topicMatches", () => {
  for (const filter of SEED_MATCH) {
    test(`${JSON.stringify(filter)} matches ${JSON.stringify(SEED_NAME)}`, () => {
      assert.equal(topicMatches(filter, SEED_NAME), true);
    });
  }
  for (const filter of SEED_NO_MATCH) {
    test(`${JSON.stringify(filter)} does not match ${JSON.stringify(SEED_NAME)}`, () => {
      assert.equal(topicMatches(filter, SEED_NAME), false);
    });
  }
  for (const [filter, name, want] of SPEC_CASES) {
    test(`${JSON.stringify(filter)} ${want ? "matches" : "does not match"} ${JSON.stringify(name)}`, () => {
      assert.equal(validateTopicFilter(filter), 0);
      assert.equal(validateTopicName(name), 0);
      assert.equal(topicMatches(filter, name), want);
      // The reference matcher agrees on every example, so it can judge the random cases.
      assert.equal(referenceMatches(filter, name), want);
    });
  }

  test("agrees with the reference matcher on random names and filters over a small alphabet", () => {
    const level: fc.Arbitrary<string> = fc.oneof(
      { arbitrary: fc.constantFrom("a", "b", ""), weight: 6 },
      { arbitrary: fc.constantFrom("$", "$a", "ab", "é", "😀"), weight: 1 },
    );
    const name = fc.array(level, { minLength: 1, maxLength: 5 }).map((l) => l.join("/")).filter((s) => s !== "");
    const randomFilter = fc
      .tuple(fc.array(fc.oneof(level, fc.constant("+")), { maxLength: 5 }), fc.boolean())
      .map(([l, hash]) => (hash || l.length === 0 ? l.concat("#") : l).join("/"))
      .filter((s) => s !== "");
    // A filter made from the name by replacing levels with '+' or cutting it with '#': these match
    // often, and small edits of them often do not.
    const derived = fc
      .tuple(name, fc.array(fc.nat(3), { minLength: 5, maxLength: 5 }), fc.nat(6))
      .map(([n, edits, cut]) => {
        const levels = n.split("/").map((l, i) => (edits[i] === 0 ? "+" : edits[i] === 1 ? l + "b" : l));
        const f = cut < levels.length ? levels.slice(0, cut).concat("#") : levels;
        return [f.join("/"), n] as [string, string];
      })
      .filter(([f]) => f !== "");
    const pair = fc.oneof(fc.tuple(randomFilter, name), derived);
    let matched = 0;
    let unmatched = 0;
    fc.assert(
      fc.property(pair, ([f, n]) => {
        assert.equal(validateTopicFilter(f), 0, f);
        assert.equal(validateTopicName(n), 0, n);
        const want = referenceMatches(f, n);
        assert.equal(topicMatches(f, n), want, `${JSON.stringify(f)} vs ${JSON.stringify(n)}`);
        if (want) matched++;
        else unmatched++;
      }),
      { numRuns: 20000 },
    );
    assert.ok(matched > 2000 && unmatched > 2000, `matched ${matched}, unmatched ${unmatched}`);
  });

  test("a name matches itself as a filter (even with '$'); '#' matches it unless it starts with '$'", () => {
    // [MQTT-4.7.2-1] only concerns wildcards: "$SYS/x" as a filter matches "$SYS/x".
    fc.assert(
      fc.property(topicName, (n) => {
        assert.equal(topicMatches(n, n), true, n);
        assert.equal(topicMatches("#", n), !n.startsWith("$"), n);
      }),
      { numRuns: 1000 },
    );
  });
});
