import { createHash } from 'node:crypto';
import { OciRegistry, startRegistry } from './RegistryServer';
import { Exchange, assertContract, recordingFetch } from './contractCheck';

jest.setTimeout(180_000);

const sha256 = (data: Buffer | string) =>
  `sha256:${createHash('sha256').update(data).digest('hex')}`;
const errorCodes = (body: Buffer) =>
  JSON.parse(body.toString('utf8')).errors.map((e: any) => e.code);

describe('registry blobs (end-2, end-4 … end-6, end-10, end-11, end-13, end-14)', () => {
  let registry: OciRegistry;
  let exchanges: Exchange[];
  let call: ReturnType<typeof recordingFetch>;

  beforeEach(async () => {
    registry = await startRegistry();
    exchanges = [];
    call = recordingFetch(registry.url, exchanges);
  });

  afterEach(async () => {
    await registry.stop();
    // Every answer of every test follows the contract.
    assertContract(exchanges);
  });

  it('answers the base check with the API version header', async () => {
    const res = await call('/v2/');
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-distribution-api-version')).toBe(
      'registry/2.0',
    );
  });

  it('takes a blob in a single POST and serves it by digest', async () => {
    const data = Buffer.from('hello layer');
    const digest = sha256(data);
    const post = await call(`/v2/team/app/blobs/uploads/?digest=${digest}`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: data,
    });
    expect(post.status).toBe(201);
    expect(post.headers.get('location')).toBe(`/v2/team/app/blobs/${digest}`);

    const head = await call(`/v2/team/app/blobs/${digest}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(data.length));
    expect(head.headers.get('docker-content-digest')).toBe(digest);

    const get = await call(`/v2/team/app/blobs/${digest}`);
    expect(get.body).toEqual(data);

    const range = await call(`/v2/team/app/blobs/${digest}`, {
      headers: { range: 'bytes=6-' },
    });
    expect(range.status).toBe(206);
    expect(range.body.toString()).toBe('layer');
    expect(range.headers.get('content-range')).toBe('bytes 6-10/11');
  });

  it('refuses content that does not match its digest, and unknown or malformed digests', async () => {
    const wrong = await call(
      `/v2/team/app/blobs/uploads/?digest=${sha256('other')}`,
      { method: 'POST', body: 'hello' },
    );
    expect(wrong.status).toBe(400);
    expect(errorCodes(wrong.body)).toEqual(['DIGEST_INVALID']);

    const unknown = await call(`/v2/team/app/blobs/${sha256('never pushed')}`);
    expect(unknown.status).toBe(404);
    expect(errorCodes(unknown.body)).toEqual(['BLOB_UNKNOWN']);
    const unknownHead = await call(`/v2/team/app/blobs/${sha256('nope')}`, {
      method: 'HEAD',
    });
    expect(unknownHead.status).toBe(404);

    const malformed = await call('/v2/team/app/blobs/sha256:1234');
    expect(malformed.status).toBe(400);
    expect(errorCodes(malformed.body)).toEqual(['DIGEST_INVALID']);
  });

  it('keeps blobs per repository, as a registry does', async () => {
    const data = Buffer.from('team a only');
    const digest = sha256(data);
    await call(`/v2/team/a/blobs/uploads/?digest=${digest}`, {
      method: 'POST',
      body: data,
    });
    expect((await call(`/v2/team/b/blobs/${digest}`)).status).toBe(404);
  });

  it('takes a blob in chunks: POST, PATCH with Content-Range, PUT ?digest=', async () => {
    const start = await call('/v2/team/app/blobs/uploads/', {
      method: 'POST',
      headers: { 'content-length': '0' },
    });
    expect(start.status).toBe(202);
    const location = start.headers.get('location')!;
    expect(location).toMatch(
      /^\/v2\/team\/app\/blobs\/uploads\/[0-9a-f-]{36}$/,
    );
    expect(start.headers.get('docker-upload-uuid')).toBe(
      location.split('/').pop(),
    );
    expect(start.headers.get('range')).toBe('0-0');

    const first = await call(location, {
      method: 'PATCH',
      headers: {
        'content-type': 'application/octet-stream',
        'content-range': '0-4',
      },
      body: 'hello',
    });
    expect(first.status).toBe(202);
    expect(first.headers.get('range')).toBe('0-4');

    const outOfOrder = await call(first.headers.get('location')!, {
      method: 'PATCH',
      headers: { 'content-range': '10-14' },
      body: 'later',
    });
    expect(outOfOrder.status).toBe(416);

    const status = await call(location);
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe('0-4');

    const whole = Buffer.from('hello world');
    const badDigest = await call(`${location}?digest=${sha256('x')}`, {
      method: 'PUT',
    });
    expect(badDigest.status).toBe(400);
    expect(errorCodes(badDigest.body)).toEqual(['DIGEST_INVALID']);

    const put = await call(`${location}?digest=${sha256(whole)}`, {
      method: 'PUT',
      headers: { 'content-range': '5-10' },
      body: ' world',
    });
    expect(put.status).toBe(201);
    expect(put.headers.get('docker-content-digest')).toBe(sha256(whole));
    expect((await call(`/v2/team/app/blobs/${sha256(whole)}`)).body).toEqual(
      whole,
    );
    // The session is over.
    const after = await call(location);
    expect(after.status).toBe(404);
    expect(errorCodes(after.body)).toEqual(['BLOB_UPLOAD_UNKNOWN']);
  });

  it('refuses an upload session of another repository or none, and cancels one', async () => {
    const start = await call('/v2/team/app/blobs/uploads/', { method: 'POST' });
    const id = start.headers.get('docker-upload-uuid');
    const elsewhere = await call(`/v2/team/other/blobs/uploads/${id}`, {
      method: 'PATCH',
      body: 'x',
    });
    expect(elsewhere.status).toBe(404);
    expect(errorCodes(elsewhere.body)).toEqual(['BLOB_UPLOAD_UNKNOWN']);
    const noDigest = await call(`/v2/team/app/blobs/uploads/${id}`, {
      method: 'PUT',
    });
    expect(noDigest.status).toBe(400);
    expect(errorCodes(noDigest.body)).toEqual(['DIGEST_INVALID']);
    const cancel = await call(`/v2/team/app/blobs/uploads/${id}`, {
      method: 'DELETE',
    });
    expect(cancel.status).toBe(204);
    expect((await call(`/v2/team/app/blobs/uploads/${id}`)).status).toBe(404);
  });

  it('mounts a blob from another repository, or starts an upload when it cannot', async () => {
    const data = Buffer.from('shared base layer');
    const digest = sha256(data);
    await call(`/v2/base/img/blobs/uploads/?digest=${digest}`, {
      method: 'POST',
      body: data,
    });
    const mounted = await call(
      `/v2/team/app/blobs/uploads/?mount=${digest}&from=base/img`,
      { method: 'POST' },
    );
    expect(mounted.status).toBe(201);
    expect(mounted.headers.get('docker-content-digest')).toBe(digest);
    expect((await call(`/v2/team/app/blobs/${digest}`)).body).toEqual(data);

    const notThere = await call(
      `/v2/team/app/blobs/uploads/?mount=${sha256('absent')}&from=base/img`,
      { method: 'POST' },
    );
    expect(notThere.status).toBe(202);
    expect(notThere.headers.get('location')).toMatch(/\/blobs\/uploads\//);
  });

  it('deletes a blob from a repository', async () => {
    const data = Buffer.from('to delete');
    const digest = sha256(data);
    await call(`/v2/team/app/blobs/uploads/?digest=${digest}`, {
      method: 'POST',
      body: data,
    });
    const del = await call(`/v2/team/app/blobs/${digest}`, {
      method: 'DELETE',
    });
    expect(del.status).toBe(202);
    expect((await call(`/v2/team/app/blobs/${digest}`)).status).toBe(404);
    expect(
      (await call(`/v2/team/app/blobs/${digest}`, { method: 'DELETE' })).status,
    ).toBe(404);
  });

  it('takes nested names and refuses names outside the spec grammar', async () => {
    const data = Buffer.from('nested');
    const digest = sha256(data);
    const nested = await call(
      `/v2/org/team/sub-group/app_1/blobs/uploads/?digest=${digest}`,
      { method: 'POST', body: data },
    );
    expect(nested.status).toBe(201);
    for (const name of ['Team/App', 'team//app', '-team/app', 'team/app.']) {
      const res = await call(`/v2/${name}/blobs/${digest}`);
      expect([name, res.status]).toEqual([name, 400]);
      expect(errorCodes(res.body)).toEqual(['NAME_INVALID']);
    }
  });
});
