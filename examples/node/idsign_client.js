'use strict';
// A small idsign client for a backend: one gRPC channel, four calls.
//
// Create one IdsignClient per process and share it; close() it at exit.
// Every call has a deadline, and UNAVAILABLE is retried by gRPC itself (the
// channel's service config) with exponential backoff. Anything else rejects
// with an IdsignError. Nothing here computes a MAC locally: there is no
// secret to fall back on.

const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const PROTO_DIR =
    process.env.IDSIGN_PROTO_DIR || path.join(__dirname, '..', '..', 'proto');

// The proto is read at start-up; nothing is generated or committed.
function loadSigner() {
  const definition = protoLoader.loadSync('idsign/v1/signer.proto', {
    includeDirs: [PROTO_DIR],
    keepCase: true,  // user_id, not userId: the proto's own field names
    enums: String,   // 'DECISION_ALLOW'
    longs: Number,
    defaults: true,
    oneofs: true,
  });
  return grpc.loadPackageDefinition(definition).idsign.v1.Signer;
}

// Retry only what the server says is worth retrying (a token, device or
// session failure, or no connection). RESOURCE_EXHAUSTED means the server is
// shedding load: retrying at once would make that worse.
const SERVICE_CONFIG = JSON.stringify({
  methodConfig: [{
    name: [{service: 'idsign.v1.Signer'}],
    retryPolicy: {
      maxAttempts: 3,
      initialBackoff: '0.1s',
      maxBackoff: '1s',
      backoffMultiplier: 2,
      retryableStatusCodes: ['UNAVAILABLE'],
    },
  }],
});

// Codes after which the caller may try again later (HTTP 503).
const TRANSIENT = new Set([
  grpc.status.UNAVAILABLE,
  grpc.status.DEADLINE_EXCEEDED,
  grpc.status.RESOURCE_EXHAUSTED,
]);

class IdsignError extends Error {
  constructor(method, code, details) {
    super(`idsign ${method} failed: ${grpc.status[code]}: ${details}`);
    this.method = method;
    this.code = code;
    this.codeName = grpc.status[code];
    this.details = details;
  }

  get transient() {
    return TRANSIENT.has(this.code);
  }
}

function isLoopback(server) {
  if (server.startsWith('unix:')) return true;
  const host = server.slice(0, server.lastIndexOf(':')).replace(/^\[|\]$/g, '');
  if (host === 'localhost') return true;
  if (net.isIPv4(host)) return host.startsWith('127.');
  return net.isIPv6(host) && host === '::1';
}

// TLS when tlsCa is set, else plaintext (loopback only, as idsignd itself
// insists).
function makeCredentials(config, options) {
  if (!config.tlsCa) {
    if (config.tlsCert || config.tlsKey || config.tlsServerName) {
      throw new Error(
          '--tls-cert, --tls-key and --tls-server-name need ' +
          '--tls-ca');
    }
    if (!isLoopback(config.server)) {
      throw new Error(
          `idsign server ${config.server} is not on loopback: ` +
          'give --tls-ca (and a client certificate) to reach ' +
          'it over TLS');
    }
    return grpc.credentials.createInsecure();
  }
  if (Boolean(config.tlsCert) !== Boolean(config.tlsKey)) {
    throw new Error('--tls-cert and --tls-key go together');
  }
  if (config.tlsServerName) {
    options['grpc.ssl_target_name_override'] = config.tlsServerName;
    options['grpc.default_authority'] = config.tlsServerName;
  }
  return grpc.credentials.createSsl(
      fs.readFileSync(config.tlsCa),
      config.tlsKey ? fs.readFileSync(config.tlsKey) : null,
      config.tlsCert ? fs.readFileSync(config.tlsCert) : null);
}

function verdict(response, userId, email, detail = '') {
  let allow;
  if (response.decision === 'DECISION_ALLOW') {
    allow = true;
  } else if (response.decision === 'DECISION_DENY') {
    allow = false;
  } else {
    allow = response.valid;  // A server without verification rollout: enforce.
  }
  let reason = response.reason.replace(/^VERIFY_REASON_/, '');
  if (reason === 'UNSPECIFIED') reason = response.valid ? 'VALID' : 'INVALID';
  let mode = response.mode.replace(/^ROLLOUT_MODE_/, '');
  if (mode === 'UNSPECIFIED') mode = 'ENFORCE';
  // userId/email: the identity concerned, unproven unless valid.
  // detail (VerifyJwt): why a token is invalid, e.g. "expired".
  return {allow, valid: response.valid, reason, mode, detail, userId, email};
}

class IdsignClient {
  // config: {server, key, timeoutSeconds, tlsCa, tlsCert, tlsKey,
  // tlsServerName}
  constructor(config) {
    this.config = config;
    const options = {
      'grpc.service_config': SERVICE_CONFIG,
      'grpc.enable_retries': 1,
    };
    const credentials = makeCredentials(config, options);
    const Signer = loadSigner();
    this.stub = new Signer(config.server, credentials, options);
  }

  close() {
    this.stub.close();
  }

  call(method, request) {
    const deadline = Date.now() + this.config.timeoutSeconds * 1000;
    return new Promise((resolve, reject) => {
      this.stub[method](request, {deadline}, (error, response) => {
        if (error)
          reject(new IdsignError(method, error.code, error.details));
        else
          resolve(response);
      });
    });
  }

  // The user_hash the messenger vendor expects for this user.
  async sign({userId = '', email = ''}) {
    const response = await this.call('Sign', {
      key: this.config.key,
      identity: {user_id: userId, email},
    });
    return {user_hash: response.user_hash, key_version: response.key_version};
  }

  // An HS256 JWT for this user, valid for ttlSeconds.
  async signJwt({userId = '', email = '', ttlSeconds = 3600}) {
    const response = await this.call('SignJwt', {
      key: this.config.key,
      identity: {user_id: userId, email},
      ttl: {seconds: ttlSeconds, nanos: 0},
    });
    return {
      jwt: response.jwt,
      jwt_expires_at: Number(response.expires_at.seconds),
      key_version: response.key_version,
    };
  }

  // Checks a user_hash that a client presented; an empty one counts as
  // missing.
  async verify({userId = '', email = '', userHash = ''}) {
    const response = await this.call('Verify', {
      key: this.config.key,
      identity: {user_id: userId, email},
      user_hash: userHash,
    });
    return verdict(response, userId, email);
  }

  // Checks a JWT that a client presented; an empty one counts as missing.
  // The identity comes from the token's payload.
  async verifyJwt(token) {
    const response =
        await this.call('VerifyJwt', {key: this.config.key, jwt: token});
    return verdict(response, response.user_id, response.email, response.detail);
  }
}

module.exports = {
  IdsignClient,
  IdsignError
};
