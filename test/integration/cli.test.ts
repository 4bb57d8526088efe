/**
 * The executable's commands as an operator runs them, plus did:plc identity against the real local PLC.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getKey } from '@atproto/identity'
import { verifyRepoCar } from '@atproto/repo'
import { ROOT, startAppview, startHold, xrpc, type HoldProc } from '../harness/hold.ts'
import { freePort } from '../harness/procs.ts'
import { startPds, type Pds } from '../harness/pds.ts'

async function atcr(args: string[], env: Record<string, string> = {}) {
  const p = Bun.spawn(['bun', join(ROOT, 'src/main.ts'), ...args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...env },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited])
  return { code, stdout, stderr }
}

let pds: Pds
beforeAll(async () => {
  pds = await startPds()
}, 120_000)

describe('commands', () => {
  test('help for every command, version', async () => {
    const main = await atcr(['--help'])
    expect(main.code).toBe(0)
    for (const c of ['serve', 'config init', 'hold crew', 'healthcheck', 'version']) expect(main.stdout).toContain(c)
    for (const c of ['serve', 'config', 'hold', 'healthcheck', 'version']) {
      const r = await atcr([c, '--help'])
      expect(r.code).toBe(0)
      expect(r.stdout).toContain('Usage: atcr')
    }
    expect((await atcr(['version'])).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/)
    const unknown = await atcr(['frobnicate'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('unknown command')
  })

  test('roles: an unknown role is refused; the appview validates its config like the hold', async () => {
    expect((await atcr(['serve', '--role', 'nope'])).code).toBe(2)
    const r = await atcr(['serve', '--role', 'appview'], { APPVIEW_UPLOADS_PART_SIZE: '1MB', APPVIEW_SERVER_BASE_URL: 'ftp://x' })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('uploads.part_size')
    expect(r.stderr).toContain('server.base_url')
    const init = await atcr(['config', 'init', '--role', 'appview'])
    expect(init.code).toBe(0)
    expect(init.stdout).toContain('[APPVIEW_DEFAULT_HOLD_DID]')
  })

  test('config init writes the commented YAML to stdout or a file, never over an existing one without --force', async () => {
    const out = await atcr(['config', 'init', '--role', 'hold'])
    expect(out.code).toBe(0)
    expect(out.stdout).toContain('public_url')
    const dir = mkdtempSync(join(tmpdir(), 'atcr-cli-'))
    const file = join(dir, 'config-hold.yaml')
    expect((await atcr(['config', 'init', file, '--role', 'hold'])).code).toBe(0)
    expect(readFileSync(file, 'utf8')).toBe(out.stdout)
    expect(statSync(file).mode & 0o777).toBe(0o600)
    writeFileSync(file, 'mine')
    expect((await atcr(['config', 'init', file, '--role', 'hold'])).code).toBe(1)
    expect(readFileSync(file, 'utf8')).toBe('mine')
    expect((await atcr(['config', 'init', file, '--role', 'hold', '--force'])).code).toBe(0)
  })

  test('an invalid config stops the start listing every problem by key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'atcr-cli-'))
    const file = join(dir, 'bad.yaml')
    writeFileSync(file, 'server:\n  public_ur1: https://x\nstorage:\n  driver: tape\n')
    const r = await atcr(['serve', '--role', 'hold', '--config', file], { HOLD_DATABASE_PATH: dir, HOLD_GC_ENABLED: 'sometimes' })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('public_ur1')
    expect(r.stderr).toContain('storage.driver')
    expect(r.stderr).toContain('gc.enabled (from HOLD_GC_ENABLED)')
    expect(existsSync(join(dir, 'hold.sqlite'))).toBe(false)
  })

  test('healthcheck exits 0 for a healthy URL and 1 otherwise', async () => {
    const hold = await startHold({ HOLD_DATABASE_PLC_DIRECTORY_URL: pds.plcUrl })
    expect((await atcr(['healthcheck', `${hold.url}/xrpc/_health`])).code).toBe(0)
    expect((await atcr(['healthcheck', `${hold.url}/nope`])).code).toBe(1)
    await hold.stop()
    expect((await atcr(['healthcheck', `${hold.url}/xrpc/_health`])).code).toBe(1)
  }, 60_000)

  test('ATCR_EXIT_WITH_PID: servers stop by themselves once that process is gone; a bad value is refused before anything starts', async () => {
    const supervisor = Bun.spawn(['sleep', '3'])
    const hold = await startHold({ HOLD_DATABASE_PLC_DIRECTORY_URL: pds.plcUrl, ATCR_EXIT_WITH_PID: String(supervisor.pid) })
    const appview = await startAppview({ APPVIEW_DEFAULT_HOLD_DID: 'did:web:localhost%3A1', ATCR_EXIT_WITH_PID: String(supervisor.pid) })
    for (const p of [hold, appview]) expect((await fetch(`${p.url}/xrpc/_health`)).ok).toBe(true)
    await supervisor.exited
    const up = async (p: HoldProc) => fetch(`${p.url}/xrpc/_health`).then((r) => r.ok, () => false)
    const deadline = Date.now() + 10_000
    while ((await up(hold)) || (await up(appview))) {
      if (Date.now() > deadline) throw new Error('servers still up 10 s after the watched process exited')
      await Bun.sleep(100)
    }
    for (const p of [hold, appview]) expect(p.log()).toContain(`process ${supervisor.pid} (ATCR_EXIT_WITH_PID) is gone`)

    const dataDir = mkdtempSync(join(tmpdir(), 'atcr-hold-'))
    const bad = await atcr(['serve', '--role', 'hold'], { HOLD_SERVER_ADDR: `127.0.0.1:${freePort()}`, HOLD_DATABASE_PATH: dataDir, ATCR_EXIT_WITH_PID: 'soon' })
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('ATCR_EXIT_WITH_PID must be a process id, not "soon"')
    expect(readdirSync(dataDir)).toEqual([]) // no keys, no database: the hold never started
  }, 60_000)
})

describe('hold crew CLI against a running hold', () => {
  let hold: HoldProc
  afterAll(() => hold?.stop())

  test('add, ls, rm are visible through the running hold and its firehose sequence', async () => {
    const owner = await pds.createUser('owner')
    const member = await pds.createUser('member')
    hold = await startHold({ HOLD_REGISTRATION_OWNER_DID: owner.did, HOLD_DATABASE_PLC_DIRECTORY_URL: pds.plcUrl })
    const env = { ...hold.env }
    const add = await atcr(['hold', 'crew', 'add', member.did, '--permissions', 'blob:read'], env)
    expect(add.code).toBe(0)
    const ls = await atcr(['hold', 'crew', 'ls'], env)
    expect(ls.stdout).toContain(`${member.did}\tmember\tblob:read`)
    expect(ls.stdout).toContain(`${owner.did}\towner`)
    // The running hold sees the CLI's commit: the member may read but not write.
    const rec = await xrpc(hold.url, 'com.atproto.repo.getRecord', { params: { repo: hold.did, collection: 'io.atcr.hold.crew', rkey: member.did } })
    expect(rec.body.value.permissions).toEqual(['blob:read'])
    const denied = await xrpc(hold.url, 'io.atcr.hold.initiateUpload', {
      token: await member.serviceToken(hold.did, 'io.atcr.hold.initiateUpload'),
      body: { digest: `sha256:${'a'.repeat(64)}` },
    })
    expect(denied.status).toBe(403)
    expect((await atcr(['hold', 'crew', 'add', 'not-a-did'], env)).code).toBe(2)
    expect((await atcr(['hold', 'crew', 'add', member.did, '--permissions', 'root'], env)).code).toBe(2)
    expect((await atcr(['hold', 'crew', 'rm', member.did], env)).code).toBe(0)
    expect((await atcr(['hold', 'crew', 'rm', member.did], env)).code).toBe(1)
    const after = await xrpc(hold.url, 'com.atproto.repo.listRecords', { params: { repo: hold.did, collection: 'io.atcr.hold.crew' } })
    expect(after.body.records.map((r: any) => r.value.member)).toEqual([owner.did])
  }, 60_000)
})

describe('did:plc identity', () => {
  test('registers with the PLC, keeps the DID across restarts, and re-syncs a changed URL', async () => {
    const hold = await startHold({ HOLD_DATABASE_DID_METHOD: 'plc', HOLD_DATABASE_PLC_DIRECTORY_URL: pds.plcUrl })
    expect(hold.did).toMatch(/^did:plc:[a-z2-7]{24}$/)
    expect(statSync(join(hold.dataDir, 'rotation.key')).mode & 0o777).toBe(0o600)
    expect(statSync(join(hold.dataDir, 'signing.key')).mode & 0o777).toBe(0o600)
    const doc: any = await (await fetch(`${pds.plcUrl}/${hold.did}`)).json()
    const svc = doc.service.find((s: any) => s.id === '#atproto_pds')
    expect(svc.serviceEndpoint).toBe(hold.url)
    const hostedKey = getKey(doc)!
    // The repo the hold serves verifies with the key the PLC publishes.
    const car = new Uint8Array(await (await fetch(`${hold.url}/xrpc/com.atproto.sync.getRepo?did=${hold.did}`)).arrayBuffer())
    await verifyRepoCar(car, hold.did, hostedKey)
    expect((await fetch(`${hold.url}/.well-known/did.json`)).status).toBe(404)

    await hold.restart({ HOLD_SERVER_PUBLIC_URL: 'https://hold-moved.example' })
    expect((await (await fetch(`${hold.url}/.well-known/atproto-did`)).text()).trim()).toBe(hold.did)
    const moved: any = await (await fetch(`${pds.plcUrl}/${hold.did}`)).json()
    expect(moved.service.find((s: any) => s.id === '#atproto_pds').serviceEndpoint).toBe('https://hold-moved.example')
    expect(getKey(moved)).toBe(hostedKey)
    await hold.stop()
  }, 60_000)
})
