/**
 * One behavioural suite every StorageDriver must pass, so the fs driver cannot drift from what S3 does.
 * Each driver's test file calls `driverSuite` with a factory; the s3 one runs against a real radosgw.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { randomBytes } from 'node:crypto'
import type { CompletedPart, StorageDriver } from '../../src/hold/storage/driver.ts'
import { StorageError, type StorageErrorCode } from '../../src/hold/storage/errors.ts'

export interface DriverUnderTest {
  driver: StorageDriver
  /** How the suite fetches URLs the driver hands out; plain `fetch` when absent. */
  fetchUrl?: (url: string, init?: RequestInit) => Promise<Response>
  cleanup: () => Promise<void>
}

const MiB = 1024 * 1024
// S3 rejects non-last parts under 5 MiB, so every multipart test uses parts of exactly that size.
const PART = 5 * MiB

/** `name` is the driver's name (`fs` or `s3`), optionally followed by a qualifier such as `s3 (virtual host)`. */
export function driverSuite(name: string, make: () => Promise<DriverUnderTest>): void {
  describe(`storage driver ${name}`, () => {
    let ctx: DriverUnderTest | undefined
    const uploads: { key: string; id: string }[] = []
    // A fresh prefix per run: the s3 bucket is shared by every suite in the process.
    const base = `suite-${randomBytes(6).toString('hex')}/`

    const d = (): StorageDriver => ctx!.driver
    const get = (url: string, init?: RequestInit): Promise<Response> => (ctx!.fetchUrl ?? fetch)(url, init)
    const create = async (key: string) => {
      const id = await d().createMultipart(key)
      uploads.push({ key, id })
      return id
    }

    beforeAll(async () => {
      ctx = await make()
      expect(name.startsWith(ctx.driver.name)).toBe(true)
    }, 120_000)

    afterAll(async () => {
      if (!ctx) return
      for (const u of uploads) await ctx.driver.abortMultipart(u.key, u.id).catch(() => {})
      for await (const o of ctx.driver.list(base)) await ctx.driver.delete(o.key)
      await ctx.cleanup()
    }, 60_000)

    test('write, stat, read and delete a small object', async () => {
      const key = `${base}small/object`
      const data = new TextEncoder().encode('hello, hold')
      await d().write(key, data)
      expect(await d().stat(key)).toEqual({ size: data.byteLength })
      expect(await readAll(await d().read(key))).toEqual(data)
      await d().write(key, new TextEncoder().encode('overwritten'))
      expect(new TextDecoder().decode(await readAll(await d().read(key)))).toBe('overwritten')
      await d().delete(key)
      expect(await d().stat(key)).toBeNull()
    })

    test('write from a stream of uneven chunks', async () => {
      const key = `${base}stream/object`
      const data = randomBytes(3 * MiB + 123)
      await d().write(key, streamOf(data, 65_521))
      expect(await d().stat(key)).toEqual({ size: data.byteLength })
      expect(sha256(await readAll(await d().read(key)))).toBe(sha256(data))
    })

    test('stat and read of a missing key give null; deleting it is not an error', async () => {
      const key = `${base}missing/object`
      expect(await d().stat(key)).toBeNull()
      expect(await d().read(key)).toBeNull()
      await d().delete(key)
    })

    test('getUrl: GET returns the exact bytes, a HEAD URL answers with content-length', async () => {
      const key = `${base}urls/blob`
      const data = randomBytes(200_000)
      await d().write(key, data)

      const res = await get(await d().getUrl(key, 60))
      expect(res.status).toBe(200)
      expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(sha256(data))

      const head = await get(await d().getUrl(key, 60, 'HEAD'), { method: 'HEAD' })
      expect(head.status).toBe(200)
      expect(head.headers.get('content-length')).toBe(String(data.byteLength))
      await head.body?.cancel()
    })

    test('a URL with a tampered signature, key or method is refused with 403', async () => {
      const key = `${base}urls/guarded`
      await d().write(key, new TextEncoder().encode('secret'))
      const url = await d().getUrl(key, 60)

      const badSig = await get(tamper(url, ['sig', 'X-Amz-Signature'], flipChar))
      expect(badSig.status).toBe(403)
      await badSig.body?.cancel()

      // The signature covers the key: pointing it at another object must not work.
      await d().write(`${key}2`, new TextEncoder().encode('other'))
      const otherKey = await get(url.includes('key=') ? tamper(url, ['key'], (v) => `${v}2`) : url.replace('guarded?', 'guarded2?'))
      expect(otherKey.status).toBe(403)
      await otherKey.body?.cancel()

      // A URL signed for HEAD does not grant GET.
      const headOnly = await get(await d().getUrl(key, 60, 'HEAD'))
      expect(headOnly.status).toBe(403)
      await headOnly.body?.cancel()
    })

    test('an expired URL is refused with 403', async () => {
      const key = `${base}urls/expiring`
      await d().write(key, new TextEncoder().encode('soon gone'))
      const url = await d().getUrl(key, 1)
      await Bun.sleep(2_500)
      const res = await get(url)
      expect(res.status).toBe(403)
      await res.body?.cancel()
    })

    test('multipart via presigned part URLs assembles three parts exactly', async () => {
      const key = `${base}mp/urls/data`
      const parts = [randomBytes(PART), randomBytes(PART), randomBytes(MiB + 17)]
      const id = await create(key)
      const done: CompletedPart[] = []
      for (const [i, body] of parts.entries()) {
        const pu = await d().partUrl(key, id, i + 1, 300)
        expect(pu.method).toBe('PUT')
        const res = await get(pu.url, { method: 'PUT', body, headers: pu.headers })
        expect(res.status).toBe(200)
        await res.body?.cancel()
        const etag = res.headers.get('etag')
        expect(etag).toBeTruthy()
        done.push({ partNumber: i + 1, etag: etag! })
      }
      // Nothing is visible at the key until the upload completes.
      expect(await d().stat(key)).toBeNull()
      await d().completeMultipart(key, id, done)

      const whole = Buffer.concat(parts)
      expect(await d().stat(key)).toEqual({ size: whole.byteLength })
      expect(sha256(await readAll(await d().read(key)))).toBe(sha256(whole))
      // Listing shows the assembled object only: parts are never visible as objects.
      expect(await keys(d(), `${base}mp/urls/`)).toEqual([key])
    }, 120_000)

    test('a part URL is bound to its part number and upload', async () => {
      const key = `${base}mp/bound/data`
      const id = await create(key)
      const pu = await d().partUrl(key, id, 1, 300)
      const res = await get(tamper(pu.url, ['part', 'partNumber'], () => '2'), { method: 'PUT', body: new Uint8Array(10) })
      expect(res.status).toBe(403)
      await res.body?.cancel()
    })

    test('multipart via putPart, streams and bytes, stored out of order', async () => {
      const key = `${base}mp/put/data`
      const p1 = randomBytes(PART)
      const p2 = randomBytes(300_001)
      const id = await create(key)
      const e2 = await d().putPart(key, id, 2, streamOf(p2, 40_000))
      const e1 = await d().putPart(key, id, 1, p1)
      await d().completeMultipart(key, id, [
        { partNumber: 1, etag: e1 },
        { partNumber: 2, etag: e2 },
      ])
      const whole = Buffer.concat([p1, p2])
      expect(await d().stat(key)).toEqual({ size: whole.byteLength })
      expect(sha256(await readAll(await d().read(key)))).toBe(sha256(whole))
    }, 60_000)

    test('complete with a wrong etag or a missing part fails and leaves no object', async () => {
      const key = `${base}mp/bad/data`
      const p1 = randomBytes(PART)
      const p2 = randomBytes(1000)
      const id = await create(key)
      const e1 = await d().putPart(key, id, 1, p1)
      const e2 = await d().putPart(key, id, 2, p2)
      const wrong = `"${'0'.repeat(32)}"`

      await expectStorageError(d().completeMultipart(key, id, [{ partNumber: 1, etag: e1 }, { partNumber: 2, etag: wrong }]), 'InvalidPart')
      expect(await d().stat(key)).toBeNull()

      await expectStorageError(
        d().completeMultipart(key, id, [{ partNumber: 1, etag: e1 }, { partNumber: 2, etag: e2 }, { partNumber: 3, etag: e2 }]),
        'InvalidPart',
      )
      expect(await d().stat(key)).toBeNull()

      // A failed completion leaves the upload intact, so a corrected list still succeeds.
      await d().completeMultipart(key, id, [{ partNumber: 1, etag: e1 }, { partNumber: 2, etag: e2 }])
      expect(sha256(await readAll(await d().read(key)))).toBe(sha256(Buffer.concat([p1, p2])))
    }, 60_000)

    test('abort removes the upload; completing it afterwards fails', async () => {
      const key = `${base}mp/abort/data`
      const id = await create(key)
      const e1 = await d().putPart(key, id, 1, randomBytes(1000))
      await d().abortMultipart(key, id)
      await expectStorageError(d().completeMultipart(key, id, [{ partNumber: 1, etag: e1 }]), 'NoSuchUpload')
      await expectStorageError(d().putPart(key, id, 2, randomBytes(10)), 'NoSuchUpload')
      expect(await d().stat(key)).toBeNull()
      // Aborting again (an unknown upload) is not an error.
      await d().abortMultipart(key, id)
    })

    test('an upload is bound to the key it was started for', async () => {
      const key = `${base}mp/owner/data`
      const id = await create(key)
      await expectStorageError(d().putPart(`${base}mp/other/data`, id, 1, randomBytes(10)), 'NoSuchUpload')
    })

    test('move leaves only the destination', async () => {
      const from = `${base}move/src/object`
      const to = `${base}move/dst/sub/object`
      const data = randomBytes(70_000)
      await d().write(from, data)
      await d().move(from, to)
      expect(await d().stat(from)).toBeNull()
      expect(sha256(await readAll(await d().read(to)))).toBe(sha256(data))
      expect(await keys(d(), `${base}move/`)).toEqual([to])
      await expectStorageError(d().move(from, `${base}move/never`), 'NotFound')
    })

    test('list by prefix: exact matches, lexical order, sizes, no in-progress uploads', async () => {
      const p = `${base}list/`
      const names = ['p/b/c', 'p/a', 'p-x', 'p/b-d', 'q/z', 'pz']
      for (const [i, n] of names.entries()) await d().write(p + n, randomBytes(i + 1))
      const pending = await create(`${p}p/pending`)
      await d().putPart(`${p}p/pending`, pending, 1, randomBytes(10))

      const all: { key: string; size: number }[] = []
      for await (const o of d().list(`${p}p`)) all.push(o)
      // Byte order: '-' (0x2d) sorts before '/' (0x2f), so `p-x` comes before anything under `p/`.
      expect(all).toEqual([
        { key: `${p}p-x`, size: 3 },
        { key: `${p}p/a`, size: 2 },
        { key: `${p}p/b-d`, size: 4 },
        { key: `${p}p/b/c`, size: 1 },
        { key: `${p}pz`, size: 6 },
      ])
      expect(await keys(d(), `${p}p/b`)).toEqual([`${p}p/b-d`, `${p}p/b/c`])
      expect(await keys(d(), `${p}q/`)).toEqual([`${p}q/z`])
      expect(await keys(d(), `${p}nothing`)).toEqual([])
    })

    // S3 keys are opaque strings (`..` is just two dots there), so only the fs driver has paths to escape.
    test.skipIf(!name.startsWith('fs'))('keys that could escape the data directory are refused', async () => {
      const bad = ['../escape', 'a/../../escape', '/etc/passwd', 'a\\b', 'a\0b', '', 'a//b', './a', 'a/.', 'a/']
      for (const key of bad) {
        await expectStorageError(d().write(key, new Uint8Array(1)), 'InvalidKey')
        await expectStorageError(d().stat(key), 'InvalidKey')
        await expectStorageError(d().read(key), 'InvalidKey')
        await expectStorageError(d().delete(key), 'InvalidKey')
        await expectStorageError(d().getUrl(key, 60), 'InvalidKey')
        await expectStorageError(d().createMultipart(key), 'InvalidKey')
        await expectStorageError(d().move(`${base}x`, key), 'InvalidKey')
      }
    })
  })
}

// ---- helpers ----

export async function readAll(stream: ReadableStream<Uint8Array> | null): Promise<Uint8Array> {
  expect(stream).not.toBeNull()
  return new Uint8Array(await new Response(stream).arrayBuffer())
}

export function sha256(data: Uint8Array): string {
  return new Bun.CryptoHasher('sha256').update(data).digest('hex')
}

export function streamOf(data: Uint8Array, chunk: number): ReadableStream<Uint8Array> {
  let off = 0
  return new ReadableStream({
    pull(ctl) {
      if (off >= data.byteLength) return ctl.close()
      ctl.enqueue(data.slice(off, off + chunk))
      off += chunk
    },
  })
}

export async function keys(driver: StorageDriver, prefix: string): Promise<string[]> {
  const out: string[] = []
  for await (const o of driver.list(prefix)) out.push(o.key)
  return out
}

export async function expectStorageError(p: Promise<unknown>, code: StorageErrorCode | undefined): Promise<void> {
  let err: unknown
  try {
    await p
  } catch (e) {
    err = e
  }
  expect(err).toBeInstanceOf(StorageError)
  if (code) expect((err as StorageError).code).toBe(code)
}

/** Rewrites the first query parameter among `names` present in `url`. */
function tamper(url: string, names: string[], change: (v: string) => string): string {
  const u = new URL(url)
  const name = names.find((n) => u.searchParams.has(n))
  if (!name) throw new Error(`none of ${names.join(', ')} in ${url}`)
  u.searchParams.set(name, change(u.searchParams.get(name)!))
  return u.toString()
}

function flipChar(v: string): string {
  const last = v.at(-2) === 'a' ? 'b' : 'a'
  return v.slice(0, -2) + last + v.slice(-1)
}
