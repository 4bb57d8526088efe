// A real PLC + PDS for the integration suite: @atproto/dev-env's TestNetworkNoAppView, run under **node**
// (the PDS needs better-sqlite3, which does not load in Bun). Started by test/harness/pds.ts.
//
//   PLC_PORT=… PDS_PORT=… node test/pds/network.mjs
//
// stdout carries JSON lines only: first `{"plc": url, "pds": url, "startupMs": n}` once both listen, then one
// answer per command. Commands arrive on stdin, one JSON object per line: `{"id": any, "op": "...", ...}`;
// the answer echoes `id` and carries either the result fields or `{"error": message}`. Ops:
//   ping                                        → {ok: true}
//   createAccount {handle, password, email?}   → {did, handle, accessJwt, refreshJwt}
//   takedownAccount {did, applied?=true}        → {did, applied}   (admin: com.atproto.admin.updateSubjectStatus)
//   deactivateAccount {did, applied?=true}      → {did, applied}   (admin: the same, `deactivated` attribute)
//   deleteAccount {did}                          → {did}            (admin: com.atproto.admin.deleteAccount)
// Stops (net.close(), data directory removed) on SIGTERM, SIGINT or when stdin closes (the parent died).
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import readline from 'node:readline'

// Keep stdout for our JSON lines: the PDS's pino logger is off unless asked for, and stray console output
// goes to stderr.
process.env.LOG_ENABLED ??= 'false'
console.log = console.info = console.debug = (...args) => console.error(...args)
const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')

// Bind every listener to loopback: the PLC and the PDS call `listen(port)`, which means all interfaces.
const origListen = net.Server.prototype.listen
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number' && typeof args[1] !== 'string') args.splice(1, 0, '127.0.0.1')
  return origListen.apply(this, args)
}

const plcPort = Number(process.env.PLC_PORT || 0) || undefined
const pdsPort = Number(process.env.PDS_PORT || 0) || undefined
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'atcr-test-pds-'))
for (const sub of ['data', 'blobs']) fs.mkdirSync(path.join(dataDir, sub))

const t0 = Date.now()
const { TestNetworkNoAppView } = await import('@atproto/dev-env')
const { AtpAgent } = await import('@atproto/api')

let network
let stopping = false
async function shutdown(code = 0) {
  if (stopping) return
  stopping = true
  const force = setTimeout(() => process.exit(code), 5000)
  force.unref()
  try {
    await network?.close()
  } catch (err) {
    console.error('network.mjs: close failed', err)
  }
  fs.rmSync(dataDir, { recursive: true, force: true })
  process.exit(code)
}
process.on('SIGTERM', () => void shutdown(0))
process.on('SIGINT', () => void shutdown(0))

try {
  network = await TestNetworkNoAppView.create({
    plc: { port: plcPort },
    pds: {
      port: pdsPort,
      hostname: 'localhost',
      dataDirectory: path.join(dataDir, 'data'),
      blobstoreDiskLocation: path.join(dataDir, 'blobs'),
    },
  })
} catch (err) {
  console.error('network.mjs: start failed', err)
  fs.rmSync(dataDir, { recursive: true, force: true })
  process.exit(1)
}
const pdsUrl = network.pds.url
const adminHeaders = network.pds.adminAuthHeaders()
emit({ plc: network.plc.url, pds: pdsUrl, startupMs: Date.now() - t0 })

const ops = {
  ping: async () => ({ ok: true }),
  createAccount: async ({ handle, password, email }) => {
    if (typeof handle !== 'string' || typeof password !== 'string') throw new Error('handle and password required')
    const agent = new AtpAgent({ service: pdsUrl })
    const res = await agent.com.atproto.server.createAccount({
      handle,
      password,
      email: email ?? `${handle.replace(/[^a-z0-9]/gi, '-')}@test.invalid`,
    })
    const { did, accessJwt, refreshJwt } = res.data
    return { did, handle: res.data.handle, accessJwt, refreshJwt }
  },
  takedownAccount: async ({ did, applied = true }) => {
    const agent = new AtpAgent({ service: pdsUrl })
    await agent.com.atproto.admin.updateSubjectStatus(
      { subject: { $type: 'com.atproto.admin.defs#repoRef', did }, takedown: { applied, ref: applied ? 'test' : undefined } },
      { headers: adminHeaders, encoding: 'application/json' },
    )
    return { did, applied }
  },
  deactivateAccount: async ({ did, applied = true }) => {
    const agent = new AtpAgent({ service: pdsUrl })
    await agent.com.atproto.admin.updateSubjectStatus(
      { subject: { $type: 'com.atproto.admin.defs#repoRef', did }, deactivated: { applied } },
      { headers: adminHeaders, encoding: 'application/json' },
    )
    return { did, applied }
  },
  deleteAccount: async ({ did }) => {
    const agent = new AtpAgent({ service: pdsUrl })
    await agent.com.atproto.admin.deleteAccount({ did }, { headers: adminHeaders, encoding: 'application/json' })
    return { did }
  },
}

const rl = readline.createInterface({ input: process.stdin })
rl.on('line', async (line) => {
  if (!line.trim()) return
  let cmd
  try {
    cmd = JSON.parse(line)
  } catch {
    emit({ error: 'bad JSON command' })
    return
  }
  const id = cmd?.id
  const op = ops[cmd?.op]
  if (!op) {
    emit({ id, error: `unknown op ${JSON.stringify(cmd?.op)}` })
    return
  }
  try {
    emit({ id, ...(await op(cmd)) })
  } catch (err) {
    emit({ id, error: err?.message ?? String(err) })
  }
})
rl.on('close', () => void shutdown(0))
