// The live feed of the current environment's system events: one streamed GET of
// /api/v1/stream?subject=system.> for the whole app (restarted on environment switch), fanned out to the pages
// that listen. Keeps the most recent events in memory for the Activity page.

export class EventHub {
  constructor(api) {
    this.api = api;
    this.recent = [];          // newest last; {subject, data, received}
    this.listeners = new Set();
    this.controller = null;
    this.state = 'idle';       // idle | connecting | live | error
    this.error = null;
  }

  start() {
    this.stop();
    this.recent = [];
    const controller = new AbortController();
    this.controller = controller;
    this.state = 'connecting';
    this.emitState();
    const run = async () => {
      while (!controller.signal.aborted) {
        try {
          this.state = 'live';
          this.error = null;
          this.emitState();
          await this.api.stream('/api/v1/stream?subject=system.%3E', (frame) => this.push(frame), controller.signal);
        } catch (e) {
          if (controller.signal.aborted) return;
          this.state = 'error';
          this.error = e;
          this.emitState();
          if (e.status === 401 || e.status === 403 || e.status === 404) return;  // retrying cannot help
        }
        await new Promise((r) => setTimeout(r, 2000));  // reconnect after a drop
      }
    };
    run();
  }

  stop() {
    if (this.controller) this.controller.abort();
    this.controller = null;
    this.state = 'idle';
  }

  push(frame) {
    const item = { subject: frame.subject, data: frame.data || {}, received: new Date().toISOString() };
    this.recent.push(item);
    if (this.recent.length > 500) this.recent.shift();
    for (const l of this.listeners) l(item);
  }

  emitState() {
    for (const l of this.listeners) l(null);
  }

  // listener(item) for each event; listener(null) when the connection state changes. Returns an unsubscribe.
  listen(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
