import { redactUrl, upstreamAnswer } from './redact';

describe('redactUrl', () => {
  it('replaces user and password of every URL in a text', () => {
    expect(redactUrl('https://x:tok@git.example.com/a.git')).toBe(
      'https://***@git.example.com/a.git',
    );
    expect(
      redactUrl(
        'cloning http://token@127.0.0.1:7090/a.git failed; see https://ok.example.com/x?y=a@b',
      ),
    ).toBe(
      'cloning http://***@127.0.0.1:7090/a.git failed; see https://ok.example.com/x?y=a@b',
    );
  });

  it('leaves URLs without credentials as they are', () => {
    expect(redactUrl('http://127.0.0.1:7090/git/a.git')).toBe(
      'http://127.0.0.1:7090/git/a.git',
    );
  });
});

describe('upstreamAnswer', () => {
  it('is the status and a single line of the message (JSON message or error)', () => {
    expect(upstreamAnswer(400, '{"error":"name taken","code":3}')).toBe(
      '400: name taken',
    );
    expect(upstreamAnswer(500, 'line one\n\tline two\r\n')).toBe(
      '500: line one line two',
    );
    expect(upstreamAnswer(502, '')).toBe('502');
  });

  it('drops the credentials sent, auth headers, key=value secrets, JWTs and known tokens', () => {
    const answer = upstreamAnswer(
      500,
      [
        'you sent Authorization: Basic Z2l0OnNlY3JldC10b2tlbg==',
        'and secret-token',
        'Bearer abc.def.ghi',
        'password=p4ss token: t0k',
        'jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig',
        'ghp_0123456789abcdefABCDEF0123456789abcd glpat-abcdefghij0123456789',
        'from https://u:p@git.example.com/a.git',
      ].join('\n'),
      ['secret-token', 'git:secret-token'],
    );
    for (const secret of [
      'Z2l0OnNlY3JldC10b2tlbg',
      'secret-token',
      'abc.def.ghi',
      'p4ss',
      't0k',
      'eyJhbGciOiJIUzI1NiJ9',
      '0123456789abcdef',
      'abcdefghij',
      'u:p@',
    ]) {
      expect(answer).not.toContain(secret);
    }
    expect(answer).toContain('from https://***@git.example.com/a.git');
  });

  it('is at most 200 characters of the message', () => {
    const answer = upstreamAnswer(500, 'x'.repeat(64 * 1024));
    expect(answer).toBe(`500: ${'x'.repeat(200)}…`);
  });
});
