// oidc-provider configured as dancu's /oauth/token is for partners (bench/oidc_token.sh):
// the client_credentials grant, client_secret_basic, access tokens as ES256-signed JWTs
// (RFC 9068 via resource indicators) for one audience, 300 s, nothing stored per token.
// One worker per core (node:cluster), as dancu's runtime uses every core.
//
//   node server.mjs PORT CLIENT_ID CLIENT_SECRET [WORKERS]
import cluster from 'node:cluster';
import { generateKeyPairSync } from 'node:crypto';
import { availableParallelism } from 'node:os';
import Provider from 'oidc-provider';

const [port, clientId, clientSecret, workersArg] = process.argv.slice(2);
const workers = Number(workersArg || availableParallelism());
const issuer = `http://127.0.0.1:${port}`;
const audience = `${issuer}/api/v1/partner`;

if (cluster.isPrimary) {
  // One signing key shared by the workers, as dancu's servers share a key directory.
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench', alg: 'ES256', use: 'sig' };
  for (let i = 0; i < workers; i += 1) cluster.fork({ BENCH_JWK: JSON.stringify(jwk) });
  cluster.on('exit', (w, code) => { if (code) { console.error(`worker exited ${code}`); process.exit(1); } });
} else {
  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'ES256',
      scope: 'partner:verify partner:card',
    }],
    jwks: { keys: [JSON.parse(process.env.BENCH_JWK)] },
    scopes: ['partner:verify', 'partner:card'],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => audience,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: 'partner:verify partner:card',
          audience,
          accessTokenTTL: 300,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        }),
      },
    },
  });
  provider.listen(Number(port));
}
