/** The origin private file system as the IndexedDB backends use it: one directory of notes and journals. */

/** The part of `FileSystemSyncAccessHandle` used here (lib.dom does not declare it for pages). */
export interface SyncHandle {
  read(buffer: Uint8Array, options: { at: number }): number
  write(buffer: Uint8Array, options: { at: number }): number
  truncate(size: number): void
  getSize(): number
  flush(): void
  close(): void
}

/** A file handle where the context may offer sync access (dedicated workers do). */
export type SyncCapableFile = FileSystemFileHandle & { createSyncAccessHandle?: () => Promise<SyncHandle> }

/** The library's directory in OPFS, or the reason this context has none. */
export async function parkingLotDirectory(): Promise<FileSystemDirectoryHandle | string> {
  const storage = (globalThis as { navigator?: { storage?: Partial<StorageManager> } }).navigator?.storage
  if (typeof storage?.getDirectory !== 'function') return 'this context has no origin private file system'
  try {
    const root = await storage.getDirectory()
    return await root.getDirectoryHandle('prometheus-parking-lot', { create: true })
  } catch (error) {
    return `the origin private file system is unavailable (${error instanceof Error ? error.message : String(error)})`
  }
}

/** Removes a file of the directory; one that is not there is already removed. */
export async function removeFile(directory: FileSystemDirectoryHandle, name: string): Promise<void> {
  try {
    await directory.removeEntry(name)
  } catch (error) {
    if (!(error instanceof DOMException && error.name === 'NotFoundError')) throw error
  }
}
