/** Command line of `npm run bench`, and how much each mode measures. */

export interface Plan {
  quick: boolean;
  /** Measure nothing: render docs/PERFORMANCE.md again from .aws-sam/bench/last-run.json. */
  render: boolean;
  /** Write docs/PERFORMANCE.md and the chart. */
  write: boolean;
  /** Build with `sam build` when it is installed (else esbuild, as local/src/lambda/build.ts does). */
  sam: boolean;
  /** Recipients per room for the latency series. */
  sizes: number[];
  /** Measured messages per room size (after `warmup`), for the project and each floor. */
  messages: (size: number) => number;
  warmup: number;
  /**
   * Rounds of warm-up before the first room size's series, on top of its `warmup`: V8 compiles a
   * function's hot code only after it has run a while, and the first size is the first traffic the
   * runtime, its sandboxes and the reference posters see.
   */
  jitWarmup: number;
  /** Also measure the levers of lever.ts (X-Ray hook off, one sandbox per core) in the same rounds. */
  lever: boolean;
  /** The cost comparison: `rooms` rooms of `roomSize` connections. */
  cost: { rooms: number; roomSize: number; messages: number };
  throughput: { recipients: number; senders: number; window: number; seconds: number; rounds: number };
  queue: { recipients: number; threshold: number; shardSize: number; messages: number; shardRuns: number };
  coldStarts: number;
  /** Memory (memory.ts): the runtime with `connections` in `rooms`, a sandbox's fan-out to `fanoutRecipients`. */
  memory: { connections: number; rooms: number; fanoutRecipients: number };
  /** Sandboxes per function in the local runtime (undefined: its default, one per core). */
  maxConcurrency?: number;
}

export const USAGE = `usage: npm run bench [-- --quick] [-- --write | --no-write] [-- --no-sam] [-- --render]

  (default)   full run (several minutes); writes docs/PERFORMANCE.md and docs/fanout-latency.svg
  --quick     smaller counts, under a minute (what CI runs); writes nothing unless --write
  --write     write the report even in --quick mode (it says it is a quick run)
  --no-write  print the table only
  --no-sam    bundle with esbuild as the local runtime does, even when sam is installed
  --render    measure nothing; write the report again from the last full run's .aws-sam/bench/last-run.json
`;

export function parseArgs(argv: readonly string[]): Plan {
  const known = new Set(['--quick', '--write', '--no-write', '--no-sam', '--render', '--help', '-h']);
  const unknown = argv.filter((a) => !known.has(a));
  if (unknown.length > 0 || argv.includes('--help') || argv.includes('-h')) {
    process.stderr.write(unknown.length ? `unknown option: ${unknown.join(' ')}\n${USAGE}` : USAGE);
    process.exit(unknown.length ? 2 : 0);
  }
  const quick = argv.includes('--quick');
  const write = argv.includes('--write') || (!quick && !argv.includes('--no-write'));
  const sam = !argv.includes('--no-sam');
  const render = argv.includes('--render');
  if (quick) {
    return {
      quick,
      render,
      write,
      sam,
      sizes: [10, 30, 100],
      messages: () => 10,
      warmup: 2,
      jitWarmup: 0,
      lever: false,
      cost: { rooms: 10, roomSize: 10, messages: 8 },
      throughput: { recipients: 30, senders: 3, window: 2, seconds: 2, rounds: 1 },
      queue: { recipients: 60, threshold: 15, shardSize: 20, messages: 5, shardRuns: 3 },
      coldStarts: 1,
      memory: { connections: 200, rooms: 2, fanoutRecipients: 100 },
      maxConcurrency: 2,
    };
  }
  return {
    quick,
    render,
    write: write || render,
    sam,
    sizes: [10, 100, 1000],
    // Small rooms are quick to measure and their p50 moves most from run to run: more messages there.
    messages: (size) => (size >= 1000 ? 30 : size >= 100 ? 100 : 300),
    warmup: 5,
    jitWarmup: 150,
    lever: true,
    cost: { rooms: 10, roomSize: 100, messages: 50 },
    throughput: { recipients: 100, senders: 8, window: 2, seconds: 3, rounds: 5 },
    queue: { recipients: 1000, threshold: 100, shardSize: 100, messages: 20, shardRuns: 20 },
    coldStarts: 9,
    memory: { connections: 1000, rooms: 10, fanoutRecipients: 1000 },
  };
}
