// "Tabs" for browser tests: iframes (each a document with its own workers and Web Locks; removing
// one closes it). A tab page posts `{ ready: tag }` to its parent once it is connected.

/** Opens `src` in an iframe and resolves when it says `{ ready: tag }`. */
export async function openFrame(src: string, tag: string): Promise<HTMLIFrameElement> {
  const frame = document.createElement('iframe')
  frame.src = src
  const ready = new Promise<void>((resolve) => {
    const onMessage = (event: MessageEvent<{ ready?: string }>) => {
      if (event.data?.ready !== tag) return
      window.removeEventListener('message', onMessage)
      resolve()
    }
    window.addEventListener('message', onMessage)
  })
  document.body.append(frame)
  await ready
  return frame
}
