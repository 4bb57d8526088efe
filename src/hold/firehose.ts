import { encode as cborEncode } from '@atproto/lex-cbor'
import type { HoldRepo, SeqEvent } from './repo/repo.ts'

/** The minimal socket surface the firehose needs (Bun's ServerWebSocket satisfies it). */
export interface FrameSink {
  send(data: Uint8Array): number
  close(code?: number, reason?: string): void
  getBufferedAmount(): number
}

const MAX_BUFFERED = 4 * 1024 * 1024

export function frame(type: string, body: Uint8Array): Uint8Array {
  return Buffer.concat([cborEncode({ op: 1, t: type }), body])
}

export function errorFrame(error: string, message: string): Uint8Array {
  return Buffer.concat([cborEncode({ op: -1 }), cborEncode({ error, message })])
}

/**
 * Streams `com.atproto.sync.subscribeRepos` to one subscriber: replays stored events after `cursor`, then
 * follows new commits. Polls the sequence table as well as listening, so commits written by another
 * process (the crew CLI) reach subscribers too. Returns a stop function.
 */
export function streamEvents(repo: HoldRepo, sink: FrameSink, cursor: number | undefined): () => void {
  let stopped = false
  let wake: (() => void) | null = null
  const onEvent = () => wake?.()
  repo.events.on('event', onEvent)
  const stop = () => {
    stopped = true
    repo.events.off('event', onEvent)
    wake?.()
  }

  const current = repo.currentSeq()
  if (cursor !== undefined && cursor > current) {
    sink.send(errorFrame('FutureCursor', `cursor ${cursor} is ahead of the latest sequence ${current}`))
    sink.close(1008, 'FutureCursor')
    stop()
    return stop
  }

  void (async () => {
    let last = cursor ?? current
    while (!stopped) {
      const batch: SeqEvent[] = repo.eventsAfter(last)
      for (const ev of batch) {
        if (stopped) return
        while (sink.getBufferedAmount() > MAX_BUFFERED && !stopped) await Bun.sleep(20)
        sink.send(frame(ev.type, ev.body))
        last = ev.seq
      }
      if (batch.length === 0) {
        await new Promise<void>((resolve) => {
          wake = resolve
          setTimeout(resolve, 1000)
        })
        wake = null
      }
    }
  })().catch(() => {
    stop()
    sink.close(1011, 'internal error')
  })
  return stop
}
