/**
 * Hostile frames for the fuzz test, from a seeded PRNG. Two families:
 *
 * - `Probe`: a text frame (possibly sent in fragments) that a connection may send and stay
 *   connected: random text, truncated or deeply nested JSON, wrong types for every field of
 *   every action, huge values, `__proto__`/`constructor` keys, odd actions, injection strings,
 *   smuggled identity fields, terminal escapes. What it must get back comes from ./oracle.
 * - `Offense`: what API Gateway closes a connection for: binary frames (1003), frames over
 *   32 KB and messages over 128 KB (1009), invalid UTF-8 (1007), WebSocket protocol
 *   violations (1002, through a raw socket).
 *
 * Every probe the oracle says is stored and sent to the room carries the prefix `fz<n> `, so
 * that recipients can tell such messages apart from the answers they get.
 */
import { rawFrame, type Rng } from './helpers';

/** Largest frame the fuzz sends on purpose without meaning to be closed (API Gateway: 32 KB). */
export const MAX_FRAME = 32_000;
/** The default MaxMessageBytes. */
export const MAX_MESSAGE_BYTES = 4096;

export const PROBE_KINDS = [
  'random-text',
  'truncated-json',
  'deep-nesting',
  'wrong-type',
  'huge-value',
  'proto-keys',
  'odd-action',
  'injection',
  'fragmented',
  'cross-room-cursor',
  'smuggled-fields',
  'hostile-text',
] as const;
export type ProbeKind = (typeof PROBE_KINDS)[number];

/** Kinds whose probes are stored and sent to the room: only chat.v1 fuzzers send them (they get a confirmation). */
const ACCEPTED_KINDS: ReadonlySet<ProbeKind> = new Set(['smuggled-fields', 'hostile-text']);

export interface Probe {
  kind: ProbeKind;
  /** The whole message, as the route selection and the function see it. */
  body: string;
  /** How it is sent: one frame, or fragments (with pings in between when `pings`). */
  fragments: string[];
  pings: boolean;
}

export type OffenseKind = 'binary' | 'oversize-frame' | 'oversize-message' | 'invalid-utf8' | 'protocol-violation';

export interface Offense {
  kind: OffenseKind;
  label: string;
  /** The close code API Gateway (and the runtime) must close the connection with. */
  expectedClose: number;
  /** Frames for a `ws` client: text or binary data, fin false for all fragments but the last. */
  frames?: { data: string | Buffer; binary: boolean; fin: boolean }[];
  /** Bytes for a raw socket (frames `ws` will not send). */
  raw?: Buffer;
}

// ----------------------------------------------------------------------- pieces

const json = (value: unknown): string => JSON.stringify(value);
/** A JSON object from keys and value sources (raw JSON text, so that 1e400 or -0 can be sent as such). */
const obj = (pairs: readonly (readonly [string, string])[]): string => `{${pairs.map(([k, v]) => `${json(k)}:${v}`).join(',')}}`;

/** Values of every JSON type, including the awkward ones (raw JSON sources). */
const ANY_VALUES = [
  'null',
  'true',
  'false',
  '0',
  '-0',
  '-1',
  '1.5',
  '101',
  '1e400',
  '-1e400',
  '1e-400',
  '9007199254740993',
  '""',
  '" "',
  '"x"',
  '"50"',
  '"\\u0000"',
  '[]',
  '[1,2]',
  '["sendmessage"]',
  '{}',
  '{"a":1}',
  '{"__proto__":{}}',
];

const ULID_LIKE = ['00000000000000000000000000', '7ZZZZZZZZZZZZZZZZZZZZZZZZZ', '01ARZ3NDEKTSV4RRFFQ69G5FAV'];

const INJECTIONS = [
  "' OR '1'='1",
  '" OR ""="',
  '1; DROP TABLE ConnectionsTable',
  '{"$ne":null}',
  '{"$gt":""}',
  'room = :room OR #name <> :x',
  'attribute_exists(connectionId)',
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  '${jndi:ldap://127.0.0.1/a}',
  '{{7*7}}',
  '%s%s%s%n',
  '../../../../etc/passwd',
  '\\u0000',
  'AAAA'.repeat(16),
  '__proto__',
  'constructor.prototype',
];

/** Text that drives terminals or disguises itself: escapes, C1 controls, bidi overrides, overwrites, spoofed lines. */
const HOSTILE_TEXTS = [
  '\u001b[2J\u001b[H',
  '\u001b[31mred\u001b[0m',
  '\u001b]0;owned\u0007',
  '\u001b]52;c;ZWNobyBwd25lZA==\u0007',
  '\u001bP+q\u001b\\',
  '\u009b31m',
  '\u0007\u0007\u0007',
  'abc\b\b\bxyz',
  'line\roverwrite',
  '\u0000nul',
  'del\u007f',
  '\u202eevil\u202c',
  '\u2066iso\u2069',
  '\ud800 lone high',
  'lone low \udfff',
  'zero\u200bwidth\u200d',
  '\ufeffbom',
  'two\nlines [12:00] alice: spoof',
  'tab\tbed',
  '😀 emoji 🏳️‍🌈',
  'Ω≈ç√∫˜µ≤≥÷',
  '\u0085next line',
  '\u2028sep\u2029',
];

function randomChars(rng: Rng, length: number): string {
  const mode = rng.pick(['ascii', 'json', 'unicode', 'controls', 'latin1'] as const);
  let out = '';
  for (let i = 0; i < length; i += 1) {
    switch (mode) {
      case 'ascii':
        out += String.fromCharCode(rng.int(0x20, 0x7e));
        break;
      case 'json':
        out += rng.pick([
          '{',
          '}',
          '[',
          ']',
          '"',
          ':',
          ',',
          '\\',
          ' ',
          'a',
          '1',
          'e',
          '-',
          '.',
          'n',
          'u',
          'l',
          't',
          'action',
          'sendmessage',
        ]);
        break;
      case 'unicode':
        out += rng.chance(0.2) ? String.fromCodePoint(rng.int(0x1f300, 0x1faff)) : String.fromCharCode(rng.int(0xa0, 0xd7ff));
        break;
      case 'controls':
        out += String.fromCharCode(rng.chance(0.5) ? rng.int(0, 0x1f) : rng.int(0x7f, 0x9f));
        break;
      case 'latin1':
        out += String.fromCharCode(rng.int(0, 0xff));
        break;
    }
  }
  return out;
}

/** A request of some action, well formed, to be cut or nested. */
function wellFormed(rng: Rng): string {
  switch (rng.int(0, 3)) {
    case 0:
      return json({ action: 'sendmessage', message: randomChars(rng, rng.int(1, 300)) });
    case 1:
      return json({ action: 'history', limit: rng.int(1, 100), ...(rng.chance(0.5) && { before: rng.pick(ULID_LIKE) }) });
    case 2:
      return json({ action: 'members' });
    default:
      return json({ action: rng.pick(['nope', 'Sendmessage', '']), data: randomChars(rng, rng.int(0, 200)) });
  }
}

/** A string of about `bytes` UTF-8 bytes, in one of several encodings (and JSON escapes). */
function textOfBytes(rng: Rng, bytes: number): { source: string; value: string } {
  const unit = rng.pick([
    { value: 'a', source: 'a', size: 1 },
    { value: 'é', source: 'é', size: 2 },
    { value: '中', source: '中', size: 3 },
    { value: '😀', source: '😀', size: 4 },
    { value: 'é', source: '\\u00e9', size: 2 },
    { value: '"', source: '\\"', size: 1 },
  ]);
  const n = Math.ceil(bytes / unit.size);
  return { source: `"${unit.source.repeat(n)}"`, value: unit.value.repeat(n) };
}

// ------------------------------------------------------------------------ kinds

/** What probes need from the run: a fresh `fz<n> ` prefix, another room's name and message ids. */
export interface Context {
  tag: () => string;
  otherRoom: string;
  crossRoomIds: () => readonly string[];
}

function randomText(rng: Rng): string {
  const length = rng.weighted([
    [rng.int(0, 16), 3],
    [rng.int(17, 400), 5],
    [rng.int(401, 8000), 1],
  ] as const);
  return randomChars(rng, length);
}

function truncatedJson(rng: Rng): string {
  const whole = wellFormed(rng);
  const cut = whole.slice(0, rng.int(0, whole.length - 1));
  return rng.chance(0.2) ? cut + randomChars(rng, rng.int(1, 8)) : cut;
}

function deepNesting(rng: Rng): string {
  const depth = rng.chance(0.4) ? 10_000 : rng.int(100, 15_000);
  const arrays = (d: number): string => '['.repeat(d) + ']'.repeat(d);
  const objects = (d: number): string => '{"a":'.repeat(d) + '1' + '}'.repeat(d);
  switch (rng.int(0, 6)) {
    case 0:
      return `{"action":"sendmessage","message":${arrays(depth)}}`;
    case 1:
      return arrays(depth);
    case 2:
      return `{"action":"history","limit":${objects(Math.min(depth, 5000))}}`;
    case 3:
      return `{"x":${arrays(depth)}}`;
    case 4:
      return '['.repeat(depth);
    case 5:
      return `{"action":"members","deep":${objects(Math.min(depth, 5000))}}`;
    default:
      return `{"action":${arrays(depth)}}`;
  }
}

function wrongType(rng: Rng): string {
  const value = rng.pick(ANY_VALUES);
  switch (rng.int(0, 6)) {
    case 0: // sendmessage.message: anything but a non-empty string
      return obj([
        ['action', '"sendmessage"'],
        ['message', value === '" "' || value === '"x"' || value === '"50"' || value === '"\\u0000"' ? '""' : value],
      ]);
    case 1:
      return obj([['action', '"sendmessage"']]);
    case 2:
      return obj([
        ['action', '"history"'],
        ['limit', value],
      ]);
    case 3:
      return obj([
        ['action', '"history"'],
        [rng.pick(['before', 'after']), value],
      ]);
    case 4:
      return obj([
        ['action', '"history"'],
        ['before', json(rng.pick(ULID_LIKE))],
        ['after', json(rng.pick(ULID_LIKE))],
      ]);
    case 5: // the action itself
      return obj([
        ['action', rng.pick(ANY_VALUES.filter((v) => !v.startsWith('"')))],
        ['message', '"x"'],
      ]);
    default: // members takes no field: whatever comes with it is ignored
      return obj([
        ['action', '"members"'],
        [rng.pick(['limit', 'room', 'message', 'x']), value],
      ]);
  }
}

function hugeValue(rng: Rng, ctx: Context, acceptedAllowed: boolean): string {
  const variant = rng.int(0, acceptedAllowed ? 6 : 5);
  const frameRoom = (bytes: number): number => Math.min(bytes, MAX_FRAME - 64);
  switch (variant) {
    case 0: {
      // Over MaxMessageBytes, in different encodings; the frame stays under 32 KB.
      const { source } = textOfBytes(rng, rng.int(MAX_MESSAGE_BYTES + 1, 12_000));
      const body = obj([
        ['action', '"sendmessage"'],
        ['message', source],
      ]);
      return Buffer.byteLength(body) <= MAX_FRAME
        ? body
        : obj([
            ['action', '"sendmessage"'],
            ['message', json('m'.repeat(frameRoom(30_000)))],
          ]);
    }
    case 1:
      return obj([['action', json('a'.repeat(rng.int(1000, frameRoom(30_000))))]]);
    case 2:
      return obj([
        ['action', '"members"'],
        ['pad', json('p'.repeat(rng.int(1000, frameRoom(30_000))))],
      ]);
    case 3:
      return obj([
        ['action', '"history"'],
        [rng.pick(['before', 'after']), json('0'.repeat(rng.int(27, 20_000)))],
      ]);
    case 4: {
      const keys: [string, string][] = [
        ['action', '"history"'],
        ['limit', String(rng.int(1, 5))],
      ];
      for (let i = 0; i < 2000; i += 1) keys.push([`k${i}`, String(i)]);
      return obj(keys);
    }
    case 5:
      return obj([
        ['action', '"history"'],
        ['limit', `1${'0'.repeat(rng.int(3, 400))}`],
      ]);
    default: {
      // Exactly MaxMessageBytes, multibyte: accepted.
      const prefix = ctx.tag();
      const fill = MAX_MESSAGE_BYTES - Buffer.byteLength(prefix);
      const text = prefix + '€'.repeat(Math.floor(fill / 3)) + 'x'.repeat(fill % 3);
      return obj([
        ['action', '"sendmessage"'],
        ['message', json(text)],
      ]);
    }
  }
}

function protoKeys(rng: Rng, ctx: Context, acceptedAllowed: boolean): string {
  const variants = [
    '{"__proto__":{"action":"sendmessage","message":"x"}}',
    '{"action":"sendmessage","__proto__":{"message":"hi"}}',
    '{"action":"history","__proto__":{"limit":0}}',
    '{"action":"history","constructor":{"prototype":{"limit":0}}}',
    '{"action":"members","__proto__":null}',
    '{"__proto__":[]}',
    '{"constructor":{"name":"x"},"action":"toString"}',
    '{"action":"__proto__"}',
    '{"action":"constructor"}',
    '{"action":"hasOwnProperty","message":"x"}',
    '{"action":"valueOf"}',
    '{"action":"history","limit":{"__proto__":{"valueOf":1}}}',
    '{"prototype":{"action":"members"}}',
  ];
  if (acceptedAllowed && rng.chance(0.25)) {
    return obj([
      ['action', '"sendmessage"'],
      ['message', json(`${ctx.tag()}proto`)],
      ['__proto__', '{"admin":true,"name":"alice"}'],
      ['constructor', '{"prototype":{"polluted":true}}'],
    ]);
  }
  return rng.pick(variants);
}

function oddAction(rng: Rng): string {
  const actions = [
    '',
    ' ',
    'SENDMESSAGE',
    'sendmessage ',
    ' sendmessage',
    'send\u0000message',
    'ｓｅｎｄｍｅｓｓａｇｅ',
    'sendmessage\u202e',
    'sendMessage',
    'history\n',
    'members\t',
    '$connect',
    '$disconnect',
    '$default',
    '😀',
    '\ud800',
    'a'.repeat(200),
    'sendmessage/../members',
    '.',
    '*',
    'sendmessage,history',
    'null',
    'undefined',
    randomChars(rng, rng.int(1, 64)),
  ];
  const action = rng.pick(actions);
  const extra: [string, string][] = rng.chance(0.5) ? [['message', '"x"']] : [];
  return obj([['action', json(action)], ...extra]);
}

function injection(rng: Rng, ctx: Context, acceptedAllowed: boolean): string {
  const attack = rng.pick(INJECTIONS);
  switch (rng.int(0, acceptedAllowed ? 4 : 3)) {
    case 0:
      return obj([
        ['action', '"history"'],
        [rng.pick(['before', 'after']), json(attack)],
      ]);
    case 1:
      return obj([
        ['action', '"history"'],
        ['limit', rng.pick(['{"$gt":0}', '"1 OR 1=1"', '[1]'])],
      ]);
    case 2:
      return obj([['action', json(`sendmessage' OR 1=1 --${attack}`)]]);
    case 3:
      return obj([
        ['action', '"members"'],
        ['room', json(attack)],
        ['KeyConditionExpression', json(attack)],
      ]);
    default:
      return obj([
        ['action', '"sendmessage"'],
        ['message', json(`${ctx.tag()}${attack}`)],
      ]);
  }
}

function smuggled(rng: Rng, ctx: Context): string {
  const fields: [string, string][] = [
    ['action', '"sendmessage"'],
    ['message', json(`${ctx.tag()}smuggled`)],
  ];
  const lies: [string, string][] = [
    ['name', '"alice"'],
    ['room', json(rng.pick(['lobby', ctx.otherRoom]))],
    ['id', '"00000000000000000000000000"'],
    ['sentAt', '"1970-01-01T00:00:00.000Z"'],
    ['type', '"presence"'],
    ['connectionId', '"AAAAAAAAAAAAAAA="'],
    ['text', '"forged"'],
  ];
  for (const lie of lies) if (rng.chance(0.6)) fields.push(lie);
  return obj(fields);
}

function hostileText(rng: Rng, ctx: Context): string {
  let text = ctx.tag();
  for (let i = rng.int(1, 4); i > 0; i -= 1) text += rng.pick(HOSTILE_TEXTS);
  return obj([
    ['action', '"sendmessage"'],
    ['message', json(text)],
  ]);
}

function crossRoomCursor(rng: Rng, ctx: Context): string {
  const ids = ctx.crossRoomIds();
  const id = ids.length > 0 ? rng.pick(ids) : rng.pick(ULID_LIKE);
  return obj([
    ['action', '"history"'],
    [rng.pick(['before', 'after']), json(id)],
    ['limit', String(rng.int(1, 20))],
  ]);
}

/**
 * One probe of `kind` (fragmented: another kind's body in 2-4 fragments). Probes that would be
 * stored are only made when `acceptedAllowed` (chat.v1 fuzzers, which get a confirmation).
 */
export function probe(rng: Rng, kind: ProbeKind, ctx: Context, acceptedAllowed: boolean): Probe {
  const whole = (k: ProbeKind): string => {
    switch (k) {
      case 'random-text':
        return randomText(rng);
      case 'truncated-json':
        return truncatedJson(rng);
      case 'deep-nesting':
        return deepNesting(rng);
      case 'wrong-type':
        return wrongType(rng);
      case 'huge-value':
        return hugeValue(rng, ctx, acceptedAllowed);
      case 'proto-keys':
        return protoKeys(rng, ctx, acceptedAllowed);
      case 'odd-action':
        return oddAction(rng);
      case 'injection':
        return injection(rng, ctx, acceptedAllowed);
      case 'cross-room-cursor':
        return crossRoomCursor(rng, ctx);
      case 'smuggled-fields':
        return smuggled(rng, ctx);
      case 'hostile-text':
        return hostileText(rng, ctx);
      case 'fragmented':
        return whole(rng.pick(['random-text', 'truncated-json', 'wrong-type', 'huge-value', 'odd-action', 'deep-nesting'] as const));
    }
  };
  if (ACCEPTED_KINDS.has(kind) && !acceptedAllowed) throw new Error(`${kind} probes are for chat.v1 fuzzers`);
  const body = whole(kind);
  if (kind !== 'fragmented' || body.length < 2) return { kind, body, fragments: [body], pings: false };
  const cuts = new Set<number>();
  for (let n = rng.int(1, 3); n > 0; n -= 1) cuts.add(rng.int(1, body.length - 1));
  const at = [0, ...[...cuts].sort((a, b) => a - b), body.length];
  // ws encodes each fragment on its own: a cut inside a surrogate pair would change the text
  // sent, so such a probe goes in one frame.
  const fragments = at.slice(1).map((end, i) => body.slice(at[i], end));
  const safe = fragments.every((f) => !/^[\udc00-\udfff]|[\ud800-\udbff]$/.test(f));
  return safe ? { kind, body, fragments, pings: rng.chance(0.5) } : { kind, body, fragments: [body], pings: false };
}

// --------------------------------------------------------------------- offenses

const KB = 1024;

export function offense(rng: Rng, kind: OffenseKind, tag: string): Offense {
  const sendmessage = (text: string): string => json({ action: 'sendmessage', message: text });
  switch (kind) {
    case 'binary': {
      const variant = rng.int(0, 3);
      const data =
        variant === 0
          ? Buffer.from(sendmessage(`${tag}binary`))
          : variant === 1
            ? rng.bytes(rng.int(1, 2000))
            : variant === 2
              ? Buffer.alloc(0)
              : Buffer.from('{"action":"members"}');
      const fragmented = rng.chance(0.2) && data.length > 1;
      const frames = fragmented
        ? [
            { data: data.subarray(0, 1), binary: true, fin: false },
            { data: data.subarray(1), binary: true, fin: true },
          ]
        : [{ data, binary: true, fin: true }];
      return { kind, label: ['sendmessage JSON', 'random bytes', 'empty', 'members JSON'][variant] as string, expectedClose: 1003, frames };
    }
    case 'oversize-frame': {
      const size = rng.int(32 * KB + 1, 40 * KB);
      const text = sendmessage(`${tag}oversize ${'o'.repeat(size)}`).slice(0, size - 2) + '"}';
      return { kind, label: `${size} bytes in one frame`, expectedClose: 1009, frames: [{ data: text, binary: false, fin: true }] };
    }
    case 'oversize-message': {
      const total = rng.int(128 * KB + 1, 140 * KB);
      const text = sendmessage(`${tag}oversize ${'o'.repeat(total)}`).slice(0, total - 2) + '"}';
      const frames: Offense['frames'] = [];
      for (let at = 0; at < text.length; at += 30 * KB)
        frames.push({ data: text.slice(at, at + 30 * KB), binary: false, fin: at + 30 * KB >= text.length });
      return { kind, label: `${total} bytes in ${frames.length} frames of 30 KB`, expectedClose: 1009, frames };
    }
    case 'invalid-utf8': {
      const bad = rng.pick([
        [0xff],
        [0xfe, 0xff],
        [0xc0, 0xaf],
        [0xe0, 0x80, 0xaf],
        [0xed, 0xa0, 0x80],
        [0xf4, 0x90, 0x80, 0x80],
        [0xe2, 0x82],
        [0x80],
        [0xf8, 0x88, 0x80, 0x80, 0x80],
      ]);
      const [before, after] = sendmessage(`${tag}utf8 @`).split('@') as [string, string];
      const data = Buffer.concat([Buffer.from(before), Buffer.from(bad), Buffer.from(after)]);
      const split = rng.chance(0.3);
      const cut = before.length + 1;
      const frames = split
        ? [
            { data: data.subarray(0, cut), binary: false, fin: false },
            { data: data.subarray(cut), binary: false, fin: true },
          ]
        : [{ data, binary: false, fin: true }];
      return {
        kind,
        label: `bytes ${bad.map((b) => b.toString(16)).join(' ')}${split ? ' across fragments' : ''}`,
        expectedClose: 1007,
        frames,
      };
    }
    case 'protocol-violation': {
      const payload = Buffer.from(sendmessage(`${tag}violation`));
      const variants: [string, Buffer, number][] = [
        ['RSV1 set without an extension', rawFrame(payload, { rsv: 4 }), 1002],
        ['RSV2 and RSV3 set', rawFrame(payload, { rsv: 3 }), 1002],
        ['unmasked client frame', rawFrame(payload, { masked: false }), 1002],
        ['reserved data opcode 0x3', rawFrame(payload, { opcode: 0x3 }), 1002],
        ['reserved control opcode 0xB', rawFrame(Buffer.alloc(0), { opcode: 0xb }), 1002],
        ['ping of 126 bytes', rawFrame(Buffer.alloc(126, 0x70), { opcode: 0x9 }), 1002],
        ['fragmented ping', rawFrame(Buffer.from('p'), { opcode: 0x9, fin: false }), 1002],
        ['continuation without a first fragment', rawFrame(payload, { opcode: 0x0 }), 1002],
        [
          'a new text frame inside a fragmented message',
          Buffer.concat([rawFrame(Buffer.from('{"a'), { fin: false }), rawFrame(Buffer.from('":1}'))]),
          1002,
        ],
        ['close with code 999', rawFrame(Buffer.from([0x03, 0xe7]), { opcode: 0x8 }), 1002],
        ['close with reserved code 1005', rawFrame(Buffer.from([0x03, 0xed]), { opcode: 0x8 }), 1002],
        ['close reason in invalid UTF-8', rawFrame(Buffer.from([0x03, 0xe8, 0xff, 0xfe]), { opcode: 0x8 }), 1007],
        ['close frame of 1 byte', rawFrame(Buffer.from([0x03]), { opcode: 0x8 }), 1002],
      ];
      const [label, raw, expectedClose] = rng.pick(variants);
      return { kind, label, expectedClose, raw };
    }
  }
}
