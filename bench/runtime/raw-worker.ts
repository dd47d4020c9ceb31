// Raw postMessage: echo every message back.
self.onmessage = (event: MessageEvent) => postMessage(event.data)
