/**
 * Fuzz, bounded: at least 10,000 hostile frames from several connections,
 * while a valid conversation goes on in the same room, through the local runtime with the
 * project's template and the real handlers.
 *
 * - Persistent fuzzers (chat.v1 and plain) send probes one after another and wait for each
 *   answer, which is held against ./oracle (README's protocol, modelled independently).
 * - Offenders each open a connection and send one frame API Gateway closes for (binary 1003,
 *   over 32 KB or 128 KB 1009, invalid UTF-8 1007, protocol violations 1002).
 * - Meanwhile alice and bob (chat.v1) and carol and dave (plain) chat in the same room, each
 *   waiting for a message to be stored (chat.v1: its confirmation; plain: alice got it) before
 *   sending the next; eve and frank sit in another room and must hear nothing.
 *
 * The campaign runs once (before); each `it` checks one property of it and the figures are
 * printed. HARDENING_SEED replays a run; HARDENING_FUZZ_FRAMES changes the number of frames.
 */
import { expect } from 'chai';
import type { LocalRuntime } from '../../local/src/index';
import {
  CHAT_V1,
  drainDisconnects,
  figures,
  gatewayError,
  join,
  bump,
  percentile,
  seconds,
  seedFromEnv,
  sleep,
  startChat,
  tally,
  USAGE,
  Peer,
  RawPeer,
  Rng,
  type Received,
} from './helpers';
import {
  MAX_MESSAGE_BYTES,
  offense,
  probe,
  PROBE_KINDS,
  type Context,
  type Offense,
  type OffenseKind,
  type Probe,
  type ProbeKind,
} from './generators';
import { expectedOutcome, FORBIDDEN_IN_TEXT, neutralized, overTheWire, type Outcome } from './oracle';

const SEED = seedFromEnv(0x5eed0006);
const TOTAL_FRAMES = Number(process.env.HARDENING_FUZZ_FRAMES ?? 10_000);
const V1_FUZZERS = 8;
const PLAIN_FUZZERS = 2;
/** Offenses, per kind, for 10,000 frames (scaled with HARDENING_FUZZ_FRAMES). */
const OFFENSES_PER_10K: Record<OffenseKind, number> = {
  binary: 40,
  'oversize-frame': 35,
  'oversize-message': 10,
  'invalid-utf8': 40,
  'protocol-violation': 25,
};
const OFFENDER_WORKERS = 2;
/** How long one answer (or one close) may take before it counts as missing. */
const ANSWER_TIMEOUT_MS = 20_000;
/** Each valid sender sends at least this many messages, and goes on while the fuzz lasts. */
const MIN_VALID_PER_SENDER = 10;
/**
 * Sized for a shared 2-core machine, where the runtime, its store and every client share the
 * cores: 10,000 frames took 290 s there at 34 frames/s, each frame costing the rate limits'
 * writes too (docs/SECURITY.md has the figures of a run).
 */
const CAMPAIGN_TIMEOUT_MS = 420_000;

const PROBE_WEIGHTS: readonly (readonly [ProbeKind, number])[] = [
  ['random-text', 12],
  ['truncated-json', 10],
  ['deep-nesting', 5],
  ['wrong-type', 22],
  ['huge-value', 8],
  ['proto-keys', 8],
  ['odd-action', 9],
  ['injection', 7],
  ['fragmented', 6],
  ['cross-room-cursor', 3],
  ['smuggled-fields', 1],
  ['hostile-text', 3],
];
const PLAIN_WEIGHTS = PROBE_WEIGHTS.filter(([kind]) => kind !== 'smuggled-fields' && kind !== 'hostile-text');

const VALID_DECORATIONS = [
  'hello, everyone!',
  'ünïcødé ✓ 😀',
  '"quoted" \\backslash\\ {"json":1}',
  'tab\there',
  'two\nlines',
  '<b>not html</b>',
];

interface ProbeResult {
  fuzzer: string;
  probe: Probe;
  expected: Outcome;
  verdict: 'ok' | 'mismatch' | 'unanswered' | 'crash';
  answer?: string;
  /** The answer's code or type, as counted in the figures. */
  answeredAs?: string;
  ms: number;
}

interface OffenseResult {
  offense: Offense;
  name: string;
  closedWith: number | undefined;
  /** Frames it got that are not room messages (an answer would mean its frame was processed). */
  answers: string[];
}

/** A message that must reach the room: from a valid sender, or a fuzz probe that was accepted. */
interface Expected {
  sender: string;
  senderProtocol: 'plain' | 'chat.v1';
  seq: number;
  /** The text as a chat.v1 recipient gets it, and as a plain one does (its UTF-8, decoded). */
  v1Text: string;
  plainText: string;
  /** When its sender had its confirmation (chat.v1) or everyone had it (plain). */
  confirmedAt?: number;
}

interface Fuzzer {
  peer: Peer;
  probes: Probe[];
  /** Indexes of frames taken as answers. */
  answered: Set<number>;
}

describe('hardening: fuzz, hostile frames while a room chats (template.yaml, real handlers)', function () {
  this.timeout(60_000);
  const stamp = `${process.pid.toString(36)}-${Date.now().toString(36)}`;
  const ROOM = `fuzz-${stamp}`;
  const OTHER_ROOM = `fuzz-other-${stamp}`;
  const NEXT_ROOM = `fuzz-after-${stamp}`;

  let runtime: LocalRuntime | undefined;
  const peers: Peer[] = [];
  const valid: Peer[] = [];
  const others: Peer[] = [];
  const fuzzers: Fuzzer[] = [];
  const probeResults: ProbeResult[] = [];
  const offenseResults: OffenseResult[] = [];
  const expected = new Map<string, Expected>(); // by v1 text
  const expectedByPlainText = new Map<string, Expected>();
  /** Accepted probes' messages, planned with the probes; each is expected once it is sent. */
  const planned = new Map<Probe, Expected>();
  /** A message sent: from now on every member of the room must get it. */
  const expectDelivery = (entry: Expected): void => {
    expected.set(entry.v1Text, entry);
    expectedByPlainText.set(entry.plainText, entry);
  };
  const connectionIds = new Map<string, string>(); // name → connection id
  const whoamiAnswers = new Map<Peer, number>(); // peer → index of its $default answer
  const secrets: { id: string; text: string }[] = [];
  const ackTimeouts: string[] = [];
  let campaignMs = 0;
  let framesSent = 0;

  const rt = (): LocalRuntime => {
    if (!runtime) throw new Error('the runtime is not running (the before hook failed)');
    return runtime;
  };

  const track = async (peer: Promise<Peer>): Promise<Peer> => {
    const p = await peer;
    peers.push(p);
    return p;
  };

  /** The connection id a peer learns from $default (README: "Your info"). */
  async function whoami(peer: Peer): Promise<void> {
    const from = peer.received.length;
    peer.ws.send(peer.protocol === CHAT_V1 ? '{}' : 'whoami');
    const got = await peer.waitFor(
      from,
      (f) =>
        f.text.includes('"connectionID"') && (peer.protocol === CHAT_V1 ? f.text.startsWith('{"type":"info"') : f.text.startsWith(USAGE)),
      ANSWER_TIMEOUT_MS,
    );
    if (!got) throw new Error(`${peer.name}: no $default answer`);
    const info = JSON.parse(got.frame.text.slice(got.frame.text.indexOf('{'))) as { connectionID: string };
    connectionIds.set(peer.name, info.connectionID);
    whoamiAnswers.set(peer, got.index);
    fuzzers.find((f) => f.peer === peer)?.answered.add(got.index);
  }

  before(async function () {
    this.timeout(CAMPAIGN_TIMEOUT_MS + 60_000);
    runtime = await startChat({ env: { MESSAGE_RATE_LIMIT: '1000', REQUEST_RATE_LIMIT: '1000' } });
    const rng = new Rng(SEED);

    // Another room with a secret, which nothing of this run may ever show the fuzzed room.
    const eve = await track(join(rt(), OTHER_ROOM, 'eve', CHAT_V1));
    const frank = await track(join(rt(), OTHER_ROOM, 'frank', 'plain'));
    others.push(eve, frank);
    for (let i = 0; i < 2; i += 1) {
      const text = `secret of ${OTHER_ROOM} #${i}`;
      const from = eve.received.length;
      eve.ws.send(JSON.stringify({ action: 'sendmessage', message: text }));
      const echo = await eve.waitFor(from, (f) => f.text.includes(JSON.stringify(text)), ANSWER_TIMEOUT_MS);
      if (!echo) throw new Error('eve: no confirmation');
      secrets.push({ id: (JSON.parse(echo.frame.text) as { id: string }).id, text });
    }
    const frankSawSecrets = await frank.waitFor(0, (f) => f.text === secrets[1]?.text, ANSWER_TIMEOUT_MS);
    if (!frankSawSecrets) throw new Error("frank: the other room's messages never came");

    // The room: four valid clients, then the fuzzers.
    for (const [name, protocol] of [
      ['alice', CHAT_V1],
      ['bob', CHAT_V1],
      ['carol', 'plain'],
      ['dave', 'plain'],
    ] as const) {
      valid.push(await track(join(rt(), ROOM, name, protocol)));
    }
    for (let i = 0; i < V1_FUZZERS + PLAIN_FUZZERS; i += 1) {
      const protocol = i < V1_FUZZERS ? CHAT_V1 : 'plain';
      const peer = await track(join(rt(), ROOM, `fz-${protocol === CHAT_V1 ? 'v1' : 'plain'}-${i}`, protocol));
      fuzzers.push({ peer, probes: [], answered: new Set() });
    }
    await Promise.all([...valid, ...others, ...fuzzers.map((f) => f.peer)].map(whoami));

    // Probes and offenses, all from the seed.
    let tags = 0;
    const tagOwner = new Map<number, string>();
    const offenses: Offense[] = [];
    for (const [kind, per10k] of Object.entries(OFFENSES_PER_10K) as [OffenseKind, number][]) {
      const n = Math.max(1, Math.round((per10k * TOTAL_FRAMES) / 10_000));
      const offenseRng = rng.fork(kind.length * 7919);
      for (let i = 0; i < n; i += 1) offenses.push(offense(offenseRng, kind, `fz-offense-${kind}-${i} `));
    }
    for (let i = offenses.length - 1; i > 0; i -= 1) {
      const j = rng.int(0, i);
      [offenses[i], offenses[j]] = [offenses[j] as Offense, offenses[i] as Offense];
    }
    const perFuzzer = Math.ceil((TOTAL_FRAMES - offenses.length) / fuzzers.length);
    for (const [index, fuzzer] of fuzzers.entries()) {
      const v1 = fuzzer.peer.protocol === CHAT_V1;
      const fuzzRng = rng.fork(index + 1);
      const context: Context = {
        tag: () => {
          tags += 1;
          tagOwner.set(tags, fuzzer.peer.name);
          return `fz${tags} `;
        },
        otherRoom: OTHER_ROOM,
        crossRoomIds: () => secrets.map((s) => s.id),
      };
      for (let i = 0; i < perFuzzer; i += 1) {
        const p = probe(fuzzRng, fuzzRng.weighted(v1 ? PROBE_WEIGHTS : PLAIN_WEIGHTS), context, v1);
        const outcome = expectedOutcome(overTheWire(p.body), fuzzer.peer.protocol, MAX_MESSAGE_BYTES);
        if (outcome.kind === 'accepted') {
          const tag = /^fz(\d+) /.exec(outcome.text);
          if (!v1 || !tag || tagOwner.get(Number(tag[1])) !== fuzzer.peer.name) {
            throw new Error(`generator: a ${p.kind} probe would be stored without its tag: ${p.body.slice(0, 120)}`);
          }
          const v1Text = neutralized(outcome.text);
          planned.set(p, {
            sender: fuzzer.peer.name,
            senderProtocol: CHAT_V1,
            seq: Number(tag[1]),
            v1Text,
            plainText: overTheWire(v1Text),
          });
        }
        fuzzer.probes.push(p);
      }
    }

    // ---------------------------------------------------------------- the campaign
    const started = performance.now();
    const deadline = started + CAMPAIGN_TIMEOUT_MS;
    let fuzzing = true;

    const runFuzzer = async (fuzzer: Fuzzer): Promise<void> => {
      const { peer } = fuzzer;
      for (const p of fuzzer.probes) {
        if (performance.now() > deadline || !peer.open) break;
        const outcome = expectedOutcome(overTheWire(p.body), peer.protocol, MAX_MESSAGE_BYTES);
        const from = peer.received.length;
        const sentAt = performance.now();
        const entry = planned.get(p);
        if (entry) expectDelivery(entry);
        if (p.fragments.length === 1) peer.ws.send(p.body);
        else {
          p.fragments.forEach((fragment, i) => {
            peer.ws.send(fragment, { fin: i === p.fragments.length - 1 });
            if (p.pings && i < p.fragments.length - 1) peer.ws.ping('between fragments');
          });
        }
        framesSent += 1;
        const got = await peer.waitFor(from, (f) => isAnswer(peer, f, tagOwner), ANSWER_TIMEOUT_MS);
        const result: ProbeResult = {
          fuzzer: peer.name,
          probe: p,
          expected: outcome,
          verdict: 'unanswered',
          ms: performance.now() - sentAt,
        };
        if (got) {
          fuzzer.answered.add(got.index);
          result.answer = got.frame.text;
          if (outcome.kind === 'accepted') {
            const entry = expected.get(neutralized(outcome.text));
            if (entry) entry.confirmedAt = got.frame.at;
          }
          Object.assign(result, judge(peer, got.frame, outcome));
        }
        probeResults.push(result);
      }
    };

    const runOffenders = async (queue: Offense[], worker: number): Promise<void> => {
      for (let i = 0; queue.length > 0 && performance.now() < deadline; i += 1) {
        const o = queue.shift() as Offense;
        const name = `off-${worker}-${i}`;
        const result: OffenseResult = { offense: o, name, closedWith: undefined, answers: [] };
        offenseResults.push(result);
        framesSent += 1;
        try {
          if (o.raw) {
            const raw = await RawPeer.open(rt(), ROOM, name, ANSWER_TIMEOUT_MS);
            raw.send(o.raw);
            result.closedWith = await raw.closeCode;
            result.answers = raw.texts.filter((t) => !isRoomMessage(t));
            raw.destroy();
          } else {
            const peer = await join(rt(), ROOM, name, 'plain');
            for (const frame of o.frames ?? []) peer.ws.send(frame.data, { binary: frame.binary, fin: frame.fin });
            const closed = await Promise.race([peer.closed, sleep(ANSWER_TIMEOUT_MS).then(() => undefined)]);
            result.closedWith = closed?.code;
            result.answers = peer.received.map((f) => f.text).filter((t) => !isRoomMessage(t));
            if (!closed) peer.ws.terminate();
          }
        } catch (e: unknown) {
          result.answers.push(`could not connect: ${(e as Error).message}`);
        }
      }
    };

    const runValidSender = async (peer: Peer, index: number): Promise<void> => {
      const pace = rng.fork(100 + index);
      for (let seq = 0; (fuzzing || seq < MIN_VALID_PER_SENDER) && performance.now() < deadline; seq += 1) {
        const text = `valid ${peer.name} #${seq} ${VALID_DECORATIONS[seq % VALID_DECORATIONS.length]}`;
        const entry: Expected = { sender: peer.name, senderProtocol: peer.protocol, seq, v1Text: text, plainText: text };
        expectDelivery(entry);
        // A chat.v1 sender goes on once it has its confirmation (README: the message is stored).
        // A plain sender gets nothing back (the tutorial): it goes on, at a person's pace, once
        // everyone in the room has the message. So any reordering is the chat's, not the test's.
        const witnesses = peer.protocol === CHAT_V1 ? [peer] : [...valid, ...fuzzers.map((f) => f.peer)].filter((p) => p !== peer);
        const from = witnesses.map((w) => w.received.length);
        peer.ws.send(JSON.stringify({ action: 'sendmessage', message: text }));
        const acks = await Promise.all(
          witnesses.map((w, i) => w.waitFor(from[i] as number, (f) => receivedText(w, f) === text, ANSWER_TIMEOUT_MS)),
        );
        if (acks.some((ack) => ack === undefined)) ackTimeouts.push(`${peer.name} #${seq}`);
        else entry.confirmedAt = Math.max(...acks.map((ack) => ack?.frame.at ?? 0));
        await sleep(pace.int(20, 120));
      }
    };

    const queue = [...offenses];
    const senders = valid.map(runValidSender);
    await Promise.all([...fuzzers.map(runFuzzer), ...Array.from({ length: OFFENDER_WORKERS }, (_, w) => runOffenders(queue, w))]);
    fuzzing = false;
    await Promise.all(senders);
    campaignMs = performance.now() - started;

    // Everything expected has had time to arrive (then a little more, for duplicates).
    const settle = performance.now() + 20_000;
    while (performance.now() < settle && deliveryReport().lost > 0) await sleep(100);
    await sleep(500);
    printFigures();
  });

  after(async function () {
    this.timeout(60_000);
    await Promise.all(peers.map((p) => p.close()));
    if (runtime) {
      await drainDisconnects(runtime, 20_000);
      await runtime.close();
    }
  });

  // ------------------------------------------------------------------ judging

  /** A frame that answers the fuzzer's last probe: not presence, not another sender's room message. */
  function isAnswer(peer: Peer, frame: Received, tagOwner: ReadonlyMap<number, string>): boolean {
    if (peer.protocol === 'plain') return !isRoomMessage(frame.text);
    if (frame.text.startsWith('{"type":"presence"')) return false;
    if (frame.text.startsWith('{"type":"message"')) {
      const message = JSON.parse(frame.text) as { name: string; text: string };
      const tag = /^fz(\d+) /.exec(message.text);
      return message.name === peer.name || (tag !== null && tagOwner.get(Number(tag[1])) === peer.name);
    }
    return true;
  }

  /** The text of a room message as `peer` received it (undefined for any other frame). */
  function receivedText(peer: Peer, frame: Received): string | undefined {
    if (peer.protocol === 'plain') return isRoomMessage(frame.text) ? frame.text : undefined;
    return frame.text.startsWith('{"type":"message"') ? (JSON.parse(frame.text) as { text: string }).text : undefined;
  }

  /** Room messages as plain recipients see them: the valid conversation and accepted probes. */
  function isRoomMessage(text: string): boolean {
    return text.startsWith('valid ') || /^fz\d+ /.test(text) || text.startsWith('fz-offense-');
  }

  function judge(peer: Peer, frame: Received, outcome: Outcome): Pick<ProbeResult, 'verdict' | 'answeredAs'> {
    if (gatewayError(frame.text) !== undefined) return { verdict: 'crash', answeredAs: gatewayError(frame.text) };
    if (peer.protocol === 'plain') {
      const as = frame.text.startsWith('Error: ')
        ? 'error'
        : frame.text.startsWith(USAGE)
          ? 'info'
          : frame.text.startsWith(`In ${ROOM}: `)
            ? 'members'
            : frame.text.startsWith('[') || frame.text === `No messages in ${ROOM}.`
              ? 'history'
              : 'unknown';
      const wanted = outcome.kind === 'error' ? 'error' : outcome.kind;
      return { verdict: as === wanted ? 'ok' : 'mismatch', answeredAs: as === 'error' ? 'Error: (plain)' : as };
    }
    let answer: Record<string, unknown>;
    try {
      answer = JSON.parse(frame.text) as Record<string, unknown>;
    } catch {
      return { verdict: 'mismatch', answeredAs: 'not JSON' };
    }
    const type = String(answer.type);
    const answeredAs = type === 'error' ? String(answer.code) : type === 'message' ? 'accepted' : type;
    const ok = ((): boolean => {
      switch (outcome.kind) {
        case 'error':
          return type === 'error' && answer.code === outcome.code && typeof answer.message === 'string' && answer.message !== '';
        case 'info':
          return type === 'info' && answer.connectionID === connectionIds.get(peer.name);
        case 'history':
          return type === 'history' && answer.room === ROOM && (answer.messages as { room: string }[]).every((m) => m.room === ROOM);
        case 'members':
          return type === 'members' && answer.room === ROOM;
        case 'accepted':
          return type === 'message' && answer.name === peer.name && answer.room === ROOM && answer.text === neutralized(outcome.text);
      }
    })();
    return { verdict: ok ? 'ok' : 'mismatch', answeredAs };
  }

  interface Delivery {
    /** Ids of messages whose senders' later messages got lower ids (stored out of the order sent), or that had two ids. */
    misordered: string[];
    lost: number;
    duplicated: number;
    outOfOrder: number;
    unexpected: number;
    expectedPairs: number;
    received: number;
    problems: string[];
  }

  /** Who got which room message, how often and in what order, against who should have. */
  function deliveryReport(): Delivery {
    const report: Delivery = {
      misordered: [],
      lost: 0,
      duplicated: 0,
      outOfOrder: 0,
      unexpected: 0,
      expectedPairs: 0,
      received: 0,
      problems: [],
    };
    const recipients = [...valid, ...fuzzers.map((f) => f.peer)];
    const all = [...expected.values()];
    const ids = new Map<Expected, string>();
    for (const r of recipients) {
      const seen = new Map<Expected, number>();
      const lastSeq = new Map<string, number>();
      for (const frame of r.received) {
        let entry: Expected | undefined;
        if (r.protocol === CHAT_V1) {
          if (!frame.text.startsWith('{"type":"message"')) continue;
          const m = JSON.parse(frame.text) as { text: string; name: string; room: string };
          entry = expected.get(m.text);
          if (entry && (m.name !== entry.sender || m.room !== ROOM))
            report.problems.push(`${r.name} got ${JSON.stringify(m.text.slice(0, 40))} as ${m.name} in ${m.room}`);
          const id = (m as { id?: string }).id ?? '';
          if (entry && ids.has(entry) && ids.get(entry) !== id)
            report.misordered.push(`${entry.sender}'s #${entry.seq} has two ids: ${ids.get(entry)} and ${id}`);
          if (entry) ids.set(entry, id);
        } else {
          if (!isRoomMessage(frame.text)) continue;
          entry = expectedByPlainText.get(frame.text);
        }
        if (!entry) {
          report.unexpected += 1;
          report.problems.push(`${r.name} got an unexpected message ${JSON.stringify(frame.text.slice(0, 60))}`);
          continue;
        }
        report.received += 1;
        seen.set(entry, (seen.get(entry) ?? 0) + 1);
        const last = lastSeq.get(entry.sender);
        if (last !== undefined && entry.seq <= last) {
          report.outOfOrder += 1;
          const late = entry.confirmedAt === undefined ? '' : ` (${Math.round(frame.at - entry.confirmedAt)} ms after its confirmation)`;
          report.problems.push(`${r.name} got ${entry.sender}'s #${entry.seq} after #${last}${late}`);
        }
        lastSeq.set(entry.sender, Math.max(last ?? -1, entry.seq));
      }
      for (const entry of all) {
        const wanted = entry.sender === r.name && entry.senderProtocol === 'plain' ? 0 : 1;
        const got = seen.get(entry) ?? 0;
        report.expectedPairs += wanted;
        if (got < wanted) {
          report.lost += 1;
          if (report.problems.length < 50) report.problems.push(`${r.name} never got ${entry.sender}'s #${entry.seq}`);
        }
        if (got > wanted) {
          report.duplicated += got - wanted;
          report.problems.push(`${r.name} got ${entry.sender}'s #${entry.seq} ${got} times`);
        }
      }
    }
    const bySender = new Map<string, Expected[]>();
    for (const entry of all) bySender.set(entry.sender, [...(bySender.get(entry.sender) ?? []), entry]);
    for (const entries of bySender.values()) {
      const stored = entries.filter((e) => ids.has(e)).sort((a, b) => a.seq - b.seq);
      stored.forEach((e, i) => {
        const previous = stored[i - 1];
        if (previous && (ids.get(previous) as string) >= (ids.get(e) as string))
          report.misordered.push(`${e.sender}'s #${e.seq} (${ids.get(e)}) not after #${previous.seq} (${ids.get(previous)})`);
      });
    }
    return report;
  }

  function printFigures(): void {
    const byKind = new Map<string, number>();
    const byAnswer = new Map<string, number>();
    const verdicts = new Map<string, number>();
    for (const r of probeResults) {
      bump(byKind, r.probe.kind);
      bump(byAnswer, r.answeredAs ?? 'no answer');
      bump(verdicts, r.verdict);
    }
    const closes = new Map<string, number>();
    for (const o of offenseResults) {
      bump(byKind, o.offense.kind);
      bump(closes, `${o.offense.kind} → ${o.closedWith ?? 'not closed'}`);
    }
    const latencies = probeResults.map((r) => r.ms).sort((a, b) => a - b);
    const d = deliveryReport();
    const crashes = probeResults.filter((r) => r.verdict === 'crash').length + gatewayFrames().length;
    const validNames = new Set(valid.map((p) => p.name));
    const validSent = [...expected.values()].filter((e) => validNames.has(e.sender)).length;
    console.log(
      figures(`fuzz figures (seed 0x${SEED.toString(16)}, room ${ROOM})`, [
        [
          'frames tried',
          `${framesSent.toLocaleString('en-US')} in ${seconds(campaignMs)} (${Math.round(framesSent / (campaignMs / 1000))}/s), from ${fuzzers.length} fuzzers and ${offenseResults.length} offender connections`,
        ],
        ['frames by kind', tally(byKind)],
        ['answers', tally(byAnswer)],
        ['verdicts', tally(verdicts)],
        [
          'answer latency',
          `p50 ${Math.round(percentile(latencies, 50))} ms, p99 ${Math.round(percentile(latencies, 99))} ms, max ${Math.round(latencies[latencies.length - 1] ?? 0)} ms`,
        ],
        ['offenders closed', tally(closes)],
        [
          'valid messages',
          `${validSent} from alice, bob, carol, dave; ${expected.size - validSent} accepted probes; ${ackTimeouts.length} not confirmed in time`,
        ],
        ['deliveries', `expected ${d.expectedPairs.toLocaleString('en-US')}, received ${d.received.toLocaleString('en-US')}`],
        ['crashes', crashes],
        ['lost', d.lost],
        ['duplicated', d.duplicated],
        ['out of order', d.outOfOrder],
        [
          'function errors',
          tally(
            new Map(
              Object.entries(rt().stats())
                .filter(([, s]) => s.errors > 0)
                .map(([id, s]) => [id, s.errors]),
            ),
          ),
        ],
      ]),
    );
  }

  /** API Gateway error frames anyone received. */
  function gatewayFrames(): string[] {
    return peers.flatMap((p) => p.received.filter((f) => gatewayError(f.text) !== undefined).map((f) => `${p.name}: ${f.text}`));
  }

  const show = (items: readonly string[], n = 10): string =>
    `${items.length} (first ${Math.min(n, items.length)}):\n  ${items.slice(0, n).join('\n  ')}`;
  const describeProbe = (r: ProbeResult): string =>
    `${r.fuzzer} ${r.probe.kind} ${JSON.stringify(r.probe.body.slice(0, 100))}${r.probe.body.length > 100 ? '…' : ''} expected ${JSON.stringify(r.expected).slice(0, 80)}, got ${r.verdict}: ${JSON.stringify(r.answer?.slice(0, 160))}`;

  // ------------------------------------------------------------------ checks

  it(`tried at least ${TOTAL_FRAMES.toLocaleString('en-US')} hostile frames of every kind, from ${V1_FUZZERS + PLAIN_FUZZERS} fuzzers and one connection per offense`, () => {
    expect(framesSent, 'frames sent (the campaign ran out of time?)').to.be.at.least(TOTAL_FRAMES);
    const kinds = new Set([...probeResults.map((r) => r.probe.kind), ...offenseResults.map((o) => o.offense.kind)]);
    expect([...kinds].sort()).to.include.members([...PROBE_KINDS, ...Object.keys(OFFENSES_PER_10K)]);
  });

  it('no "Internal server error" (nor any API Gateway error frame) reached anyone, and no function invocation failed', () => {
    expect(gatewayFrames(), `API Gateway error frames: ${show(gatewayFrames())}`).to.deep.equal([]);
    const failed = Object.entries(rt().stats()).filter(([, s]) => s.errors > 0);
    expect(failed, 'functions with failed invocations').to.deep.equal([]);
  });

  it('answered every probe as README documents it (reference model): error code, info, history, members or the stored message', () => {
    const wrong = probeResults.filter((r) => r.verdict !== 'ok');
    expect(wrong.map(describeProbe), `probes answered wrongly: ${show(wrong.map(describeProbe))}`).to.deep.equal([]);
    expect(probeResults.length, 'probes judged').to.equal(fuzzers.reduce((n, f) => n + f.probes.length, 0));
  });

  it('answered each probe to its sender only, once: no fuzzer and no valid client got an answer it did not ask for', () => {
    const extra: string[] = [];
    for (const f of fuzzers) {
      f.peer.received.forEach((frame, i) => {
        if (f.answered.has(i)) return;
        const isBroadcast =
          f.peer.protocol === 'plain'
            ? isRoomMessage(frame.text)
            : frame.text.startsWith('{"type":"presence"') || frame.text.startsWith('{"type":"message"');
        if (!isBroadcast) extra.push(`${f.peer.name}: ${frame.text.slice(0, 120)}`);
      });
    }
    for (const p of valid) {
      p.received.forEach((frame, i) => {
        const whoamiAnswer = whoamiAnswers.get(p) === i;
        const roomTraffic = p.protocol === CHAT_V1 ? /^\{"type":"(message|presence)"/.test(frame.text) : isRoomMessage(frame.text);
        if (!whoamiAnswer && !roomTraffic) extra.push(`${p.name}: ${frame.text.slice(0, 120)}`);
      });
    }
    expect(extra, `frames nobody asked for: ${show(extra)}`).to.deep.equal([]);
  });

  it('delivered every valid message (and every accepted probe) exactly once to every member of the room, as its sender and room', () => {
    const d = deliveryReport();
    expect(ackTimeouts, 'valid messages not confirmed (or not received by everyone) within 20 s').to.deep.equal([]);
    const problems = d.problems.filter((p) => !/ after #\d+( \(.*\))?$/.test(p));
    expect({ lost: d.lost, duplicated: d.duplicated, unexpected: d.unexpected }, show(problems, 20)).to.deep.equal({
      lost: 0,
      duplicated: 0,
      unexpected: 0,
    });
    expect(problems, show(problems)).to.deep.equal([]);
    expect(d.received - d.duplicated, 'deliveries').to.equal(d.expectedPairs);
  });

  it('kept per-sender order: stored in the order sent (ids), and received in that order by every member, a chat.v1 sender sending each message once the previous was confirmed', () => {
    const d = deliveryReport();
    expect(d.misordered, show(d.misordered)).to.deep.equal([]);
    const inversions = d.problems.filter((p) => / after #\d+( \(.*\))?$/.test(p));
    expect(inversions, `received out of per-sender order: ${show(inversions, 20)}`).to.deep.equal([]);
  });

  it("closed only the offenders, each with API Gateway's code: 1003 binary, 1009 over 32 KB / 128 KB, 1007 invalid UTF-8, 1002 protocol violation", () => {
    const wrong = offenseResults
      .filter((o) => o.closedWith !== o.offense.expectedClose || o.answers.length > 0)
      .map(
        (o) =>
          `${o.name} ${o.offense.kind} (${o.offense.label}): closed ${o.closedWith ?? 'never'}, expected ${o.offense.expectedClose}${o.answers.length ? `; answered ${o.answers[0]?.slice(0, 80)}` : ''}`,
      );
    expect(wrong, `offenders: ${show(wrong)}`).to.deep.equal([]);
    expect(offenseResults.length, 'every offense was tried').to.equal(
      Object.values(OFFENSES_PER_10K).reduce((n, k) => n + Math.max(1, Math.round((k * TOTAL_FRAMES) / 10_000)), 0),
    );
    const closed = [...valid, ...others, ...fuzzers.map((f) => f.peer)]
      .filter((p) => !p.open)
      .map((p) => `${p.name}: ${JSON.stringify(p.closedWith)}`);
    expect(closed, 'connections that broke no rule but were closed').to.deep.equal([]);
  });

  it("let no control character or bidi override reach any recipient's message text, and kept every sender's connect-time name and room", () => {
    const bad: string[] = [];
    for (const p of [...valid, ...fuzzers.map((f) => f.peer)]) {
      for (const frame of p.received) {
        if (p.protocol === 'plain') {
          if (isRoomMessage(frame.text) && FORBIDDEN_IN_TEXT.test(frame.text))
            bad.push(`${p.name}: ${JSON.stringify(frame.text.slice(0, 80))}`);
          continue;
        }
        if (!frame.text.startsWith('{"type":"message"')) continue;
        const m = JSON.parse(frame.text) as Record<string, unknown>;
        if (FORBIDDEN_IN_TEXT.test(String(m.text))) bad.push(`${p.name}: ${JSON.stringify(m.text)}`);
        // prevId: the room's previous message (absent on a room's first), never one a client chose.
        const fields = Object.keys(m)
          .filter((k) => k !== 'prevId')
          .sort()
          .join();
        if (fields !== 'id,name,room,sentAt,text,type' || (m.prevId !== undefined && !(String(m.prevId) < String(m.id)))) {
          bad.push(`${p.name}: message fields ${Object.keys(m).join()}`);
        }
        const owner = expected.get(String(m.text));
        if (m.room !== ROOM || (owner && owner.sender !== m.name))
          bad.push(`${p.name}: ${String(m.text).slice(0, 30)} as ${String(m.name)} in ${String(m.room)}`);
      }
    }
    expect(bad, show(bad)).to.deep.equal([]);
    expect(
      probeResults.filter((r) => r.probe.kind === 'smuggled-fields' || r.probe.kind === 'hostile-text').length,
      'identity and escape probes were sent',
    ).to.be.above(0);
  });

  it('kept the rooms isolated: the other room heard nothing, and no history answer held its messages', () => {
    const leaked = others.flatMap((p) =>
      p.received
        .filter((f) => f.text.includes('valid ') || /fz\d+ /.test(f.text) || f.text.includes(ROOM))
        .map((f) => `${p.name}: ${f.text.slice(0, 80)}`),
    );
    expect(leaked, show(leaked)).to.deep.equal([]);
    const secretSeen = peers
      .filter((p) => !others.includes(p))
      .flatMap((p) =>
        p.received
          .filter((f) => secrets.some((s) => f.text.includes(s.text) || f.text.includes(s.id)))
          .map((f) => `${p.name}: ${f.text.slice(0, 80)}`),
      );
    expect(secretSeen, show(secretSeen)).to.deep.equal([]);
    expect(
      probeResults.filter((r) => r.probe.kind === 'cross-room-cursor' && r.verdict === 'ok').length,
      "history probes with the other room's ids",
    ).to.be.above(0);
  });

  it("never showed anyone another connection's id", () => {
    const ids = [...connectionIds.entries()];
    expect(ids.length, 'connection ids learnt').to.equal(valid.length + others.length + fuzzers.length);
    const seen: string[] = [];
    for (const p of peers) {
      for (const frame of p.received) {
        for (const [name, id] of ids)
          if (name !== p.name && frame.text.includes(id)) seen.push(`${p.name} saw ${name}'s id in ${frame.text.slice(0, 80)}`);
      }
    }
    expect(seen, show(seen)).to.deep.equal([]);
  });

  it('removed every closed offender from the room: members lists none of them (once their $disconnect ran)', async () => {
    const alice = valid[0] as Peer;
    const deadline = performance.now() + 20_000;
    let names: string[];
    do {
      const from = alice.received.length;
      alice.ws.send('{"action":"members"}');
      const got = await alice.waitFor(from, (f) => f.text.startsWith('{"type":"members"'), ANSWER_TIMEOUT_MS);
      expect(got, 'members answer').to.not.equal(undefined);
      names = (JSON.parse(got?.frame.text ?? '{}') as { members: { name: string }[] }).members.map((m) => m.name);
      if (!names.some((n) => n.startsWith('off-'))) break;
      await sleep(500);
    } while (performance.now() < deadline);
    expect(
      names.filter((n) => n.startsWith('off-')),
      'offenders still listed after 20 s',
    ).to.deep.equal([]);
    expect(names).to.include.members(['alice', 'bob', 'carol', 'dave', ...fuzzers.map((f) => f.peer.name)]);
  });

  it('keeps serving afterwards: a fresh chat.v1 and a fresh plain client join a room and chat, and the fuzzed room still works', async () => {
    const zoe = await track(join(rt(), NEXT_ROOM, 'zoe', CHAT_V1));
    const yan = await track(join(rt(), NEXT_ROOM, 'yan', 'plain'));
    const fromZoe = zoe.received.length;
    zoe.ws.send(JSON.stringify({ action: 'sendmessage', message: 'still here?' }));
    expect(await yan.waitFor(0, (f) => f.text === 'still here?', ANSWER_TIMEOUT_MS), "yan got zoe's message").to.not.equal(undefined);
    yan.ws.send(JSON.stringify({ action: 'sendmessage', message: 'yes' }));
    expect(
      await zoe.waitFor(fromZoe, (f) => f.text.includes('"text":"yes"') && f.text.includes('"name":"yan"'), ANSWER_TIMEOUT_MS),
      "zoe got yan's message",
    ).to.not.equal(undefined);
    const [alice, , carol] = valid as [Peer, Peer, Peer];
    const fromCarol = carol.received.length;
    alice.ws.send(JSON.stringify({ action: 'sendmessage', message: 'after the storm' }));
    expect(
      await carol.waitFor(fromCarol, (f) => f.text === 'after the storm', ANSWER_TIMEOUT_MS),
      "carol got alice's message",
    ).to.not.equal(undefined);
  });
});
