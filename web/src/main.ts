/** Wiring: the join form, the composer, and one ChatSession per joined room. */
import { defaultWsUrl, forgetJoin, readConfig, rememberJoin, urlProblem } from './config';
import { byId } from './dom';
import { nameProblem, roomProblem, utf8Length, normalizeText } from './protocol';
import { ChatSession } from './session';
import { DomChatView } from './view';

const joinView = byId('join-view');
const joinForm = byId<HTMLFormElement>('join-form');
const roomInput = byId<HTMLInputElement>('room');
const nameInput = byId<HTMLInputElement>('name');
const serverDetails = byId<HTMLDetailsElement>('server');
const serverInput = byId<HTMLInputElement>('server-url');
const chatView = byId('chat-view');
const composer = byId<HTMLFormElement>('composer');
const messageInput = byId<HTMLTextAreaElement>('message');
const counter = byId('counter');

let session: ChatSession | null = null;
let view: DomChatView | null = null;

function showFieldError(input: HTMLInputElement, problem: string | null): boolean {
  const error = byId(`${input.id}-error`);
  error.textContent = problem ?? '';
  error.hidden = problem === null;
  input.setAttribute('aria-invalid', String(problem !== null));
  return problem === null;
}

function join(): void {
  const room = roomInput.value.trim();
  const name = nameInput.value.trim();
  const wsUrl = serverInput.value.trim();
  const checks: [HTMLInputElement, string | null][] = [
    [roomInput, roomProblem(room)],
    [nameInput, nameProblem(name)],
    [serverInput, urlProblem(wsUrl)],
  ];
  const firstBad = checks.find(([input, problem]) => !showFieldError(input, problem));
  if (firstBad) {
    if (firstBad[0] === serverInput) serverDetails.open = true;
    firstBad[0].focus();
    return;
  }
  const isDefaultUrl = wsUrl === defaultWsUrl(window.location);
  rememberJoin(room, name, isDefaultUrl ? null : wsUrl);

  view = new DomChatView(name, (localId) => session?.retry(localId));
  view.reset();
  session = new ChatSession({ wsUrl, room, name }, view);
  byId('room-title').textContent = `#${room}`;
  byId('me').textContent = `as ${name}`;
  messageInput.placeholder = `Message #${room}`;
  document.title = `#${room} · Chat`;
  joinView.hidden = true;
  chatView.hidden = false;
  session.start();
  messageInput.focus();
}

function leave(): void {
  session?.stop();
  session = null;
  forgetJoin();
  document.body.dataset.state = 'idle';
  delete document.body.dataset.synced;
  document.title = 'Chat';
  chatView.hidden = true;
  joinView.hidden = false;
  nameInput.focus();
}

function updateCounter(): void {
  const limit = session?.maxMessageBytes ?? 4096;
  const bytes = utf8Length(normalizeText(messageInput.value));
  const over = bytes > limit;
  counter.textContent = bytes > limit * 0.75 ? `${bytes} / ${limit} bytes${over ? ': too long to send' : ''}` : '';
  counter.classList.toggle('over', over);
  messageInput.setAttribute('aria-invalid', String(over));
  messageInput.style.height = 'auto';
  messageInput.style.height = `${Math.min(messageInput.scrollHeight, 200)}px`;
}

function send(): void {
  if (!session) return;
  const problem = session.problemWith(messageInput.value);
  if (problem !== null) {
    if (messageInput.value.trim() !== '') {
      counter.textContent = problem;
      counter.classList.add('over');
    }
    return;
  }
  session.send(messageInput.value);
  messageInput.value = '';
  updateCounter();
  messageInput.focus();
}

joinForm.addEventListener('submit', (event) => {
  event.preventDefault();
  join();
});
for (const input of [roomInput, nameInput, serverInput]) {
  input.addEventListener('input', () => {
    if (input.getAttribute('aria-invalid') === 'true') showFieldError(input, null);
  });
}
composer.addEventListener('submit', (event) => {
  event.preventDefault();
  send();
});
messageInput.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    send();
  }
});
messageInput.addEventListener('input', updateCounter);
byId('leave').addEventListener('click', leave);
byId('retry-now').addEventListener('click', () => session?.retryNow());
byId('load-older').addEventListener('click', () => session?.loadOlder());

const config = readConfig();
roomInput.value = config.room;
nameInput.value = config.name;
serverInput.value = config.wsUrl;
serverDetails.open = config.customUrl || config.wsUrl === '';
if (config.autoJoin) join();
else (config.name === '' ? nameInput : roomInput).focus();

/** A small hook for tests and debugging: `chat.drop()` simulates a network drop. */
Object.assign(window, {
  chat: {
    drop: () => session?.drop(),
    get state() {
      return document.body.dataset.state;
    },
  },
});
