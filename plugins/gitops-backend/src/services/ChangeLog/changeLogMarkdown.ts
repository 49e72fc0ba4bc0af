import { ChangeLog } from '@gitops-backstage/plugin-gitops-common';

const short = (sha?: string) => (sha ?? '').slice(0, 7);

/** Lines of commits a pull request's body lists; the rest are counted. */
const MAX_LINES = 50;

/** Markdown for a pull request's body: what the promotion ships, for reviewers in GitHub or GitLab. */
export function changeLogMarkdown(log: ChangeLog, environment: string) {
  if (log.error || log.direction === 'unknown') return '';
  if (log.direction === 'same') {
    return `The image moves, the code does not: both versions were built from ${short(
      log.to.sha,
    )}.`;
  }
  const verb =
    log.direction === 'behind'
      ? `${environment} loses these ${log.total} changes`
      : `${environment} gets these ${log.total} changes`;
  const lines = [`### ${verb}`, ''];
  if (log.pullRequests.length) {
    lines.push(
      ...log.pullRequests.map(
        pr =>
          `- ${
            // Without its page (plain Git), escaped as a subject's #12 is.
            pr.url ? `[#${pr.number}](${pr.url})` : `\\#${pr.number}`
          } ${escape(pr.title)}${pr.author ? ` (${escape(pr.author)})` : ''}`,
      ),
      '',
    );
  }
  lines.push('<details><summary>Commits</summary>', '');
  for (const commit of log.commits.slice(0, MAX_LINES)) {
    const sha = short(commit.sha);
    lines.push(
      `- ${commit.url ? `[${sha}](${commit.url})` : sha} ${escape(
        commit.subject,
      )}${commit.author ? ` (${escape(commit.author)})` : ''}`,
    );
  }
  const more = log.total - Math.min(log.commits.length, MAX_LINES);
  if (more > 0) {
    lines.push(
      log.compareUrl
        ? `- … and [${more} more](${log.compareUrl})`
        : `- … and ${more} more`,
    );
  }
  lines.push('', '</details>');
  if (log.issueKeys.length) {
    lines.push('', `Issues: ${log.issueKeys.map(escape).join(', ')}`);
  }
  return lines.join('\n');
}

/**
 * Commit text is the app repository's authors': no markup or mention of theirs runs,
 * and a bare `#12` would link the config repository's own issue 12.
 */
function escape(text: string) {
  return text.replace(/[\\`*_{}[\]()<>#!|@~]/g, c => `\\${c}`);
}
