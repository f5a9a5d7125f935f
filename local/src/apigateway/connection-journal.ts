/**
 * The connections a runtime with a data directory (--data-dir) holds, written down beside its
 * store as they open and once their $disconnect has run, so that a runtime started again on
 * that directory knows which connections the one before it left behind when it died (SIGKILL,
 * a crash, a power cut): none of their sockets survive a process, so each of them is over, and
 * API Gateway would have run its $disconnect. The runtime runs it at start-up instead
 * (WebSocketGateway.endOrphans), so the app forgets them as it forgets any closed connection.
 *
 * One JSON line per event, appended synchronously (a line is in the OS's hands before the
 * client hears it is connected, so a kill right after loses nothing); the file is rewritten
 * with the connections still open whenever the closed ones make up most of it.
 */
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConnectionInfo } from './events.js';

type Line = { open: ConnectionInfo } | { closed: string };

/** Lines beyond twice the open connections (and this many) make the journal rewrite itself. */
const COMPACT_AFTER = 1000;

export class ConnectionJournal {
  private readonly open = new Map<string, ConnectionInfo>();
  private lines = 0;

  private constructor(private readonly path: string) {}

  /**
   * The journal of a data directory, and the connections it says were open when the last
   * process stopped (its orphans). They stay in the journal until their $disconnect has run.
   */
  static load(dataDir: string): { journal: ConnectionJournal; orphans: ConnectionInfo[] } {
    const journal = new ConnectionJournal(join(dataDir, 'connections.jsonl'));
    if (existsSync(journal.path)) {
      for (const text of readFileSync(journal.path, 'utf8').split('\n')) {
        const line = parse(text);
        if (line && 'open' in line) journal.open.set(line.open.connectionId, line.open);
        else if (line) journal.open.delete(line.closed);
      }
    }
    const orphans = [...journal.open.values()];
    journal.rewrite();
    return { journal, orphans };
  }

  /** A connection the gateway accepted ($connect answered 2xx). */
  opened(info: ConnectionInfo): void {
    this.open.set(info.connectionId, info);
    this.append({ open: info });
  }

  /** A connection whose $disconnect has run. */
  closed(connectionId: string): void {
    if (!this.open.delete(connectionId)) return;
    this.append({ closed: connectionId });
    if (this.lines > COMPACT_AFTER + 2 * this.open.size) this.rewrite();
  }

  private append(line: Line): void {
    appendFileSync(this.path, `${JSON.stringify(line)}\n`);
    this.lines += 1;
  }

  /** The open connections alone, replacing the file in one rename. */
  private rewrite(): void {
    const text = [...this.open.values()].map((info) => `${JSON.stringify({ open: info })}\n`).join('');
    writeFileSync(`${this.path}.tmp`, text);
    renameSync(`${this.path}.tmp`, this.path);
    this.lines = this.open.size;
  }
}

/** A line as written, or undefined for anything else (a line cut short by the kill). */
function parse(text: string): Line | undefined {
  if (text.trim() === '') return undefined;
  try {
    const line = JSON.parse(text) as Partial<{ open: Partial<ConnectionInfo>; closed: unknown }>;
    if (typeof line.closed === 'string') return { closed: line.closed };
    if (line.open && typeof line.open.connectionId === 'string') return { open: line.open as ConnectionInfo };
  } catch {
    // a partial last line: the connection it began to record never heard it was accepted
  }
  return undefined;
}
