// Dashboard WebSocket: authenticates with ?token=, reconnects with exponential backoff + jitter.
import { getKey } from './api.js';

export const WS_PATH = '/api/v1/ws/dashboard';

/**
 * States: connecting → live ⇄ reconnecting (→ offline after the page asks to stop).
 * Dispatches `state` ({state, attempt, delayMs}) and `message` ({type, data, timestamp}) events.
 */
export class LiveSocket extends EventTarget {
  constructor({ path = WS_PATH, baseDelayMs = 500, maxDelayMs = 15000, pingMs = 20000 } = {}) {
    super();
    this.path = path;
    this.baseDelayMs = baseDelayMs;
    this.maxDelayMs = maxDelayMs;
    this.pingMs = pingMs;
    this.ws = null;
    this.state = 'idle';
    this.attempt = 0;
    this.retryTimer = null;
    this.pingTimer = null;
    this.serverHint = null;
    this.ack = null;
    this.stopped = false;
    this.connects = 0;
  }

  url() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const url = new URL(`${proto}//${location.host}${this.path}`);
    const key = getKey();
    if (key) url.searchParams.set('token', key);
    return url.toString();
  }

  setState(state, extra = {}) {
    this.state = state;
    this.dispatchEvent(new CustomEvent('state', { detail: { state, attempt: this.attempt, ...extra } }));
  }

  connect() {
    this.stopped = false;
    clearTimeout(this.retryTimer);
    if (this.ws && this.ws.readyState <= 1) return;
    this.setState(this.attempt ? 'reconnecting' : 'connecting');
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onmessage = (ev) => {
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (msg.type === 'connection_ack') {
        this.ack = msg.data;
        this.attempt = 0;
        this.connects += 1;
        this.setState('live', { ack: msg.data, reconnected: this.connects > 1 });
      } else if (msg.type === 'disconnect_notice') {
        const after = msg.data?.reconnect_after_s;
        this.serverHint = typeof after === 'number' ? after * 1000 : null;
      }
      this.dispatchEvent(new CustomEvent('message', { detail: msg }));
    };
    ws.onopen = () => {
      clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => this.send({ type: 'ping' }), this.pingMs);
    };
    ws.onclose = (ev) => {
      clearInterval(this.pingTimer);
      if (this.ws === ws) this.ws = null;
      if (this.stopped) {
        this.setState('offline');
        return;
      }
      this.scheduleReconnect(ev.code);
    };
    ws.onerror = () => {
      /* onclose follows and schedules the retry */
    };
  }

  /** Exponential backoff with full jitter in [50%, 100%] of the step, capped; a server hint wins. */
  nextDelay() {
    const step = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(this.attempt, 10));
    const jittered = step * (0.5 + Math.random() * 0.5);
    const hint = this.serverHint;
    this.serverHint = null;
    return Math.round(hint != null ? Math.max(hint, this.baseDelayMs) : jittered);
  }

  scheduleReconnect(code) {
    const delayMs = this.nextDelay();
    this.attempt += 1;
    this.setState('reconnecting', { delayMs, code });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delayMs);
  }

  /** Reconnect at once (new key, or the user clicked retry). */
  reconnectNow() {
    clearTimeout(this.retryTimer);
    this.attempt = 0;
    if (this.ws) {
      const old = this.ws;
      this.ws = null;
      old.onclose = null;
      old.close();
    }
    this.connect();
  }

  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(msg));
      return true;
    }
    return false;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    this.ws?.close();
  }
}
