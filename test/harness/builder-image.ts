/**
 * A local image usable as the Dockerfile's `BUILDER` without any registry (the test machines cannot reach
 * Docker Hub): a rootfs with the host's real Bun binary, the glibc files it links, the CA bundle, /tmp and /root,
 * turned into an image with `docker import`. There is no shell in it, which is why the Dockerfile's RUN steps are
 * exec-form. Builds from it need `--network=host` (no bridge in the test engine) so `bun install` reaches npm.
 */
import { chmodSync, copyFileSync, mkdirSync, realpathSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import type { Docker } from './dockerd.ts'

export const BUILDER_IMAGE = 'atcr-test-builder:latest'

/** The files the Dockerfile's final stage copies out of the builder; the host's Bun must link exactly these. */
export const GLIBC_FILES = [
  '/lib/x86_64-linux-gnu/libc.so.6',
  '/lib/x86_64-linux-gnu/libpthread.so.0',
  '/lib/x86_64-linux-gnu/libdl.so.2',
  '/lib/x86_64-linux-gnu/libm.so.6',
  '/lib64/ld-linux-x86-64.so.2',
]
const CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt'

const inFlight = new WeakMap<Docker, Promise<string>>()

/**
 * Creates the builder image in the engine behind `docker` unless it is already there (made from this same Bun),
 * and returns its tag. Concurrent calls share one creation; later calls re-check the engine (cheap), so a suite
 * that pruned images does not leave a stale answer behind.
 */
export function ensureBuilderImage(docker: Docker): Promise<string> {
  let p = inFlight.get(docker)
  if (!p) {
    p = create(docker).finally(() => inFlight.delete(docker))
    inFlight.set(docker, p)
  }
  return p
}

/** The real Bun executable on the host (npm installs `bun` as a symlink to a `bun.exe`). */
export function hostBunBinary(): string {
  const onPath = Bun.which('bun')
  return realpathSync(onPath ?? process.execPath)
}

/** The absolute library paths `ldd` lists for `binary` (the vdso has none and is skipped). */
export async function lddPaths(binary: string): Promise<string[]> {
  const proc = Bun.spawn(['ldd', binary], { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' })
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ])
  if (code !== 0) throw new Error(`ldd ${binary} failed (exit ${code}): ${out}${err}`)
  const paths: string[] = []
  for (const line of out.split('\n')) {
    // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)" or "/lib64/ld-linux-x86-64.so.2 (0x…)"
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line)
    if (m) paths.push(m[1]!)
  }
  return paths
}

async function create(docker: Docker): Promise<string> {
  const t0 = performance.now()
  const bun = hostBunBinary()
  const bunVersion = Bun.version
  const existing = await docker(['image', 'inspect', '--format', '{{index .Config.Labels "atcr.test.bun"}}', BUILDER_IMAGE])
  if (existing.code === 0 && existing.stdout.trim() === `${bunVersion} ${bun}`) return BUILDER_IMAGE

  const libs = await lddPaths(bun)
  const missing = GLIBC_FILES.filter((f) => !libs.includes(f))
  const extra = libs.filter((f) => !GLIBC_FILES.includes(f))
  if (missing.length || extra.length) {
    throw new Error(
      `the host's bun (${bun}) links ${libs.join(', ')}; the Dockerfile expects ${GLIBC_FILES.join(', ')}`,
    )
  }

  const root = await mkdtemp(join(tmpdir(), 'atcr-builder-rootfs-'))
  try {
    const put = (from: string, to: string, mode?: number) => {
      mkdirSync(join(root, dirname(to)), { recursive: true })
      copyFileSync(from, join(root, to)) // follows symlinks: the image gets the files' contents
      if (mode !== undefined) chmodSync(join(root, to), mode)
    }
    put(bun, '/usr/local/bin/bun', 0o755)
    for (const lib of GLIBC_FILES) put(lib, lib, 0o755)
    put(CA_BUNDLE, CA_BUNDLE, 0o644)
    for (const [d, mode] of [['/tmp', 0o1777], ['/root', 0o700], ['/usr/bin', 0o755], ['/bin', 0o755]] as const) {
      mkdirSync(join(root, d), { recursive: true })
      chmodSync(join(root, d), mode)
    }

    const tar = Bun.spawn(['tar', '--numeric-owner', '--owner=0', '--group=0', '-C', root, '-c', '.'], {
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
    })
    const imported = await docker(
      [
        'import',
        '--change', 'ENV PATH=/usr/local/bin:/usr/bin:/bin',
        '--change', 'ENV HOME=/root',
        // Bun trusts its built-in roots plus /etc/ssl/cert.pem or hashed /etc/ssl/certs/*.0 links, neither of which
        // is here: point it at the bundle so `bun install` trusts exactly what the host trusts (on these machines
        // that includes the TLS-intercepting proxy's CA in front of the npm registry).
        '--change', `ENV NODE_EXTRA_CA_CERTS=${CA_BUNDLE}`,
        '--change', `LABEL atcr.test.bun="${bunVersion} ${bun}"`,
        '--message', 'atcr test builder: host bun + glibc + CA bundle',
        '-',
        BUILDER_IMAGE,
      ],
      { stdin: tar.stdout, timeoutMs: 180_000 },
    )
    const [tarErr, tarCode] = await Promise.all([new Response(tar.stderr).text(), tar.exited])
    if (tarCode !== 0) throw new Error(`tar of the builder rootfs failed (exit ${tarCode}): ${tarErr}`)
    if (imported.code !== 0) throw new Error(`docker import failed (exit ${imported.code}): ${imported.stderr}`)
  } finally {
    await rm(root, { recursive: true, force: true })
  }
  if (process.env.ATCR_TEST_VERBOSE) {
    console.error(`harness: ${BUILDER_IMAGE} (bun ${bunVersion}) created in ${Math.round(performance.now() - t0)} ms`)
  }
  return BUILDER_IMAGE
}
