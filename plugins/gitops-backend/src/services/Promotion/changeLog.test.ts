import { ChangeLog } from '@gitops-backstage/plugin-gitops-common';
import {
  PullRequestDetails,
  ValuesFileChange,
} from '@gitops-backstage/plugin-gitops-node';
import { Knex } from 'knex';
import {
  config,
  entity,
  environment,
  MemoryWriter,
  promotionsDb,
  promotionService,
} from '../../__testUtils__/promotionFixtures';
import { testDatabases } from '../../__testUtils__/testServices';
import { ChangeLogService } from '../ChangeLog/ChangeLogService';

const REPOSITORY = 'registry.example.com/checkout/service-a';
const APP_REPO = 'https://ghe.example.test/checkout/service-a';
const values = (tag: string) =>
  `image:\n  repository: ${REPOSITORY}\n  tag: '${tag}'\n`;

const LOG: ChangeLog = {
  repository: APP_REPO,
  from: { version: '1.0.0', sha: 'a'.repeat(40), origin: 'release-tag' },
  to: { version: '1.1.0', sha: 'b'.repeat(40), origin: 'release-tag' },
  direction: 'ahead',
  commits: [
    {
      sha: 'b'.repeat(40),
      subject: 'Add a readiness probe (#12)',
      author: 'Jane',
      url: `${APP_REPO}/commit/${'b'.repeat(40)}`,
      pullRequest: 12,
      issueKeys: ['CHK-7'],
    },
  ],
  total: 2,
  pullRequests: [
    {
      number: 12,
      title: 'Add a readiness probe',
      author: 'Jane',
      url: `${APP_REPO}/pull/12`,
    },
  ],
  issueKeys: ['CHK-7'],
  compareUrl: `${APP_REPO}/compare/a...b`,
};

/** A writer that opens pull requests, keeping what it was asked to open. */
class PullRequestWriter extends MemoryWriter {
  opened: PullRequestDetails[] = [];
  async openPullRequest(change: ValuesFileChange, details: PullRequestDetails) {
    this.opened.push(details);
    const result = await this.commit(change);
    return { ...result, pullRequestUrl: 'https://ghe.example.test/pr/1' };
  }
}

const databases = testDatabases();

describe.each(databases.eachSupportedId())('on %s', databaseId => {
  let db: Knex;
  beforeEach(async () => {
    db = await promotionsDb(databases, databaseId);
  });
  afterEach(async () => {
    await db.destroy();
  });

  const withAppRepo = {
    ...entity,
    metadata: {
      ...entity.metadata,
      annotations: { 'gitops/app-repository': APP_REPO },
    },
  };
  const setUp = (changeLog: ChangeLogService['changeLog']) => {
    const asked: unknown[] = [];
    const writer = new PullRequestWriter({
      'chart/values-staging.yaml': values('1.0.0'),
    });
    const service = promotionService({
      db,
      environments: [
        environment('dev', { repository: REPOSITORY, tag: '1.1.0' }),
        environment('staging', { repository: REPOSITORY, tag: '1.0.0' }),
      ],
      writers: [writer],
      config: {
        ...config,
        promotionPolicy: { methods: { staging: 'pull-request' } },
      },
      changeLogs: {
        changeLog: async (request: any) => {
          asked.push(request);
          return changeLog(request);
        },
      } as unknown as ChangeLogService,
    });
    return { writer, service, asked };
  };

  it("a preview and a promotion carry the change log; the pull request's body lists it for reviewers", async () => {
    const { writer, service, asked } = setUp(async () => LOG);
    const preview = await service.promote({
      entity: withAppRepo,
      from: 'dev',
      to: 'staging',
      actor: 'user:default/jane',
      dryRun: true,
    });
    expect(preview.changeLog).toEqual(LOG);
    expect(asked).toEqual([
      { repository: APP_REPO, image: REPOSITORY, from: '1.0.0', to: '1.1.0' },
    ]);

    const result = await service.promote({
      entity: withAppRepo,
      from: 'dev',
      to: 'staging',
      actor: 'user:default/jane',
    });
    expect(result).toMatchObject({ status: 'pr-opened', changeLog: LOG });
    const [{ body }] = writer.opened;
    expect(body).toContain('### staging gets these 2 changes');
    expect(body).toContain(
      `- [#12](${APP_REPO}/pull/12) Add a readiness probe (Jane)`,
    );
    expect(body).toContain(
      `- [bbbbbbb](${APP_REPO}/commit/${'b'.repeat(
        40,
      )}) Add a readiness probe \\(\\#12\\) (Jane)`,
    );
    expect(body).toContain(`- … and [1 more](${APP_REPO}/compare/a...b)`);
    expect(body).toContain('Issues: CHK-7');
    expect(body).toContain(
      'Opened by the GitOps plugin of Backstage: merging it deploys 1.1.0 to staging.',
    );
  });

  it('a change log that fails to read holds no promotion back, and an entity with no app repository asks for none', async () => {
    const { writer, service } = setUp(async () => {
      throw new Error('GitHub is down');
    });
    const result = await service.promote({
      entity: withAppRepo,
      from: 'dev',
      to: 'staging',
      actor: 'user:default/jane',
    });
    expect(result.status).toBe('pr-opened');
    expect(result.changeLog).toBeUndefined();
    expect(writer.opened[0].body).not.toContain('changes');

    const plain = setUp(async () => LOG);
    const preview = await plain.service.promote({
      entity,
      from: 'dev',
      to: 'staging',
      actor: 'user:default/jane',
      dryRun: true,
    });
    expect(preview.changeLog).toBeUndefined();
    expect(plain.asked).toEqual([]);
  });
});
