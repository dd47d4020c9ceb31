// A raw SharedWorker: echo on every connected port.
;(self as unknown as { onconnect: (event: MessageEvent) => void }).onconnect = (event) => {
  const port = event.ports[0]!
  port.onmessage = (message) => port.postMessage(message.data)
}
