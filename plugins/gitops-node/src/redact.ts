/** `scheme://user:pass@` (or `scheme://token@`) anywhere in a text. */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]+@/gi;

/**
 * A URL (or any text holding URLs) with the user name and password of every URL
 * replaced by `***`, so `https://x:token@git.example.com/a.git` can be logged or put
 * into an error. Use it wherever a URL that came from config, a template or an
 * upstream reaches a log, a task log or an error.
 *
 * @public
 */
export function redactUrl(text: string): string {
  return text.replace(URL_USERINFO, '$1***@');
}

/** Credential-looking words (auth schemes, key=value secrets, JWTs, known token prefixes), with what replaces them. */
const TOKEN_LIKE: Array<[RegExp, string]> = [
  [/\b(Basic|Bearer)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 ***'],
  [
    /\b(password|passwd|token|secret|access_token|api[_-]?key)(["']?\s*[:=]\s*["']?)[^\s"',;&]+/gi,
    '$1$2***',
  ],
  [/\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, '***'],
  [
    /\b(gh[pousr]_|github_pat_|glpat-|glptt-|xox[abp]-)[A-Za-z0-9_-]+/g,
    '$1***',
  ],
];

/** Most characters of an upstream's answer that go into an error. */
const EXCERPT_CHARS = 200;

/**
 * What an error may say about an upstream's answer: its status code and a short,
 * single-line excerpt of its message with URLs' credentials, credential-looking
 * words and the given `secrets` removed (the credentials sent with the request, and
 * `user:password` as a Basic header carries it).
 * An upstream we sent a credential to, or one we were sent to, may echo anything
 * back: never copy its body into a task log or an error otherwise.
 *
 * @public
 */
export function upstreamAnswer(
  status: number,
  body: string | undefined,
  secrets: Array<string | undefined> = [],
): string {
  let text = body ?? '';
  try {
    const json = JSON.parse(text);
    const message = json?.message ?? json?.error;
    if (typeof message === 'string') text = message;
  } catch {
    // not JSON: the text as it is
  }
  for (const secret of secrets) {
    // Shorter ones are no secret, and would garble the message.
    if (!secret || secret.length < 3) continue;
    // The secret as sent (plain, and inside a Basic header) never comes back.
    for (const form of [secret, Buffer.from(secret).toString('base64')]) {
      text = text.split(form).join('***');
    }
  }
  text = redactUrl(text);
  for (const [pattern, replacement] of TOKEN_LIKE) {
    text = text.replace(pattern, replacement);
  }
  // One line: control characters (terminal escapes too) and line breaks become spaces.
  text = Array.from(text, c => (c < ' ' || c === '\u007f' ? ' ' : c))
    .join('')
    .replace(/\s+/g, ' ')
    .trim();
  if (text.length > EXCERPT_CHARS) {
    text = `${text.slice(0, EXCERPT_CHARS)}…`;
  }
  return text ? `${status}: ${text}` : String(status);
}
