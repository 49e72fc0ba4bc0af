import { createHash } from 'node:crypto';

/**
 * An app repository's Git history, host-neutral: commits with parents (merges have
 * two), branches, lightweight and annotated tags. The GitHub and GitLab stand-ins
 * answer from it, each in its host's shapes.
 */

export interface Person {
  name: string;
  email: string;
  /** Their account on the host; none when the email is not linked to one. */
  login?: string;
}

export interface AppCommit {
  sha: string;
  message: string;
  author: Person;
  /** When it was committed (landed): one hour after the previous commit. */
  date: Date;
  /** When its author wrote it: a day before it landed. */
  authored: Date;
  parents: string[];
  /** Creation order: the stand-ins list commits by it, oldest first. */
  seq: number;
}

export interface AppTag {
  name: string;
  /** The commit it names (an annotated tag's object, peeled). */
  commit: string;
  /** An annotated tag's own object. */
  annotated?: { sha: string; message: string; tagger: Person; date: Date };
}

export const PEOPLE: Record<string, Person> = {
  alice: { name: 'Alice Martin', email: 'alice@example.com', login: 'alice' },
  bob: { name: 'Bob Chen', email: 'bob@example.com', login: 'bob' },
  // Commits with an email no account has: GitHub gives no `author` user.
  ci: { name: 'Release Bot', email: 'release-bot@ci.example.com' },
};

const START = Date.UTC(2026, 2, 2, 9, 0, 0);

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

export class AppHistory {
  readonly commits = new Map<string, AppCommit>();
  readonly branches = new Map<string, string>();
  readonly tags = new Map<string, AppTag>();

  /** A history whose main starts with one commit, "Initial commit". */
  constructor() {
    this.commit('Initial commit');
  }

  /** Commits on `branch` (main by default), its tip the parent unless `parents` says. */
  commit(
    message: string,
    options: { branch?: string; parents?: string[]; author?: Person } = {},
  ) {
    const branch = options.branch ?? 'main';
    const tip = this.branches.get(branch);
    const seq = this.commits.size;
    const sha = sha1(`commit ${seq}\n${message}`);
    this.commits.set(sha, {
      sha,
      message,
      author: options.author ?? PEOPLE.alice,
      date: new Date(START + seq * 3_600_000),
      authored: new Date(START + seq * 3_600_000 - 86_400_000),
      parents: options.parents ?? (tip ? [tip] : []),
      seq,
    });
    this.branches.set(branch, sha);
    return sha;
  }

  /** `count` plain commits on main, "change 1" to "change <count>"; the last one's sha. */
  grow(count: number) {
    let sha = this.branches.get('main')!;
    for (let i = 1; i <= count; i++) sha = this.commit(`change ${i}`);
    return sha;
  }

  /**
   * A pull (merge) request merged with a merge commit: one commit on a topic branch
   * off main, then `message` on main with main's tip and the topic's as parents.
   */
  merge(message: string, topic: string, author: Person = PEOPLE.bob) {
    const base = this.branches.get('main')!;
    const work = this.commit(`Work on ${topic}`, {
      branch: topic,
      parents: [base],
      author,
    });
    return this.commit(message, { parents: [base, work], author });
  }

  /** A lightweight tag, or an annotated one when `message` is given. */
  tag(name: string, commit: string, message?: string) {
    const tag: AppTag = { name, commit };
    if (message !== undefined) {
      tag.annotated = {
        sha: sha1(`tag ${name}`),
        message,
        tagger: PEOPLE.ci,
        date: new Date(this.commits.get(commit)!.date.getTime() + 60_000),
      };
    }
    this.tags.set(name, tag);
    return tag;
  }

  /** A commit's tree: a sha of its own, not a commit's. */
  treeOf(commit: string) {
    return sha1(`tree ${commit}`);
  }

  /** The commit a full or short (≥ 4 hex digits, unique) SHA names, if any. */
  bySha(ref: string): AppCommit | undefined {
    if (!/^[0-9a-f]{4,40}$/.test(ref)) return undefined;
    const found = [...this.commits.values()].filter(c => c.sha.startsWith(ref));
    return found.length === 1 ? found[0] : undefined;
  }

  /** A branch, a tag (peeled to its commit) or a commit SHA, as Git resolves refs. */
  resolve(ref: string): AppCommit | undefined {
    const named = this.branches.get(ref) ?? this.tags.get(ref)?.commit;
    return named ? this.commits.get(named) : this.bySha(ref);
  }

  /** `sha` and every commit it descends from. */
  ancestors(sha: string) {
    const seen = new Set<string>();
    const stack = [sha];
    while (stack.length) {
      const next = stack.pop()!;
      if (seen.has(next)) continue;
      seen.add(next);
      stack.push(...this.commits.get(next)!.parents);
    }
    return seen;
  }

  /** What `git log base..head` lists (head's commits base lacks), oldest first. */
  between(base: string, head: string): AppCommit[] {
    const excluded = this.ancestors(base);
    return [...this.ancestors(head)]
      .filter(sha => !excluded.has(sha))
      .map(sha => this.commits.get(sha)!)
      .sort((a, b) => a.seq - b.seq);
  }

  /** Their newest common ancestor. */
  mergeBase(a: string, b: string) {
    const ofA = this.ancestors(a);
    return [...this.ancestors(b)]
      .filter(sha => ofA.has(sha))
      .map(sha => this.commits.get(sha)!)
      .sort((x, y) => y.seq - x.seq)[0];
  }
}
