#!/usr/bin/env node
// Starts kinesalite (the local Kinesis the engines/kinesis tests use) on
// 127.0.0.1 and a free port, and prints "PORT <n>" once it listens.
//
// kinesalite's own CLI treats "--port 0" as "use 4567" (0 is falsy), so the
// tests start it through its node API instead, which lets the OS pick the
// port. Streams are ACTIVE at once (createStreamMs 0) and the account-wide
// shard limit is raised so that many test streams fit.
//
// Usage: node server.js [--path <dir>] [--port <n>] [--shardLimit <n>]
//   --path        LevelDB directory: records survive a restart (default: memory)
//   --port        port to listen on (default: 0, a free one)
//   --shardLimit  open shards allowed in total (default: 1000)
//
// The process exits when its standard input closes, so a test binary that
// dies without cleanup never leaves a kinesalite behind.
'use strict'

const args = {}
const argv = process.argv.slice(2)
for (let i = 0; i < argv.length; i++) {
  const m = /^--([^=]+)(?:=(.*))?$/.exec(argv[i])
  if (!m) {
    console.error('server.js: unexpected argument ' + argv[i])
    process.exit(2)
  }
  args[m[1]] = m[2] !== undefined ? m[2] : argv[++i]
}

const kinesalite = require('kinesalite')
const server = kinesalite({
  path: args.path,
  createStreamMs: 0,
  deleteStreamMs: 0,
  updateStreamMs: 0,
  shardLimit: Number(args.shardLimit || 1000),
})

// kinesalite rethrows a request's 'error' event (index.js: req.on('error',
// function(err) { throw err })), so a client that cancels a call while its
// body is on the wire (ECONNRESET, "aborted") kills the whole server. A
// real Kinesis shrugs that off; so do we.
process.on('uncaughtException', (err) => {
  if (err && (err.code === 'ECONNRESET' || err.message === 'aborted' || err.code === 'EPIPE')) return
  console.error('server.js: uncaught exception: ' + (err && err.stack || err))
  process.exit(1)
})

server.on('error', (err) => {
  console.error('server.js: ' + err.message)
  process.exit(1)
})

server.listen(Number(args.port || 0), '127.0.0.1', () => {
  console.log('PORT ' + server.address().port)
})

process.stdin.on('end', () => process.exit(0))
process.stdin.on('error', () => process.exit(0))
process.stdin.resume()
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0))
