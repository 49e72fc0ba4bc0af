import assert from 'node:assert/strict';
import { test } from 'node:test';
import { route } from './routes';

test('answers /health, /version and /ping', () => {
  assert.deepEqual(route('/health', '1.0.0'), {
    status: 200,
    body: { status: 'ok' },
  });
  assert.deepEqual(route('/version', '1.0.0').body, { version: '1.0.0' });
  assert.deepEqual(route('/ping', '1.0.0').body, { message: 'pong' });
});

test('answers 404 for anything else', () => {
  assert.equal(route('/nope', '1.0.0').status, 404);
});
