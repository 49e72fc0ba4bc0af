import {
  ChangeLogCommit,
  ChangeLogPullRequest,
} from '@gitops-backstage/plugin-gitops-common';

/** A commit as the Git host (or Git) gives it, before its message is read. */
export interface RawCommit {
  sha: string;
  message: string;
  author?: string;
  date?: string;
  url?: string;
}

/** Where pull requests live on the host: `#12` on GitHub, `!12` on GitLab. */
export type PullRequestStyle = {
  /** The pull request's page, from its number; undefined for plain Git. */
  url?: (number: number) => string;
};

// GitHub's merge commit: "Merge pull request #12 from org/branch", title in the body.
const GITHUB_MERGE = /^Merge pull request #(\d+) from \S+/;
// GitHub's squash merge: "Title (#12)".
const GITHUB_SQUASH = /^(.*\S)\s+\(#(\d+)\)$/;
// GitLab's merge commit body: "See merge request group/project!12".
const GITLAB_MERGE = /^See merge request \S*!(\d+)\s*$/m;
// Jira-style keys (ABC-123) and GitHub/GitLab issue references (#45).
const ISSUE_KEY = /\b[A-Z][A-Z0-9]{1,9}-\d+\b/g;
const ISSUE_REF = /(?:^|[\s(])#(\d+)\b/g;

/** Reads a commit's subject, the pull request it merged and the issue keys it names. */
export function readCommit(
  raw: RawCommit,
  style: PullRequestStyle,
): { commit: ChangeLogCommit; pullRequest?: ChangeLogPullRequest } {
  const lines = raw.message.split('\n');
  const subject = lines[0].trim();
  const body = lines.slice(1).join('\n').trim();
  let number: number | undefined;
  let title: string | undefined;
  const githubMerge = GITHUB_MERGE.exec(subject);
  const gitlabMerge = GITLAB_MERGE.exec(body);
  const squash = GITHUB_SQUASH.exec(subject);
  if (githubMerge) {
    number = Number(githubMerge[1]);
    title = body.split('\n')[0]?.trim() || subject;
  } else if (gitlabMerge) {
    number = Number(gitlabMerge[1]);
    // "Merge branch 'x' into 'main'", a blank line, then the merge request's title.
    title = body.split('\n')[0]?.trim() || subject;
  } else if (squash) {
    number = Number(squash[2]);
    title = squash[1];
  }
  const keys = new Set<string>(raw.message.match(ISSUE_KEY) ?? []);
  for (const match of raw.message.matchAll(ISSUE_REF)) {
    if (Number(match[1]) !== number) keys.add(`#${match[1]}`);
  }
  const commit: ChangeLogCommit = {
    sha: raw.sha,
    subject,
    ...(raw.author && { author: raw.author }),
    ...(raw.date && { date: raw.date }),
    ...(raw.url && { url: raw.url }),
    ...(number !== undefined && { pullRequest: number }),
    issueKeys: [...keys],
  };
  if (number === undefined) return { commit };
  const url = style.url?.(number);
  return {
    commit,
    pullRequest: {
      number,
      title: title ?? subject,
      ...(raw.author && { author: raw.author }),
      ...(url && { url }),
    },
  };
}

/**
 * The commits (newest first) read, with the pull requests and issue keys they name,
 * each once.
 */
export function readCommits(raws: RawCommit[], style: PullRequestStyle) {
  const pullRequests = new Map<number, ChangeLogPullRequest>();
  const issueKeys = new Set<string>();
  const commits = raws.map(raw => {
    const read = readCommit(raw, style);
    if (read.pullRequest && !pullRequests.has(read.pullRequest.number)) {
      pullRequests.set(read.pullRequest.number, read.pullRequest);
    }
    read.commit.issueKeys.forEach(key => issueKeys.add(key));
    return read.commit;
  });
  return {
    commits,
    pullRequests: [...pullRequests.values()],
    issueKeys: [...issueKeys],
  };
}
