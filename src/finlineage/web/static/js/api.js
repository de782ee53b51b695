// The authenticated REST API: bearer key from sessionStorage, one error envelope, SSE reader.
import { emit } from './util.js';

const KEY_STORE = 'finlineage.apiKey';

export class ApiError extends Error {
  constructor(status, code, message, requestId = '', details = null) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
    this.requestId = requestId;
    this.details = details;
  }
}

export const getKey = () => sessionStorage.getItem(KEY_STORE) || '';
export function setKey(key) {
  if (key) sessionStorage.setItem(KEY_STORE, key);
  else sessionStorage.removeItem(KEY_STORE);
}

function authHeaders(extra = {}) {
  const key = getKey();
  return key ? { ...extra, Authorization: `Bearer ${key}` } : extra;
}

export function buildUrl(path, params) {
  const url = new URL(path, location.origin);
  for (const [name, value] of Object.entries(params || {})) {
    if (value == null || value === '') continue;
    for (const v of Array.isArray(value) ? value : [value]) url.searchParams.append(name, String(v));
  }
  return url;
}

async function toError(resp) {
  let body = null;
  try {
    body = await resp.json();
  } catch {
    body = null;
  }
  const err = new ApiError(
    resp.status,
    body?.error || 'http_error',
    body?.message || resp.statusText || `HTTP ${resp.status}`,
    body?.request_id || resp.headers.get('x-request-id') || '',
    body?.details ?? null,
  );
  if (resp.status === 401) emit('auth-required', { code: err.code });
  return err;
}

export async function request(method, path, { params, body, signal } = {}) {
  const headers = authHeaders({ Accept: 'application/json' });
  const init = { method, headers, signal };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(buildUrl(path, params), init);
  } catch (exc) {
    if (exc?.name === 'AbortError') throw exc;
    throw new ApiError(0, 'network_error', 'the server cannot be reached');
  }
  if (!resp.ok) throw await toError(resp);
  if (resp.status === 204) return null;
  const type = resp.headers.get('content-type') || '';
  return type.includes('json') ? resp.json() : resp.text();
}

export const api = {
  get: (path, params, opts = {}) => request('GET', path, { ...opts, params }),
  post: (path, body, params, opts = {}) => request('POST', path, { ...opts, body, params }),
  del: (path, params) => request('DELETE', path, { params }),

  /** Multipart upload with upload progress (fetch cannot report it; XHR can). */
  upload(path, form, params, onProgress) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', buildUrl(path, params));
      for (const [k, v] of Object.entries(authHeaders({ Accept: 'application/json' }))) xhr.setRequestHeader(k, v);
      xhr.upload.onprogress = (e) => e.lengthComputable && onProgress?.(e.loaded, e.total);
      xhr.onerror = () => reject(new ApiError(0, 'network_error', 'the upload failed: the server cannot be reached'));
      xhr.onload = () => {
        let body = null;
        try {
          body = JSON.parse(xhr.responseText);
        } catch {
          body = null;
        }
        if (xhr.status >= 200 && xhr.status < 300) return resolve(body);
        if (xhr.status === 401) emit('auth-required', { code: body?.error });
        reject(new ApiError(xhr.status, body?.error || 'http_error', body?.message || `HTTP ${xhr.status}`,
          body?.request_id || '', body?.details ?? null));
      };
      xhr.send(form);
    });
  },
};

/**
 * POST and read a `text/event-stream` answer: yields `{event, data}` as each event arrives.
 */
export async function* streamEvents(path, body, signal) {
  let resp;
  try {
    resp = await fetch(buildUrl(path), {
      method: 'POST',
      headers: authHeaders({ 'Content-Type': 'application/json', Accept: 'text/event-stream' }),
      body: JSON.stringify(body),
      signal,
    });
  } catch (exc) {
    if (exc?.name === 'AbortError') throw exc;
    throw new ApiError(0, 'network_error', 'the server cannot be reached');
  }
  if (!resp.ok) throw await toError(resp);
  const reader = resp.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, '');
      let event = 'message';
      const data = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (!data.length) continue;
      let parsed;
      try {
        parsed = JSON.parse(data.join('\n'));
      } catch {
        parsed = { text: data.join('\n') };
      }
      yield { event, data: parsed };
    }
  }
}
