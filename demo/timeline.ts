// Used units over the last two minutes, as stacked SVG areas: each loaded model's resident units,
// then what requests hold on top. Plain SVG: a few hundred points need no chart library.

const WINDOW_MS = 120_000
const WIDTH = 600
const HEIGHT = 120
const SVG = 'http://www.w3.org/2000/svg'

interface Sample {
  readonly at: number
  readonly resident: ReadonlyMap<string, number>
  readonly requests: number
}

export class Timeline {
  readonly #samples: Sample[] = []
  readonly #svg: SVGSVGElement

  constructor(
    container: HTMLElement,
    readonly capacity: number,
  ) {
    this.#svg = document.createElementNS(SVG, 'svg')
    this.#svg.setAttribute('viewBox', `0 0 ${WIDTH} ${HEIGHT}`)
    this.#svg.setAttribute('preserveAspectRatio', 'none')
    this.#svg.setAttribute('role', 'img')
    this.#svg.setAttribute('aria-label', 'Used VRAM units over the last two minutes: loaded models, then requests')
    container.replaceChildren(this.#svg)
  }

  add(at: number, resident: ReadonlyMap<string, number>, requests: number): void {
    this.#samples.push({ at, resident: new Map(resident), requests: Math.max(requests, 0) })
    while (this.#samples.length > 2 && this.#samples[0]!.at < at - WINDOW_MS) this.#samples.shift()
    this.#draw(at)
  }

  #draw(now: number): void {
    const layers = [...new Set(this.#samples.flatMap((s) => [...s.resident.keys()]))].sort()
    const x = (at: number): number => WIDTH - ((now - at) / WINDOW_MS) * WIDTH
    const y = (units: number): number => HEIGHT - (units / this.capacity) * HEIGHT
    const stacks = this.#samples.map((sample) => {
      let total = 0
      const tops = layers.map((layer) => (total += sample.resident.get(layer) ?? 0))
      tops.push((total += sample.requests))
      return tops
    })
    const shapes: SVGElement[] = []
    const names = [...layers.map((layer) => `model-${layer}`), 'requests']
    for (let layer = names.length - 1; layer >= 0; layer--) {
      // A step line: a value holds until the next sample.
      const points: string[] = [`${x(this.#samples[0]!.at)},${HEIGHT}`]
      this.#samples.forEach((sample, i) => {
        const next = this.#samples[i + 1]?.at ?? now
        points.push(`${x(sample.at)},${y(stacks[i]![layer]!)}`, `${x(next)},${y(stacks[i]![layer]!)}`)
      })
      points.push(`${x(now)},${HEIGHT}`)
      const area = document.createElementNS(SVG, 'polygon')
      area.setAttribute('points', points.join(' '))
      area.setAttribute('class', `area ${names[layer]}`)
      shapes.push(area)
    }
    const limit = document.createElementNS(SVG, 'line')
    for (const [name, value] of [
      ['x1', 0],
      ['x2', WIDTH],
      ['y1', 1],
      ['y2', 1],
    ] as const)
      limit.setAttribute(name, String(value))
    limit.setAttribute('class', 'capacity')
    this.#svg.replaceChildren(...shapes, limit)
  }
}
