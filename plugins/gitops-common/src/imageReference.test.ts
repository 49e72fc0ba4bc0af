import {
  formatImageReference,
  isImageRunning,
  parseImageReference,
} from './imageReference';

describe('image references', () => {
  it.each([
    ['nginx', { repository: 'nginx' }],
    [
      'registry.example.com/checkout/service-a:4c5d6e7',
      { repository: 'registry.example.com/checkout/service-a', tag: '4c5d6e7' },
    ],
    [
      'localhost:5000/a/b:v1.2.0',
      { repository: 'localhost:5000/a/b', tag: 'v1.2.0' },
    ],
    ['localhost:5000/a/b', { repository: 'localhost:5000/a/b' }],
    [
      'ghcr.io/a/b:v1@sha256:abc',
      { repository: 'ghcr.io/a/b', tag: 'v1', digest: 'sha256:abc' },
    ],
    [
      'ghcr.io/a/b@sha256:abc',
      { repository: 'ghcr.io/a/b', digest: 'sha256:abc' },
    ],
  ])('parses %s and formats it back', (image, parsed) => {
    expect(parseImageReference(image)).toEqual(parsed);
    expect(formatImageReference(parsed)).toBe(image);
  });

  it('finds a wanted image by tag, or by digest when one is wanted', () => {
    const running = ['r.io/a:v1@sha256:abc', 'r.io/sidecar:2'];
    expect(isImageRunning({ repository: 'r.io/a', tag: 'v1' }, running)).toBe(
      true,
    );
    expect(isImageRunning({ repository: 'r.io/a', tag: 'v2' }, running)).toBe(
      false,
    );
    expect(
      isImageRunning({ repository: 'r.io/a', digest: 'sha256:abc' }, running),
    ).toBe(true);
    expect(
      isImageRunning(
        { repository: 'r.io/a', tag: 'v1', digest: 'sha256:def' },
        running,
      ),
    ).toBe(false);
    expect(isImageRunning({ repository: 'r.io/b', tag: 'v1' }, running)).toBe(
      false,
    );
  });
});
