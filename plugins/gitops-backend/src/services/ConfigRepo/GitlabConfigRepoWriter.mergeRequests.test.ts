import { registerMswTestHooks } from '@backstage/backend-test-utils';
import { setupServer } from 'msw/node';
import {
  BASE,
  change,
  FakeGitlab,
  PROJECT,
  REPO_URL,
  serveFakeGitlab,
  writer,
} from './__testUtils__/standInGitlab';
import {
  changedLines,
  FILE,
  setTag,
  VALUES,
} from './__testUtils__/valuesFileChange';

// Merge requests: opened from a new branch with reviewers, and their state read back.

const server = setupServer();
registerMswTestHooks(server);

let gitlab: FakeGitlab;
beforeEach(() => {
  gitlab = serveFakeGitlab(server);
});

describe('GitlabConfigRepoWriter', () => {
  it('opens a merge request from a new branch with reviewers', async () => {
    const base = gitlab.branches.get('main')!;
    const result = await writer().openPullRequest(change(), {
      branch: 'gitops/promote-service-a-prod',
      title: 'Promote service-a 1.1.0 to prod',
      body: 'From staging, checked by CI.',
      reviewers: { users: ['alice', 'nobody', 'bob'], teams: ['checkout/sre'] },
    });

    const [branch, commit, mr] = gitlab.writes();
    expect(branch.body).toEqual({
      branch: 'gitops/promote-service-a-prod',
      ref: base,
    });
    expect(commit.body).toMatchObject({
      branch: 'gitops/promote-service-a-prod',
      actions: [{ file_path: FILE, last_commit_id: base }],
    });
    expect(mr.body).toEqual({
      source_branch: 'gitops/promote-service-a-prod',
      target_branch: 'main',
      title: 'Promote service-a 1.1.0 to prod',
      description: 'From staging, checked by CI.',
      remove_source_branch: true,
      // `nobody` is no GitLab user; teams have no GitLab equivalent.
      reviewer_ids: [11, 12],
    });
    expect(
      gitlab.requests
        .filter(r => r.path === '/api/v4/users')
        .map(r => r.method),
    ).toEqual(['GET', 'GET', 'GET']);

    // The change is on the new branch only.
    expect(gitlab.branches.get('main')).toBe(base);
    expect(gitlab.content('main', FILE)).toBe(VALUES);
    const promoted = gitlab.content('gitops/promote-service-a-prod', FILE)!;
    expect(changedLines(VALUES, promoted)).toEqual([3]);
    expect(result).toEqual({
      before: VALUES,
      after: promoted,
      commit: gitlab.branches.get('gitops/promote-service-a-prod'),
      pullRequestUrl: `${BASE}/${PROJECT}/-/merge_requests/1`,
    });
  });

  it('tells the state of the merge request opened from a branch: none, open, merged (with its commit), closed', async () => {
    const state = (branch: string) =>
      writer().pullRequestState({ repoURL: REPO_URL, branch });
    await expect(state('gitops/nothing-yet')).resolves.toEqual({
      state: 'none',
    });
    for (const branch of [
      'gitops/open',
      'gitops/merged',
      'gitops/fast-forward',
      'gitops/closed',
      'gitops/merging',
    ]) {
      await writer().openPullRequest(change(setTag(branch.slice(7))), {
        branch,
        title: 't',
        body: 'b',
        reviewers: { users: [], teams: [] },
      });
    }
    const [, merged, fastForward, closed, merging] = gitlab.mergeRequests;
    Object.assign(merged, {
      state: 'merged',
      merge_commit_sha: 'd'.repeat(40),
    });
    // A fast-forward merge has no merge commit: the branch's head landed.
    Object.assign(fastForward, { state: 'merged', sha: 'e'.repeat(40) });
    gitlab.branches.delete('gitops/fast-forward');
    Object.assign(closed, { state: 'closed' });
    Object.assign(merging, { state: 'locked' });
    const url = (n: number) => `${BASE}/${PROJECT}/-/merge_requests/${n}`;
    await expect(state('gitops/open')).resolves.toEqual({
      state: 'open',
      url: url(1),
    });
    await expect(state('gitops/merged')).resolves.toEqual({
      state: 'merged',
      url: url(2),
      commit: 'd'.repeat(40),
    });
    await expect(state('gitops/fast-forward')).resolves.toEqual({
      state: 'merged',
      url: url(3),
      commit: 'e'.repeat(40),
    });
    await expect(state('gitops/closed')).resolves.toEqual({
      state: 'closed',
      url: url(4),
    });
    await expect(state('gitops/merging')).resolves.toEqual({
      state: 'open',
      url: url(5),
    });
  });
});
