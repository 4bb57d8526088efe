import { describe, expect, test } from 'bun:test'
import { randomBytes } from 'node:crypto'
import { S3Driver, type S3DriverOptions } from '../../src/hold/storage/s3.ts'
import { startRadosgw } from '../harness/radosgw.ts'
import { driverSuite, expectStorageError, keys, readAll, sha256, streamOf } from './driver-suite.ts'

// A real radosgw (SigV4 checked for real), shared by every test in the process.
async function rgwOptions(): Promise<S3DriverOptions> {
  const rgw = await startRadosgw()
  return { endpoint: rgw.endpoint, region: rgw.region, bucket: rgw.bucket, accessKey: rgw.accessKey, secretKey: rgw.secretKey }
}

driverSuite('s3', async () => ({ driver: new S3Driver(await rgwOptions()), cleanup: async () => {} }))

describe('s3 driver specifics', () => {
  const base = `s3-${randomBytes(6).toString('hex')}/`

  test('move above the copy threshold uses UploadPartCopy and keeps the bytes', async () => {
    // Tiny thresholds exercise the >5 GiB path with an 11 MiB object: three copied parts of 5, 5 and 1 MiB.
    const driver = new S3Driver({ ...(await rgwOptions()), multipartCopyThreshold: 1024, multipartCopyPartSize: 5 * 1024 * 1024 })
    const data = randomBytes(11 * 1024 * 1024)
    await driver.write(`${base}big/src`, data)
    await driver.move(`${base}big/src`, `${base}big/dst`)
    expect(await keys(driver, `${base}big/`)).toEqual([`${base}big/dst`])
    expect(sha256(await readAll(await driver.read(`${base}big/dst`)))).toBe(sha256(data))
    await driver.delete(`${base}big/dst`)
  }, 120_000)

  test('putPart spools a streamed body larger than the in-memory limit', async () => {
    const driver = new S3Driver(await rgwOptions())
    const key = `${base}spool/data`
    const data = randomBytes(9 * 1024 * 1024 + 5)
    const id = await driver.createMultipart(key)
    const etag = await driver.putPart(key, id, 1, streamOf(data, 1 << 20))
    await driver.completeMultipart(key, id, [{ partNumber: 1, etag }])
    expect(sha256(await readAll(await driver.read(key)))).toBe(sha256(data))
    await driver.delete(key)
  }, 60_000)

  test('wrong credentials are refused by the server (signatures are really checked)', async () => {
    const opts = await rgwOptions()
    const good = new S3Driver(opts)
    const bad = new S3Driver({ ...opts, secretKey: 'not-the-secret' })
    await good.write(`${base}creds`, new Uint8Array(4))
    const res = await fetch(await bad.getUrl(`${base}creds`, 60))
    expect(res.status).toBe(403)
    await res.body?.cancel()
    await expectStorageError(bad.createMultipart(`${base}creds`), 'Backend')
    await good.delete(`${base}creds`)
  })

  test('a pull zone replaces scheme and host of GET URLs only', async () => {
    const opts = await rgwOptions()
    const driver = new S3Driver({ ...opts, pullZone: 'https://cdn.example.com' })
    const plain = new URL(await new S3Driver(opts).getUrl('some/key', 60))
    const get = new URL(await driver.getUrl('some/key', 60))
    expect(get.origin).toBe('https://cdn.example.com')
    expect(get.pathname).toBe(plain.pathname)
    expect(get.searchParams.get('X-Amz-SignedHeaders')).toBe('host')
    expect(new URL(await driver.getUrl('some/key', 60, 'HEAD')).origin).toBe(plain.origin)
  })

  test('virtual-hosted style puts the bucket in the host name', async () => {
    const driver = new S3Driver({ region: 'eu-west-1', bucket: 'my-bucket', accessKey: 'AK', secretKey: 'SK' })
    const url = new URL(await driver.getUrl('a/b c', 60))
    expect(url.host).toBe('my-bucket.s3.eu-west-1.amazonaws.com')
    expect(url.pathname).toBe('/a/b%20c')
    const part = new URL((await driver.partUrl('a/b', 'up-1', 3, 60)).url)
    expect(part.host).toBe('my-bucket.s3.eu-west-1.amazonaws.com')
    expect(part.searchParams.get('partNumber')).toBe('3')
    expect(part.searchParams.get('X-Amz-Expires')).toBe('60')
  })
})
