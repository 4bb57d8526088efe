/**
 * Test images without a registry or network: writes an OCI image layout (index.json, oci-layout, blobs/sha256)
 * that skopeo, buildah and podman read as `oci:DIR:TAG`. Layers are real gzip'd tars of generated files.
 */
import { mkdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const sha = (b: Uint8Array) => new Bun.CryptoHasher('sha256').update(b).digest('hex')

/** A minimal ustar archive holding the given files (enough for image layers). */
export function tar(files: Record<string, Uint8Array | string>): Uint8Array<ArrayBuffer> {
  const blocks: Uint8Array[] = []
  for (const [name, content] of Object.entries(files)) {
    const data = typeof content === 'string' ? new TextEncoder().encode(content) : content
    const h = new Uint8Array(512)
    const put = (off: number, s: string) => h.set(new TextEncoder().encode(s), off)
    put(0, name)
    put(100, '0000644\0')
    put(108, '0000000\0')
    put(116, '0000000\0')
    put(124, `${data.length.toString(8).padStart(11, '0')}\0`)
    put(136, '00000000000\0')
    put(148, '        ')
    put(156, '0')
    put(257, 'ustar\0')
    put(263, '00')
    let sum = 0
    for (const b of h) sum += b
    put(148, `${sum.toString(8).padStart(6, '0')}\0 `)
    blocks.push(h, data, new Uint8Array((512 - (data.length % 512)) % 512))
  }
  blocks.push(new Uint8Array(1024))
  return Buffer.concat(blocks)
}

export interface BuiltImage {
  dir: string
  tag: string
  manifestDigest: string
  layerDigests: string[]
  totalBytes: number
}

/**
 * An image layout with `layers` layers of `layerBytes` random bytes each (random => incompressible, so the
 * sizes are real), for platform `arch`.
 */
export function makeImage(dir: string, opts: { tag?: string; layers?: number; layerBytes?: number; arch?: string; seed?: string } = {}): BuiltImage {
  const tag = opts.tag ?? 'latest'
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true })
  const write = (b: Uint8Array) => {
    const d = sha(b)
    writeFileSync(join(dir, 'blobs', 'sha256', d), b)
    return { digest: `sha256:${d}`, size: b.length }
  }
  const layers: { digest: string; size: number; diffId: string }[] = []
  for (let i = 0; i < (opts.layers ?? 2); i++) {
    const payload = crypto.getRandomValues(new Uint8Array(opts.layerBytes ?? 4096))
    const t = tar({ [`data/layer${i}.bin`]: payload, [`data/seed${i}.txt`]: `${opts.seed ?? crypto.randomUUID()} ${i}\n` })
    const gz = Bun.gzipSync(t)
    layers.push({ ...write(gz), diffId: `sha256:${sha(t)}` })
  }
  const config = new TextEncoder().encode(
    JSON.stringify({
      architecture: opts.arch ?? 'amd64',
      os: 'linux',
      config: { Cmd: ['/data/layer0.bin'] },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    }),
  )
  const cfg = write(config)
  const manifest = new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...cfg },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: l.digest, size: l.size })),
    }),
  )
  const man = write(manifest)
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }))
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...man, annotations: { 'org.opencontainers.image.ref.name': tag } }],
    }),
  )
  return { dir, tag, manifestDigest: man.digest, layerDigests: layers.map((l) => l.digest), totalBytes: layers.reduce((a, l) => a + l.size, 0) + cfg.size }
}

export interface BuiltIndex {
  dir: string
  tag: string
  /** Digest of the image index the tag points at. */
  indexDigest: string
  /** The index's exact bytes (what a registry must return for it). */
  indexBytes: Uint8Array
  /** One entry per platform, in the index's order. */
  images: (Omit<BuiltImage, 'dir' | 'tag'> & { arch: string; variant?: string; size: number })[]
}

/**
 * A multi-platform image layout: one image per platform (as makeImage builds them, blobs side by side in `dir`)
 * and an OCI image index over them, which `index.json` names as `tag`. Read it with `skopeo copy --all oci:DIR:TAG`.
 */
export function makeIndex(
  dir: string,
  opts: { tag?: string; platforms?: { arch: string; variant?: string }[]; layers?: number; layerBytes?: number } = {},
): BuiltIndex {
  const tag = opts.tag ?? 'latest'
  const platforms = opts.platforms ?? [{ arch: 'amd64' }, { arch: 'arm64', variant: 'v8' }]
  const images: BuiltIndex['images'] = []
  for (const p of platforms) {
    const img = makeImage(dir, { tag, layers: opts.layers, layerBytes: opts.layerBytes, arch: p.arch })
    const size = statSync(join(dir, 'blobs', 'sha256', img.manifestDigest.slice(7))).size
    images.push({ manifestDigest: img.manifestDigest, layerDigests: img.layerDigests, totalBytes: img.totalBytes, arch: p.arch, variant: p.variant, size })
  }
  const indexBytes = new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: images.map((i) => ({
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: i.manifestDigest,
        size: i.size,
        platform: { architecture: i.arch, os: 'linux', ...(i.variant ? { variant: i.variant } : {}) },
      })),
    }),
  )
  const d = sha(indexBytes)
  writeFileSync(join(dir, 'blobs', 'sha256', d), indexBytes)
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.index.v1+json',
          digest: `sha256:${d}`,
          size: indexBytes.length,
          annotations: { 'org.opencontainers.image.ref.name': tag },
        },
      ],
    }),
  )
  return { dir, tag, indexDigest: `sha256:${d}`, indexBytes, images }
}
