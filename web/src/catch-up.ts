/**
 * The history half of a visit to a room: the first page on join, the catch-up after every
 * reconnect (`history` `after` the last contiguous id, page after page while `hasMore`), older
 * pages on demand, and the gaps a live message's `prevId` shows. It asks; the session adds
 * what comes back to the timeline and is told when the visit is caught up.
 */
import { BEGINNING, request } from './protocol';
import type { ChatMessage, ClientRequest } from './protocol';
import type { Timeline } from './timeline';

const FIRST_PAGE = 50;
const CATCH_UP_PAGE = 100;
/** How far before the newest message a catch-up starts, for deliveries a drop cut short. */
const CATCH_UP_MARGIN_MS = 10_000;

type HistoryMode = 'latest' | 'after' | 'before';

/** What a page of history means for the visit. */
export interface PageOutcome {
  /** The visit holds everything up to now (the catch-up is over). */
  synced: boolean;
  /** After the first page or an older one: whether there is older history still. */
  hasOlder?: boolean;
}

export class CatchUp {
  /** Everything up to this id is held (the end of the last completed history chain). */
  private cursor: string | undefined;
  private inFlight: HistoryMode | null = null;
  /** The prevId a gap catch-up is looking for, and those history did not have (expired, or never stored). */
  private soughtGap: string | undefined;
  private readonly settledGaps = new Set<string>();

  constructor(
    private readonly timeline: Timeline,
    private readonly send: (body: ClientRequest) => boolean,
  ) {}

  /** Whether a history request is awaiting its answer. */
  get loading(): boolean {
    return this.inFlight !== null;
  }

  /** A connection opened: the room's latest page on the first, else everything after the cursor. */
  begin(): void {
    this.inFlight = null;
    if (this.cursor === undefined) this.ask('latest', request.history(FIRST_PAGE));
    else this.ask('after', request.history(CATCH_UP_PAGE, { after: this.cursor }));
  }

  /**
   * The connection went. Caught up, the next catch-up starts safely before anything whose
   * delivery the drop may have cut short; otherwise where the last one would have.
   */
  end(wasSynced: boolean): void {
    if (wasSynced) {
      const safe = this.timeline.idBefore(CATCH_UP_MARGIN_MS);
      if (safe !== undefined && (this.cursor === undefined || safe > this.cursor)) this.cursor = safe;
    }
    this.inFlight = null;
  }

  /** The page before the oldest message held. */
  older(): void {
    const oldest = this.timeline.oldestId;
    if (this.inFlight || oldest === undefined) return;
    this.ask('before', request.history(FIRST_PAGE, { before: oldest }));
  }

  /** A page of history arrived (its messages already in the timeline). */
  page(messages: ChatMessage[], hasMore: boolean): PageOutcome {
    const mode = this.inFlight;
    this.inFlight = null;
    const last = messages[messages.length - 1];
    if ((mode === 'before' || mode === 'latest') && !hasMore) this.timeline.holdsFromBeginning();
    if (mode === 'before') return { synced: false, hasOlder: hasMore };
    if (last && (this.cursor === undefined || last.id > this.cursor)) this.cursor = last.id;
    // An empty room: everything from now on is new, so a catch-up can start at the beginning.
    if (mode === 'latest' && !last && !hasMore) this.cursor ??= BEGINNING;
    if (mode === 'after' && hasMore && last) {
      this.ask('after', request.history(CATCH_UP_PAGE, { after: last.id }));
      return { synced: false };
    }
    return { synced: mode !== null, ...(mode === 'latest' && { hasOlder: hasMore }) };
  }

  /** The server refused the history asked for: whether that was a catch-up (the visit goes on as caught up). */
  refused(): boolean {
    const mode = this.inFlight;
    this.inFlight = null;
    return mode !== null && mode !== 'before';
  }

  /**
   * Caught up: a gap looked for and not found is not looked for again. Then a message held whose
   * previous one (`prevId`) is not shows the visit missed that one live (a post that failed): it
   * reads history after the newest id held before it, at once.
   */
  seekGaps(afterCatchUp: boolean): void {
    if (afterCatchUp) {
      if (this.soughtGap !== undefined && !this.timeline.has(this.soughtGap)) this.settledGaps.add(this.soughtGap);
      this.soughtGap = undefined;
    }
    if (this.inFlight) return;
    const gap = this.timeline.firstGap(this.settledGaps)?.prevId;
    // Nothing held before it: the room's first messages were missed, read from the beginning.
    const after =
      gap === undefined ? undefined : (this.timeline.idBeforeId(gap) ?? (this.timeline.heldFromBeginning ? BEGINNING : undefined));
    if (gap === undefined || after === undefined) return;
    this.soughtGap = gap;
    this.ask('after', request.history(CATCH_UP_PAGE, { after }));
  }

  private ask(mode: HistoryMode, body: ClientRequest): void {
    if (this.send(body)) this.inFlight = mode;
  }
}
