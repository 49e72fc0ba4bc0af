import { OciRegistry, startRegistry } from './RegistryServer';
import { Exchange, assertContract, recordingFetch } from './contractCheck';

jest.setTimeout(180_000);

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** `key="value"` pairs of a challenge. */
function challenge(header: string | null) {
  const [scheme, ...rest] = (header ?? '').split(' ');
  const params = Object.fromEntries(
    [...rest.join(' ').matchAll(/(\w+)="([^"]*)"/g)].map(m => [m[1], m[2]]),
  );
  return { scheme, ...params } as Record<string, string>;
}

describe('registry with credentials: the Bearer token flow', () => {
  let registry: OciRegistry;
  let exchanges: Exchange[];
  let call: ReturnType<typeof recordingFetch>;

  beforeEach(async () => {
    registry = await startRegistry({
      credentials: { username: 'ci', password: 's3cret' },
    });
    await registry.pushImage('team/app', 'v1');
    exchanges = [];
    call = recordingFetch(registry.url, exchanges);
  });

  afterEach(async () => {
    await registry.stop();
    assertContract(exchanges);
  });

  /** Follows a challenge to its realm as a client does; resolves to the token. */
  const token = async (
    header: string | null,
    authorization?: string,
  ): Promise<{ status: number; token?: string }> => {
    const c = challenge(header);
    const realm = new URL(c.realm);
    realm.searchParams.set('service', c.service);
    if (c.scope) realm.searchParams.set('scope', c.scope);
    const res = await fetch(realm, {
      headers: authorization ? { authorization } : {},
    });
    const body = await res.json();
    return { status: res.status, token: body.token };
  };

  it('challenges unauthenticated requests with a Bearer realm, service and scope', async () => {
    const base = await call('/v2/');
    expect(base.status).toBe(401);
    expect(base.headers.get('docker-distribution-api-version')).toBe(
      'registry/2.0',
    );
    expect(challenge(base.headers.get('www-authenticate'))).toEqual({
      scheme: 'Bearer',
      realm: `${registry.url}/token`,
      service: registry.host,
    });
    const tags = await call('/v2/team/app/tags/list');
    expect(tags.status).toBe(401);
    expect(JSON.parse(tags.body.toString()).errors[0].code).toBe(
      'UNAUTHORIZED',
    );
    expect(challenge(tags.headers.get('www-authenticate')).scope).toBe(
      'repository:team/app:pull',
    );
    const push = await call('/v2/team/app/blobs/uploads/', { method: 'POST' });
    expect(challenge(push.headers.get('www-authenticate')).scope).toBe(
      'repository:team/app:pull,push',
    );
  });

  it('issues a token for valid credentials that grants the scope asked for', async () => {
    const first = await call('/v2/team/app/tags/list');
    const wrong = await token(
      first.headers.get('www-authenticate'),
      basic('ci', 'nope'),
    );
    expect(wrong.status).toBe(401);

    const granted = await token(
      first.headers.get('www-authenticate'),
      basic('ci', 's3cret'),
    );
    expect(granted.status).toBe(200);
    const auth = { authorization: `Bearer ${granted.token}` };
    const tags = await call('/v2/team/app/tags/list', { headers: auth });
    expect(tags.status).toBe(200);
    expect(JSON.parse(tags.body.toString()).tags).toEqual(['v1']);
    expect((await call('/v2/', { headers: auth })).status).toBe(200);

    // A pull token neither pushes nor reads another repository.
    const push = await call('/v2/team/app/manifests/v2', {
      method: 'PUT',
      headers: { ...auth, 'content-type': OCI_INDEX },
      body: `{"schemaVersion":2,"mediaType":"${OCI_INDEX}","manifests":[]}`,
    });
    expect(push.status).toBe(401);
    expect(challenge(push.headers.get('www-authenticate'))).toMatchObject({
      scope: 'repository:team/app:pull,push',
      error: 'insufficient_scope',
    });
    const other = await call('/v2/team/other/tags/list', { headers: auth });
    expect(other.status).toBe(401);
  });

  it('gives anonymous clients a token that grants nothing, and refuses unknown tokens', async () => {
    const first = await call('/v2/team/app/tags/list');
    const anonymous = await token(first.headers.get('www-authenticate'));
    expect(anonymous.status).toBe(200);
    const denied = await call('/v2/team/app/tags/list', {
      headers: { authorization: `Bearer ${anonymous.token}` },
    });
    expect(denied.status).toBe(401);
    expect(challenge(denied.headers.get('www-authenticate')).error).toBe(
      'insufficient_scope',
    );
    const forged = await call('/v2/', {
      headers: { authorization: 'Bearer forged' },
    });
    expect(forged.status).toBe(401);
    expect(challenge(forged.headers.get('www-authenticate')).error).toBe(
      'invalid_token',
    );
    // Basic credentials on the registry itself are not a way in.
    const basicOnly = await call('/v2/team/app/tags/list', {
      headers: { authorization: basic('ci', 's3cret') },
    });
    expect(basicOnly.status).toBe(401);
  });

  it('takes the OAuth2 form (grant_type=password, refresh_token) that containerd and oras use', async () => {
    const form = (fields: Record<string, string>) =>
      fetch(`${registry.url}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          service: registry.host,
          client_id: 'test',
          ...fields,
        }),
      });
    const bad = await form({
      grant_type: 'password',
      username: 'ci',
      password: 'x',
    });
    expect(bad.status).toBe(401);
    const ok = await form({
      grant_type: 'password',
      username: 'ci',
      password: 's3cret',
      scope: 'repository:team/app:pull registry:catalog:*',
      access_type: 'offline',
    });
    expect(ok.status).toBe(200);
    const body = await ok.json();
    const catalog = await call('/v2/_catalog', {
      headers: { authorization: `Bearer ${body.access_token}` },
    });
    expect(JSON.parse(catalog.body.toString())).toEqual({
      repositories: ['team/app'],
    });
    const refreshed = await form({
      grant_type: 'refresh_token',
      refresh_token: body.refresh_token,
      scope: 'repository:team/app:pull',
    });
    expect(refreshed.status).toBe(200);
    const again = await call('/v2/team/app/tags/list', {
      headers: {
        authorization: `Bearer ${(await refreshed.json()).access_token}`,
      },
    });
    expect(again.status).toBe(200);
  });
});
