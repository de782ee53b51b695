// Small DOM and formatting helpers shared by every view.

/** Application-wide event bus: auth, WebSocket messages and state, project changes. */
export const bus = new EventTarget();
export const emit = (type, detail) => bus.dispatchEvent(new CustomEvent(type, { detail }));
export const on = (type, fn) => {
  const handler = (e) => fn(e.detail);
  bus.addEventListener(type, handler);
  return () => bus.removeEventListener(type, handler);
};

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

const ESC = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const esc = (value) => String(value ?? '').replace(/[&<>"']/g, (c) => ESC[c]);

/** `h('div.card', {title: 'x', onclick}, child, 'text')` → element. */
export function h(tag, attrs = {}, ...children) {
  const [name, ...classes] = tag.split('.');
  const node = document.createElement(name || 'div');
  if (classes.length) node.className = classes.join(' ');
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value == null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key === 'class') node.className += (node.className ? ' ' : '') + value;
    else if (key === 'html') node.innerHTML = value;
    else node.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child == null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const NUM = new Intl.NumberFormat('en-US');
export const fmtNum = (n) => (n == null || Number.isNaN(n) ? '—' : NUM.format(n));

export function fmtTime(ts) {
  const d = ts instanceof Date ? ts : new Date(ts);
  if (Number.isNaN(d.getTime())) return '';
  return d.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function fmtDuration(seconds) {
  if (seconds == null) return '';
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 90) return `${seconds.toFixed(1)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

export function fmtBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

export function uid() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  return 'xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx'.replace(/[xy]/g, (c) => {
    const r = (Math.random() * 16) | 0;
    return (c === 'x' ? r : (r & 0x3) | 0x8).toString(16);
  });
}

export function toast(message, kind = '') {
  const box = document.getElementById('toasts');
  if (!box) return;
  const node = h(`div.toast${kind ? '.' + kind : ''}`, { role: 'status' }, message);
  box.append(node);
  setTimeout(() => node.remove(), 5000);
}

/** Banner under the top bar (restart notices, connection problems). */
export function banner(text, kind = '') {
  const node = document.getElementById('banner');
  if (!node) return;
  if (!text) {
    node.hidden = true;
    node.textContent = '';
    return;
  }
  node.className = `banner${kind ? ' ' + kind : ''}`;
  node.textContent = text;
  node.hidden = false;
}

/** Canonical names (`schema.table` or `schema.table.column`) that are safe to link to the graph. */
export const CANONICAL = /^[A-Za-z_#@$][\w$#@]*(\.[A-Za-z_#@$][\w$#@]*){1,3}$/;

const pad = (n) => String(n).padStart(2, '0');

/** Absolute local date and time, unambiguous: `2026-12-06 14:31:05`. */
export function fmtDateTime(ts) {
  const d = ts instanceof Date ? ts : new Date(ts);
  if (ts == null || Number.isNaN(d.getTime())) return '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Relative to now, for hover text: `3 min ago`. */
export function fmtAgo(ts, now = Date.now()) {
  const d = ts instanceof Date ? ts : new Date(ts);
  if (Number.isNaN(d.getTime())) return '';
  const s = Math.round((now - d.getTime()) / 1000);
  if (s < 0) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}
