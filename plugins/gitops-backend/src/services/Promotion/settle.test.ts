import { registerMswTestHooks } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { Knex } from 'knex';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import {
  entity,
  environment,
  MemoryWriter,
  promotionsDb,
  promotionService,
  REPO_URL,
} from '../../__testUtils__/promotionFixtures';
import { testDatabases } from '../../__testUtils__/testServices';
import { GithubConfigRepoWriter } from '../ConfigRepo/GithubConfigRepoWriter';
import { pullRequestBranch } from './records';

const API = 'https://ghe.example.test/api/v3';
const TOKEN = 'ghp-settle-token';
const MERGE_COMMIT = 'f'.repeat(40);
const longAgo = () => new Date(Date.now() - 60 * 60_000);

const server = setupServer();
registerMswTestHooks(server);

const databases = testDatabases();

describe.each(databases.eachSupportedId())('on %s', databaseId => {
  let db: Knex;
  beforeEach(async () => {
    db = await promotionsDb(databases, databaseId);
  });
  afterEach(async () => {
    await db.destroy();
  });

  function row(id: string, fields: Record<string, unknown> = {}) {
    return {
      id,
      kind: 'promotion',
      entity_ref: 'component:default/service-a',
      from_environment: 'staging',
      to_environment: 'prod',
      version: '1.1.0',
      method: 'pull-request',
      status: 'pr-opened',
      commit_sha: 'a'.repeat(40),
      pr_url: `https://ghe.example.test/checkout/service-a-config/pull/${id}`,
      actor: 'user:default/jane',
      repo_url: REPO_URL,
      branch: 'main',
      values_file: 'chart/values-prod.yaml',
      value_key: 'image.tag',
      created_at: longAgo(),
      updated_at: longAgo(),
      ...fields,
    };
  }

  /**
   * GitHub's pulls API over pull requests by head branch (`owner:branch`), answered as
   * GitHub answers `GET /repos/{owner}/{repo}/pulls?head=&state=all`.
   */
  function githubPulls(byBranch: Record<string, object>) {
    const asked: string[] = [];
    server.use(
      http.get(
        `${API}/repos/checkout/service-a-config/pulls`,
        ({ request }) => {
          const url = new URL(request.url);
          if (request.headers.get('authorization') !== `token ${TOKEN}`)
            return HttpResponse.json(
              { message: 'Bad credentials' },
              { status: 401 },
            );
          expect(url.searchParams.get('state')).toBe('all');
          const head = url.searchParams.get('head')!;
          asked.push(head);
          const branch = head.replace(/^checkout:/, '');
          const pull = byBranch[branch];
          return HttpResponse.json(
            pull ? [{ head: { ref: branch }, ...pull }] : [],
          );
        },
      ),
    );
    return asked;
  }

  const githubWriter = () =>
    GithubConfigRepoWriter.fromConfig(
      new ConfigReader({
        integrations: {
          github: [{ host: 'ghe.example.test', apiBaseUrl: API, token: TOKEN }],
        },
      }),
      { timeoutMs: 2000 },
    );

  const pull = (number: number, fields: object) => ({
    number,
    html_url: `https://ghe.example.test/checkout/service-a-config/pull/${number}`,
    state: 'open',
    merged_at: null,
    merge_commit_sha: null,
    ...fields,
  });

  const statusOf = async (id: string) =>
    db('gitops_promotions').where({ id }).first();

  describe('settling promotions by pull request from the pull request itself', () => {
    it('keeps an open pull request pr-opened, a merged one committed with its merge commit, a closed one failed', async () => {
      const rows = [
        row('11111111-open'),
        row('22222222-merged'),
        row('33333333-closed'),
        // Cut short by a restart before its record named the pull request it opened.
        row('44444444-opened-then-restart', {
          status: 'requested',
          commit_sha: null,
          pr_url: null,
        }),
        row('55555555-never-opened', {
          status: 'requested',
          commit_sha: null,
          pr_url: null,
        }),
      ];
      await db('gitops_promotions').insert(rows);
      const branch = (i: number) => pullRequestBranch(rows[i]);
      const asked = githubPulls({
        [branch(0)]: pull(1, {}),
        [branch(1)]: pull(2, {
          state: 'closed',
          merged_at: '2026-11-30T10:00:00Z',
          merge_commit_sha: MERGE_COMMIT,
        }),
        [branch(2)]: pull(3, { state: 'closed' }),
        [branch(3)]: pull(4, {}),
      });
      const service = promotionService({
        db,
        environments: [],
        writers: [githubWriter()],
      });

      await service.settleInterrupted();

      expect(asked.sort()).toEqual(
        rows.map(r => `checkout:${pullRequestBranch(r)}`).sort(),
      );
      expect(await statusOf('11111111-open')).toMatchObject({
        status: 'pr-opened',
      });
      expect(await statusOf('22222222-merged')).toMatchObject({
        status: 'committed',
        commit_sha: MERGE_COMMIT,
        message: `Pull request https://ghe.example.test/checkout/service-a-config/pull/2 merged as fffffff`,
      });
      expect(await statusOf('33333333-closed')).toMatchObject({
        status: 'failed',
        message:
          'Pull request https://ghe.example.test/checkout/service-a-config/pull/3 was closed without merging',
      });
      expect(await statusOf('44444444-opened-then-restart')).toMatchObject({
        status: 'pr-opened',
        pr_url: 'https://ghe.example.test/checkout/service-a-config/pull/4',
      });
      expect(await statusOf('55555555-never-opened')).toMatchObject({
        status: 'failed',
        message:
          'Interrupted before its pull request was opened (backend restart); nothing was merged',
      });
    });

    it('a merged pull request becomes deployed once prod runs its version', async () => {
      await db('gitops_promotions').insert(row('66666666-merged'));
      githubPulls({
        [pullRequestBranch(row('66666666-merged'))]: pull(6, {
          state: 'closed',
          merged_at: '2026-11-30T10:00:00Z',
          merge_commit_sha: MERGE_COMMIT,
        }),
      });
      const service = promotionService({
        db,
        environments: [
          environment('prod', {
            repository: 'registry.example.com/checkout/service-a',
            tag: '1.1.0',
          }),
        ],
        writers: [githubWriter()],
      });
      const [record] = await service.list(entity);
      expect(record).toMatchObject({
        id: '66666666-merged',
        status: 'deployed',
        commit: MERGE_COMMIT,
      });
    });
  });

  describe('writes whose replica stopped or was killed: a lapsed lease', () => {
    it('the periodic pass settles a requested record not renewed for 30 s from Git, leaves one renewed within it (a write under way on another replica), and asks no SCM about pull requests', async () => {
      const secondsAgo = (s: number) => new Date(Date.now() - s * 1000);
      const write = (id: string, version: string, renewed: Date) =>
        row(id, {
          method: 'commit',
          status: 'requested',
          commit_sha: null,
          pr_url: null,
          version,
          created_at: longAgo(),
          updated_at: renewed,
        });
      await db('gitops_promotions').insert([
        write('11111111-killed-after-push', '1.1.0', secondsAgo(31)),
        write('22222222-killed-before-push', '9.9.9', secondsAgo(31)),
        write('33333333-under-way', '1.1.0', secondsAgo(5)),
        row('44444444-pr-open'),
      ]);
      const writer = Object.assign(
        new MemoryWriter({
          'chart/values-prod.yaml': "image:\n  repository: r\n  tag: '1.1.0'\n",
        }),
        { pullRequestState: jest.fn() },
      );
      const service = promotionService({
        db,
        environments: [],
        writers: [writer],
      });

      await service.settleAbandonedWrites();

      expect(await statusOf('11111111-killed-after-push')).toMatchObject({
        status: 'committed',
        message: expect.stringContaining('Interrupted after its push'),
      });
      expect(await statusOf('22222222-killed-before-push')).toMatchObject({
        status: 'failed',
        message: expect.stringContaining('Interrupted before its commit'),
      });
      expect(await statusOf('33333333-under-way')).toMatchObject({
        status: 'requested',
      });
      expect(await statusOf('44444444-pr-open')).toMatchObject({
        status: 'pr-opened',
      });
      expect(writer.reads).toBe(2);
      expect(writer.pullRequestState).not.toHaveBeenCalled();
    });
    it('finds an interrupted commit by its Promotion-Id trailer where the writer can: the record gets its SHA, and a version another promotion put in the file does not count', async () => {
      const createdAt = longAgo();
      const write = (id: string) =>
        row(id, {
          method: 'commit',
          status: 'requested',
          commit_sha: null,
          pr_url: null,
          version: '1.1.0',
          created_at: createdAt,
        });
      const pushed = 'b'.repeat(40);
      await db('gitops_promotions').insert([
        write('55555555-pushed'),
        write('66666666-never-pushed'),
      ]);
      // prod has 1.1.0 in both cases: only the first record's commit is in Git.
      const writer = Object.assign(
        new MemoryWriter({
          'chart/values-prod.yaml': "image:\n  repository: r\n  tag: '1.1.0'\n",
        }),
        {
          findCommit: jest.fn(
            async (
              _location: { repoURL: string; branch: string },
              trailer: string,
              _since: Date,
            ) =>
              trailer === 'Promotion-Id: 55555555-pushed' ? pushed : undefined,
          ),
        },
      );
      const service = promotionService({
        db,
        environments: [],
        writers: [writer],
      });

      await service.settleAbandonedWrites();

      expect(await statusOf('55555555-pushed')).toMatchObject({
        status: 'committed',
        commit_sha: pushed,
        message: `Interrupted after its push (backend restart); commit bbbbbbb set 1.1.0 in chart/values-prod.yaml`,
      });
      expect(await statusOf('66666666-never-pushed')).toMatchObject({
        status: 'failed',
        commit_sha: null,
        message: expect.stringContaining('Interrupted before its commit'),
      });
      expect(writer.findCommit).toHaveBeenCalledWith(
        { repoURL: REPO_URL, branch: 'main' },
        'Promotion-Id: 55555555-pushed',
        expect.any(Date),
      );
      // Looked for from ten minutes before the record (clock skew between replicas).
      const since: Date = writer.findCommit.mock.calls[0][2];
      expect(
        Math.abs(since.getTime() - (createdAt.getTime() - 10 * 60_000)),
      ).toBeLessThan(1000);
      expect(writer.reads).toBe(0);
    });
  });

  describe('listing promotions settles a bounded batch', () => {
    it('reads Git for at most 20 interrupted records per listing, the rest in the next ones', async () => {
      await db('gitops_promotions').insert(
        Array.from({ length: 30 }, (_, i) =>
          row(`interrupted-${String(i).padStart(2, '0')}`, {
            method: 'commit',
            status: 'requested',
            commit_sha: null,
            pr_url: null,
          }),
        ),
      );
      const writer = new MemoryWriter({
        'chart/values-prod.yaml': "image:\n  repository: r\n  tag: '1.0.0'\n",
      });
      const service = promotionService({
        db,
        environments: [],
        writers: [writer],
      });

      await service.list(entity);
      expect(writer.reads).toBe(20);
      const settled = await db('gitops_promotions').where({ status: 'failed' });
      expect(settled).toHaveLength(20);

      await service.list(entity);
      expect(writer.reads).toBe(30);
      expect(
        await db('gitops_promotions').where({ status: 'requested' }),
      ).toEqual([]);
    });
  });
});
