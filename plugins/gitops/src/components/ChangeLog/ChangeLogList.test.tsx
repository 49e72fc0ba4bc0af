import { renderInTestApp } from '@backstage/frontend-test-utils';
import { ChangeLog } from '@gitops-backstage/plugin-gitops-common';
import { screen, within } from '@testing-library/react';
import { changeLog, commit } from '../../__testUtils__/delivery';
import { ChangeLogList } from './ChangeLogList';

// Rendering in jsdom is slow on a loaded 2-core machine.
jest.setTimeout(60_000);

async function render(log: ChangeLog) {
  await renderInTestApp(
    <ChangeLogList changeLog={log} environment="staging" />,
  );
}

describe('ChangeLogList', () => {
  it('says what the environment gets: pull requests, then commits linked with their issue keys', async () => {
    await render(changeLog());
    expect(screen.getByTestId('change-log-headline')).toHaveTextContent(
      'staging gets these 2 changes',
    );
    const pullRequests = screen.getByRole('list', { name: 'pull requests' });
    // A link's text ends in ", Opens in a new window" for screen readers.
    expect(pullRequests).toHaveTextContent(
      /^#41, Opens in a new window Round totals half upbo$/,
    );
    expect(
      within(pullRequests).getByRole('link', { name: /^#41/ }),
    ).toHaveAttribute('href', 'https://github.com/acme/service-a/pull/41');
    const commits = within(
      screen.getByRole('list', { name: 'commits' }),
    ).getAllByTestId('change-log-commit');
    expect(commits.map(c => c.textContent)).toEqual([
      expect.stringMatching(
        /^0202020.* feat: pay by invoice PAY-12Ana · .+ ago$/,
      ),
      expect.stringMatching(/^0101010.* fix: round totals Ana · .+ ago$/),
    ]);
    expect(
      within(commits[0]).getByRole('link', { name: /^0202020/ }),
    ).toHaveAttribute(
      'href',
      `https://github.com/acme/service-a/commit/${'02'.repeat(20)}`,
    );
    expect(screen.queryByTestId('change-log-more')).toBeNull();
    expect(screen.queryByTestId('change-log-error')).toBeNull();
  });

  it('says how many more there are past the cap, linked to the comparison where there is one', async () => {
    await render(changeLog({ total: 252 }));
    expect(screen.getByTestId('change-log-headline')).toHaveTextContent(
      'staging gets these 252 changes',
    );
    expect(screen.getByRole('link', { name: /^and 250 more/ })).toHaveAttribute(
      'href',
      'https://github.com/acme/service-a/compare/1a2b3c4...4c5d6e7',
    );
  });

  it('names a rollback, one commit, and unlinked commits', async () => {
    await render(
      changeLog({
        direction: 'behind',
        total: 3,
        commits: [
          commit(3, { url: undefined, author: undefined, date: undefined }),
        ],
        pullRequests: [],
        compareUrl: undefined,
      }),
    );
    expect(screen.getByTestId('change-log-headline')).toHaveTextContent(
      'staging rolls back 3 changes',
    );
    expect(screen.getByTestId('change-log-commit')).toHaveTextContent(
      '0303030 change number 3',
    );
    expect(screen.queryByRole('link')).toBeNull();
    expect(screen.getByTestId('change-log-more')).toHaveTextContent(
      'and 2 more',
    );
  });

  it('says when both versions are one commit', async () => {
    await render(
      changeLog({ direction: 'same', total: 0, commits: [], pullRequests: [] }),
    );
    expect(screen.getByTestId('change-log-headline')).toHaveTextContent(
      'staging stays on the same commit: no changes',
    );
    expect(
      screen.queryByRole('region', { name: 'changes for staging' }),
    ).toBeNull();
  });

  it('shows why the commits could not be listed as a warning', async () => {
    await render(
      changeLog({
        direction: 'unknown',
        total: 0,
        commits: [],
        pullRequests: [],
        error: {
          code: 'not-found',
          message: 'Commit 4c5d6e7 is not in https://github.com/acme/service-a',
        },
      }),
    );
    expect(screen.getByTestId('change-log-headline')).toHaveTextContent(
      'The changes for staging could not be listed',
    );
    expect(screen.getByTestId('change-log-error')).toHaveTextContent(
      'Commit 4c5d6e7 is not in https://github.com/acme/service-a',
    );
  });

  it('says the versions diverged', async () => {
    await render(changeLog({ direction: 'diverged', total: 2 }));
    expect(screen.getByTestId('change-log-headline')).toHaveTextContent(
      'The versions have diverged: staging gets 2 commits of another line of history',
    );
    expect(screen.getAllByTestId('change-log-commit')).toHaveLength(2);
  });
});
