// Server-sent event streams with reconnection, and the connection state the
// page shows: "live" while every open stream is connected, a banner while
// one is not (it reconnects with a growing delay and the banner clears).

const streams = new Set();
const listeners = new Set();

export function onConnectionChange(fn) {
  listeners.add(fn);
  fn(connectionState());
}

// "live", "connecting" or "disconnected".
export function connectionState() {
  let state = "live";
  for (const s of streams) {
    if (s.state === "disconnected") return "disconnected";
    if (s.state === "connecting") state = "connecting";
  }
  return streams.size ? state : "connecting";
}

function notify() {
  const st = connectionState();
  for (const fn of listeners) fn(st);
}

export class LiveStream {
  // url: the stream; handlers: {eventName: fn(parsedData)}; onReconnect:
  // called after a reconnection (to fetch what was missed).
  constructor(url, handlers, onReconnect) {
    this.url = url;
    this.handlers = handlers;
    this.onReconnect = onReconnect;
    this.state = "connecting";
    this.delay = 500;
    this.everOpen = false;
    this.closed = false;
    this.timer = null;
    streams.add(this);
    this.connect();
    notify();
  }

  connect() {
    if (this.closed) return;
    const es = new EventSource(this.url);
    this.es = es;
    es.onopen = () => {
      const again = this.everOpen || this.state === "disconnected";
      this.everOpen = true;
      this.state = "live";
      this.delay = 500;
      notify();
      if (again && this.onReconnect) this.onReconnect();
    };
    es.onerror = () => {
      // The browser would retry on its own for some failures and give up
      // on others; one policy instead: close, say so, retry with backoff.
      es.close();
      if (this.closed) return;
      this.state = "disconnected";
      notify();
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.connect(), this.delay);
      this.delay = Math.min(this.delay * 2, 10000);
    };
    for (const [name, fn] of Object.entries(this.handlers)) {
      es.addEventListener(name, (m) => {
        let data;
        try {
          data = JSON.parse(m.data);
        } catch {
          return;
        }
        fn(data);
      });
    }
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.es) this.es.close();
    streams.delete(this);
    notify();
  }
}
