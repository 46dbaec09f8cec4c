#!/usr/bin/env node
'use strict';
// Example backend: a login handler that gets the app's user_hash and/or JWT
// from idsign, and an API handler that verifies them. The same HTTP contract
// as examples/python (see README.md):
//
//   POST /login   {"username", "password"}
//       200 {user_id, email, user_hash?, jwt?, jwt_expires_at?, key_version}
//       401 bad credentials; 503 idsign unreachable or overloaded (retry
//       later); 500 idsign refused the call (misconfiguration).
//   GET  /api/me  with "Authorization: Bearer <jwt>", or X-User-Id and/or
//                 X-User-Email plus X-User-Hash
//       200 {user_id, email, verified, reason, mode} when idsign's decision
//           is allow; 401 when it is deny; 503 as above.
//
// Logs carry status codes and reasons, never user ids, e-mails, hashes or
// tokens.

const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const {parseArgs} = require('node:util');
const {IdsignClient, IdsignError} = require('./idsign_client');

function log(level, message) {
  process.stderr.write(`${new Date().toISOString()} ${level} ${message}\n`);
}

// Stands in for your real user store and password check.
function loadUsers(file) {
  const users = new Map();
  for (const user of JSON.parse(fs.readFileSync(file, 'utf8')).users) {
    users.set(user.username, user);
  }
  return users;
}

function authenticate(users, body) {
  const user = users.get(body.username);
  if (!user || typeof body.password !== 'string') return null;
  const expected = crypto.createHash('sha256').update(user.password).digest();
  const given = crypto.createHash('sha256').update(body.password).digest();
  return crypto.timingSafeEqual(expected, given) ? user : null;
}

// The HTTP answer to a failed idsign call: never an unsigned value.
function idsignFailure(error) {
  if (!(error instanceof IdsignError)) throw error;
  log('WARNING', `idsign ${error.method} failed: ${error.codeName}`);
  if (error.transient) {
    return [503, {error: 'identity signing is unavailable, try again'}];
  }
  return [500, {error: 'identity signing is misconfigured'}];
}

async function login(app, body) {
  const user = authenticate(app.users, body);
  if (!user) return [401, {error: 'wrong username or password'}];
  const identity = {userId: user.user_id || '', email: user.email || ''};
  const result = {user_id: identity.userId, email: identity.email};
  try {
    if (app.issue === 'user_hash' || app.issue === 'both') {
      Object.assign(result, await app.client.sign(identity));
    }
    if (app.issue === 'jwt' || app.issue === 'both') {
      Object.assign(
          result,
          await app.client.signJwt({...identity, ttlSeconds: app.jwtTtl}));
    }
  } catch (error) {
    return idsignFailure(error);
  }
  return [200, result];
}

// Our own API: who is calling, proven by what login handed out.
async function me(app, headers) {
  const authorization = headers['authorization'] || '';
  let verdict;
  try {
    if (authorization.startsWith('Bearer ')) {
      verdict = await app.client.verifyJwt(authorization.slice(7));
    } else {
      verdict = await app.client.verify({
        userId: headers['x-user-id'] || '',
        email: headers['x-user-email'] || '',
        userHash: headers['x-user-hash'] || '',
      });
    }
  } catch (error) {
    if (error instanceof IdsignError && error.codeName === 'INVALID_ARGUMENT') {
      // Malformed or absent identity or hash, as the client sent it.
      return [401, {error: 'identity verification failed'}];
    }
    return idsignFailure(error);
  }
  if (!verdict.valid) {
    const detail = verdict.detail ? ` (${verdict.detail})` : '';
    log('WARNING',
        `identity ${verdict.reason}${detail} (mode ${verdict.mode}): ` +
            (verdict.allow ? 'allowed' : 'denied'));
  }
  if (!verdict.allow) {
    return [
      401, {error: 'identity verification failed', reason: verdict.reason}
    ];
  }
  return [
    200, {
      user_id: verdict.userId,
      email: verdict.email,
      verified: verdict.valid,
      reason: verdict.reason,
      mode: verdict.mode
    }
  ];
}

function reply(response, status, body) {
  const data = JSON.stringify(body);
  const headers = {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(data),
    'Cache-Control': 'no-store',
  };
  if (status === 503) headers['Retry-After'] = '1';
  response.writeHead(status, headers);
  response.end(data);
}

async function route(app, request) {
  if (request.method === 'POST' && request.url === '/login') {
    let text = '';
    for await (const chunk of request) {
      text += chunk;
      if (text.length > 65536) return [413, {error: 'body too large'}];
    }
    let body;
    try {
      body = JSON.parse(text || '{}');
    } catch {
      body = null;
    }
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      return [400, {error: 'expected a JSON object'}];
    }
    return login(app, body);
  }
  if (request.method === 'GET' && request.url === '/api/me') {
    return me(app, request.headers);
  }
  return [404, {error: 'not found'}];
}

function parseFlags() {
  const env = process.env;
  const {values} = parseArgs({
    options: {
      'listen': {type: 'string', default: env.LISTEN || '127.0.0.1:8080'},
      'idsign-server':
          {type: 'string', default: env.IDSIGN_SERVER || '127.0.0.1:50051'},
      'key': {type: 'string', default: env.IDSIGN_KEY || 'demo/web/test'},
      'timeout': {type: 'string', default: env.IDSIGN_TIMEOUT || '2'},
      'tls-ca': {type: 'string', default: env.IDSIGN_TLS_CA || ''},
      'tls-cert': {type: 'string', default: env.IDSIGN_TLS_CERT || ''},
      'tls-key': {type: 'string', default: env.IDSIGN_TLS_KEY || ''},
      'tls-server-name':
          {type: 'string', default: env.IDSIGN_TLS_SERVER_NAME || ''},
      'issue': {type: 'string', default: env.ISSUE || 'user_hash'},
      'jwt-ttl': {type: 'string', default: env.JWT_TTL || '3600'},
      'users': {
        type: 'string',
        default: env.USERS_FILE || path.join(__dirname, 'demo_users.json'),
      },
    },
  });
  if (!['user_hash', 'jwt', 'both'].includes(values.issue)) {
    throw new Error('--issue must be user_hash, jwt or both');
  }
  return values;
}

function main() {
  let flags;
  let client;
  try {
    flags = parseFlags();
    client = new IdsignClient({
      server: flags['idsign-server'],
      key: flags.key,
      timeoutSeconds: Number(flags.timeout),
      tlsCa: flags['tls-ca'],
      tlsCert: flags['tls-cert'],
      tlsKey: flags['tls-key'],
      tlsServerName: flags['tls-server-name'],
    });
  } catch (error) {
    process.stderr.write(`login_server: ${error.message}\n`);
    process.exit(2);
  }
  const app = {
    client,
    users: loadUsers(flags.users),
    issue: flags.issue,
    jwtTtl: Number(flags['jwt-ttl']),
  };
  const server = http.createServer((request, response) => {
    route(app, request)
        .then(([status, body]) => {
          log('INFO', `${request.method} ${request.url} ${status}`);
          reply(response, status, body);
        })
        .catch((error) => {
          log('ERROR', `${request.method} ${request.url}: ${error.message}`);
          reply(response, 500, {error: 'internal error'});
        });
  });
  const colon = flags.listen.lastIndexOf(':');
  const host = flags.listen.slice(0, colon);
  server.listen(Number(flags.listen.slice(colon + 1)), host, () => {
    process.stdout.write(
        `listening on http://${host}:${server.address().port} ` +
        `(idsign ${flags['idsign-server']}, key ${flags.key})\n`);
  });
  const stop = () => {
    server.close();
    client.close();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main();
