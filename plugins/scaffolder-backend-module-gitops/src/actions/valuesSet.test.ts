import { createMockDirectory } from '@backstage/backend-test-utils';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { createValuesSetAction } from './valuesSet';

describe('gitops:values:set', () => {
  const workspace = createMockDirectory();
  const action = createValuesSetAction();

  beforeEach(() => {
    workspace.setContent({
      'config/values-dev.yaml': '# dev\nimage:\n  tag: "abc1234" # set by CI\n',
    });
  });

  function run(input: Record<string, unknown>) {
    const ctx = createMockActionContext({
      workspacePath: workspace.path,
      input: input as any,
    });
    return action.handler(ctx).then(() => ctx);
  }

  it('sets the keys in the workspace file and outputs them', async () => {
    const ctx = await run({
      path: 'config/values-dev.yaml',
      values: { 'image.tag': 'def5678', replicaCount: 2 },
    });

    expect(workspace.content()).toEqual({
      config: {
        'values-dev.yaml':
          '# dev\nimage:\n  tag: "def5678" # set by CI\nreplicaCount: 2\n',
      },
    });
    expect(ctx.output).toHaveBeenCalledWith('path', 'config/values-dev.yaml');
    expect(ctx.output).toHaveBeenCalledWith('keys', [
      'image.tag',
      'replicaCount',
    ]);
  });

  it('creates the file only when asked to', async () => {
    await expect(
      run({ path: 'config/values-sensor-7.yaml', values: { a: 1 } }),
    ).rejects.toThrow(
      'config/values-sensor-7.yaml does not exist in the workspace; set createIfMissing to create it',
    );

    await run({
      path: 'config/values-sensor-7.yaml',
      values: { 'nodeSelector.kubernetes\\.io/hostname': 'edge-7' },
      createIfMissing: true,
    });
    expect(workspace.content()?.config).toMatchObject({
      'values-sensor-7.yaml':
        'nodeSelector:\n  kubernetes.io/hostname: edge-7\n',
    });
  });

  it('refuses a path outside the workspace and leaves files alone', async () => {
    await expect(
      run({ path: '../outside.yaml', values: { a: 1 } }),
    ).rejects.toThrow(/outside/i);
  });

  it('names the file and the problem for an impossible key, changing nothing', async () => {
    const before = workspace.content();
    await expect(
      run({ path: 'config/values-dev.yaml', values: { 'image.tag.x': 1 } }),
    ).rejects.toThrow(
      'config/values-dev.yaml: Cannot set "image.tag.x": "image.tag" is a scalar, not a map',
    );
    expect(workspace.content()).toEqual(before);
  });

  it('publishes its input schema with descriptions', () => {
    expect(action.id).toBe('gitops:values:set');
    expect(action.supportsDryRun).toBe(true);
    expect(action.schema?.input).toMatchObject({
      required: expect.arrayContaining(['path', 'values']),
      properties: {
        path: { type: 'string' },
        createIfMissing: { type: 'boolean', default: false },
      },
    });
  });
});
