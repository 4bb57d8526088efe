import type { XrpcMethod } from './method.ts'
import describeServer from './com/atproto/server/describeServer.ts'
import describeRepo from './com/atproto/repo/describeRepo.ts'
import getRecord from './com/atproto/repo/getRecord.ts'
import listRecords from './com/atproto/repo/listRecords.ts'
import putRecord from './com/atproto/repo/putRecord.ts'
import deleteRecord from './com/atproto/repo/deleteRecord.ts'
import getRepo from './com/atproto/sync/getRepo.ts'
import getLatestCommit from './com/atproto/sync/getLatestCommit.ts'
import syncGetRecord from './com/atproto/sync/getRecord.ts'
import listRepos from './com/atproto/sync/listRepos.ts'
import getRepoStatus from './com/atproto/sync/getRepoStatus.ts'
import getBlob from './com/atproto/sync/getBlob.ts'
import resolveHandle from './com/atproto/identity/resolveHandle.ts'
import initiateUpload from './io/atcr/hold/initiateUpload.ts'
import getPartUploadUrl from './io/atcr/hold/getPartUploadUrl.ts'
import uploadPart from './io/atcr/hold/uploadPart.ts'
import completeUpload from './io/atcr/hold/completeUpload.ts'
import abortUpload from './io/atcr/hold/abortUpload.ts'
import notifyManifest from './io/atcr/hold/notifyManifest.ts'
import requestCrew from './io/atcr/hold/requestCrew.ts'
import getQuota from './io/atcr/hold/getQuota.ts'
import listTiers from './io/atcr/hold/listTiers.ts'

/** Every XRPC method the hold serves (subscribeRepos, a WebSocket, is wired separately in server.ts). */
export const HOLD_METHODS: XrpcMethod<any, any>[] = [
  describeServer,
  describeRepo,
  getRecord,
  listRecords,
  putRecord,
  deleteRecord,
  getRepo,
  getLatestCommit,
  syncGetRecord,
  listRepos,
  getRepoStatus,
  getBlob,
  resolveHandle,
  initiateUpload,
  getPartUploadUrl,
  uploadPart,
  completeUpload,
  abortUpload,
  notifyManifest,
  requestCrew,
  getQuota,
  listTiers,
]
