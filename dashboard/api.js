// The dashboard's only door to the server: fetch() with the API key (kept in this tab's sessionStorage, sent as a
// Bearer header, never put in a URL or a cookie) and the environment header. Errors become ApiError carrying the
// API's own code and message.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const KEY_SLOT = 'ironflow.apiKey';
const ENV_SLOT = 'ironflow.environment';

export class Api {
  constructor() {
    this.key = sessionStorage.getItem(KEY_SLOT) || '';
    this.env = sessionStorage.getItem(ENV_SLOT) || 'default';
  }

  setKey(key) {
    this.key = key;
    if (key) sessionStorage.setItem(KEY_SLOT, key);
    else sessionStorage.removeItem(KEY_SLOT);
  }

  setEnv(env) {
    this.env = env;
    sessionStorage.setItem(ENV_SLOT, env);
  }

  headers(extra = {}, withEnv = true) {
    const h = { Accept: 'application/json', ...extra };
    if (this.key) h.Authorization = `Bearer ${this.key}`;
    if (withEnv) h['X-Ironflow-Environment'] = this.env;
    return h;
  }

  // Returns {status, data, etag}; throws ApiError for any non-2xx answer or a network failure.
  async call(method, path, { json, body, headers = {}, withEnv = true } = {}) {
    const init = { method, headers: this.headers(headers, withEnv), cache: 'no-store', credentials: 'omit' };
    if (json !== undefined) {
      init.body = JSON.stringify(json);
      init.headers['Content-Type'] = 'application/json';
    } else if (body !== undefined) {
      init.body = body;
      init.headers['Content-Type'] = 'application/octet-stream';
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      throw new ApiError(0, 'unavailable', `The server could not be reached (${e.message}).`);
    }
    const text = await res.text();
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch { data = null; }
    }
    if (!res.ok) {
      const err = data && data.error ? data.error : { code: `http_${res.status}`, message: `HTTP ${res.status}` };
      throw new ApiError(res.status, err.code, err.message);
    }
    return { status: res.status, data, etag: res.headers.get('ETag') };
  }

  get(path) { return this.call('GET', path).then((r) => r.data); }

  // Reads Server-Sent Events with fetch (EventSource cannot send headers). Calls onFrame(jsonObject) per `data:`
  // frame until `signal` aborts. Resolves when the stream ends; rejects with ApiError if it is refused.
  async stream(path, onFrame, signal) {
    const res = await fetch(path, { headers: this.headers({ Accept: 'text/event-stream' }), signal, cache: 'no-store', credentials: 'omit' });
    if (!res.ok) {
      let err = { code: `http_${res.status}`, message: `HTTP ${res.status}` };
      try { err = (await res.json()).error || err; } catch { /* keep the generic message */ }
      throw new ApiError(res.status, err.code, err.message);
    }
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (frame.startsWith('data: ')) {
          try { onFrame(JSON.parse(frame.slice(6))); } catch { /* a malformed frame is skipped */ }
        }
      }
    }
  }
}

// Encodes one path segment.
export const seg = (s) => encodeURIComponent(s);
