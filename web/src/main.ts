/** Wiring: the join form (and its sign-in), the composer, and one ChatSession per joined room. */
import { defaultWsUrl, forgetJoin, readConfig, rememberJoin, urlProblem } from './config';
import { byId } from './dom';
import { nameProblem, roomProblem, utf8Length, normalizeText } from './protocol';
import { ChatSession } from './session';
import { CognitoSignIn, LocalSignIn, isSignInReturn, signInMethod, type Credentials, type SignInMethod } from './sign-in';
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
const nameField = byId('name-field');
const signInHint = byId('sign-in-hint');
const joinButton = byId<HTMLButtonElement>('join-button');

let session: ChatSession | null = null;
let view: DomChatView | null = null;

function showFieldError(input: HTMLInputElement, problem: string | null): boolean {
  const error = byId(`${input.id}-error`);
  error.textContent = problem ?? '';
  error.hidden = problem === null;
  input.setAttribute('aria-invalid', String(problem !== null));
  return problem === null;
}

/** The form as a sign-in needs it: with Cognito the name comes from the account. */
function showSignIn(method: SignInMethod): void {
  nameField.hidden = method.kind === 'cognito';
  // The sign-in host is shown before the page leaves for it: a link could name any host.
  joinButton.textContent = method.kind === 'cognito' ? `Sign in at ${new URL(method.domain).host} and join` : 'Join';
  signInHint.hidden = method.kind === 'none';
  signInHint.textContent =
    method.kind === 'cognito'
      ? 'You sign in with your account; others see the name it gives.'
      : 'This server signs you in: others see this name, and your messages are told apart from others of the same name.';
}

/** Shows each field's problem up to the first one, which gets the focus: false when there is one. */
function fieldsValid(...checks: [HTMLInputElement, string | null][]): boolean {
  const firstBad = checks.find(([input, problem]) => !showFieldError(input, problem));
  if (!firstBad) return true;
  if (firstBad[0] === serverInput) serverDetails.open = true;
  firstBad[0].focus();
  return false;
}

async function join(): Promise<void> {
  const room = roomInput.value.trim();
  const name = nameInput.value.trim();
  const wsUrl = serverInput.value.trim();
  // The room and the address are checked at once, before the server is asked how to sign in;
  // the name after, as Cognito names its users itself.
  if (!fieldsValid([roomInput, roomProblem(room)], [serverInput, urlProblem(wsUrl)])) return;
  const method = await signInMethod(new URLSearchParams(window.location.search), wsUrl);
  showSignIn(method);
  if (method.kind !== 'cognito' && !fieldsValid([nameInput, nameProblem(name)])) return;
  if (method.kind === 'cognito') return CognitoSignIn.begin(method, room, wsUrl); // leaves for the sign-in pages
  let credentials: Credentials | undefined;
  if (method.kind === 'local') {
    try {
      credentials = await LocalSignIn.start(method.endpoint, name, localGroups());
    } catch (e: unknown) {
      showFieldError(nameInput, e instanceof Error ? e.message : 'Sign-in failed.');
      return;
    }
  }
  enter(room, name, wsUrl, credentials);
}

/** `?groups=moderators` (comma-separated): the groups a local sign-in asks the local issuer for. */
function localGroups(): string[] {
  const groups = new URLSearchParams(window.location.search).get('groups') ?? '';
  return groups
    .split(',')
    .map((group) => group.trim())
    .filter((group) => group !== '');
}

/** Back from Cognito's sign-in pages with a one-time code: exchanges it and joins what was asked for. */
async function returnFromSignIn(params: URLSearchParams): Promise<void> {
  try {
    const { credentials, method, room, wsUrl } = await CognitoSignIn.complete(params);
    history.replaceState(null, '', `?${new URLSearchParams({ signIn: method.domain, clientId: method.clientId }).toString()}`);
    roomInput.value = room;
    serverInput.value = wsUrl;
    showSignIn(method);
    enter(room, credentials.name, wsUrl, credentials);
  } catch (e: unknown) {
    history.replaceState(null, '', window.location.pathname);
    showFieldError(roomInput, e instanceof Error ? e.message : 'Sign-in failed.');
  }
}

function enter(room: string, name: string, wsUrl: string, credentials: Credentials | undefined): void {
  const isDefaultUrl = wsUrl === defaultWsUrl(window.location);
  rememberJoin(room, credentials instanceof CognitoSignIn ? null : name, isDefaultUrl ? null : wsUrl);

  view = new DomChatView(
    { name, ...(credentials && { userId: credentials.userId }) },
    { retry: (localId) => session?.retry(localId), moderate: (action) => session?.moderate(action) },
  );
  view.reset();
  session = new ChatSession({ wsUrl, room, name, ...(credentials && { credentials }) }, view);
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
  void join();
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
const params = new URLSearchParams(window.location.search);
roomInput.value = config.room;
nameInput.value = config.name;
serverInput.value = config.wsUrl;
serverDetails.open = config.customUrl || config.wsUrl === '';
if (isSignInReturn(params)) void returnFromSignIn(params);
else if (config.autoJoin) void join();
else {
  (config.name === '' ? nameInput : roomInput).focus();
  if (urlProblem(config.wsUrl) === null) void signInMethod(params, config.wsUrl).then(showSignIn);
}

/** A small hook for tests and debugging: `chat.drop()` simulates a network drop. */
Object.assign(window, {
  chat: {
    drop: () => session?.drop(),
    get state() {
      return document.body.dataset.state;
    },
  },
});
