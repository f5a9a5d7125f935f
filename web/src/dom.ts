/** Small DOM helpers. Text goes in through textContent only: nothing is ever parsed as HTML. */

export function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from the page`);
  return element as T;
}

interface Options {
  className?: string;
  text?: string;
  attrs?: Record<string, string>;
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  { className, text, attrs }: Options = {},
  ...children: Node[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined) element.textContent = text;
  for (const [key, value] of Object.entries(attrs ?? {})) element.setAttribute(key, value);
  element.append(...children);
  return element;
}

const timeOnly = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dayAndTime = new Intl.DateTimeFormat(undefined, {
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
});
const full = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'medium' });

/** A <time> element: the clock time today, the day too otherwise, everything on hover. */
export function timeElement(iso: string, now = new Date()): HTMLTimeElement {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return el('time', { text: '' });
  const today = date.toDateString() === now.toDateString();
  return el('time', {
    text: (today ? timeOnly : dayAndTime).format(date),
    attrs: { datetime: date.toISOString(), title: full.format(date) },
  });
}

/** A stable hue per name, so each person keeps a colour. */
export function hueOf(name: string): number {
  let hash = 0;
  for (const char of name) hash = (hash * 31 + (char.codePointAt(0) ?? 0)) >>> 0;
  return hash % 360;
}
