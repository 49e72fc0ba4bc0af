import { registerMswTestHooks } from '@backstage/backend-test-utils';
import { setupServer } from 'msw/node';
import {
  blobSha,
  change,
  FakeGithub,
  HOST,
  REPO_URL,
  serveFakeGithub,
  writer,
} from './__testUtils__/standInGithub';
import {
  changedLines,
  FILE,
  setTag,
  VALUES,
} from './__testUtils__/valuesFileChange';

// Pull requests: opened from a new branch with reviewers, and their state read back.

const server = setupServer();
registerMswTestHooks(server);

let github: FakeGithub;
beforeEach(() => {
  github = serveFakeGithub(server);
});

describe('GithubConfigRepoWriter', () => {
  it('opens a pull request from a new branch and asks for reviews', async () => {
    const base = github.branches.get('main')!;
    const result = await writer().openPullRequest(change(), {
      branch: 'gitops/promote-service-a-prod',
      title: 'Promote service-a 1.1.0 to prod',
      body: 'From staging, checked by CI.',
      reviewers: { users: ['alice', 'bob'], teams: ['checkout/sre', 'qa'] },
    });

    const [ref, put, pull, reviewers] = github.writes();
    expect(ref).toMatchObject({
      path: '/repos/checkout/service-a-config/git/refs',
      body: { ref: 'refs/heads/gitops/promote-service-a-prod', sha: base },
    });
    expect(put.body).toMatchObject({
      branch: 'gitops/promote-service-a-prod',
      sha: blobSha(VALUES),
    });
    expect(pull.body).toEqual({
      head: 'gitops/promote-service-a-prod',
      base: 'main',
      title: 'Promote service-a 1.1.0 to prod',
      body: 'From staging, checked by CI.',
    });
    expect(reviewers.path).toBe(
      '/repos/checkout/service-a-config/pulls/1/requested_reviewers',
    );
    expect(reviewers.body).toEqual({
      reviewers: ['alice', 'bob'],
      team_reviewers: ['sre', 'qa'],
    });

    // The change is on the new branch only.
    expect(github.branches.get('main')).toBe(base);
    expect(github.files('main')![FILE]).toBe(VALUES);
    const branch = github.files('gitops/promote-service-a-prod')!;
    expect(changedLines(VALUES, branch[FILE])).toEqual([3]);
    expect(result).toEqual({
      before: VALUES,
      after: branch[FILE],
      commit: github.branches.get('gitops/promote-service-a-prod'),
      pullRequestUrl: `https://${HOST}/checkout/service-a-config/pull/1`,
    });
  });

  it('keeps the pull request when GitHub refuses the reviewers', async () => {
    github.failReviewers = true;
    const result = await writer().openPullRequest(change(), {
      branch: 'promote',
      title: 't',
      body: 'b',
      reviewers: { users: ['jane'], teams: [] },
    });
    expect(result.pullRequestUrl).toBe(
      `https://${HOST}/checkout/service-a-config/pull/1`,
    );
    expect(github.pulls).toHaveLength(1);
  });

  it('tells the state of the pull request opened from a branch: none, open, merged (with its merge commit), closed', async () => {
    const state = (branch: string) =>
      writer().pullRequestState({ repoURL: REPO_URL, branch });
    await expect(state('gitops/nothing-yet')).resolves.toEqual({
      state: 'none',
    });
    for (const branch of ['gitops/open', 'gitops/merged', 'gitops/closed']) {
      await writer().openPullRequest(change(setTag(branch.slice(7))), {
        branch,
        title: 't',
        body: 'b',
        reviewers: { users: [], teams: [] },
      });
    }
    Object.assign(github.pulls[1], {
      state: 'closed',
      merged_at: '2026-11-30T10:00:00Z',
      merge_commit_sha: 'd'.repeat(40),
    });
    Object.assign(github.pulls[2], { state: 'closed' });
    const url = (n: number) =>
      `https://${HOST}/checkout/service-a-config/pull/${n}`;
    await expect(state('gitops/open')).resolves.toEqual({
      state: 'open',
      url: url(1),
    });
    await expect(state('gitops/merged')).resolves.toEqual({
      state: 'merged',
      url: url(2),
      commit: 'd'.repeat(40),
    });
    await expect(state('gitops/closed')).resolves.toEqual({
      state: 'closed',
      url: url(3),
    });
  });
});
