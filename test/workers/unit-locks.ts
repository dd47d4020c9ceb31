// Units held as origin-wide Web Locks (`<prefix>-0` ... `<prefix>-<capacity-1>`), the tests'
// over-subscription check from inside the workers: if a pool ever had more units in use than it
// has, someone finds fewer free locks than the units it asked for.

export interface HeldUnits {
  /** Locks taken: fewer than asked means over-subscribed. */
  readonly held: number
  release(): void
}

export async function holdUnits(prefix: string, units: number, capacity: number): Promise<HeldUnits> {
  const releases: (() => void)[] = []
  for (let k = 0; k < capacity && releases.length < units; k++) {
    await new Promise<void>((granted) => {
      void navigator.locks.request(`${prefix}-${k}`, { ifAvailable: true }, (lock) => {
        if (lock === null) return granted()
        return new Promise<void>((release) => {
          releases.push(release)
          granted()
        })
      })
    })
  }
  return { held: releases.length, release: () => releases.forEach((release) => release()) }
}
