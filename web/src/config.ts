/** What the page's own URL asks for: `?room=…&name=…` (joins at once when both are given) and `?url=wss://…`. */
import { DEFAULT_ROOM } from './protocol';

export interface PageConfig {
  room: string;
  name: string;
  /** The WebSocket API URL, `ws(s)://<this host>/production` unless `?url=` says otherwise. */
  wsUrl: string;
  /** Whether `?url=` was given (it is then kept in the address when joining). */
  customUrl: boolean;
  autoJoin: boolean;
}

const NAME_KEY = 'chat.name';

export function readConfig(location: Location = window.location): PageConfig {
  const params = new URLSearchParams(location.search);
  const room = params.get('room');
  const name = params.get('name');
  const url = params.get('url');
  return {
    room: room ?? DEFAULT_ROOM,
    name: name ?? rememberedName(),
    wsUrl: url ?? defaultWsUrl(location),
    customUrl: url !== null,
    autoJoin: room !== null && name !== null,
  };
}

export function defaultWsUrl(location: Location): string {
  if (location.protocol !== 'http:' && location.protocol !== 'https:') return '';
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/production`;
}

/** Why a WebSocket URL cannot be used, or null. */
export function urlProblem(url: string): string | null {
  if (url === '') return 'Enter the WebSocket URL (wss://…/production).';
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'ws:' || parsed.protocol === 'wss:' ? null : 'The URL must start with wss:// or ws://.';
  } catch {
    return 'That is not a URL.';
  }
}

/**
 * Puts the joined room and name (and a custom URL) in the address, so a reload rejoins; no
 * name when the sign-in gives it (Cognito), and never anything of a sign-in but where it is.
 */
export function rememberJoin(room: string, name: string | null, wsUrl: string | null): void {
  const params = new URLSearchParams(window.location.search);
  for (const oneTime of ['code', 'state', 'error', 'error_description']) params.delete(oneTime);
  params.set('room', room);
  if (name !== null) params.set('name', name);
  else params.delete('name');
  if (wsUrl !== null) params.set('url', wsUrl);
  else params.delete('url');
  history.replaceState(null, '', `?${params.toString()}`);
  if (name === null) return;
  try {
    localStorage.setItem(NAME_KEY, name);
  } catch {
    // Storage can be unavailable (private mode, file://); remembering is a nicety.
  }
}

/** Takes the name out of the address, so a reload shows the form again. */
export function forgetJoin(): void {
  const params = new URLSearchParams(window.location.search);
  params.delete('name');
  history.replaceState(null, '', params.size > 0 ? `?${params.toString()}` : window.location.pathname);
}

function rememberedName(): string {
  try {
    return localStorage.getItem(NAME_KEY) ?? '';
  } catch {
    return '';
  }
}
