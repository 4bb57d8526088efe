import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FsDriver } from '../../src/hold/storage/fs.ts'
import { driverSuite, expectStorageError, keys, readAll, sha256 } from './driver-suite.ts'

async function makeFs(opts: { minPartSize?: number; publicUrl?: string } = {}) {
  const rootDir = await mkdtemp(join(tmpdir(), 'atcr-fs-'))
  const driver = new FsDriver({
    rootDir,
    publicUrl: opts.publicUrl ?? 'http://hold.invalid',
    secret: randomBytes(32),
    ...(opts.minPartSize !== undefined ? { minPartSize: opts.minPartSize } : {}),
  })
  return { rootDir, driver, cleanup: () => rm(rootDir, { recursive: true, force: true }) }
}

// publicUrl does not listen: the suite hands each URL straight to the driver's own route handler.
driverSuite('fs', async () => {
  const { driver, cleanup } = await makeFs()
  return { driver, fetchUrl: (url, init) => driver.handle(new Request(url, init)), cleanup }
})

describe('fs driver specifics', () => {
  let rootDir: string
  let driver: FsDriver
  let cleanup: () => Promise<void>
  beforeAll(async () => {
    ;({ rootDir, driver, cleanup } = await makeFs({ minPartSize: 1024 }))
  })
  afterAll(() => cleanup())
  const call = (url: string, init?: RequestInit) => driver.handle(new Request(url, init))

  test('served over real HTTP: GET streams with Content-Length, HEAD keeps it, ranges give 206', async () => {
    const data = randomBytes(100_000)
    await driver.write('served/blob', data)
    // The URL host is rewritten to the test server: the signature does not cover the host, only the route.
    const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: (req) => driver.handle(req) })
    try {
      const local = (u: string) => u.replace('http://hold.invalid', `http://127.0.0.1:${server.port}`)
      const res = await fetch(local(await driver.getUrl('served/blob', 60)))
      expect(res.status).toBe(200)
      expect(res.headers.get('content-length')).toBe('100000')
      expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(sha256(data))

      const head = await fetch(local(await driver.getUrl('served/blob', 60, 'HEAD')), { method: 'HEAD' })
      expect(head.status).toBe(200)
      expect(head.headers.get('content-length')).toBe('100000')

      const part = await fetch(local(await driver.getUrl('served/blob', 60)), { headers: { range: 'bytes=10-19' } })
      expect(part.status).toBe(206)
      expect(part.headers.get('content-range')).toBe('bytes 10-19/100000')
      expect(new Uint8Array(await part.arrayBuffer())).toEqual(new Uint8Array(data.subarray(10, 20)))

      const bad = await fetch(local(await driver.getUrl('served/blob', 60)), { headers: { range: 'bytes=200000-' } })
      expect(bad.status).toBe(416)
      await bad.body?.cancel()

      // Part PUTs stream through a real request body too.
      const id = await driver.createMultipart('served/upload')
      const body = randomBytes(3 * 1024 * 1024)
      const put = await fetch(local((await driver.partUrl('served/upload', id, 1, 60)).url), { method: 'PUT', body })
      expect(put.status).toBe(200)
      await driver.completeMultipart('served/upload', id, [{ partNumber: 1, etag: put.headers.get('etag')! }])
      expect(sha256(await readAll(await driver.read('served/upload')))).toBe(sha256(body))
    } finally {
      server.stop(true)
    }
  })

  test('a GET-signed URL also answers HEAD (documented leniency); the error body is S3-like XML', async () => {
    await driver.write('lenient/blob', new Uint8Array(7))
    const head = await call(await driver.getUrl('lenient/blob', 60), { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.headers.get('content-length')).toBe('7')

    const missing = await call(await driver.getUrl('lenient/none', 60))
    expect(missing.status).toBe(404)
    expect(await missing.text()).toContain('<Code>NoSuchKey</Code>')

    const unsigned = await call('http://hold.invalid/_storage/blob?key=lenient/blob')
    expect(unsigned.status).toBe(403)
    expect(await unsigned.text()).toContain('<Code>AccessDenied</Code>')

    expect((await call('http://hold.invalid/_storage/other')).status).toBe(404)
    expect((await call(await driver.getUrl('lenient/blob', 60), { method: 'DELETE' })).status).toBe(405)
  })

  test('a signature from another secret is refused', async () => {
    await driver.write('foreign/blob', new Uint8Array(3))
    const other = new FsDriver({ rootDir, publicUrl: 'http://hold.invalid', secret: randomBytes(32) })
    const res = await call(await other.getUrl('foreign/blob', 60))
    expect(res.status).toBe(403)
    expect(await res.text()).toContain('SignatureDoesNotMatch')
  })

  test('internal directories are reserved, hidden from list, and parts are removed on completion', async () => {
    await expectStorageError(driver.write('_multipart/x', new Uint8Array(1)), 'InvalidKey')
    await expectStorageError(driver.write('_tmp/x', new Uint8Array(1)), 'InvalidKey')
    const id = await driver.createMultipart('mp/target')
    expect(id).toMatch(/^[A-Za-z0-9_-]{8,128}$/)
    const etag = await driver.putPart('mp/target', id, 1, new Uint8Array([1, 2, 3]))
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/)
    expect((await keys(driver, '')).some((k) => k.startsWith('_'))).toBe(false)
    // fs hashes while assembling, so the hold need not read the object back to verify its digest.
    expect(await driver.completeMultipart('mp/target', id, [{ partNumber: 1, etag }])).toEqual({
      sha256: `sha256:${new Bun.CryptoHasher('sha256').update(new Uint8Array([1, 2, 3])).digest('hex')}`,
    })
    expect(await readdir(join(rootDir, '_multipart'))).toEqual([])
    expect(await readdir(join(rootDir, '_tmp'))).toEqual([])
    expect((await stat(join(rootDir, 'mp/target'))).mode & 0o777).toBe(0o600)
  })

  test('completion returns the sha256 whether parts came in order (hashed as they landed), out of order, or re-sent', async () => {
    const parts = [new Uint8Array([1, 1, 1]), new Uint8Array([2, 2]), new Uint8Array([3])]
    const want = `sha256:${new Bun.CryptoHasher('sha256').update(Buffer.concat(parts)).digest('hex')}`
    const { driver, cleanup } = await makeFs()
    for (const order of [[1, 2, 3], [2, 1, 3], [1, 2, 2, 3], [1, 1, 2, 3]]) {
      const id = await driver.createMultipart(`order/${order.join('')}`)
      const etags = new Map<number, string>()
      for (const n of order) etags.set(n, await driver.putPart(`order/${order.join('')}`, id, n, parts[n - 1]!))
      const done = await driver.completeMultipart(`order/${order.join('')}`, id, [1, 2, 3].map((n) => ({ partNumber: n, etag: etags.get(n)! })))
      expect(done).toEqual({ sha256: want })
    }
    await cleanup()
  })

  test('in-order parts survive a restart (a new driver on the same directory) and a failed part stream', async () => {
    const { rootDir, driver: a, cleanup } = await makeFs()
    const secret = randomBytes(32)
    const parts = [randomBytes(1000), randomBytes(2000), randomBytes(3000)]
    const want = `sha256:${new Bun.CryptoHasher('sha256').update(Buffer.concat(parts)).digest('hex')}`
    const id = await a.createMultipart('restart/obj')
    const e1 = await a.putPart('restart/obj', id, 1, parts[0]!)
    // A part whose stream breaks half-way leaves nothing: the appended file is cut back.
    const broken = new ReadableStream<Uint8Array>({
      pull(c) {
        c.enqueue(parts[1]!.subarray(0, 500))
        c.error(new Error('client went away'))
      },
    })
    await expect(a.putPart('restart/obj', id, 2, broken)).rejects.toThrow('client went away')
    const e2 = await a.putPart('restart/obj', id, 2, parts[1]!)
    const b = new FsDriver({ rootDir, publicUrl: 'http://hold.invalid', secret })
    const e3 = await b.putPart('restart/obj', id, 3, parts[2]!)
    const done = await b.completeMultipart('restart/obj', id, [
      { partNumber: 1, etag: e1 },
      { partNumber: 2, etag: e2 },
      { partNumber: 3, etag: e3 },
    ])
    expect(done).toEqual({ sha256: want })
    expect(`sha256:${sha256(await readAll((await b.read('restart/obj'))!))}`).toBe(want)
    await cleanup()
  })

  test('minPartSize reproduces EntityTooSmall; descending parts are InvalidPartOrder', async () => {
    const id = await driver.createMultipart('mp/small')
    const e1 = await driver.putPart('mp/small', id, 1, new Uint8Array(10))
    const e2 = await driver.putPart('mp/small', id, 2, new Uint8Array(10))
    await expectStorageError(
      driver.completeMultipart('mp/small', id, [{ partNumber: 1, etag: e1 }, { partNumber: 2, etag: e2 }]),
      'EntityTooSmall',
    )
    await expectStorageError(
      driver.completeMultipart('mp/small', id, [{ partNumber: 2, etag: e2 }, { partNumber: 1, etag: e1 }]),
      'InvalidPartOrder',
    )
    await expectStorageError(driver.putPart('mp/small', id, 10001, new Uint8Array(1)), 'InvalidRequest')
  })

  test('an object and a "directory" of objects cannot share a path; deletes prune empty directories', async () => {
    await driver.write('conflict/a', new Uint8Array(1))
    await expectStorageError(driver.write('conflict/a/b', new Uint8Array(1)), 'InvalidKey')
    expect(await readdir(join(rootDir, '_tmp'))).toEqual([])
    await driver.write('deep/er/still/object', new Uint8Array(1))
    await driver.delete('deep/er/still/object')
    expect(await readdir(rootDir)).not.toContain('deep')
  })
})
