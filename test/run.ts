/**
 * The project's test command: runs `bun test` over unit and integration suites and ends with the line CI reads,
 * `N passed, N failed` (bun's own summary is not recognised by CI). Extra arguments go to `bun test`.
 */
export {}

const args = process.argv.slice(2)
const proc = Bun.spawn(['bun', 'test', ...args], { stdout: 'pipe', stderr: 'pipe', env: process.env })

let text = ''
async function pump(stream: ReadableStream<Uint8Array>, out: NodeJS.WriteStream) {
  const dec = new TextDecoder()
  for await (const chunk of stream) {
    out.write(chunk)
    text += dec.decode(chunk, { stream: true })
  }
}
await Promise.all([pump(proc.stdout, process.stdout), pump(proc.stderr, process.stderr)])
const code = await proc.exited

const passed = Number(/^\s*(\d+) pass$/m.exec(text)?.[1] ?? 0)
let failed = Number(/^\s*(\d+) fail$/m.exec(text)?.[1] ?? 0)
// A crash before the summary (or errors outside tests) must not read as success.
if (code !== 0 && failed === 0) failed = 1
console.log(`${passed} passed, ${failed} failed`)
process.exit(code === 0 && failed === 0 ? 0 : 1)
