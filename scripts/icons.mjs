// Writes the demo's app icons (public/icon-192.png, public/icon-512.png): a parking-lot "P" in
// white on the demo's blue, drawn here so that no image tool is needed. Run once; the PNGs are
// committed. `node scripts/icons.mjs`
import { writeFileSync } from 'node:fs'
import { crc32, deflateSync } from 'node:zlib'

function png(size, pixel) {
  const rows = Buffer.alloc(size * (size * 4 + 1))
  for (let y = 0; y < size; y++) {
    rows[y * (size * 4 + 1)] = 0 // no filter
    for (let x = 0; x < size; x++) rows.set(pixel(x / size, y / size), y * (size * 4 + 1) + 1 + x * 4)
  }
  const chunk = (type, data) => {
    const head = Buffer.alloc(8)
    head.writeUInt32BE(data.length, 0)
    head.write(type, 4, 'ascii')
    const crc = Buffer.alloc(4)
    crc.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type, 'ascii'), data])) >>> 0, 0)
    return Buffer.concat([head, data, crc])
  }
  const header = Buffer.alloc(13)
  header.writeUInt32BE(size, 0)
  header.writeUInt32BE(size, 4)
  header.set([8, 6, 0, 0, 0], 8) // 8-bit RGBA
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ])
}

const BLUE = [0x1f, 0x4e, 0x8c, 0xff]
const WHITE = [0xff, 0xff, 0xff, 0xff]
// A "P": a stem and a bowl (a ring), inside the maskable safe zone (the middle 80 %).
function pixel(x, y) {
  const stem = x >= 0.32 && x <= 0.42 && y >= 0.25 && y <= 0.75
  const dx = x - 0.47
  const dy = y - 0.4
  const r = Math.hypot(dx, dy)
  const bowl = x >= 0.37 && r >= 0.08 && r <= 0.16
  return stem || bowl ? WHITE : BLUE
}

for (const size of [192, 512]) writeFileSync(new URL(`../public/icon-${size}.png`, import.meta.url), png(size, pixel))
