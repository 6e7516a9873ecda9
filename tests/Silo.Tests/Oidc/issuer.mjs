// A real OpenID Connect issuer for the API's token tests (npm's oidc-provider): client-credentials grants, signed
// JWT access tokens for any requested audience, and a project claim per client. Test data only, on loopback.
// Usage: node issuer.mjs PORT. Prints READY when it listens.
import Provider from 'oidc-provider';
import { generateKeyPair, exportJWK } from 'jose';

const port = Number(process.argv[2]);
const issuer = `http://127.0.0.1:${port}`;
const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await exportJWK(privateKey)), alg: 'RS256', use: 'sig', kid: 'test-key' };

// The client is the user (its id becomes the token's sub); "short" gets tokens that expire after one second.
const projects = { alice: 'nlp', bob: 'vision', short: 'nlp' };
const roles = { alice: [], bob: [], short: [] };
const clients = Object.keys(projects).map((id) => ({
  client_id: id,
  client_secret: `${id}-secret`,
  grant_types: ['client_credentials'],
  redirect_uris: [],
  response_types: [],
  token_endpoint_auth_method: 'client_secret_post',
}));

const provider = new Provider(issuer, {
  clients,
  jwks: { keys: [jwk] },
  scopes: ['api'],
  features: {
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => 'urn:flatlora:api',
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource, client) => ({
        scope: 'api',
        audience: resource,
        accessTokenFormat: 'jwt',
        accessTokenTTL: client.clientId === 'short' ? 1 : 600,
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
  extraTokenClaims: (ctx, token) => ({ project: projects[token.clientId], roles: roles[token.clientId] }),
});
provider.proxy = false;
provider.listen(port, '127.0.0.1', () => console.log('READY'));
