import assert from 'node:assert/strict';
import { test } from 'node:test';
import { transform } from './transform';

test('averages per sensor, sorted', () => {
  assert.deepEqual(
    transform([
      { sensor: 'b', celsius: 10 },
      { sensor: 'a', celsius: 20 },
      { sensor: 'a', celsius: 21 },
    ]),
    [
      { sensor: 'a', averageCelsius: 20.5 },
      { sensor: 'b', averageCelsius: 10 },
    ],
  );
});

test('nothing in, nothing out', () => {
  assert.deepEqual(transform([]), []);
});
