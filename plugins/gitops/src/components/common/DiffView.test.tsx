import { render, screen } from '@testing-library/react';
import { DiffView, diffLines } from './DiffView';

const DIFF = [
  '--- a/chart/values-prod.yaml',
  '+++ b/chart/values-prod.yaml',
  '@@ -1,4 +1,4 @@',
  ' image:',
  "-  tag: '1a2b3c4'",
  "+  tag: '4c5d6e7'",
  '---',
  '++x: 1',
  '',
].join('\n');

describe('diffLines', () => {
  it('tells file headers, hunk headers, added, removed and context lines apart', () => {
    expect(diffLines(DIFF).map(l => l.kind)).toEqual([
      'header',
      'header',
      'hunk',
      'context',
      'removed',
      'added',
      // Inside a hunk: a removed "--" line and an added "+x: 1", not file headers.
      'removed',
      'added',
    ]);
  });

  it('tells added and removed lines without headers or hunks too', () => {
    expect(diffLines("-  tag: 'a'\n+  tag: 'b'\n").map(l => l.kind)).toEqual([
      'removed',
      'added',
    ]);
  });
});

describe('DiffView', () => {
  it('marks each line with its kind and keeps the whole text, as a named region', () => {
    render(<DiffView diff={DIFF} label="values file diff" />);
    const region = screen.getByRole('region', { name: 'values file diff' });
    const kind = (kindName: string) =>
      [...region.querySelectorAll(`[data-diff="${kindName}"]`)].map(
        e => e.textContent,
      );
    expect(kind('added')).toEqual(["+  tag: '4c5d6e7'\n", '++x: 1\n']);
    expect(kind('removed')).toEqual(["-  tag: '1a2b3c4'\n", '---\n']);
    expect(kind('hunk')).toEqual(['@@ -1,4 +1,4 @@\n']);
    expect(region.textContent).toBe(DIFF);
    // Added and removed lines are told apart by their class (their tint), not only the sign.
    const [added] = region.querySelectorAll('[data-diff="added"]');
    const [removed] = region.querySelectorAll('[data-diff="removed"]');
    expect(added.className).toMatch(/added/);
    expect(removed.className).toMatch(/removed/);
    expect(added.className).not.toBe(removed.className);
  });
});
