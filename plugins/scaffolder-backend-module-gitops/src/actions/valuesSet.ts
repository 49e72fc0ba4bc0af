import { InputError } from '@backstage/errors';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import fs from 'node:fs/promises';
import {
  InvalidValuesError,
  setYamlValues,
  YamlValue,
} from '@gitops-backstage/plugin-gitops-common';
import { insideWorkspace, quoted } from './workspacePath';

/**
 * `gitops:values:set`: sets keys in a YAML file of the workspace (a Helm values
 * file, typically), keeping its comments and formatting.
 *
 * @public
 */
export function createValuesSetAction() {
  return createTemplateAction({
    id: 'gitops:values:set',
    description:
      'Sets keys in a YAML file of the workspace (such as a Helm values file), keeping comments, key order and quoting.',
    supportsDryRun: true,
    examples: [
      {
        description:
          'Pin dev to an image that already exists (a service moved into GitOps; a new one starts with no version)',
        example: [
          'steps:',
          '  - id: pin-dev-tag',
          '    action: gitops:values:set',
          '    input:',
          '      path: config/values-dev.yaml',
          '      values:',
          '        image.tag: ${{ parameters.existingImageTag }}',
          '        replicaCount: 1',
        ].join('\n'),
      },
      {
        description:
          'Pin an instance to a node (a dot inside a key is escaped with a backslash)',
        example: [
          'steps:',
          '  - id: pin-node',
          '    action: gitops:values:set',
          '    input:',
          '      path: config/values-sensor-7.yaml',
          '      createIfMissing: true',
          '      values:',
          '        nodeSelector.kubernetes\\.io/hostname: edge-node-7',
        ].join('\n'),
      },
    ],
    schema: {
      input: {
        path: z =>
          z
            .string()
            .min(1)
            .describe('Path of the YAML file, relative to the workspace'),
        values: z =>
          z
            .record(z.string(), z.any())
            .refine(values => Object.keys(values).length > 0, {
              message: 'at least one key to set',
            })
            .describe(
              'Key paths (Helm style: image.tag, ingress.hosts.0.host) and the values to set',
            ),
        createIfMissing: z =>
          z
            .boolean()
            .default(false)
            .describe('Create the file when it does not exist'),
      },
      output: {
        path: z => z.string().describe('The file that was written'),
        keys: z => z.array(z.string()).describe('The key paths that were set'),
      },
    },
    async handler(ctx) {
      const { path, values, createIfMissing } = ctx.input;
      const file = insideWorkspace(
        ctx.workspacePath,
        path,
        `path ${quoted(path)}`,
      );

      let source: string;
      try {
        source = await fs.readFile(file, 'utf8');
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EISDIR') {
          throw new InputError(
            `path ${quoted(path)} is a directory, not a YAML file`,
          );
        }
        if (code !== 'ENOENT') throw error;
        if (!createIfMissing) {
          throw new InputError(
            `${path} does not exist in the workspace; set createIfMissing to create it`,
          );
        }
        source = '';
      }

      let updated: string;
      try {
        updated = setYamlValues(source, values as Record<string, YamlValue>);
      } catch (error) {
        if (error instanceof InvalidValuesError) {
          throw new InputError(`${path}: ${error.message}`);
        }
        throw error;
      }

      await fs.writeFile(file, updated, 'utf8');
      const keys = Object.keys(values);
      ctx.logger.info(`Set ${keys.join(', ')} in ${path}`);
      ctx.output('path', path);
      ctx.output('keys', keys);
    },
  });
}
